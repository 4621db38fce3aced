#include "spec/names.h"

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <string>

namespace husk::spec {
namespace {

// Indexed by capability number (linux/capability.h).
constexpr std::array<std::string_view, 41> kCapabilities = {
    "CAP_CHOWN",           "CAP_DAC_OVERRIDE",   "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",          "CAP_KILL",           "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",       "CAP_NET_RAW",        "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",      "CAP_SYS_RAWIO",      "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",      "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",       "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",           "CAP_AUDIT_WRITE",    "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",      "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",     "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

struct SignalName {
  std::string_view name;  // without "SIG"
  int number;
};

// The classic signals in number order, then aliases the kernel headers also define.
constexpr int kClassicSignals = 31;
constexpr std::array<SignalName, 34> kSignals = {{
    {"HUP", SIGHUP},     {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},
    {"TRAP", SIGTRAP},   {"ABRT", SIGABRT},     {"BUS", SIGBUS},     {"FPE", SIGFPE},
    {"KILL", SIGKILL},   {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},     {"TERM", SIGTERM},   {"STKFLT", SIGSTKFLT},
    {"CHLD", SIGCHLD},   {"CONT", SIGCONT},     {"STOP", SIGSTOP},   {"TSTP", SIGTSTP},
    {"TTIN", SIGTTIN},   {"TTOU", SIGTTOU},     {"URG", SIGURG},     {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ},   {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},   {"WINCH", SIGWINCH},
    {"IO", SIGIO},       {"PWR", SIGPWR},       {"SYS", SIGSYS},     {"IOT", SIGIOT},
    {"POLL", SIGPOLL},   {"CLD", SIGCHLD},
}};

// The full names ("SIGHUP"), spelled out so all_signal_names() can hand out views.
constexpr std::array<std::string_view, kClassicSignals> kSignalFullNames = {
    "SIGHUP",  "SIGINT",  "SIGQUIT", "SIGILL",    "SIGTRAP",   "SIGABRT", "SIGBUS",  "SIGFPE",
    "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2",   "SIGPIPE",   "SIGALRM", "SIGTERM", "SIGSTKFLT",
    "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP",   "SIGTTIN",   "SIGTTOU", "SIGURG",  "SIGXCPU",
    "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",    "SIGPWR",  "SIGSYS",
};

struct RlimitName {
  std::string_view name;
  int resource;
};

constexpr std::array<RlimitName, 16> kRlimits = {{
    {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
}};

std::optional<int> parse_int(std::string_view s) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// "RTMIN", "RTMIN+3", "RTMAX-2" (already upper-case, without "SIG").
std::optional<int> realtime_signal(std::string_view s) {
  bool from_min = s.starts_with("RTMIN");
  if (!from_min && !s.starts_with("RTMAX")) return std::nullopt;
  int base = from_min ? SIGRTMIN : SIGRTMAX;
  s.remove_prefix(5);
  if (s.empty()) return base;
  if (s.front() != (from_min ? '+' : '-')) return std::nullopt;
  auto n = parse_int(s.substr(1));
  if (!n || *n < 0) return std::nullopt;
  int sig = from_min ? base + *n : base - *n;
  if (sig < SIGRTMIN || sig > SIGRTMAX) return std::nullopt;
  return sig;
}

}  // namespace

std::optional<int> capability_from_name(std::string_view name) {
  auto it = std::find(kCapabilities.begin(), kCapabilities.end(), name);
  if (it == kCapabilities.end()) return std::nullopt;
  return static_cast<int>(it - kCapabilities.begin());
}

std::string_view capability_name(int cap) {
  if (cap < 0 || cap >= static_cast<int>(kCapabilities.size())) return {};
  return kCapabilities[static_cast<size_t>(cap)];
}

int last_known_capability() { return static_cast<int>(kCapabilities.size()) - 1; }

std::vector<std::string_view> all_capability_names() {
  return {kCapabilities.begin(), kCapabilities.end()};
}

std::optional<int> signal_from_string(std::string_view s) {
  if (auto n = parse_int(s)) {
    if (*n < 0 || *n > SIGRTMAX) return std::nullopt;
    return n;
  }
  std::string upper(s);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string_view name = upper;
  if (name.starts_with("SIG")) name.remove_prefix(3);
  for (const auto& sig : kSignals)
    if (sig.name == name) return sig.number;
  return realtime_signal(name);
}

std::string_view signal_name(int sig) {
  if (sig < 1 || sig > kClassicSignals) return {};
  return kSignalFullNames[static_cast<size_t>(sig - 1)];
}

std::vector<std::string_view> all_signal_names() {
  return {kSignalFullNames.begin(), kSignalFullNames.end()};
}

std::optional<int> rlimit_from_name(std::string_view name) {
  for (const auto& r : kRlimits)
    if (r.name == name) return r.resource;
  return std::nullopt;
}

std::string_view rlimit_name(int resource) {
  for (const auto& r : kRlimits)
    if (r.resource == resource) return r.name;
  return {};
}

}  // namespace husk::spec
