#include "runtime/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cctype>
#include <string>
#include <utility>

#include "base/file.h"
#include "runtime/init.h"
#include "sys/process.h"

namespace husk::runtime {
namespace {

// What a failed hook said, kept short enough for one log line.
constexpr size_t kMaxOutput = 4096;

// A hook runs in a process group of its own, and a watcher (a fork of ours
// that keeps nothing of ours but one pipe) kills that group if we die before
// the hook is done: PR_SET_PDEATHSIG reaches only our direct child, not what
// a hook starts (`sh -c 'daemon &'`). The watcher waits for a byte on the
// pipe: one means we are done with the hook (its leftovers are its own, as
// under runc); EOF means we died with it running. What leaves the group
// (setsid, setpgid) escapes; nothing short of a cgroup of its own would hold it.
class HookWatch {
 public:
  // Starts the watcher of hook_pid's group; guard: the pipe's two ends.
  static HookWatch start(pid_t hook_pid, UniqueFd guard_r, UniqueFd guard_w) {
    HookWatch w;
    pid_t pid = ::fork();
    if (pid == 0) watch(hook_pid, guard_r.release());
    if (pid > 0) {
      w.pid_ = pid;
      w.guard_ = std::move(guard_w);
    }
    return w;  // fork failed: the hook's own parent-death signal is all there is
  }
  HookWatch() = default;
  HookWatch(HookWatch&& o) noexcept
      : pid_(std::exchange(o.pid_, 0)), guard_(std::move(o.guard_)) {}
  HookWatch& operator=(HookWatch&&) = delete;
  // Not done (an error on our side): EOF, and the watcher kills the group.
  ~HookWatch() {
    guard_.reset();
    if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
  }
  // Done with the hook: the watcher leaves the group alone.
  void done() {
    if (guard_) (void)!::write(guard_.get(), "d", 1);
  }

 private:
  [[noreturn]] static void watch(pid_t group, int guard) {
    // Nothing of ours but the pipe: not the state dir's lock, not the sync
    // socket, not the caller's stdout. No signal but SIGKILL ends it.
    if (guard > 0) ::syscall(SYS_close_range, 0, guard - 1, 0);
    ::syscall(SYS_close_range, guard + 1, ~0U, 0);
    sigset_t all;
    sigfillset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    char c;
    ssize_t n;
    do {
      n = ::read(guard, &c, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) ::kill(-group, SIGKILL);
    ::_exit(0);
  }

  pid_t pid_ = 0;
  UniqueFd guard_;
};

std::string describe(int status) {
  if (WIFEXITED(status)) return fmt::format("exit status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    // "killed by signal 31 (bad system call)": the number, and the words runc (Go) prints.
    const char* d = ::sigdescr_np(WTERMSIG(status));
    std::string what = d != nullptr ? d : "unknown signal";
    what[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(what[0])));
    return fmt::format("killed by signal {} ({})", WTERMSIG(status), what);
  }
  return fmt::format("wait status {}", status);
}

// Forks the hook with stdin `in` and stdout + stderr `out`, in a process
// group of its own, with SIGKILL as its parent-death signal.
Result<pid_t> spawn_hook(const config::Hook& h, int in, int out) {
  // Built before fork: the child only calls async-signal-safe functions.
  std::vector<std::string> argv_s = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
  auto argv = c_strings(argv_s);
  auto envp = c_strings(h.env);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork");
  if (pid == 0) {
    // Dies with us; a death before the prctl shows as a new parent.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (::getppid() != parent) ::_exit(127);
    ::setpgid(0, 0);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(h.path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  // Both sides set the group, so it exists whichever runs first.
  ::setpgid(pid, pid);
  return pid;
}

Result<void> run_hook(const config::Hook& h, std::string_view state_json) {
  // stdin is a socket, not a pipe: a hook that exits without reading it
  // must give us EPIPE, not a SIGPIPE (which `run` would forward).
  int in[2], out[2], guard[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0) return fail_errno("socketpair");
  UniqueFd in_r(in[0]), in_w(in[1]);
  if (::pipe2(out, O_CLOEXEC) < 0) return fail_errno("pipe");
  UniqueFd out_r(out[0]), out_w(out[1]);
  if (::pipe2(guard, O_CLOEXEC) < 0) return fail_errno("pipe");
  UniqueFd guard_r(guard[0]), guard_w(guard[1]);
  HUSK_TRY_ASSIGN(pid_t pid, spawn_hook(h, in_r.get(), out_w.get()));
  HookWatch watch = HookWatch::start(pid, std::move(guard_r), std::move(guard_w));
  in_r.reset();
  out_w.reset();
  HUSK_TRY_ASSIGN(UniqueFd pidfd, sys::pidfd_open(pid));
  // The state fits the socket buffer: a hook that never reads cannot block us.
  for (size_t off = 0; off < state_json.size();) {
    ssize_t n = ::send(in_w.get(), state_json.data() + off, state_json.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  in_w.reset();

  std::string output;
  int64_t deadline = h.timeout ? sys::monotonic_ms() + int64_t{*h.timeout} * 1000 : -1;
  bool timed_out = false;
  for (bool out_open = true;;) {
    pollfd fds[2] = {{pidfd.get(), POLLIN, 0}, {out_open ? out_r.get() : -1, POLLIN, 0}};
    int wait_ms =
        deadline < 0 ? -1 : static_cast<int>(std::max<int64_t>(0, deadline - sys::monotonic_ms()));
    int n = ::poll(fds, 2, wait_ms);
    if (n < 0 && errno != EINTR) return fail_errno("poll");
    if (n == 0) {
      timed_out = true;
      (void)sys::pidfd_send_signal(pidfd.get(), SIGKILL);
      ::kill(-pid, SIGKILL);  // and what it started, not yet reaped: still its group
      break;
    }
    if (fds[1].revents) {
      char buf[1024];
      ssize_t r = ::read(out_r.get(), buf, sizeof buf);
      if (r <= 0) {
        out_open = false;
      } else if (output.size() < kMaxOutput) {
        output.append(buf, static_cast<size_t>(std::min<ssize_t>(r, kMaxOutput - output.size())));
      }
    }
    // Exited, and nothing more to read now (a child it left behind may hold
    // the pipe open forever).
    if ((fds[0].revents & POLLIN) && !(fds[1].revents & POLLIN)) break;
  }
  // Before the reap: until then the group's id cannot be reused.
  watch.done();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
  std::string said = output.empty() ? "" : ": " + output;
  if (timed_out) return fail(ETIMEDOUT, "timed out after {}s{}", *h.timeout, said);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && ::access(h.path.c_str(), X_OK) < 0)
    return fail_errno("exec {:?}", h.path);
  if (status != 0) return fail(0, "{}{}", describe(status), said);
  return ok();
}

}  // namespace

Result<void> run_hooks(std::string_view phase, const std::vector<config::Hook>& hooks,
                       std::string_view state_json) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    HUSK_TRY(run_hook(hooks[i], state_json)
                 .context("error running hook: {} hook #{} ({})", phase, i, hooks[i].path));
  }
  return ok();
}

}  // namespace husk::runtime
