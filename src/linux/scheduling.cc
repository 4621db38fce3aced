#include "linux/scheduling.h"

#include <sched.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <string_view>
#include <utility>

#include "base/log.h"

namespace husk::linux {
namespace {

// uapi/linux/sched/types.h, the first version (48 bytes): without the
// utilization clamps, which spec/ refuses.
struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
};
static_assert(sizeof(SchedAttr) == 48);

std::string_view policy_name(uint32_t policy) {
  constexpr std::array<std::string_view, 7> kNames = {
      "SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH",
      "SCHED_ISO",   "SCHED_IDLE", "SCHED_DEADLINE"};
  return policy < kNames.size() ? kNames[policy] : "?";
}

Result<void> set_affinity(const config::CpuSet& set) {
  if (::sched_setaffinity(0, set.words.size() * sizeof(uint64_t),
                          reinterpret_cast<const cpu_set_t*>(set.words.data())) < 0)
    return fail_errno("set CPU affinity {}", cpu_list(set));
  return ok();
}

Result<void> apply_scheduler(const config::Scheduler& s) {
  SchedAttr attr{.size = sizeof(SchedAttr),
                 .sched_policy = s.policy,
                 .sched_flags = s.flags,
                 .sched_nice = s.nice,
                 .sched_priority = s.priority,
                 .sched_runtime = s.runtime,
                 .sched_deadline = s.deadline,
                 .sched_period = s.period};
  if (::syscall(SYS_sched_setattr, 0, &attr, 0) == 0) return ok();
  // With real-time group scheduling a cgroup gets no real-time time unless given some.
  bool realtime = s.policy == 1 || s.policy == 2;  // SCHED_FIFO, SCHED_RR
  if (errno == EPERM && realtime)
    return fail_errno("process.scheduler: set {} (does the cpu cgroup have "
                      "linux.resources.cpu.realtimeRuntime?)",
                      policy_name(s.policy));
  return fail_errno("process.scheduler: set {}", policy_name(s.policy));
}

Result<void> apply_io_priority(const config::IoPriority& io) {
  constexpr int kWhoProcess = 1;  // IOPRIO_WHO_PROCESS
  constexpr int kClassShift = 13;
  // The calling task only (runc names its process group, which after
  // setsid holds just this task too); children inherit it.
  if (::syscall(SYS_ioprio_set, kWhoProcess, 0, (io.io_class << kClassShift) | io.level) < 0)
    return fail_errno("process.ioPriority: set class {} priority {}", io.io_class, io.level);
  return ok();
}

}  // namespace

std::string cpu_list(const config::CpuSet& set) {
  std::string out;
  unsigned end = static_cast<unsigned>(set.words.size() * 64);
  for (unsigned cpu = 0; cpu < end; ++cpu) {
    if (!set.has(cpu)) continue;
    unsigned last = cpu;
    while (last + 1 < end && set.has(last + 1)) ++last;
    if (!out.empty()) out += ',';
    out += last == cpu ? fmt::format("{}", cpu) : fmt::format("{}-{}", cpu, last);
    cpu = last;
  }
  return out;
}

Result<void> apply_sched_attrs(const config::Process& p, std::optional<unsigned long> personality,
                               ProcessKind kind) {
  // Set before the scheduler: SCHED_DEADLINE wants the affinity it will keep.
  if (kind == ProcessKind::kExec && p.exec_cpus_final)
    HUSK_TRY(set_affinity(*p.exec_cpus_final).context("process.execCPUAffinity.final"));
  if (p.scheduler) HUSK_TRY(apply_scheduler(*p.scheduler));
  if (p.io_priority) HUSK_TRY(apply_io_priority(*p.io_priority));
  if (personality && ::personality(*personality) < 0)
    return fail_errno("linux.personality: set {:#x}", *personality);
  return ok();
}

Result<InitialCpuAffinity> InitialCpuAffinity::apply(const config::Process& p) {
  InitialCpuAffinity a;
  if (!p.exec_cpus_initial) return a;
  a.saved_.words.resize(8192 / 64);  // Linux's largest NR_CPUS
  if (::sched_getaffinity(0, a.saved_.words.size() * sizeof(uint64_t),
                          reinterpret_cast<cpu_set_t*>(a.saved_.words.data())) < 0)
    return fail_errno("process.execCPUAffinity.initial: get CPU affinity");
  HUSK_TRY(set_affinity(*p.exec_cpus_initial).context("process.execCPUAffinity.initial"));
  a.active_ = true;
  return a;
}

InitialCpuAffinity::InitialCpuAffinity(InitialCpuAffinity&& o) noexcept
    : saved_(std::move(o.saved_)), active_(std::exchange(o.active_, false)) {}

InitialCpuAffinity& InitialCpuAffinity::operator=(InitialCpuAffinity&& o) noexcept {
  if (this != &o) {
    restore();
    saved_ = std::move(o.saved_);
    active_ = std::exchange(o.active_, false);
  }
  return *this;
}

void InitialCpuAffinity::restore() {
  if (!std::exchange(active_, false)) return;
  // Our own previous mask: only a CPU gone offline meanwhile could refuse it.
  if (auto r = set_affinity(saved_); !r) log::warn("restore CPU affinity: {}", r.error().what());
}

}  // namespace husk::linux
