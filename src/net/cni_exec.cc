// Running one CNI plugin: lookup in CNI_PATH, environment, posix_spawn with
// stdin and stdout connected, a deadline, and the plugin's error JSON turned
// into one line (cni_detail.h).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "base/cleanup.h"
#include "base/file.h"
#include "base/unique_fd.h"
#include "net/cni_detail.h"
#include "sys/process.h"

namespace husk::net::cni::detail {
namespace {

// A plugin's stdout is a result or an error: far below this.
constexpr size_t kMaxOutput = 16 << 20;

// What a plugin said, fit for one line: control characters become spaces,
// and a runaway message is cut.
std::string one_line(std::string_view s, size_t max = 1000) {
  std::string out;
  for (char c : s.substr(0, max)) out += static_cast<unsigned char>(c) < ' ' ? ' ' : c;
  while (!out.empty() && out.back() == ' ') out.pop_back();
  size_t lead = out.find_first_not_of(' ');
  out.erase(0, lead == std::string::npos ? out.size() : lead);
  if (s.size() > max) out += "...";
  return out;
}

// fds 0-2 of the child are dup2 targets: a source there (our own stdio was
// closed) would be overwritten before it is copied.
Result<void> above_stdio(UniqueFd& fd) {
  if (fd.get() > 2) return ok();
  int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3);
  if (moved < 0) return fail_errno("fcntl F_DUPFD_CLOEXEC");
  fd.reset(moved);
  return ok();
}

Result<pid_t> spawn(const Invocation& inv, int in_fd, int out_fd) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  if (int e = ::posix_spawn_file_actions_init(&fa); e != 0) return fail(e, "posix_spawn");
  Cleanup fa_done([&] { ::posix_spawn_file_actions_destroy(&fa); });
  if (int e = ::posix_spawnattr_init(&attr); e != 0) return fail(e, "posix_spawn");
  Cleanup attr_done([&] { ::posix_spawnattr_destroy(&attr); });
  sigset_t none, all;
  ::sigemptyset(&none);
  ::sigfillset(&all);
  // stdin, stdout, our stderr, nothing else; a clean signal state (husk may
  // block or ignore signals the plugin expects to have).
  int e = ::posix_spawn_file_actions_adddup2(&fa, in_fd, STDIN_FILENO);
  if (e == 0) e = ::posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
  if (e == 0) e = ::posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  if (e == 0) e = ::posix_spawnattr_setsigmask(&attr, &none);
  if (e == 0) e = ::posix_spawnattr_setsigdefault(&attr, &all);
  if (e == 0) e = ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  if (e != 0) return fail(e, "posix_spawn attributes");
  std::vector<char*> envp;
  for (const auto& s : inv.env) envp.push_back(const_cast<char*>(s.c_str()));
  envp.push_back(nullptr);
  char* argv[] = {const_cast<char*>(inv.path.c_str()), nullptr};
  pid_t pid = -1;
  e = ::posix_spawn(&pid, inv.path.c_str(), &fa, &attr, argv, envp.data());
  if (e != 0) return fail(e, "{}: run {}", inv.type, inv.path);
  return pid;
}

// A spawned plugin: killed and reaped unless it was reaped already, so no
// path out of run_plugin leaves it running or a zombie. Signals go through
// its pidfd once there is one: never to a stranger that got its pid.
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {}
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ > 0) kill_and_reap();
  }
  void set_pidfd(UniqueFd fd) { pidfd_ = std::move(fd); }
  int pidfd() const { return pidfd_.get(); }
  // Reaps it if it has ended. A wait for all children elsewhere in the
  // process may have taken it first (ECHILD): ended too, status lost.
  bool try_reap() {
    pid_t got = ::waitpid(pid_, &status_, WNOHANG);
    if (got == 0 || (got < 0 && errno != ECHILD)) return false;
    lost_ = got < 0;
    pid_ = -1;
    return true;
  }
  void kill_and_reap() {
    if (pidfd_) {
      (void)sys::pidfd_send_signal(pidfd_.get(), SIGKILL);
    } else {
      ::kill(pid_, SIGKILL);  // not reaped by us: the pid is still its
    }
    while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  int status() const { return status_; }
  bool lost() const { return lost_; }
  // Reaped by someone else already: nothing of ours to kill or wait for.
  void forget() { pid_ = -1; }

 private:
  pid_t pid_;
  UniqueFd pidfd_;
  int status_ = 0;
  bool lost_ = false;
};

