#include "manage/top.h"

#include <sys/sysmacros.h>
#include <unistd.h>

#include <charconv>
#include <cmath>

#include "base/file.h"
#include "manage/text_table.h"
#include "runtime/runtime.h"
#include "runtime/state.h"

namespace husk::manage {
namespace {

// procps' width of ps -f's UID column: longer names end in "+".
constexpr size_t kUserWidth = 8;

std::optional<uint64_t> to_u64(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::vector<std::string_view> fields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (true) {
    i = s.find_first_not_of(" \t\n", i);
    if (i == std::string_view::npos) return out;
    size_t end = s.find_first_of(" \t\n", i);
    if (end == std::string_view::npos) end = s.size();
    out.push_back(s.substr(i, end - i));
    i = end;
  }
}

// "Uid:\treal\teffective\tsaved\tfs" of /proc/PID/status.
std::optional<uint32_t> status_euid(std::string_view status) {
  size_t at = status.find("\nUid:");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view line = status.substr(at + 5);
  line = line.substr(0, line.find('\n'));
  auto f = fields(line);
  if (f.size() < 2) return std::nullopt;
  auto v = to_u64(f[1]);
  if (!v || *v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(*v);
}

Result<Clock> read_clock() {
  Clock c;
  long hz = ::sysconf(_SC_CLK_TCK);
  c.ticks_per_second = hz > 0 ? hz : 100;
  c.now = ::time(nullptr);
  HUSK_TRY_ASSIGN(std::string stat, read_file("/proc/stat"));
  size_t at = stat.find("\nbtime ");
  if (at == std::string::npos) return fail(EINVAL, "/proc/stat: no btime");
  c.boot_time = static_cast<time_t>(std::strtoll(stat.c_str() + at + 7, nullptr, 10));
  HUSK_TRY_ASSIGN(std::string uptime, read_file("/proc/uptime"));
  c.uptime = std::strtod(uptime.c_str(), nullptr);
  return c;
}

}  // namespace

Result<ProcInfo> parse_proc(pid_t pid, std::string_view stat, std::string_view status,
                            std::string_view cmdline) {
  // comm (field 2) may hold spaces and parens: the fields resume after the last ')'.
  size_t open = stat.find('(');
  size_t close = stat.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return fail(EINVAL, "parse /proc/{}/stat", pid);
  ProcInfo p;
  p.pid = pid;
  p.comm = std::string(stat.substr(open + 1, close - open - 1));
  auto f = fields(stat.substr(close + 1));  // f[0] is field 3 (state)
  if (f.size() < 20 || f[0].size() != 1) return fail(EINVAL, "parse /proc/{}/stat", pid);
  auto num = [&](int field) { return to_u64(f[static_cast<size_t>(field - 3)]); };
  auto ppid = num(4), tty = num(7), utime = num(14), stime = num(15), start = num(22);
  if (!ppid || !tty || !utime || !stime || !start) return fail(EINVAL, "parse /proc/{}/stat", pid);
  p.state = f[0][0];
  p.ppid = static_cast<pid_t>(*ppid);
  p.tty_nr = *tty;
  p.cpu_ticks = *utime + *stime;
  p.start_ticks = *start;
  auto euid = status_euid(status);
  if (!euid) return fail(EINVAL, "parse /proc/{}/status: no Uid line", pid);
  p.euid = *euid;
  p.cmdline = std::string(cmdline);
  return p;
}

std::map<uint32_t, std::string> parse_passwd_names(std::string_view passwd) {
  std::map<uint32_t, std::string> out;
  while (!passwd.empty()) {
    size_t nl = passwd.find('\n');
    std::string_view line = passwd.substr(0, nl);
    passwd.remove_prefix(nl == std::string_view::npos ? passwd.size() : nl + 1);
    // name:password:uid:...
    size_t c1 = line.find(':');
    if (c1 == 0 || c1 == std::string_view::npos || line.starts_with('#')) continue;
    size_t c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    size_t c3 = line.find(':', c2 + 1);
    auto uid = to_u64(line.substr(c2 + 1, c3 == std::string_view::npos ? c3 : c3 - c2 - 1));
    if (!uid || *uid > UINT32_MAX) continue;
    out.emplace(static_cast<uint32_t>(*uid), std::string(line.substr(0, c1)));
  }
  return out;
}

std::string ps_user(uint32_t uid, const std::map<uint32_t, std::string>& names) {
  auto it = names.find(uid);
  if (it == names.end()) return std::to_string(uid);
  if (it->second.size() <= kUserWidth) return it->second;
  return it->second.substr(0, kUserWidth - 1) + "+";
}

std::string ps_c(uint64_t cpu_ticks, uint64_t start_ticks, const Clock& c) {
  // procps pr_c: CPU time over whole seconds of life, in percent, at most 99.
  double age =
      c.uptime - static_cast<double>(start_ticks) / static_cast<double>(c.ticks_per_second);
  uint64_t seconds = age > 0 ? static_cast<uint64_t>(age) : 0;
  uint64_t pcpu = 0;
  if (seconds > 0) pcpu = cpu_ticks * 100 / static_cast<uint64_t>(c.ticks_per_second) / seconds;
  return std::to_string(std::min<uint64_t>(pcpu, 99));
}

std::string ps_stime(uint64_t start_ticks, const Clock& c) {
  // procps pr_stime: HH:MM today, MonDD this year, else the year.
  time_t start =
      c.boot_time + static_cast<time_t>(start_ticks / static_cast<uint64_t>(c.ticks_per_second));
  tm now{}, then{};
  ::localtime_r(&c.now, &now);
  ::localtime_r(&start, &then);
  const char* format = "%H:%M";
  if (now.tm_yday != then.tm_yday) format = "%b%d";
  if (now.tm_year != then.tm_year) format = "%Y";
  char buf[32];
  size_t n = ::strftime(buf, sizeof buf, format, &then);
  return std::string(buf, n);
}

std::string ps_time(uint64_t cpu_ticks, long ticks_per_second) {
  uint64_t t = cpu_ticks / static_cast<uint64_t>(ticks_per_second > 0 ? ticks_per_second : 100);
  uint64_t days = t / 86400;
  std::string hms = fmt::format("{:02}:{:02}:{:02}", t / 3600 % 24, t / 60 % 60, t % 60);
  return days > 0 ? fmt::format("{}-{}", days, hms) : hms;
}

std::string ps_tty(uint64_t tty_nr) {
  if (tty_nr == 0) return "?";
  auto dev = static_cast<dev_t>(tty_nr);
  unsigned maj = major(dev), min = minor(dev);
  if (maj >= 136 && maj <= 143) return fmt::format("pts/{}", min + (maj - 136) * 256);
  if (maj == 4 && min < 64) return fmt::format("tty{}", min);
  if (maj == 4) return fmt::format("ttyS{}", min - 64);
  if (maj == 5 && min == 1) return "console";
  return "?";
}

std::string ps_cmd(const ProcInfo& p) {
  // ps -f's CMD: the arguments, or [comm] for a process that has none (a
  // kernel thread, a zombie); unprintable bytes become '?'.
  std::string_view args = p.cmdline;
  while (args.ends_with('\0')) args.remove_suffix(1);
  std::string out;
  if (args.empty()) {
    out = "[" + p.comm + "]";
    if (p.state == 'Z') out += " <defunct>";
    return out;
  }
  for (char ch : args) {
    unsigned char u = static_cast<unsigned char>(ch);
    if (ch == '\0')
      out += ' ';
    else if (u < 0x20 || u == 0x7f)
      out += '?';
    else
      out += ch;
  }
  return out;
}

std::string format_top(const std::vector<ProcInfo>& procs, const Clock& clock,
                       const std::map<uint32_t, std::string>& names) {
  std::vector<std::vector<std::string>> lines;
  lines.push_back({"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"});
  for (const ProcInfo& p : procs)
    lines.push_back({ps_user(p.euid, names), std::to_string(p.pid), std::to_string(p.ppid),
                     ps_c(p.cpu_ticks, p.start_ticks, clock), ps_stime(p.start_ticks, clock),
                     ps_tty(p.tty_nr), ps_time(p.cpu_ticks, clock.ticks_per_second), ps_cmd(p)});
  return align_columns(lines, 20, 3);  // docker top's tabwriter(20, 1, 3, ' ')
}

Result<std::string> top_table(const std::string& root, const std::string& id) {
  {
    HUSK_TRY_ASSIGN(runtime::StateDir dir, runtime::StateDir::peek(root, id));
    HUSK_TRY_ASSIGN(runtime::ContainerState st, dir.load());
    runtime::Status s = runtime::current_status(st, dir);
    if (s != runtime::Status::kRunning && s != runtime::Status::kPaused)
      return fail(0, "container {} is not running", id);
  }
  HUSK_TRY_ASSIGN(std::vector<int> pids, runtime::processes(root, id));
  HUSK_TRY_ASSIGN(Clock clock, read_clock());
  std::vector<ProcInfo> procs;
  for (int pid : pids) {
    std::string dir = fmt::format("/proc/{}/", pid);
    auto stat = read_file(dir + "stat");
    auto status = read_file(dir + "status");
    auto cmdline = read_file(dir + "cmdline");
    if (!stat || !status || !cmdline) continue;  // exited since the listing
    HUSK_TRY_ASSIGN(ProcInfo p, parse_proc(pid, *stat, *status, *cmdline));
    procs.push_back(std::move(p));
  }
  // The host's names, as ps on the host shows them; a missing file leaves numbers.
  auto passwd = read_file("/etc/passwd");
  return format_top(procs, clock,
                    passwd ? parse_passwd_names(*passwd) : std::map<uint32_t, std::string>());
}

}  // namespace husk::manage
