// cgroup v2 resource writers.
#include <fmt/format.h>

#include "base/log.h"
#include "cgroup/convert.h"
#include "cgroup/dir.h"
#include "cgroup/text.h"
#include "cgroup/writers.h"

namespace husk::cgroup::v2 {
namespace {

using writer::kField;
using writer::put;
using writer::unsupported;

// cpu.max takes quota and period together; a period alone keeps the quota.
Result<void> set_cpu_max(int dirfd, const config::CpuResources& cpu) {
  std::optional<int64_t> quota = cpu.quota;
  if ((!quota || *quota == 0) && cpu.period && *cpu.period != 0 && exists_at(dirfd, "cpu.max")) {
    HUSK_TRY_ASSIGN(std::string text, read_at(dirfd, "cpu.max"));
    HUSK_TRY_ASSIGN(CpuMax current, parse_cpu_max(text));
    quota = current.quota;
  }
  auto value = cpu_max_value(quota, cpu.period);
  if (!value) return ok();
  std::string_view field = cpu.quota && *cpu.quota != 0 ? "cpu.quota" : "cpu.period";
  return put(dirfd, field, "cpu.max", *value);
}

}  // namespace

Result<void> set_cpu(int dirfd, const config::CpuResources& cpu) {
  if (cpu.shares && *cpu.shares != 0)
    HUSK_TRY(put(dirfd, "cpu.shares", "cpu.weight", std::to_string(shares_to_weight(*cpu.shares))));
  if (cpu.realtime_runtime && *cpu.realtime_runtime != 0)
    return unsupported("cpu.realtimeRuntime", "cgroup v2 has no realtime group limits");
  if (cpu.realtime_period && *cpu.realtime_period != 0)
    return unsupported("cpu.realtimePeriod", "cgroup v2 has no realtime group limits");
  HUSK_TRY(writer::put_quota_and_burst(dirfd, cpu, "cpu.max.burst",
                                       [&] { return set_cpu_max(dirfd, cpu); }));
  return writer::put_idle(dirfd, cpu);
}

Result<void> set_cpuset(int dirfd, const config::CpuResources& cpu) {
  return writer::put_cpuset(dirfd, cpu);
}

Result<void> set_memory(int dirfd, const config::MemoryResources& mem) {
  if (mem.check_before_update.value_or(false) && mem.limit && *mem.limit > 0) {
    HUSK_TRY_ASSIGN(uint64_t usage, read_u64_at(dirfd, "memory.current"));
    if (static_cast<uint64_t>(*mem.limit) < usage)
      return unsupported("memory.limit", fmt::format("{} is below the current usage {} "
                                                     "(checkBeforeUpdate)",
                                                     *mem.limit, usage));
  }
  auto swap = swap_max_v2(mem.swap, mem.limit);
  if (!swap) {
    swap.error().wrap(fmt::format("{}memory.swap", kField));
    return std::unexpected(std::move(swap).error());
  }
  if (*swap) {
    if (exists_at(dirfd, "memory.swap.max")) {
      HUSK_TRY(put(dirfd, "memory.swap", "memory.swap.max", memory_limit_v2(**swap)));
    } else if (**swap != -1) {
      return unsupported("memory.swap", "swap accounting is not enabled on this host");
    }
  }
  if (mem.limit && *mem.limit != 0)
    HUSK_TRY(put(dirfd, "memory.limit", "memory.max", memory_limit_v2(*mem.limit)));
  if (mem.reservation && *mem.reservation != 0)
    HUSK_TRY(put(dirfd, "memory.reservation", "memory.low", memory_limit_v2(*mem.reservation)));
  if (mem.kernel && *mem.kernel != 0)
    log::warn("linux.resources.memory.kernel is deprecated and ignored");
  if (mem.kernel_tcp && *mem.kernel_tcp != 0 && *mem.kernel_tcp != -1)
    return unsupported("memory.kernelTCP", "cgroup v2 has no kernel TCP memory limit");
  if (mem.swappiness)
    return unsupported("memory.swappiness", "cgroup v2 has no per-cgroup swappiness");
  if (mem.disable_oom_killer.value_or(false))
    return unsupported("memory.disableOOMKiller", "cgroup v2 cannot disable the OOM killer");
  if (mem.use_hierarchy && !*mem.use_hierarchy)
    return unsupported("memory.useHierarchy", "cgroup v2 is always hierarchical");
  return ok();
}

Result<void> set_pids(int dirfd, const config::PidsResources& pids) {
  if (!pids.limit) return ok();
  return put(dirfd, "pids.limit", "pids.max", pids_max_value(*pids.limit));
}

Result<void> set_io(int dirfd, const config::BlockIoResources& io) {
  // BFQ takes blkio's 10..1000 scale as is; io.weight needs the conversion.
  bool bfq = exists_at(dirfd, "io.bfq.weight");
  bool plain = exists_at(dirfd, "io.weight");
  constexpr std::string_view kNoWeight = "no io weight files (io.bfq.weight, io.weight) here";
  auto weight_value = [&](uint64_t w) {
    return std::to_string(bfq ? w : blkio_weight_to_io_weight(w));
  };
  std::string weight_file = bfq ? "io.bfq.weight" : "io.weight";
  if (io.weight && *io.weight != 0) {
    if (!bfq && !plain) return unsupported("blockIO.weight", kNoWeight);
    HUSK_TRY(put(dirfd, "blockIO.weight", weight_file, weight_value(*io.weight)));
  }
  if (io.leaf_weight && *io.leaf_weight != 0)
    return unsupported("blockIO.leafWeight", "cgroup v2 has no leaf weights");
  for (const auto& d : io.weight_device) {
    if (d.leaf_weight && *d.leaf_weight != 0)
      return unsupported("blockIO.weightDevice", "cgroup v2 has no leaf weights");
    if (!d.weight || *d.weight == 0) continue;
    if (!bfq && !plain) return unsupported("blockIO.weightDevice", kNoWeight);
    HUSK_TRY(put(dirfd, "blockIO.weightDevice", weight_file,
                 fmt::format("{}:{} {}", d.major, d.minor, weight_value(*d.weight))));
  }
  struct Throttle {
    std::string_view field, key;
    const std::vector<config::ThrottleDevice>& devices;
  };
  const Throttle throttles[] = {
      {"blockIO.throttleReadBpsDevice", "rbps", io.throttle_read_bps_device},
      {"blockIO.throttleWriteBpsDevice", "wbps", io.throttle_write_bps_device},
      {"blockIO.throttleReadIOPSDevice", "riops", io.throttle_read_iops_device},
      {"blockIO.throttleWriteIOPSDevice", "wiops", io.throttle_write_iops_device},
  };
  for (const auto& t : throttles)
    for (const auto& d : t.devices)
      HUSK_TRY(put(dirfd, t.field, "io.max", io_max_line(d.major, d.minor, t.key, d.rate)));
  return ok();
}

Result<void> set_hugetlb(int dirfd, const std::vector<config::HugepageLimit>& limits) {
  for (size_t i = 0; i < limits.size(); ++i) {
    const auto& l = limits[i];
    std::string field = fmt::format("hugepageLimits[{}]", i);
    std::string file = hugetlb_max_file_v2(l.page_size);
    if (!exists_at(dirfd, file))
      return unsupported(field,
                         fmt::format("page size {} is not supported on this host", l.page_size));
    HUSK_TRY(put(dirfd, field, file, std::to_string(l.limit)));
    if (std::string rsvd = hugetlb_rsvd_file_v2(l.page_size); exists_at(dirfd, rsvd))
      HUSK_TRY(put(dirfd, field, rsvd, std::to_string(l.limit)));
  }
  return ok();
}

Result<void> set_unified(int dirfd, const std::map<std::string, std::string>& unified) {
  for (const auto& [key, value] : unified) {
    std::string field = fmt::format("unified[{:?}]", key);
    if (!exists_at(dirfd, key))
      return unsupported(field, fmt::format("the cgroup has no file {} (is its controller "
                                            "available?)",
                                            key));
    HUSK_TRY(put(dirfd, field, key, value));
  }
  return ok();
}

}  // namespace husk::cgroup::v2

