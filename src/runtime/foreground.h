// Internal to runtime/: what `run` and `exec` do while their process runs in
// the foreground. Signals are taken through a signalfd and forwarded to the
// process (so ^C reaches the container, not the runtime); with a terminal
// and no --console-socket, the caller's terminal is proxied through the
// container's pty master, in raw mode, with window size changes passed on.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <functional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"
#include "runtime/sync.h"

namespace husk::runtime {

// One more fd for wait() to watch (run's sd_notify relay, notify.h):
// on_ready runs when it is readable and returns false once it needs no more
// watching.
struct ExtraWatch {
  int fd = -1;
  std::function<bool()> on_ready;
};

class SignalForwarder {
 public:
  // Blocks the forwarded signals (and SIGCHLD) and opens the signalfd.
  static Result<SignalForwarder> start();
  SignalForwarder(SignalForwarder&&) = default;
  // The caller's mask, for the container's program to start with.
  const sigset_t& original_mask() const { return original_; }
  int fd() const { return fd_.get(); }

  // Reaps children until pid exits, forwarding signals to it; with a valid
  // master, copies stdin -> master and master -> stdout meanwhile. Returns
  // the exit status runc reports: the code, or 128+N when killed by N.
  Result<int> wait(pid_t pid, UniqueFd master = {}, ExtraWatch extra = {});

 private:
  SignalForwarder() = default;
  sigset_t original_{};
  UniqueFd fd_;
};

// Passes the pty master to an engine's --console-socket by SCM_RIGHTS, as
// runc does (the message's data is the terminal's name).
Result<void> send_console(const std::string& socket_path, int master, std::string_view name);

// A kPty message from the init or an exec'd process: the master goes to
// console_socket, or (none given) into *keep for wait() to proxy.
Result<void> take_pty(Message& m, const std::string& console_socket, UniqueFd* keep);

}  // namespace husk::runtime
