// Pure conversions between OCI resource values and cgroup file contents, for
// both hierarchies. No I/O: each is unit-tested on its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "config/resources.h"

namespace husk::cgroup {

// cpu.shares (2..262144, v1) -> cpu.weight (1..10000, v2), runc's linear map;
// 0 stays 0 ("not set"). Out-of-range shares are clamped first.
uint64_t shares_to_weight(uint64_t shares);

// OCI quota/period -> cpu.max: "50000 100000", "max 100000", "50000".
// nullopt when neither is set (quota 0 and period 0 count as unset).
std::optional<std::string> cpu_max_value(std::optional<int64_t> quota,
                                         std::optional<uint64_t> period);
struct CpuMax {
  int64_t quota = -1;  // -1: "max"
  uint64_t period = 100000;
};
Result<CpuMax> parse_cpu_max(std::string_view text);

// A memory limit in each hierarchy's spelling: negative -> "max" (v2), "-1" (v1).
std::string memory_limit_v2(int64_t bytes);
std::string memory_limit_v1(int64_t bytes);

// OCI swap is memory+swap; v2's memory.swap.max is swap alone. Returns the
// value to write (-1 = "max"), nullopt when nothing is to be written, or an
// error for inconsistent limits (as runc: swap < limit, swap without limit).
Result<std::optional<int64_t>> swap_max_v2(std::optional<int64_t> swap,
                                           std::optional<int64_t> limit);

// pids.limit: > 0 -> the number, 0 or negative -> "max".
std::string pids_max_value(int64_t limit);

// blkio.weight (10..1000) -> io.weight (1..10000), runc's map; 0 stays 0.
uint64_t blkio_weight_to_io_weight(uint64_t weight);

// "8:16 rbps=1048576" for io.max; rate 0 removes the limit ("max").
std::string io_max_line(int64_t major, int64_t minor, std::string_view key, uint64_t rate);
// "8:16 1048576" for blkio.throttle.*_device and "8:16 500" for *weight_device.
std::string device_value_line(int64_t major, int64_t minor, uint64_t value);

// A v1 devices.allow/devices.deny line: "c 1:3 rwm", "a *:* rwm", "b 8:* r".
std::string device_rule_line(const config::DeviceRule& rule);
// runc's default allowed devices (null, zero, full, tty, random, urandom,
// pts, ptmx, "m" on every c/b), to append after a spec's own rules. As runc,
// a default device whose path the config lists itself (listed: linux.devices
// paths) gets no rule here: the config's own rules decide for it.
std::vector<config::DeviceRule> default_device_rules(
    const std::vector<std::string>& listed = {});

// hugetlb files for a page size name ("2MB").
std::string hugetlb_limit_file_v1(std::string_view page_size);  // hugetlb.2MB.limit_in_bytes
std::string hugetlb_rsvd_file_v1(std::string_view page_size);   // hugetlb.2MB.rsvd.limit_in_bytes
std::string hugetlb_max_file_v2(std::string_view page_size);    // hugetlb.2MB.max
std::string hugetlb_rsvd_file_v2(std::string_view page_size);   // hugetlb.2MB.rsvd.max
// /sys/kernel/mm/hugepages size in kB -> the kernel's name: 2048 -> "2MB".
std::string hugetlb_size_name(uint64_t kilobytes);

// One rdma.max line: "mlx5_0 hca_handle=2 hca_object=max".
std::string rdma_max_line(std::string_view device, const config::RdmaLimit& limit);

}  // namespace husk::cgroup