// Reads what is there; false at end of file or on an error.
bool read_some(int fd, std::string& out) {
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      if (out.size() > kMaxOutput) return false;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && errno == EAGAIN;
  }
}

std::string duration(int ms) {
  return ms % 1000 == 0 ? fmt::format("{} s", ms / 1000) : fmt::format("{} ms", ms);
}

// Feeds stdin and collects stdout until the plugin has exited (and its
// stdout is drained) or the deadline passes.
Result<std::string> converse(const Invocation& inv, Child& child, UniqueFd in, UniqueFd out,
                             int timeout_ms) {
  HUSK_TRY(set_nonblock(in.get()));
  HUSK_TRY(set_nonblock(out.get()));
  std::string_view pending = inv.stdin_text;
  if (pending.empty()) in.reset();
  std::string got;
  bool exited = false;
  int64_t deadline = sys::monotonic_ms() + timeout_ms;
  while (!exited) {
    int64_t left = deadline - sys::monotonic_ms();
    if (left <= 0) {
      child.kill_and_reap();
      return fail_quiet(ETIMEDOUT, "{}: timed out after {}", inv.type, duration(timeout_ms));
    }
    pollfd fds[3] = {{in.valid() ? in.get() : -1, POLLOUT, 0},
                     {out.valid() ? out.get() : -1, POLLIN, 0},
                     {child.pidfd(), POLLIN, 0}};
    if (::poll(fds, 3, static_cast<int>(left)) < 0) {
      if (errno == EINTR) continue;
      return fail_errno("poll");
    }
    if (fds[0].revents != 0) {
      ssize_t n = ::send(in.get(), pending.data(), pending.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) pending.remove_prefix(static_cast<size_t>(n));
      // EPIPE: the plugin stopped reading; how it ends tells the rest.
      if (pending.empty() || (n < 0 && errno != EAGAIN && errno != EINTR)) in.reset();
    }
    if (fds[1].revents != 0 && !read_some(out.get(), got)) out.reset();
    if (got.size() > kMaxOutput) {
      child.kill_and_reap();
      return fail(0, "{}: output larger than {} MiB", inv.type, kMaxOutput >> 20);
    }
    if (fds[2].revents != 0) exited = child.try_reap();
  }
  // What it wrote before exiting is in the pipe; a child it left behind may
  // hold the pipe open, so read what is there, not to the end.
  if (out.valid()) read_some(out.get(), got);
  if (got.size() > kMaxOutput)
    return fail(0, "{}: output larger than {} MiB", inv.type, kMaxOutput >> 20);
  return got;
}

}  // namespace

std::string search_path(const Request& r) {
  if (!r.cni_path.empty()) return r.cni_path;
  const char* env = std::getenv("CNI_PATH");
  return env != nullptr && *env != '\0' ? env : kDefaultPath;
}

Result<std::string> find_plugin(std::string_view type, std::string_view search_path) {
  if (type.empty() || type == "." || type == ".." || type.find('/') != std::string_view::npos ||
      type.find('\0') != std::string_view::npos)
    return fail(0, "plugin \"{}\": not a plain file name", type);
  std::string rejected;
  for (std::string_view rest = search_path; !rest.empty();) {
    size_t colon = rest.find(':');
    std::string_view dir = rest.substr(0, colon);
    rest.remove_prefix(colon == std::string_view::npos ? rest.size() : colon + 1);
    if (dir.empty()) continue;
    std::string path = fmt::format("{}/{}", dir, type);
    struct stat st {};
    if (::stat(path.c_str(), &st) < 0) continue;
    if (S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0) return path;
    if (rejected.empty()) rejected = path;
  }
  if (!rejected.empty())
    return fail_quiet(EACCES, "plugin \"{}\" not found in {} ({} is not an executable file)", type,
                      search_path, rejected);
  return fail_quiet(ENOENT, "plugin \"{}\" not found in {}", type, search_path);
}

