// `husk-oci update` flags -> config::Resources, with runc's rules (update.go):
// a flag that is not given leaves its cgroup value alone; 0 means "unchanged"
// for the numbers runc treats that way; memory sizes take runc's units ("64m",
// "1g") or "-1" for unlimited; the kernel memory flags are parsed and then
// ignored with runc's warning; Intel RDT schemas are refused. Pure code.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "config/resources.h"
#include "front/units.h"

namespace husk::oci {

struct UpdateFlags {
  std::string id;
  std::string resources;  // -r FILE, or "-" for stdin; then every other flag is ignored
  std::optional<std::string> blkio_weight;
  std::optional<std::string> cpu_period;
  std::optional<std::string> cpu_quota;
  std::optional<std::string> cpu_burst;
  std::optional<std::string> cpu_rt_period;
  std::optional<std::string> cpu_rt_runtime;
  std::optional<std::string> cpu_share;
  std::optional<std::string> cpu_idle;
  std::optional<std::string> cpuset_cpus;
  std::optional<std::string> cpuset_mems;
  std::optional<std::string> memory;
  std::optional<std::string> memory_reservation;
  std::optional<std::string> memory_swap;
  std::optional<std::string> kernel_memory;
  std::optional<std::string> kernel_memory_tcp;
  std::optional<std::string> pids_limit;
  std::optional<std::string> l3_cache_schema;
  std::optional<std::string> mem_bw_schema;
};

inline constexpr const char* kKernelMemoryWarning =
    "Kernel memory settings are ignored and will be removed";

namespace update_detail {

inline Result<uint64_t> unsigned_flag(const std::string& flag, const std::string& v) {
  auto n = cli::parse_uint64(v);
  if (!n) return fail(0, "invalid value for {}: {:?} is not an unsigned integer", flag, v);
  return *n;
}

inline Result<int64_t> signed_flag(const std::string& flag, const std::string& v) {
  auto n = cli::parse_int64(v);
  if (!n) return fail(0, "invalid value for {}: {:?} is not an integer", flag, v);
  return *n;
}

// runc: "-1" is unlimited, anything else a size with an optional unit.
inline Result<int64_t> memory_flag(const std::string& flag, const std::string& v) {
  if (v == "-1") return int64_t{-1};
  auto n = cli::parse_ram_bytes(v);
  if (!n) return fail(0, "invalid value for {}: invalid size: '{}'", flag, v);
  return *n;
}

}  // namespace update_detail

// The resources the flags ask for (without -r). warnings gets the messages
// runc logs as warnings.
inline Result<config::Resources> resources_from_update_flags(const UpdateFlags& f,
                                                             std::vector<std::string>& warnings) {
  using namespace update_detail;
  if (f.l3_cache_schema && !f.l3_cache_schema->empty())
    return fail(0,
                "--l3-cache-schema: Intel RDT (linux.intelRdt) is not "
                "supported by husk");
  if (f.mem_bw_schema && !f.mem_bw_schema->empty())
    return fail(0, "--mem-bw-schema: Intel RDT (linux.intelRdt) is not supported by husk");

  config::Resources r;
  config::CpuResources cpu;
  bool any_cpu = false;
  auto set_u = [&](const std::optional<std::string>& v, const char* flag,
                   std::optional<uint64_t>& dest) -> Result<void> {
    if (!v) return husk::ok();
    HUSK_TRY_ASSIGN(uint64_t n, unsigned_flag(flag, *v));
    if (n != 0) {  // 0: unchanged, as in runc
      dest = n;
      any_cpu = true;
    }
    return husk::ok();
  };
  auto set_i = [&](const std::optional<std::string>& v, const char* flag,
                   std::optional<int64_t>& dest) -> Result<void> {
    if (!v) return husk::ok();
    HUSK_TRY_ASSIGN(int64_t n, signed_flag(flag, *v));
    if (n != 0) {
      dest = n;
      any_cpu = true;
    }
    return husk::ok();
  };
  HUSK_TRY(set_u(f.cpu_share, "cpu-share", cpu.shares));
  HUSK_TRY(set_u(f.cpu_period, "cpu-period", cpu.period));
  HUSK_TRY(set_i(f.cpu_quota, "cpu-quota", cpu.quota));
  HUSK_TRY(set_u(f.cpu_burst, "cpu-burst", cpu.burst));
  HUSK_TRY(set_u(f.cpu_rt_period, "cpu-rt-period", cpu.realtime_period));
  HUSK_TRY(set_i(f.cpu_rt_runtime, "cpu-rt-runtime", cpu.realtime_runtime));
  if (f.cpu_idle) {
    HUSK_TRY_ASSIGN(int64_t idle, signed_flag("cpu-idle", *f.cpu_idle));
    if (idle != 0 && idle != 1)
      return fail(0, "invalid value for cpu-idle: {} is not 0 or 1", idle);
    cpu.idle = idle;
    any_cpu = true;
  }
  if (f.cpuset_cpus && !f.cpuset_cpus->empty()) {
    if (!cli::valid_id_list(*f.cpuset_cpus))
      return fail(0,
                  "invalid value for cpuset-cpus: {:?} is not a CPU list like "
                  "\"0-3,6\"",
                  *f.cpuset_cpus);
    cpu.cpus = *f.cpuset_cpus;
    any_cpu = true;
  }
  if (f.cpuset_mems && !f.cpuset_mems->empty()) {
    if (!cli::valid_id_list(*f.cpuset_mems))
      return fail(0, "invalid value for cpuset-mems: {:?} is not a node list like \"0-1\"",
                  *f.cpuset_mems);
    cpu.mems = *f.cpuset_mems;
    any_cpu = true;
  }
  if (any_cpu) r.cpu = cpu;

  config::MemoryResources mem;
  bool any_mem = false;
  auto set_mem = [&](const std::optional<std::string>& v, const char* flag,
                     std::optional<int64_t>* dest) -> Result<void> {
    if (!v) return husk::ok();
    HUSK_TRY_ASSIGN(int64_t n, memory_flag(flag, *v));
    if (n == 0) return husk::ok();  // unchanged
    if (dest != nullptr) {
      *dest = n;
      any_mem = true;
    } else if (std::find(warnings.begin(), warnings.end(), kKernelMemoryWarning) ==
               warnings.end()) {
      warnings.emplace_back(kKernelMemoryWarning);
    }
    return husk::ok();
  };
  HUSK_TRY(set_mem(f.memory, "memory", &mem.limit));
  HUSK_TRY(set_mem(f.memory_reservation, "memory-reservation", &mem.reservation));
  HUSK_TRY(set_mem(f.memory_swap, "memory-swap", &mem.swap));
  HUSK_TRY(set_mem(f.kernel_memory, "kernel-memory", nullptr));
  HUSK_TRY(set_mem(f.kernel_memory_tcp, "kernel-memory-tcp", nullptr));
  if (any_mem) r.memory = mem;

  if (f.blkio_weight) {
    HUSK_TRY_ASSIGN(int64_t w, signed_flag("blkio-weight", *f.blkio_weight));
    if (w != 0 && (w < 10 || w > 1000))
      return fail(0, "invalid value for blkio-weight: {} is not in the range 10..1000", w);
    if (w != 0) r.block_io = config::BlockIoResources{.weight = static_cast<uint16_t>(w)};
  }
  if (f.pids_limit) {
    HUSK_TRY_ASSIGN(int64_t limit, signed_flag("pids-limit", *f.pids_limit));
    if (limit != 0) r.pids = config::PidsResources{limit};  // -1 (any < 0): unlimited
  }
  return r;
}

}  // namespace husk::oci
