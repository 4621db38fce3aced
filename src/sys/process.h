// Process and namespace syscalls the runtime needs, as typed results. No
// policy here: callers decide what a failure means (STYLE.md §7.6).
#pragma once

#include <sched.h>
#include <signal.h>
#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace husk::sys {

// clone3() without CLONE_VM: returns twice like fork(); 0 in the child.
// Falls back to clone() when the kernel lacks clone3 (then cgroup_fd must
// be -1: CLONE_INTO_CGROUP needs clone3). pidfd, when non-null, receives a
// pidfd for the child (CLONE_PIDFD).
Result<pid_t> clone3(uint64_t flags, int* pidfd = nullptr, int cgroup_fd = -1);

Result<UniqueFd> pidfd_open(pid_t pid);
Result<void> pidfd_send_signal(int pidfd, int sig);
Result<void> setns(int fd, int nstype);
Result<void> unshare(int flags);

// Two fields of /proc/<pid>/stat: the state (R, S, D, Z, X, ...) and the
// start time (field 22, clock ticks since boot), which tells a live process
// from a reused pid.
struct ProcessStat {
  char state = 0;
  uint64_t start_time = 0;
};
Result<ProcessStat> process_stat(pid_t pid);
// process_stat(pid)->start_time.
Result<uint64_t> process_start_time(pid_t pid);

// Marks every fd >= first close-on-exec (close_range, or a /proc walk).
Result<void> cloexec_from(int first);

// CLOCK_MONOTONIC in milliseconds, for deadlines (hooks' timeouts, events'
// interval, the notify barrier).
inline int64_t monotonic_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace husk::sys
