// runc's stats JSON (types/events.go), reproduced field by field: Go omits
// "omitempty" numbers that are 0 and empty lists, and always writes structs.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/log.h"
#include "cgroup/stats.h"

namespace husk::cgroup {
namespace {

// Builds one JSON object, handling commas and omitempty.
class Obj {
 public:
  explicit Obj(std::string& out) : out_(out) { out_ += '{'; }
  ~Obj() { out_ += '}'; }
  Obj(const Obj&) = delete;
  Obj& operator=(const Obj&) = delete;

  std::string& key(std::string_view k) {
    if (!first_) out_ += ',';
    first_ = false;
    log::append_json_string(out_, k);
    out_ += ':';
    return out_;
  }
  template <class T>
  void num(std::string_view k, T v) {
    key(k) += fmt::format("{}", v);
  }
  template <class T>
  void num_omitempty(std::string_view k, T v) {
    if (v != 0) num(k, v);
  }
  template <class T>
  void list_omitempty(std::string_view k, const std::vector<T>& v) {
    if (v.empty()) return;
    key(k) += fmt::format("[{}]", fmt::join(v, ","));
  }

 private:
  std::string& out_;
  bool first_ = true;
};

void cpu_json(std::string& out, const CpuStats& c) {
  Obj o(out);
  {
    Obj u(o.key("usage"));
    u.num_omitempty("total", c.usage.total);
    u.list_omitempty("percpu", c.usage.percpu);
    u.list_omitempty("percpu_kernel", c.usage.percpu_kernel);
    u.list_omitempty("percpu_user", c.usage.percpu_user);
    u.num("kernel", c.usage.kernel);
    u.num("user", c.usage.user);
  }
  Obj t(o.key("throttling"));
  t.num_omitempty("periods", c.throttling.periods);
  t.num_omitempty("throttledPeriods", c.throttling.throttled_periods);
  t.num_omitempty("throttledTime", c.throttling.throttled_time);
}

void cpuset_json(std::string& out, const CpusetStats& c) {
  Obj o(out);
  o.list_omitempty("cpus", c.cpus);
  o.num("cpu_exclusive", c.cpu_exclusive);
  o.list_omitempty("mems", c.mems);
  o.num("mem_hardwall", c.mem_hardwall);
  o.num("mem_exclusive", c.mem_exclusive);
  o.num("memory_migrate", c.memory_migrate);
  o.num("memory_spread_page", c.memory_spread_page);
  o.num("memory_spread_slab", c.memory_spread_slab);
  o.num("memory_pressure", c.memory_pressure);
  o.num("sched_load_balance", c.sched_load_balance);
  o.num("sched_relax_domain_level", c.sched_relax_domain_level);
}

void memory_entry_json(std::string& out, const MemoryEntry& e) {
  Obj o(out);
  o.num("limit", e.limit);
  o.num_omitempty("usage", e.usage);
  o.num_omitempty("max", e.max);
  o.num("failcnt", e.failcnt);
}

void memory_json(std::string& out, const MemoryStats& m) {
  Obj o(out);
  o.num_omitempty("cache", m.cache);
  memory_entry_json(o.key("usage"), m.usage);
  memory_entry_json(o.key("swap"), m.swap);
  memory_entry_json(o.key("kernel"), m.kernel);
  memory_entry_json(o.key("kernelTCP"), m.kernel_tcp);
  if (m.raw.empty()) return;
  Obj raw(o.key("raw"));
  for (const auto& [k, v] : m.raw) raw.num(k, v);
}

void blkio_list(Obj& o, std::string_view key, const std::vector<BlkioEntry>& list) {
  if (list.empty()) return;
  std::string& out = o.key(key);
  out += '[';
  for (size_t i = 0; i < list.size(); ++i) {
    if (i > 0) out += ',';
    Obj e(out);
    e.num_omitempty("major", list[i].major);
    e.num_omitempty("minor", list[i].minor);
    if (!list[i].op.empty()) log::append_json_string(e.key("op"), list[i].op);
    e.num_omitempty("value", list[i].value);
  }
  out += ']';
}

void blkio_json(std::string& out, const BlkioStats& b) {
  Obj o(out);
  blkio_list(o, "ioServiceBytesRecursive", b.io_service_bytes_recursive);
  blkio_list(o, "ioServicedRecursive", b.io_serviced_recursive);
  blkio_list(o, "ioQueueRecursive", b.io_queued_recursive);
  blkio_list(o, "ioServiceTimeRecursive", b.io_service_time_recursive);
  blkio_list(o, "ioWaitTimeRecursive", b.io_wait_time_recursive);
  blkio_list(o, "ioMergedRecursive", b.io_merged_recursive);
  blkio_list(o, "ioTimeRecursive", b.io_time_recursive);
  blkio_list(o, "sectorsRecursive", b.sectors_recursive);
}

}  // namespace

std::string stats_to_json(const Stats& s) {
  std::string out;
  {
    Obj o(out);
    cpu_json(o.key("cpu"), s.cpu);
    cpuset_json(o.key("cpuset"), s.cpuset);
    memory_json(o.key("memory"), s.memory);
    {
      Obj p(o.key("pids"));
      p.num_omitempty("current", s.pids.current);
      p.num_omitempty("limit", s.pids.limit);
    }
    blkio_json(o.key("blkio"), s.blkio);
    {
      Obj h(o.key("hugetlb"));
      for (const auto& [size, st] : s.hugetlb) {
        Obj e(h.key(size));
        e.num_omitempty("usage", st.usage);
        e.num_omitempty("max", st.max);
        e.num("failcnt", st.failcnt);
      }
    }
    o.key("intel_rdt") += "{}";
    o.key("network_interfaces") += "null";
  }
  return out;
}

}  // namespace husk::cgroup
