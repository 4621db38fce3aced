// The monitor of a detached container (husk-monitor, cli/monitor): the role
// conmon plays for podman, one small process per container that outlives
// the husk command that started it. It is
//   - the container's subreaper: the init becomes its child once the
//     launcher (a husk that made the container) exits;
//   - the holder of the container's stdout and stderr pipes, which it writes
//     to the container's log (log_writer.h);
//   - the keeper of the exit status and time, written into status.json
//     (containers.h) as soon as the init is gone;
//   - the server of attach (attach.h): a socket in its run directory that
//     streams the container's output to attached clients and their input to
//     the container's stdin;
//   - the one that cleans up after it (`husk __cleanup NAME`: the runtime's
//     state and cgroups, the network) and carries out the restart policy
//     (`husk __launch NAME` again, after a back-off).
// The monitor execs nothing but husk, never parses the container's config
// and holds no lock while the container runs.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace husk::manage {

struct MonitorOptions {
  std::string root;  // the store root (containers.h)
  std::string name;
  std::string husk;  // the husk binary, for __launch and __cleanup
  pid_t launcher = 0;  // the first launcher, our child
  int out_fd = -1, err_fd = -1;  // its pipes' read ends
  int ready_fd = -1;  // "ok\n" once the program runs; closed without it if the start failed
  bool remove_on_failure = false;  // a failed first start leaves nothing (husk run -d)
  // -t: the container's terminal. The monitor listens on run_dir's console
  // socket (console_socket_path) for the pty master, which it logs as stdout
  // and keeps open for as long as the container runs.
  bool tty = false;
  // -i: the container's stdin stays open: the pty with -t, else a pipe whose
  // write end the monitor holds (stdin_fd).
  bool interactive = false;
  std::string run_dir;  // monitor_run_dir(id): the console and attach sockets
  int console_fd = -1;  // the console socket, listening (-t)
  int stdin_fd = -1;    // the write end of the container's stdin (-i without -t)
  int attach_fd = -1;   // a client attached from the start (husk start -a)
};

// The monitor's own directory under /run (0700): /run/husk-monitor/<id>.
// The 64-hex id, not the name, keeps the socket paths within sun_path.
std::string monitor_run_dir(const std::string& id);
// The console socket in it, which the launcher gives the runtime
// (runtime::CreateOptions::console_socket).
std::string console_socket_path(const std::string& run_dir);
// Makes /run/husk-monitor and run_dir, 0700.
Result<void> make_monitor_run_dir(const std::string& run_dir);
// Removes the directory and what is in it (a monitor killed with -9 leaves it).
void remove_monitor_run_dir(const std::string& run_dir);

// docker's back-off: 100 ms, doubling per restart, at most a minute; reset
// once a run lasted 10 s.
std::chrono::milliseconds restart_delay(int consecutive_restarts);

// Starts a container in the background: forks the monitor, which forks the
// launcher, a copy of the caller that runs launch(err_fd) with the
// container's stdio set (stdin /dev/null, stdout and stderr the monitor's
// pipes; err_fd is the caller's stderr, for its own messages) and returns its
// exit status. The monitor then leaves the caller's session and descriptors
// and executes monitor_path with o. Returns the read end of the ready pipe:
// "ok\n" once the program runs, EOF without it if the start failed.
Result<UniqueFd> spawn_monitor(const std::string& monitor_path, const MonitorOptions& o,
                               const std::function<int(int err_fd)>& launch);

// Runs until the container has stopped for good; returns the exit status for
// the monitor process.
int run_monitor(const MonitorOptions& o);

}  // namespace husk::manage
