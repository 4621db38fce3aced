#include "runtime/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "runtime/init.h"
#include "sys/process.h"

namespace husk::runtime {
namespace {

// What a failed hook said, kept short enough for one log line.
constexpr size_t kMaxOutput = 4096;

std::string describe(int status) {
  if (WIFEXITED(status)) return fmt::format("exit status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("killed by signal {}", WTERMSIG(status));
  return fmt::format("wait status {}", status);
}

Result<void> run_hook(const config::Hook& h, std::string_view state_json) {
  // stdin is a socket, not a pipe: a hook that exits without reading it
  // must give us EPIPE, not a SIGPIPE (which `run` would forward).
  int in[2], out[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0) return fail_errno("socketpair");
  UniqueFd in_r(in[0]), in_w(in[1]);
  if (::pipe2(out, O_CLOEXEC) < 0) return fail_errno("pipe");
  UniqueFd out_r(out[0]), out_w(out[1]);
  // Built before fork: the child only calls async-signal-safe functions.
  std::vector<std::string> argv_s = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
  auto argv = c_strings(argv_s);
  auto envp = c_strings(h.env);
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork");
  if (pid == 0) {
    ::dup2(in_r.get(), 0);
    ::dup2(out_w.get(), 1);
    ::dup2(out_w.get(), 2);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(h.path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
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
    HUSK_TRY(run_hook(hooks[i], state_json).context("{} hook #{} ({})", phase, i, hooks[i].path));
  }
  return ok();
}

}  // namespace husk::runtime
