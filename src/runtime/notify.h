// What husk-oci does for a runtime started by systemd, as runc does it.
//
// sd_notify passthrough (a Type=notify service whose ExecStart runs husk-oci):
// with NOTIFY_SOCKET in the runtime's environment, create/run make
// <state dir>/notify/, bind-mount it read-only (nosuid, nodev, noexec) at
// /run/notify in the container and set NOTIFY_SOCKET=/run/notify/notify.sock
// in the container's process env. start (and run) bind a datagram socket
// there before the program is exec'd, wait until the container sends a
// READY= line (or its init dies), pass that line on to the caller's
// NOTIFY_SOCKET followed by MAINPID= and a BARRIER=1 handshake
// (sd_notify_barrier(3)), and return. MAINPID is the process the service
// manager should watch: the container's init after start and run --detach,
// the runtime itself for a foreground run (which lives as long as the
// container). Other commands can reach the container meanwhile: the state
// dir is not locked while waiting.
//
//   systemd (NOTIFY_SOCKET=/run/systemd/notify)
//      ^  READY=1, MAINPID=<pid>, BARRIER=1 + pipe fd
//      |
//   husk-oci start/run   <state dir>/notify/notify.sock   (SOCK_DGRAM, 0777)
//      ^                         = /run/notify/notify.sock in the container
//      |  READY=1
//   container program (sd_notify)
//
// Socket activation (sd_listen_fds(3)): with LISTEN_FDS=N and LISTEN_PID=<the
// runtime's own pid>, fds 3..3+N-1 are passed to the container ahead of the
// --preserve-fds ones, and its env gets LISTEN_FDS=N and LISTEN_PID=1.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "config/container.h"
#include "runtime/runtime.h"
#include "runtime/state.h"

namespace husk::runtime {

inline constexpr const char* kNotifyDirInContainer = "/run/notify";
inline constexpr const char* kNotifySocketInContainer = "/run/notify/notify.sock";

// Sets KEY=VALUE in env: replaces the first KEY= entry (dropping any later
// ones) or appends it.
void set_env(std::vector<std::string>& env, std::string_view key, std::string_view value);

// create/run under NOTIFY_SOCKET=host_socket: records it in opts and adds the
// /run/notify bind mount (source <opts.root>/<opts.id>/notify, made absolute)
// and the NOTIFY_SOCKET env entry to c. Pure.
Result<void> add_notify_socket(config::Container& c, CreateOptions& opts,
                               const std::string& host_socket);

// The count sd_listen_fds(3) reports for these LISTEN_FDS / LISTEN_PID values
// seen by process pid: 0 when either is missing or malformed, or LISTEN_PID is
// another process (as runc, silently).
int listen_fds_count(const char* listen_fds, const char* listen_pid, pid_t pid);

// Passes n activation fds (3..3+n-1) to the container, before the
// --preserve-fds ones, and sets LISTEN_FDS=n, LISTEN_PID=1 in its env. Pure.
void add_listen_fds(config::Container& c, CreateOptions& opts, int n);

// True when the container was created under NOTIFY_SOCKET (its notify/ exists).
bool has_notify_dir(const StateDir& dir);

// The runtime's end of the passthrough: the socket the container sends to,
// and a connection to the caller's NOTIFY_SOCKET. Removes its socket file
// when destroyed (StateDir::remove() removes it after a SIGKILL).
class NotifyListener {
 public:
  // Connects to host_socket (a path, or "@name" for an abstract socket) and
  // binds <state dir>/notify/notify.sock, mode 0777 so any container user can
  // send. Fails (nothing left) when either cannot be done.
  static Result<NotifyListener> open(const StateDir& dir, const std::string& host_socket);

  int fd() const { return sock_.get(); }

  // Reads the datagrams waiting; at the first READY= line passes it on to the
  // host with MAINPID=main_pid and waits for the barrier (30 s at most, then
  // a warning, as runc). True once forwarded; other messages are dropped.
  Result<bool> relay(pid_t main_pid);

  // Blocks until relay(main_pid) has forwarded READY=, or pidfd's process
  // (the init) ends (not an error: the container had nothing to report, as
  // with runc), or a signal other than SIGCHLD is read from signal_fd (an
  // error).
  Result<void> wait(pid_t main_pid, int pidfd, int signal_fd = -1);

  NotifyListener(NotifyListener&&) = default;
  NotifyListener& operator=(NotifyListener&& o) noexcept;
  ~NotifyListener() { remove_socket(); }

 private:
  NotifyListener() = default;
  void remove_socket();
  Result<void> forward(std::string_view ready_line, pid_t main_pid);
  std::string host_;  // for messages
  UniqueFd dir_fd_;   // the state dir; valid while our socket file exists
  UniqueFd sock_;
  UniqueFd host_sock_;
};

}  // namespace husk::runtime
