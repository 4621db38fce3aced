// The container's terminal (process.terminal: true). The init, or an exec'd
// process, opens a pseudoterminal in the container's own devpts after its
// root is in place, makes the slave its controlling terminal and stdio, and
// hands the master to the runtime, which passes it on to the engine's
// --console-socket or proxies the caller's terminal through it.
#pragma once
#undef linux  // GNU mode predefines `linux` as 1, which breaks `namespace husk::linux`

#include <termios.h>

#include <optional>
#include <string>
#include <utility>

#include "base/error.h"
#include "base/unique_fd.h"

namespace husk::linux {

struct Pty {
  UniqueFd master;
  std::string slave_path;  // "/dev/pts/N" as the container sees it
};

// Opens /dev/ptmx (the container's, after pivot_root), makes the slave the
// caller's controlling terminal (the caller must lead its session) and its
// fds 0, 1 and 2, owned by uid so the user's program may reopen it. Its group
// stays the one devpts gave it: the mount's gid= (5, tty, in runc's default
// spec), else the opener's; as runc, the process's gid never replaces it, so
// write(1) and mesg work as on a host. size is {rows, cols} from
// process.consoleSize.
Result<Pty> open_container_tty(uint32_t uid,
                               const std::optional<std::pair<unsigned, unsigned>>& size);

// The caller's terminal in raw mode while a container's terminal is proxied
// through it (run -t in the foreground, exec -t, attach); restored on every
// way out. Output processing is kept: the container's pty does its own. Does
// nothing when fd is no terminal.
class RawTerminal {
 public:
  explicit RawTerminal(int fd);
  ~RawTerminal();
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  bool active() const { return active_; }

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

}  // namespace husk::linux
