// Accounting read back from the cgroup files: what `events --stats` reports
// (runc's types/events.go field by field) and `husk stats` shows.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/error.h"

namespace husk::cgroup {

struct CpuUsage {  // nanoseconds
  uint64_t total = 0;
  std::vector<uint64_t> percpu;
  std::vector<uint64_t> percpu_kernel;
  std::vector<uint64_t> percpu_user;
  uint64_t kernel = 0;
  uint64_t user = 0;
};

struct Throttling {
  uint64_t periods = 0;
  uint64_t throttled_periods = 0;
  uint64_t throttled_time = 0;  // nanoseconds
};

struct CpuStats {
  CpuUsage usage;
  Throttling throttling;
};

struct CpusetStats {
  std::vector<uint16_t> cpus;
  std::vector<uint16_t> mems;
  uint64_t cpu_exclusive = 0;
  uint64_t mem_hardwall = 0;
  uint64_t mem_exclusive = 0;
  uint64_t memory_migrate = 0;
  uint64_t memory_spread_page = 0;
  uint64_t memory_spread_slab = 0;
  uint64_t memory_pressure = 0;
  uint64_t sched_load_balance = 0;
  int64_t sched_relax_domain_level = 0;
};

struct MemoryEntry {
  uint64_t limit = 0;  // UINT64_MAX when unlimited on v2
  uint64_t usage = 0;
  uint64_t max = 0;  // peak usage
  uint64_t failcnt = 0;
};

struct MemoryStats {
  uint64_t cache = 0;
  MemoryEntry usage;
  MemoryEntry swap;  // memory+swap, as v1 reports it (v2 values are summed to match)
  MemoryEntry kernel;
  MemoryEntry kernel_tcp;
  std::map<std::string, uint64_t> raw;  // memory.stat
};

struct PidsStats {
  uint64_t current = 0;
  uint64_t limit = 0;  // 0: unlimited
};

struct BlkioEntry {
  uint64_t major = 0;
  uint64_t minor = 0;
  std::string op;  // "Read", "Write", "Sync", "Async", "Discard", "Total"; "" for plain values
  uint64_t value = 0;
};

struct BlkioStats {
  std::vector<BlkioEntry> io_service_bytes_recursive;
  std::vector<BlkioEntry> io_serviced_recursive;
  std::vector<BlkioEntry> io_queued_recursive;
  std::vector<BlkioEntry> io_service_time_recursive;
  std::vector<BlkioEntry> io_wait_time_recursive;
  std::vector<BlkioEntry> io_merged_recursive;
  std::vector<BlkioEntry> io_time_recursive;
  std::vector<BlkioEntry> sectors_recursive;
};

struct HugetlbStats {
  uint64_t usage = 0;
  uint64_t max = 0;
  uint64_t failcnt = 0;
};

struct Stats {
  CpuStats cpu;
  CpusetStats cpuset;
  MemoryStats memory;
  PidsStats pids;
  BlkioStats blkio;
  std::map<std::string, HugetlbStats> hugetlb;  // page size name ("2MB") -> stats
};

// runc's `events` "data" object for a stats event, with Go's omitempty rules.
std::string stats_to_json(const Stats& s);

// Readers, one per controller and hierarchy; files a kernel lacks are skipped.
namespace v1 {
Result<void> read_cpu(int dirfd, CpuStats& out);      // cpu: throttling
Result<void> read_cpuacct(int dirfd, CpuStats& out);  // cpuacct: usage
Result<void> read_cpuset(int dirfd, CpusetStats& out);
Result<void> read_memory(int dirfd, MemoryStats& out);
Result<void> read_pids(int dirfd, PidsStats& out);
// blkio from the first file set that has entries, in runc's order: BFQ, CFQ,
// throttle recursive, throttle (a BFQ file exists but stays empty for a
// device run by another scheduler, so existing is not enough).
Result<void> read_blkio(int dirfd, BlkioStats& out);
// Only the bytes entries of that set (husk stats).
Result<std::vector<BlkioEntry>> read_blkio_bytes(int dirfd);
Result<void> read_hugetlb(int dirfd, std::map<std::string, HugetlbStats>& out);
}  // namespace v1

namespace v2 {
Result<void> read_cpu(int dirfd, CpuStats& out);  // cpu.stat exists without the controller
Result<void> read_cpuset(int dirfd, CpusetStats& out);
Result<void> read_memory(int dirfd, MemoryStats& out);
Result<void> read_pids(int dirfd, PidsStats& out);
Result<void> read_io(int dirfd, BlkioStats& out);
Result<void> read_hugetlb(int dirfd, std::map<std::string, HugetlbStats>& out);
}  // namespace v2

// "8:0 Read 4096" lines of a v1 blkio file; "Total N" summary lines are skipped.
std::vector<BlkioEntry> parse_blkio_lines(std::string_view text);
// v2 io.stat lines ("8:0 rbytes=1 wbytes=2 rios=3 wios=4 ...") as "Read" and
// "Write" entries of bytes and of ios, appended to out.
void parse_io_stat(std::string_view text, BlkioStats& out);

}  // namespace husk::cgroup
