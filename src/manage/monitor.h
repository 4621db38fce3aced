// The monitor of a detached container (husk-monitor, cli/monitor): the role
// conmon plays for podman, one small process per container that outlives
// the husk command that started it. It is
//   - the container's subreaper: the init becomes its child once the
//     launcher (a husk that made the container) exits;
//   - the holder of the container's stdout and stderr pipes, which it writes
//     to the container's log (log_writer.h);
//   - the keeper of the exit status and time, written into status.json
//     (containers.h) as soon as the init is gone;
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
};

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
