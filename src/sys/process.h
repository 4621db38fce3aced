// Process and namespace syscalls the runtime needs, as typed results. No
// policy here: callers decide what a failure means (STYLE.md §7.6).
#pragma once

#include <sched.h>
#include <signal.h>
#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"

namespace husk::sys {

// clone3() without CLONE_VM: returns twice like fork(); 0 in the child.
// Falls back to clone() when the kernel lacks clone3 (then cgroup_fd must
// be -1: CLONE_INTO_CGROUP needs clone3). pidfd, when non-null, receives a
// pidfd for the child (CLONE_PIDFD).
Result<pid_t> clone3(uint64_t flags, int* pidfd = nullptr, int cgroup_fd = -1);

// The stack of a child that shares our address space (clone3_shared_vm): an
// anonymous mapping with an inaccessible guard page at its low end, so an
// overflow faults instead of writing over whatever lies below. Pages cost
// nothing until touched.
class ChildStack {
 public:
  ChildStack() = default;
  static Result<ChildStack> make(size_t size);
  ChildStack(ChildStack&& o) noexcept;
  ChildStack& operator=(ChildStack&& o) noexcept;
  ~ChildStack();
  bool valid() const { return base_ != nullptr; }
  // Keeps the mapping for the rest of our life: a child may still run on it.
  void release() { base_ = nullptr; }
  // The usable range: above the guard page.
  void* low() const;
  size_t size() const;

 private:
  void* base_ = nullptr;  // the guard page
  size_t total_ = 0;
};

// clone3 with CLONE_VM: the child runs entry(arg) on `stack`, in our address
// space, and must end in execve (which gives it a memory of its own) or
// _exit; if entry returns, the child exits with status 0. Until then the two
// processes share every byte of memory and glibc's thread-local state
// (errno, malloc's caches) without any locking: the caller must make sure
// that only one of them runs user code at a time (runtime/init.h). No memory
// copy, no copy-on-write faults and no teardown of a copy at the exec: on the
// development VM that is 1.3 ms of a 4.1 ms clone-to-exec.
// ENOSYS where it is not implemented (architectures other than x86_64,
// kernels without clone3): the caller uses clone3() above.
Result<pid_t> clone3_shared_vm(uint64_t flags, int cgroup_fd, const ChildStack& stack,
                               void (*entry)(void*), void* arg);

Result<UniqueFd> pidfd_open(pid_t pid);
Result<void> pidfd_send_signal(int pidfd, int sig);
// A duplicate (close-on-exec) of fd `target_fd` of the process behind pidfd.
// Needs ptrace access to it (PTRACE_MODE_ATTACH_REALCREDS); Linux 5.6.
Result<UniqueFd> pidfd_getfd(int pidfd, int target_fd);
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

// A process named so that a reused pid does not pass for it: its pid and its
// start time. Records that outlive their writer (a container layer's owner, an
// image hold) store one as "PID START_TIME".
struct ProcessRef {
  pid_t pid = 0;
  uint64_t start_time = 0;
  friend bool operator==(const ProcessRef&, const ProcessRef&) = default;
};
Result<ProcessRef> process_ref(pid_t pid);
std::string format_ref(const ProcessRef& ref);
// The first line of text, "PID START_TIME"; nullopt when malformed.
std::optional<ProcessRef> parse_ref(std::string_view text);
// The process still runs: the same start time, and not a zombie (a zombie has
// left its namespaces, so what it held there is gone).
bool is_alive(const ProcessRef& ref);

// Marks every fd >= first close-on-exec (close_range, or a /proc walk).
Result<void> cloexec_from(int first);

// Closes every fd >= first except those in keep (close_range over the gaps).
Result<void> close_from_except(int first, std::span<const int> keep);

// Starts a child (clone with CLONE_VM: our memory, its own copy of our
// descriptors) that keeps only `fd` open (all signals blocked) and is killed
// when this process exits (PR_SET_PDEATHSIG), so the last close of what fd
// refers to, and whatever the kernel does in it, happens in that child
// rather than in this process. Best effort: if clone fails, nothing happens
// (the close stays ours). Call from a single-threaded process.
void hold_open_past_exit(int fd);

// CLOCK_MONOTONIC in milliseconds, for deadlines (hooks' timeouts, events'
// interval, the notify barrier).
inline int64_t monotonic_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace husk::sys
