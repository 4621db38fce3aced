// OCI runtime-spec v1.2 `linux.resources`, typed. Every field is optional:
// absent means "leave the cgroup's value alone", which is what `update`
// needs. Values keep the spec's units and sentinels (-1 = unlimited, 0 = not
// set for most fields); the cgroup layer translates them to each driver.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace husk::config {

// linux.resources.devices[]: one device-cgroup rule, applied in order (the
// last matching rule wins).
struct DeviceRule {
  bool allow = false;
  char type = 'a';               // 'a' (all), 'c', 'b'
  std::optional<int64_t> major;  // absent: any ("*")
  std::optional<int64_t> minor;  // absent: any ("*")
  std::string access = "rwm";    // a non-empty subset of "rwm"
};

struct MemoryResources {
  std::optional<int64_t> limit;        // bytes; -1 unlimited
  std::optional<int64_t> reservation;  // soft limit (v1) / memory.low (v2)
  std::optional<int64_t> swap;         // memory + swap, bytes; -1 unlimited
  std::optional<int64_t> kernel;       // deprecated, ignored with a warning
  std::optional<int64_t> kernel_tcp;   // v1 only
  std::optional<uint64_t> swappiness;  // 0..100, v1 only
  std::optional<bool> disable_oom_killer;
  std::optional<bool> use_hierarchy;
  std::optional<bool> check_before_update;  // refuse a limit below current usage
};

struct CpuResources {
  std::optional<uint64_t> shares;
  std::optional<int64_t> quota;   // microseconds per period; -1 unlimited
  std::optional<uint64_t> burst;  // microseconds
  std::optional<uint64_t> period;
  std::optional<int64_t> realtime_runtime;
  std::optional<uint64_t> realtime_period;
  std::optional<std::string> cpus;  // cpuset list "0-3,6"
  std::optional<std::string> mems;
  std::optional<int64_t> idle;  // 0 or 1
};

struct PidsResources {
  std::optional<int64_t> limit;  // <= 0: unlimited
};

struct WeightDevice {
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint16_t> weight;
  std::optional<uint16_t> leaf_weight;
};

struct ThrottleDevice {
  int64_t major = 0;
  int64_t minor = 0;
  uint64_t rate = 0;  // bytes or operations per second; 0 removes the limit
};

struct BlockIoResources {
  std::optional<uint16_t> weight;  // 10..1000
  std::optional<uint16_t> leaf_weight;
  std::vector<WeightDevice> weight_device;
  std::vector<ThrottleDevice> throttle_read_bps_device;
  std::vector<ThrottleDevice> throttle_write_bps_device;
  std::vector<ThrottleDevice> throttle_read_iops_device;
  std::vector<ThrottleDevice> throttle_write_iops_device;
};

struct HugepageLimit {
  std::string page_size;  // "2MB", "1GB", "64KB"
  uint64_t limit = 0;     // bytes
};

struct InterfacePriority {
  std::string name;
  uint32_t priority = 0;
};

struct NetworkResources {
  std::optional<uint32_t> class_id;
  std::vector<InterfacePriority> priorities;
};

struct RdmaLimit {
  std::optional<uint32_t> hca_handles;
  std::optional<uint32_t> hca_objects;
};

// A group whose optional is empty was absent from the JSON.
struct Resources {
  std::vector<DeviceRule> devices;
  std::optional<MemoryResources> memory;
  std::optional<CpuResources> cpu;
  std::optional<PidsResources> pids;
  std::optional<BlockIoResources> block_io;
  std::vector<HugepageLimit> hugepage_limits;
  std::optional<NetworkResources> network;
  std::map<std::string, RdmaLimit> rdma;       // device name -> limits
  std::map<std::string, std::string> unified;  // cgroup v2 file -> value
};

}  // namespace husk::config
