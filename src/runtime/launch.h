// Internal to runtime/: what create and run share.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <memory>
#include <optional>
#include <utility>

#include "cgroup/manager.h"
#include "linux/host_bind.h"
#include "spec/state.h"
#include "sys/process.h"

#include "runtime/runtime.h"
#include "runtime/state.h"
#include "runtime/sync.h"

namespace husk::runtime {

// Kills (and, if it is our child, reaps) a process unless released.
class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(pid_t pid, bool reap) : pid_(pid), reap_(reap) {}
  ChildProcess(ChildProcess&& o) noexcept
      : pid_(std::exchange(o.pid_, 0)), reap_(o.reap_) {}
  ChildProcess& operator=(ChildProcess&& o) noexcept {
    if (this != &o) {
      this->~ChildProcess();
      pid_ = std::exchange(o.pid_, 0);
      reap_ = o.reap_;
    }
    return *this;
  }
  ~ChildProcess();
  pid_t pid() const { return pid_; }
  pid_t release() { return std::exchange(pid_, 0); }
  // The process is already gone (reaped elsewhere).
  void forget() { pid_ = 0; }

 private:
  pid_t pid_ = 0;
  bool reap_ = false;
};

// Removes the container's cgroups unless released.
class CgroupGuard {
 public:
  CgroupGuard() = default;
  explicit CgroupGuard(std::unique_ptr<cgroup::Manager> m) : m_(std::move(m)) {}
  CgroupGuard(CgroupGuard&&) = default;
  CgroupGuard& operator=(CgroupGuard&&) = default;
  ~CgroupGuard();
  cgroup::Manager* get() const { return m_.get(); }
  void release() { m_.reset(); }
  Result<void> destroy();

 private:
  std::unique_ptr<cgroup::Manager> m_;
};

// Detaches the rootfs bind of a container without a mount namespace
// (linux/host_bind.h) unless released.
class HostBindGuard {
 public:
  HostBindGuard() = default;
  explicit HostBindGuard(linux::HostBind b) : b_(std::move(b)) {}
  HostBindGuard(HostBindGuard&& o) noexcept : b_(std::exchange(o.b_, std::nullopt)) {}
  HostBindGuard& operator=(HostBindGuard&& o) noexcept {
    if (this != &o) {
      this->~HostBindGuard();
      b_ = std::exchange(o.b_, std::nullopt);
    }
    return *this;
  }
  ~HostBindGuard();
  void release() { b_.reset(); }
  Result<void> destroy();

 private:
  std::optional<linux::HostBind> b_;
};

// Member order is destruction order reversed: on failure the init is
// killed first, then its cgroups go, then the state directory, and its
// stack (when it shares our memory) is unmapped last.
struct Launched {
  sys::ChildStack stack;
  StateDir dir;
  CgroupGuard cgroup;
  HostBindGuard rootfs_bind;  // detached after the init is killed
  SyncSocket sock;
  ChildProcess child;
  ContainerState state;
  // process.terminal without --console-socket: `run` proxies it.
  UniqueFd pty_master;
};

// Clones a child that runs entry(arg) and never returns from it: in our
// memory, on *stack, when stack is valid (sys::clone3_shared_vm; init.h says
// how the two take turns), else in a copy of it like fork(). It is born into
// the container's cgroup2 directory when cgroup_fd is one
// (CLONE_INTO_CGROUP); a kernel that refuses that (older than 5.7, or a
// directory that takes no processes) gets a plain clone and cgroup_fd is
// reset, so `cgroup_fd.valid()` says whether the child was placed. Where a
// shared memory is not to be had (ENOSYS) the stack is reset and the child
// gets a copy, as it does when shared_vm_allowed() says no. Returns the
// child's pid.
Result<pid_t> spawn_child(uint64_t flags, UniqueFd& cgroup_fd, sys::ChildStack& stack,
                          void (*entry)(void*), void* arg);

// Whether a child may share our memory at all: not with HUSK_SHARED_VM=0 in
// the environment (read at each spawn: no static initializer), and never in
// an ASan build, whose shadow memory and thread state cannot follow a child
// running on a stack of its own in our address space. CI runs the
// integration tests with it off (scripts/test), so both ways stay equal.
bool shared_vm_allowed();

// The stack of a child that shares our memory: it needs little (no deep
// recursion, no large buffers), and untouched pages cost nothing.
constexpr size_t kChildStackSize = 1 << 20;

// The state hooks get on stdin.
spec::OciState hook_state(const config::Container& c, const CreateOptions& opts, pid_t pid,
                          std::string_view status);

// Steps 1-6 of create (DESIGN.md §2): on success the init is ready and
// waiting for start; on failure nothing is left behind.
// original_mask is the signal mask the user's program starts with.
Result<Launched> launch(const config::Container& cfg, const CreateOptions& opts, bool run_mode,
                        const sigset_t& original_mask);

}  // namespace husk::runtime
