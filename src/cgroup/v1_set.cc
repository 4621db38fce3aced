// cgroup v1 resource writers.
#include <fmt/format.h>

#include "base/log.h"
#include "cgroup/convert.h"
#include "cgroup/dir.h"
#include "cgroup/text.h"
#include "cgroup/writers.h"

namespace husk::cgroup::v1 {
namespace {

using writer::kField;
using writer::put;
using writer::put_optional_file;
using writer::unsupported;

Result<void> set_cfs(int dirfd, const config::CpuResources& cpu) {
  bool quota = cpu.quota && *cpu.quota != 0;
  bool period = cpu.period && *cpu.period != 0;
  // A new period may be refused next to the old quota (and the other way
  // round); retry the period after the quota, as runc does.
  bool retry_period = false;
  if (period) {
    auto r = write_at(dirfd, "cpu.cfs_period_us", std::to_string(*cpu.period));
    if (!r) {
      if (r.error().code != EINVAL || !quota) return std::move(r).context("{}cpu.period", kField);
      retry_period = true;
    }
  }
  if (quota) HUSK_TRY(put(dirfd, "cpu.quota", "cpu.cfs_quota_us", std::to_string(*cpu.quota)));
  if (retry_period)
    HUSK_TRY(put(dirfd, "cpu.period", "cpu.cfs_period_us", std::to_string(*cpu.period)));
  return ok();
}

Result<void> set_memory_and_swap(int dirfd, const config::MemoryResources& mem) {
  int64_t limit = mem.limit.value_or(0);
  int64_t swap = mem.swap.value_or(0);
  bool memsw = exists_at(dirfd, "memory.memsw.limit_in_bytes");
  if (limit == -1 && swap == 0 && memsw) swap = -1;  // unlimited memory: unlimited swap too
  if (swap != 0 && !memsw) {
    if (swap == -1)
      swap = 0;  // nothing to lift
    else
      return unsupported("memory.swap", "swap accounting is not enabled on this host");
  }
  auto write_limit = [&] {
    return put(dirfd, "memory.limit", "memory.limit_in_bytes", memory_limit_v1(limit));
  };
  auto write_swap = [&] {
    return put(dirfd, "memory.swap", "memory.memsw.limit_in_bytes", memory_limit_v1(swap));
  };
  if (limit != 0 && swap != 0) {
    // memsw must stay >= the memory limit at every step.
    HUSK_TRY_ASSIGN(uint64_t current, read_u64_at(dirfd, "memory.limit_in_bytes"));
    if (swap == -1 || current < static_cast<uint64_t>(swap)) {
      HUSK_TRY(write_swap());
      return write_limit();
    }
    HUSK_TRY(write_limit());
    return write_swap();
  }
  if (limit != 0) HUSK_TRY(write_limit());
  if (swap != 0) HUSK_TRY(write_swap());
  return ok();
}

Result<void> write_device_lines(int dirfd, std::string_view field, std::string_view file,
                                const std::vector<config::ThrottleDevice>& devices) {
  for (const auto& d : devices)
    HUSK_TRY(put(dirfd, field, file, device_value_line(d.major, d.minor, d.rate)));
  return ok();
}

}  // namespace

Result<void> set_cpu(int dirfd, const config::CpuResources& cpu) {
  if (cpu.shares && *cpu.shares != 0)
    HUSK_TRY(put(dirfd, "cpu.shares", "cpu.shares", std::to_string(*cpu.shares)));
  // The runtime must fit in the period: period first.
  if (cpu.realtime_period && *cpu.realtime_period != 0)
    HUSK_TRY(put_optional_file(dirfd, "cpu.realtimePeriod", "cpu.rt_period_us",
                               std::to_string(*cpu.realtime_period),
                               "this kernel has no realtime group scheduling"));
  if (cpu.realtime_runtime && *cpu.realtime_runtime != 0)
    HUSK_TRY(put_optional_file(dirfd, "cpu.realtimeRuntime", "cpu.rt_runtime_us",
                               std::to_string(*cpu.realtime_runtime),
                               "this kernel has no realtime group scheduling"));
  HUSK_TRY(writer::put_quota_and_burst(dirfd, cpu, "cpu.cfs_burst_us",
                                       [&] { return set_cfs(dirfd, cpu); }));
  return writer::put_idle(dirfd, cpu);
}

Result<void> set_cpuset(int dirfd, const config::CpuResources& cpu) {
  return writer::put_cpuset(dirfd, cpu);
}

Result<void> init_cpuset(int parent_fd, int dirfd) {
  for (std::string_view file : {"cpuset.cpus", "cpuset.mems"}) {
    HUSK_TRY_ASSIGN(std::string mine, read_at(dirfd, file));
    if (!trim(mine).empty()) continue;
    HUSK_TRY_ASSIGN(std::string parent, read_at(parent_fd, file));
    if (trim(parent).empty()) return fail(EINVAL, "the parent cgroup's {} is empty", file);
    HUSK_TRY(write_at(dirfd, file, trim(parent)));
  }
  return ok();
}

Result<void> set_memory(int dirfd, const config::MemoryResources& mem) {
  if (mem.check_before_update.value_or(false) && mem.limit && *mem.limit > 0) {
    HUSK_TRY_ASSIGN(uint64_t usage, read_u64_at(dirfd, "memory.usage_in_bytes"));
    if (static_cast<uint64_t>(*mem.limit) < usage)
      return unsupported("memory.limit", fmt::format("{} is below the current usage {} "
                                                     "(checkBeforeUpdate)",
                                                     *mem.limit, usage));
  }
  HUSK_TRY(set_memory_and_swap(dirfd, mem));
  if (mem.reservation && *mem.reservation != 0)
    HUSK_TRY(put(dirfd, "memory.reservation", "memory.soft_limit_in_bytes",
                 memory_limit_v1(*mem.reservation)));
  if (mem.kernel && *mem.kernel != 0)
    log::warn("linux.resources.memory.kernel is deprecated and ignored");
  if (mem.kernel_tcp && *mem.kernel_tcp != 0)
    HUSK_TRY(put_optional_file(dirfd, "memory.kernelTCP", "memory.kmem.tcp.limit_in_bytes",
                               memory_limit_v1(*mem.kernel_tcp),
                               "this kernel has no kernel TCP memory accounting"));
  if (mem.swappiness)
    HUSK_TRY(put(dirfd, "memory.swappiness", "memory.swappiness", std::to_string(*mem.swappiness)));
  if (mem.disable_oom_killer)
    HUSK_TRY(put(dirfd, "memory.disableOOMKiller", "memory.oom_control",
                 *mem.disable_oom_killer ? "1" : "0"));
  // Hierarchical accounting is the only mode of current kernels; only ask for it.
  if (mem.use_hierarchy.value_or(false) && exists_at(dirfd, "memory.use_hierarchy"))
    HUSK_TRY(put(dirfd, "memory.useHierarchy", "memory.use_hierarchy", "1"));
  return ok();
}

Result<void> set_pids(int dirfd, const config::PidsResources& pids) {
  if (!pids.limit) return ok();
  return put(dirfd, "pids.limit", "pids.max", pids_max_value(*pids.limit));
}

Result<void> set_blkio(int dirfd, const config::BlockIoResources& io) {
  // CFQ's blkio.weight is gone from current kernels; BFQ has its own files.
  bool cfq = exists_at(dirfd, "blkio.weight");
  std::string weight_file = cfq ? "blkio.weight" : "blkio.bfq.weight";
  std::string weight_device_file = cfq ? "blkio.weight_device" : "blkio.bfq.weight_device";
  constexpr std::string_view kNoWeight = "no blkio weight files (neither CFQ nor BFQ) on this host";
  if (io.weight && *io.weight != 0)
    HUSK_TRY(put_optional_file(dirfd, "blockIO.weight", weight_file, std::to_string(*io.weight),
                               kNoWeight));
  if (io.leaf_weight && *io.leaf_weight != 0)
    HUSK_TRY(put_optional_file(dirfd, "blockIO.leafWeight", "blkio.leaf_weight",
                               std::to_string(*io.leaf_weight), "this kernel has no leaf weights"));
  for (const auto& d : io.weight_device) {
    if (d.weight && *d.weight != 0)
      HUSK_TRY(put_optional_file(dirfd, "blockIO.weightDevice", weight_device_file,
                                 device_value_line(d.major, d.minor, *d.weight), kNoWeight));
    if (d.leaf_weight && *d.leaf_weight != 0)
      HUSK_TRY(put_optional_file(dirfd, "blockIO.weightDevice", "blkio.leaf_weight_device",
                                 device_value_line(d.major, d.minor, *d.leaf_weight),
                                 "this kernel has no leaf weights"));
  }
  HUSK_TRY(write_device_lines(dirfd, "blockIO.throttleReadBpsDevice",
                              "blkio.throttle.read_bps_device", io.throttle_read_bps_device));
  HUSK_TRY(write_device_lines(dirfd, "blockIO.throttleWriteBpsDevice",
                              "blkio.throttle.write_bps_device", io.throttle_write_bps_device));
  HUSK_TRY(write_device_lines(dirfd, "blockIO.throttleReadIOPSDevice",
                              "blkio.throttle.read_iops_device", io.throttle_read_iops_device));
  HUSK_TRY(write_device_lines(dirfd, "blockIO.throttleWriteIOPSDevice",
                              "blkio.throttle.write_iops_device", io.throttle_write_iops_device));
  return ok();
}

Result<void> set_hugetlb(int dirfd, const std::vector<config::HugepageLimit>& limits) {
  for (size_t i = 0; i < limits.size(); ++i) {
    const auto& l = limits[i];
    std::string field = fmt::format("hugepageLimits[{}]", i);
    std::string file = hugetlb_limit_file_v1(l.page_size);
    if (!exists_at(dirfd, file))
      return unsupported(field,
                         fmt::format("page size {} is not supported on this host", l.page_size));
    HUSK_TRY(put(dirfd, field, file, std::to_string(l.limit)));
    // Reservations count too, or a mapping could reserve past the limit.
    if (std::string rsvd = hugetlb_rsvd_file_v1(l.page_size); exists_at(dirfd, rsvd))
      HUSK_TRY(put(dirfd, field, rsvd, std::to_string(l.limit)));
  }
  return ok();
}

Result<void> set_devices(int dirfd, const std::vector<config::DeviceRule>& rules) {
  if (rules.empty()) return ok();
  // Start from "deny everything" unless the first rule sets the default
  // itself, so v1 and the v2 eBPF filter agree: what no rule allows is denied.
  if (rules.front().type != 'a') HUSK_TRY(put(dirfd, "devices", "devices.deny", "a *:* rwm"));
  for (size_t i = 0; i < rules.size(); ++i) {
    const auto& r = rules[i];
    HUSK_TRY(put(dirfd, fmt::format("devices[{}]", i), r.allow ? "devices.allow" : "devices.deny",
                 device_rule_line(r)));
  }
  return ok();
}

Result<void> set_net_cls(int dirfd, const config::NetworkResources& net) {
  if (!net.class_id) return ok();
  return put(dirfd, "network.classID", "net_cls.classid", std::to_string(*net.class_id));
}

Result<void> set_net_prio(int dirfd, const config::NetworkResources& net) {
  for (const auto& p : net.priorities)
    HUSK_TRY(put(dirfd, "network.priorities", "net_prio.ifpriomap",
                 fmt::format("{} {}", p.name, p.priority)));
  return ok();
}

Result<void> set_rdma(int dirfd, const std::map<std::string, config::RdmaLimit>& rdma) {
  for (const auto& [device, limit] : rdma)
    HUSK_TRY(
        put(dirfd, fmt::format("rdma[{:?}]", device), "rdma.max", rdma_max_line(device, limit)));
  return ok();
}

}  // namespace husk::cgroup::v1
