// Scheduling attributes of the container's processes: process.scheduler
// (sched_setattr), process.ioPriority (ioprio_set), linux.personality
// (personality) and process.execCPUAffinity (sched_setaffinity). spec/ has
// checked every value; what the kernel still refuses (EPERM without
// CAP_SYS_NICE, a CPU that is not online) is an error naming the field.
//
// Each call changes only the calling task (or, for the initial affinity,
// the runtime's own task until restored), so they are safe in an init that
// shares the runtime's memory (runtime/init.h); they allocate only on error.
#pragma once

#undef linux  // GNU mode predefines `linux` as 1, which breaks `namespace husk::linux`

#include <optional>

#include "base/error.h"
#include "config/container.h"

namespace husk::linux {

enum class ProcessKind {
  kInit,  // the container's init: execCPUAffinity does not apply (runtime-spec)
  kExec,  // a process `exec` starts: execCPUAffinity's `final` is set first
};

// In a process that is already in the container's cgroups and still holds
// its capabilities (before finalize_process), as runc 1.3 does for init and
// exec: final CPU affinity (exec only), scheduler, I/O priority, personality.
Result<void> apply_sched_attrs(const config::Process& p, std::optional<unsigned long> personality,
                               ProcessKind kind);

// execCPUAffinity's `initial`: the runtime's own task runs on those CPUs
// while it clones the process (which inherits them) and is put back on its
// previous CPUs by restore() or the destructor. Does nothing without one.
class InitialCpuAffinity {
 public:
  static Result<InitialCpuAffinity> apply(const config::Process& p);
  InitialCpuAffinity() = default;
  InitialCpuAffinity(InitialCpuAffinity&& o) noexcept;
  InitialCpuAffinity& operator=(InitialCpuAffinity&& o) noexcept;
  ~InitialCpuAffinity() { restore(); }
  void restore();

 private:
  config::CpuSet saved_;
  bool active_ = false;
};

// "0-1,3" for a set (the form /proc/<pid>/status shows), for messages.
std::string cpu_list(const config::CpuSet& set);

}  // namespace husk::linux