std::vector<std::string> plugin_env(std::string_view command, const Request& r,
                                    std::string_view netns, std::string_view search_path) {
  const char* path = std::getenv("PATH");
  return {
      fmt::format("CNI_COMMAND={}", command),
      fmt::format("CNI_CONTAINERID={}", r.container_id),
      fmt::format("CNI_NETNS={}", netns),
      fmt::format("CNI_IFNAME={}", r.ifname),
      "CNI_ARGS=IgnoreUnknown=1",
      fmt::format("CNI_PATH={}", search_path),
      // Plugins run helpers (portmap and firewall run iptables) by PATH.
      fmt::format("PATH={}", path != nullptr
                                 ? path
                                 : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
  };
}

std::string plugin_failure(std::string_view type, int status, std::string_view out) {
  auto err = parse_json(out);
  if (err && err->is_object()) {
    auto msg = err->find("msg");
    if (msg != err->end() && msg->is_string()) {
      std::string text = one_line(msg->get_ref<const std::string&>());
      auto details = err->find("details");
      if (details != err->end() && details->is_string() &&
          !details->get_ref<const std::string&>().empty())
        text += "; " + one_line(details->get_ref<const std::string&>());
      auto code = err->find("code");
      if (code != err->end() && code->is_number_integer())
        text += fmt::format(" (code {})", code->get<int64_t>());
      return fmt::format("{}: {}", type, text);
    }
  }
  std::string how = WIFSIGNALED(status) ? fmt::format("killed by signal {}", WTERMSIG(status))
                                        : fmt::format("exited with status {}", WEXITSTATUS(status));
  std::string said = one_line(out.substr(0, out.find('\n')), 200);
  return said.empty() ? fmt::format("{}: {}", type, how)
                      : fmt::format("{}: {}: {}", type, how, said);
}

Result<std::string> run_plugin(const Invocation& inv, int timeout_ms) {
  // stdin is a socket: a plugin that exits without reading gives us EPIPE
  // (MSG_NOSIGNAL), never a SIGPIPE.
  int in[2], out[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0) return fail_errno("socketpair");
  UniqueFd in_child(in[0]), in_ours(in[1]);
  if (::pipe2(out, O_CLOEXEC) < 0) return fail_errno("pipe");
  UniqueFd out_ours(out[0]), out_child(out[1]);
  HUSK_TRY(above_stdio(in_child));
  HUSK_TRY(above_stdio(out_child));
  HUSK_TRY_ASSIGN(pid_t pid, spawn(inv, in_child.get(), out_child.get()));
  Child child(pid);
  in_child.reset();
  out_child.reset();
  auto pidfd = sys::pidfd_open(pid);
  // Our own child can be gone before we wait for it only if another wait
  // (or SIGCHLD ignored) reaped it.
  if (!pidfd && pidfd.error().code == ESRCH) {
    child.forget();
    return fail_quiet(ECHILD, "{}: its exit status was taken by another wait", inv.type);
  }
  if (!pidfd) return std::unexpected(pidfd.error());
  child.set_pidfd(std::move(*pidfd));
  HUSK_TRY_ASSIGN(std::string got,
                  converse(inv, child, std::move(in_ours), std::move(out_ours), timeout_ms));
  if (child.lost())
    return fail_quiet(ECHILD, "{}: its exit status was taken by another wait", inv.type);
  int status = child.status();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return got;
  return fail(0, "{}", plugin_failure(inv.type, status, got));
}

}  // namespace husk::net::cni::detail
