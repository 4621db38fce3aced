#include "linux/console.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

namespace husk::linux {

Result<Pty> open_container_tty(uint32_t uid,
                               const std::optional<std::pair<unsigned, unsigned>>& size) {
  Pty pty;
  pty.master = UniqueFd(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pty.master) return fail_errno("open /dev/ptmx");
  if (::unlockpt(pty.master.get()) < 0) return fail_errno("unlock pty");
  int n = 0;
  if (::ioctl(pty.master.get(), TIOCGPTN, &n) < 0) return fail_errno("get pty number");
  pty.slave_path = "/dev/pts/" + std::to_string(n);
  // TIOCGPTPEER opens the slave of this very master, with no path lookup a
  // container could redirect.
  UniqueFd slave(::ioctl(pty.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave) return fail_errno("open {}", pty.slave_path);
  // The group is left as devpts set it (-1): gid=5 of the mount, if any.
  if (::fchown(slave.get(), uid, static_cast<gid_t>(-1)) < 0 && errno != EINVAL)
    return fail_errno("chown {}", pty.slave_path);
  if (size) {
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(size->first);
    ws.ws_col = static_cast<unsigned short>(size->second);
    if (::ioctl(slave.get(), TIOCSWINSZ, &ws) < 0) return fail_errno("set terminal size");
  }
  if (::ioctl(slave.get(), TIOCSCTTY, 0) < 0) return fail_errno("make {} the controlling terminal", pty.slave_path);
  for (int fd = 0; fd <= 2; ++fd) {
    if (::dup2(slave.get(), fd) < 0) return fail_errno("dup {} to fd {}", pty.slave_path, fd);
  }
  return pty;
}

RawTerminal::RawTerminal(int fd) : fd_(fd) {
  if (!::isatty(fd) || ::tcgetattr(fd, &saved_) < 0) return;
  termios raw = saved_;
  ::cfmakeraw(&raw);
  raw.c_oflag = saved_.c_oflag;
  active_ = ::tcsetattr(fd, TCSANOW, &raw) == 0;
}

RawTerminal::~RawTerminal() {
  if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
}

}  // namespace husk::linux
