// `husk run` resource flags -> config::Resources, with docker's names, units
// and rules: --cpus 0.5 is a CFS quota of 50000 per 100000 us, sizes take
// k/m/g, --memory-swap is memory + swap (-1: unlimited swap; unset: twice
// --memory where the host can limit swap), --pids (docker's --pids-limit),
// --io-weight (--blkio-weight) and per-device throttles "/dev/sda:1mb".
// Pure: host facts (CPU count, swap accounting, device numbers) come in
// through HostFacts. Errors name the flag: `--memory: invalid size "12q"`.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "config/resources.h"

namespace husk::cli {

struct ResourceFlags {
  std::optional<std::string> cpus;                // --cpus 1.5
  std::optional<std::string> cpu_shares;          // --cpu-shares 512
  std::optional<std::string> cpuset_cpus;         // --cpuset-cpus 0-1
  std::optional<std::string> cpuset_mems;         // --cpuset-mems 0
  std::optional<std::string> memory;              // --memory 64m
  std::optional<std::string> memory_swap;         // --memory-swap 128m | -1
  std::optional<std::string> memory_reservation;  // --memory-reservation 32m
  std::optional<std::string> pids;                // --pids / --pids-limit 100 (-1: unlimited)
  std::optional<std::string> io_weight;           // --io-weight / --blkio-weight 10..1000
  std::vector<std::string> device_read_bps;       // --device-read-bps /dev/sda:1mb
  std::vector<std::string> device_write_bps;
  std::vector<std::string> device_read_iops;  // --device-read-iops /dev/sda:100
  std::vector<std::string> device_write_iops;

  bool any() const {
    return cpus || cpu_shares || cpuset_cpus || cpuset_mems || memory || memory_swap ||
           memory_reservation || pids || io_weight || !device_read_bps.empty() ||
           !device_write_bps.empty() || !device_read_iops.empty() || !device_write_iops.empty();
  }
};

struct DeviceNumber {
  int64_t major = 0;
  int64_t minor = 0;
};

struct HostFacts {
  unsigned online_cpus = 0;  // --cpus may not exceed it; 0: unknown, not checked
  bool swap_limit = false;   // the host can limit swap (v1 memsw files, or v2 memory)
  // A block device's numbers from its path (stat), or an error saying why not.
  std::function<Result<DeviceNumber>(const std::string& path)> block_device;
};

// The whole translation; nullopt when no resource flag was given.
Result<std::optional<config::Resources>> build_resources(const ResourceFlags& f,
                                                         const HostFacts& host);

}  // namespace husk::cli
