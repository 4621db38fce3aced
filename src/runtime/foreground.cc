#include "runtime/foreground.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include "base/log.h"
#include "linux/console.h"
#include "sys/process.h"
#include "sys/socket_msg.h"

namespace husk::runtime {
namespace {

// Signals passed on to the container instead of acting on the runtime.
constexpr int kForwarded[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGTERM, SIGUSR1,
                              SIGUSR2, SIGPIPE, SIGALRM, SIGWINCH, SIGCONT};

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

void copy_window_size(int from, int to) {
  winsize ws{};
  if (::ioctl(from, TIOCGWINSZ, &ws) == 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

// One read and a full write; false at EOF or on error (EIO from a master
// means every slave fd is closed: the container's side hung up).
bool pump(int from, int to) {
  char buf[16384];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;
  for (ssize_t off = 0; off < n;) {
    ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += w;
  }
  return true;
}

}  // namespace

Result<SignalForwarder> SignalForwarder::start() {
  SignalForwarder f;
  sigset_t set;
  sigemptyset(&set);
  for (int s : kForwarded) sigaddset(&set, s);
  sigaddset(&set, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &set, &f.original_);
  // An ignored signal is dropped even while blocked: undo the SIG_IGN a
  // shell gives background jobs (SIGINT, SIGQUIT) so the signalfd sees them.
  for (int s : kForwarded) ::signal(s, SIG_DFL);
  f.fd_ = UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!f.fd_) return fail_errno("signalfd");
  return f;
}

Result<int> SignalForwarder::wait(pid_t pid, UniqueFd master, ExtraWatch extra) {
  HUSK_TRY_ASSIGN(UniqueFd pidfd, sys::pidfd_open(pid));
  std::optional<linux::RawTerminal> raw;
  bool stdin_open = master.valid();
  if (master) {
    raw.emplace(STDIN_FILENO);
    copy_window_size(STDIN_FILENO, master.get());
  }
  for (;;) {
    int status = 0;
    pid_t got;
    while ((got = ::waitpid(-1, &status, WNOHANG)) > 0) {
      if (got != pid) continue;
      // Drain what the program wrote before it exited.
      if (master) {
        pollfd p{master.get(), POLLIN, 0};
        while (::poll(&p, 1, 0) > 0 && (p.revents & POLLIN) && pump(master.get(), STDOUT_FILENO)) {
        }
      }
      return exit_code(status);
    }
    if (got < 0 && errno == ECHILD) return fail(ECHILD, "wait for pid {}", pid);
    pollfd fds[4] = {{fd_.get(), POLLIN, 0},
                     {master ? master.get() : -1, POLLIN, 0},
                     {stdin_open ? STDIN_FILENO : -1, POLLIN, 0},
                     {extra.fd, POLLIN, 0}};
    if (::poll(fds, 4, -1) < 0) {
      if (errno == EINTR) continue;
      return fail_errno("poll");
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!pump(master.get(), STDOUT_FILENO)) master.reset();
    }
    if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!pump(STDIN_FILENO, master ? master.get() : -1)) stdin_open = false;
    }
    if ((fds[3].revents & POLLIN) && !extra.on_ready()) extra.fd = -1;
    if (!(fds[0].revents & POLLIN)) continue;
    signalfd_siginfo si{};
    while (::read(fd_.get(), &si, sizeof si) == sizeof si) {
      if (si.ssi_signo == SIGCHLD) continue;
      if (si.ssi_signo == SIGWINCH && master) {
        copy_window_size(STDIN_FILENO, master.get());
        continue;
      }
      log::debug("forwarding signal {} to pid {}", si.ssi_signo, pid);
      (void)sys::pidfd_send_signal(pidfd.get(), static_cast<int>(si.ssi_signo));
    }
  }
}

Result<void> send_console(const std::string& socket_path, int master, std::string_view name) {
  auto s = sys::connect_unix_stream(socket_path);
  if (!s) return fail(s.error().code, "connect to console socket {:?}", socket_path);
  iovec iov{const_cast<char*>(name.data()), name.size()};
  auto sent = sys::send_message(s->get(), &iov, 1, master);
  if (!sent)
    return fail(sent.error().code, "send pty master to console socket {:?}", socket_path);
  return ok();
}

Result<void> take_pty(Message& m, const std::string& console_socket, UniqueFd* keep) {
  if (!m.fd) return fail(EPROTO, "sync: pty message without a file descriptor");
  if (console_socket.empty()) {
    *keep = std::move(m.fd);
    return ok();
  }
  return send_console(console_socket, m.fd.get(), m.payload);
}

}  // namespace husk::runtime