namespace husk::cgroup {

bool wants_cpu(const config::CpuResources& c) {
  auto set = [](const auto& v) { return v && *v != 0; };
  return set(c.shares) || (c.quota && *c.quota > 0) || set(c.period) || set(c.burst) ||
         set(c.realtime_runtime) || set(c.realtime_period) || set(c.idle);
}

bool wants_cpuset(const config::CpuResources& c) {
  return (c.cpus && !c.cpus->empty()) || (c.mems && !c.mems->empty());
}

bool wants_memory(const config::MemoryResources& m) {
  auto limited = [](const std::optional<int64_t>& v) { return v && *v > 0; };
  return limited(m.limit) || limited(m.reservation) || limited(m.swap) || limited(m.kernel_tcp) ||
         m.swappiness.has_value() || m.disable_oom_killer.value_or(false);
}

bool wants_pids(const config::PidsResources& p) { return p.limit && *p.limit > 0; }

bool wants_block_io(const config::BlockIoResources& b) {
  auto set = [](const auto& v) { return v && *v != 0; };
  return set(b.weight) || set(b.leaf_weight) || !b.weight_device.empty() ||
         !b.throttle_read_bps_device.empty() || !b.throttle_write_bps_device.empty() ||
         !b.throttle_read_iops_device.empty() || !b.throttle_write_iops_device.empty();
}

bool wants_class_id(const config::NetworkResources& n) { return n.class_id && *n.class_id != 0; }

bool wants_priorities(const config::NetworkResources& n) { return !n.priorities.empty(); }

}  // namespace husk::cgroup
