#include "cgroup/stats.h"

#include <fcntl.h>
#include <unistd.h>

#include "base/file.h"
#include "cgroup/dir.h"
#include "cgroup/text.h"

namespace husk::cgroup {
namespace {

// A file that may be missing on this kernel: 0 when it is.
Result<uint64_t> optional_u64(int dirfd, std::string_view file) {
  if (!exists_at(dirfd, file)) return 0;
  return read_u64_at(dirfd, file);
}

Result<std::map<std::string, uint64_t>> optional_keyed(int dirfd, std::string_view file) {
  if (!exists_at(dirfd, file)) return std::map<std::string, uint64_t>();
  HUSK_TRY_ASSIGN(std::string text, read_at(dirfd, file));
  return parse_flat_keyed(text);
}

std::vector<uint64_t> parse_u64_list(std::string_view text) {
  std::vector<uint64_t> out;
  for (auto f : split_fields(text))
    if (auto v = parse_u64(f)) out.push_back(*v);
  return out;
}

// Page size names from files named prefix<size>suffix ("hugetlb.2MB.max").
Result<std::vector<std::string>> hugetlb_sizes(int dirfd, std::string_view suffix) {
  HUSK_TRY_ASSIGN(std::vector<std::string> names, list_dir_at(dirfd));
  std::vector<std::string> out;
  for (const auto& n : names) {
    std::string_view v = n;
    if (!v.starts_with("hugetlb.") || !v.ends_with(suffix)) continue;
    v = v.substr(8, v.size() - 8 - suffix.size());
    if (!v.empty() && v.find('.') == std::string_view::npos) out.emplace_back(v);
  }
  return out;
}

// One v1 memory entry: prefix "memory", "memory.memsw", "memory.kmem", ...
Result<void> read_memory_entry(int dirfd, const std::string& prefix, MemoryEntry& e) {
  if (!exists_at(dirfd, prefix + ".usage_in_bytes")) return ok();
  HUSK_TRY_ASSIGN(e.usage, read_u64_at(dirfd, prefix + ".usage_in_bytes"));
  HUSK_TRY_ASSIGN(e.max, optional_u64(dirfd, prefix + ".max_usage_in_bytes"));
  HUSK_TRY_ASSIGN(e.failcnt, optional_u64(dirfd, prefix + ".failcnt"));
  HUSK_TRY_ASSIGN(e.limit, optional_u64(dirfd, prefix + ".limit_in_bytes"));
  return ok();
}

// The v1 blkio file sets in runc's order. The first whose bytes file has
// entries is the one the kernel fills: BFQ's files exist whenever the module
// is loaded but stay empty for a device driven by another scheduler.
struct BlkioGroup {
  const char* bytes;
  const char* serviced;
};
constexpr BlkioGroup kBlkioGroups[] = {
    {"blkio.bfq.io_service_bytes_recursive", "blkio.bfq.io_serviced_recursive"},
    {"blkio.io_service_bytes_recursive", "blkio.io_serviced_recursive"},  // CFQ
    {"blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_serviced_recursive"},
    {"blkio.throttle.io_service_bytes", "blkio.throttle.io_serviced"},
};

// The group in use and its bytes entries; null (and no entries) when none has any.
Result<const BlkioGroup*> find_blkio_group(int dirfd, std::vector<BlkioEntry>& bytes) {
  for (const BlkioGroup& g : kBlkioGroups) {
    auto text = read_at(dirfd, g.bytes);
    if (!text) {
      if (text.error().code == ENOENT) continue;
      return std::unexpected(text.error());
    }
    bytes = parse_blkio_lines(*text);
    if (!bytes.empty()) return &g;
  }
  return nullptr;
}

}  // namespace

std::vector<BlkioEntry> parse_blkio_lines(std::string_view text) {
  std::vector<BlkioEntry> out;
  for (auto line : split(text, '\n')) {
    auto f = split_fields(line);
    if (f.size() < 2 || f.size() > 3) continue;
    auto colon = f[0].find(':');
    if (colon == std::string_view::npos) continue;  // "Total 123"
    auto major = parse_u64(f[0].substr(0, colon));
    auto minor = parse_u64(f[0].substr(colon + 1));
    auto value = parse_u64(f.back());
    if (!major || !minor || !value) continue;
    out.push_back({*major, *minor, f.size() == 3 ? std::string(f[1]) : "", *value});
  }
  return out;
}

void parse_io_stat(std::string_view text, BlkioStats& out) {
  // "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0"
  for (auto line : split(text, '\n')) {
    auto f = split_fields(line);
    if (f.empty()) continue;
    auto colon = f[0].find(':');
    if (colon == std::string_view::npos) continue;
    uint64_t major = parse_u64(f[0].substr(0, colon)).value_or(0);
    uint64_t minor = parse_u64(f[0].substr(colon + 1)).value_or(0);
    for (size_t i = 1; i < f.size(); ++i) {
      auto eq = f[i].find('=');
      if (eq == std::string_view::npos) continue;
      std::string_view key = f[i].substr(0, eq);
      uint64_t value = parse_u64(f[i].substr(eq + 1)).value_or(0);
      if (key == "rbytes") out.io_service_bytes_recursive.push_back({major, minor, "Read", value});
      if (key == "wbytes") out.io_service_bytes_recursive.push_back({major, minor, "Write", value});
      if (key == "rios") out.io_serviced_recursive.push_back({major, minor, "Read", value});
      if (key == "wios") out.io_serviced_recursive.push_back({major, minor, "Write", value});
    }
  }
}

namespace v1 {

Result<void> read_cpu(int dirfd, CpuStats& out) {
  HUSK_TRY_ASSIGN(auto stat, optional_keyed(dirfd, "cpu.stat"));
  out.throttling.periods = stat["nr_periods"];
  out.throttling.throttled_periods = stat["nr_throttled"];
  out.throttling.throttled_time = stat["throttled_time"];
  return ok();
}

Result<void> read_cpuacct(int dirfd, CpuStats& out) {
  HUSK_TRY_ASSIGN(out.usage.total, optional_u64(dirfd, "cpuacct.usage"));
  if (exists_at(dirfd, "cpuacct.usage_percpu"))
    out.usage.percpu = parse_u64_list(HUSK_TRY(read_at(dirfd, "cpuacct.usage_percpu")));
  // "cpu user system" then one line per cpu, in nanoseconds.
  if (exists_at(dirfd, "cpuacct.usage_all")) {
    HUSK_TRY_ASSIGN(std::string all, read_at(dirfd, "cpuacct.usage_all"));
    for (auto line : split(all, '\n')) {
      auto f = split_fields(line);
      if (f.size() != 3 || !parse_u64(f[0])) continue;
      out.usage.percpu_user.push_back(parse_u64(f[1]).value_or(0));
      out.usage.percpu_kernel.push_back(parse_u64(f[2]).value_or(0));
    }
  }
  // cpuacct.stat counts USER_HZ ticks.
  HUSK_TRY_ASSIGN(auto stat, optional_keyed(dirfd, "cpuacct.stat"));
  long hz = ::sysconf(_SC_CLK_TCK);
  uint64_t ns_per_tick = 1000000000ull / static_cast<uint64_t>(hz > 0 ? hz : 100);
  out.usage.user = stat["user"] * ns_per_tick;
  out.usage.kernel = stat["system"] * ns_per_tick;
  return ok();
}

Result<void> read_cpuset(int dirfd, CpusetStats& out) {
  if (exists_at(dirfd, "cpuset.cpus"))
    out.cpus =
        parse_cpu_list(HUSK_TRY(read_at(dirfd, "cpuset.cpus"))).value_or(std::vector<uint16_t>());
  if (exists_at(dirfd, "cpuset.mems"))
    out.mems =
        parse_cpu_list(HUSK_TRY(read_at(dirfd, "cpuset.mems"))).value_or(std::vector<uint16_t>());
  HUSK_TRY_ASSIGN(out.cpu_exclusive, optional_u64(dirfd, "cpuset.cpu_exclusive"));
  HUSK_TRY_ASSIGN(out.mem_hardwall, optional_u64(dirfd, "cpuset.mem_hardwall"));
  HUSK_TRY_ASSIGN(out.mem_exclusive, optional_u64(dirfd, "cpuset.mem_exclusive"));
  HUSK_TRY_ASSIGN(out.memory_migrate, optional_u64(dirfd, "cpuset.memory_migrate"));
  HUSK_TRY_ASSIGN(out.memory_spread_page, optional_u64(dirfd, "cpuset.memory_spread_page"));
  HUSK_TRY_ASSIGN(out.memory_spread_slab, optional_u64(dirfd, "cpuset.memory_spread_slab"));
  HUSK_TRY_ASSIGN(out.memory_pressure, optional_u64(dirfd, "cpuset.memory_pressure"));
  HUSK_TRY_ASSIGN(out.sched_load_balance, optional_u64(dirfd, "cpuset.sched_load_balance"));
  if (exists_at(dirfd, "cpuset.sched_relax_domain_level"))
    out.sched_relax_domain_level =
        parse_i64(HUSK_TRY(read_at(dirfd, "cpuset.sched_relax_domain_level"))).value_or(0);
  return ok();
}

Result<void> read_memory(int dirfd, MemoryStats& out) {
  HUSK_TRY_ASSIGN(out.raw, optional_keyed(dirfd, "memory.stat"));
  out.cache = out.raw.contains("cache") ? out.raw["cache"] : 0;
  HUSK_TRY(read_memory_entry(dirfd, "memory", out.usage));
  HUSK_TRY(read_memory_entry(dirfd, "memory.memsw", out.swap));
  HUSK_TRY(read_memory_entry(dirfd, "memory.kmem", out.kernel));
  HUSK_TRY(read_memory_entry(dirfd, "memory.kmem.tcp", out.kernel_tcp));
  return ok();
}

Result<void> read_pids(int dirfd, PidsStats& out) {
  HUSK_TRY_ASSIGN(out.current, optional_u64(dirfd, "pids.current"));
  HUSK_TRY_ASSIGN(uint64_t max, optional_u64(dirfd, "pids.max"));
  out.limit = max == kMax ? 0 : max;
  return ok();
}

Result<void> read_blkio(int dirfd, BlkioStats& out) {
  HUSK_TRY_ASSIGN(const BlkioGroup* g, find_blkio_group(dirfd, out.io_service_bytes_recursive));
  if (g == nullptr) return ok();
  auto read = [&](std::string_view file, std::vector<BlkioEntry>& to) -> Result<void> {
    if (exists_at(dirfd, file)) to = parse_blkio_lines(HUSK_TRY(read_at(dirfd, file)));
    return ok();
  };
  HUSK_TRY(read(g->serviced, out.io_serviced_recursive));
  if (g != &kBlkioGroups[1]) return ok();
  // CFQ keeps more.
  HUSK_TRY(read("blkio.io_queued_recursive", out.io_queued_recursive));
  HUSK_TRY(read("blkio.io_service_time_recursive", out.io_service_time_recursive));
  HUSK_TRY(read("blkio.io_wait_time_recursive", out.io_wait_time_recursive));
  HUSK_TRY(read("blkio.io_merged_recursive", out.io_merged_recursive));
  HUSK_TRY(read("blkio.time_recursive", out.io_time_recursive));
  HUSK_TRY(read("blkio.sectors_recursive", out.sectors_recursive));
  return ok();
}

Result<std::vector<BlkioEntry>> read_blkio_bytes(int dirfd) {
  std::vector<BlkioEntry> out;
  HUSK_TRY(find_blkio_group(dirfd, out));
  return out;
}

Result<void> read_hugetlb(int dirfd, std::map<std::string, HugetlbStats>& out) {
  HUSK_TRY_ASSIGN(auto sizes, hugetlb_sizes(dirfd, ".limit_in_bytes"));
  for (const auto& size : sizes) {
    HugetlbStats& h = out[size];
    std::string prefix = "hugetlb." + size;
    HUSK_TRY_ASSIGN(h.usage, optional_u64(dirfd, prefix + ".usage_in_bytes"));
    HUSK_TRY_ASSIGN(h.max, optional_u64(dirfd, prefix + ".max_usage_in_bytes"));
    HUSK_TRY_ASSIGN(h.failcnt, optional_u64(dirfd, prefix + ".failcnt"));
  }
  return ok();
}

}  // namespace v1

namespace v2 {

Result<void> read_cpu(int dirfd, CpuStats& out) {
  HUSK_TRY_ASSIGN(auto stat, optional_keyed(dirfd, "cpu.stat"));
  out.usage.total = stat["usage_usec"] * 1000;
  out.usage.user = stat["user_usec"] * 1000;
  out.usage.kernel = stat["system_usec"] * 1000;
  out.throttling.periods = stat["nr_periods"];
  out.throttling.throttled_periods = stat["nr_throttled"];
  out.throttling.throttled_time = stat["throttled_usec"] * 1000;
  return ok();
}

Result<void> read_cpuset(int dirfd, CpusetStats& out) {
  for (auto [file, to] : {std::pair{"cpuset.cpus.effective", &out.cpus},
                          std::pair{"cpuset.mems.effective", &out.mems}}) {
    if (exists_at(dirfd, file))
      *to = parse_cpu_list(HUSK_TRY(read_at(dirfd, file))).value_or(std::vector<uint16_t>());
  }
  return ok();
}

Result<void> read_memory(int dirfd, MemoryStats& out) {
  HUSK_TRY_ASSIGN(out.raw, optional_keyed(dirfd, "memory.stat"));
  out.cache = out.raw.contains("file") ? out.raw["file"] : 0;
  if (!exists_at(dirfd, "memory.current")) return ok();  // no memory controller here
  HUSK_TRY_ASSIGN(out.usage.usage, read_u64_at(dirfd, "memory.current"));
  HUSK_TRY_ASSIGN(out.usage.limit, optional_u64(dirfd, "memory.max"));
  HUSK_TRY_ASSIGN(out.usage.max, optional_u64(dirfd, "memory.peak"));
  HUSK_TRY_ASSIGN(auto events, optional_keyed(dirfd, "memory.events"));
  out.usage.failcnt = events["max"];
  if (exists_at(dirfd, "memory.swap.current")) {
    // v1 reports memory+swap; sum the v2 values so both read alike.
    HUSK_TRY_ASSIGN(uint64_t swap, read_u64_at(dirfd, "memory.swap.current"));
    HUSK_TRY_ASSIGN(uint64_t swap_max, optional_u64(dirfd, "memory.swap.max"));
    out.swap.usage = out.usage.usage + swap;
    out.swap.limit =
        (swap_max == kMax || out.usage.limit == kMax) ? kMax : out.usage.limit + swap_max;
    HUSK_TRY_ASSIGN(out.swap.max, optional_u64(dirfd, "memory.swap.peak"));
  }
  return ok();
}

Result<void> read_pids(int dirfd, PidsStats& out) { return v1::read_pids(dirfd, out); }

Result<void> read_io(int dirfd, BlkioStats& out) {
  if (!exists_at(dirfd, "io.stat")) return ok();
  HUSK_TRY_ASSIGN(std::string text, read_at(dirfd, "io.stat"));
  parse_io_stat(text, out);
  return ok();
}

Result<void> read_hugetlb(int dirfd, std::map<std::string, HugetlbStats>& out) {
  HUSK_TRY_ASSIGN(auto sizes, hugetlb_sizes(dirfd, ".max"));
  for (const auto& size : sizes) {
    HugetlbStats& h = out[size];
    std::string prefix = "hugetlb." + size;
    HUSK_TRY_ASSIGN(h.usage, optional_u64(dirfd, prefix + ".current"));
    HUSK_TRY_ASSIGN(auto events, optional_keyed(dirfd, prefix + ".events"));
    h.failcnt = events["max"];
  }
  return ok();
}

}  // namespace v2
}  // namespace husk::cgroup
