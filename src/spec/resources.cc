#include "spec/resources.h"

#include <nlohmann/json.hpp>

#include "spec/json_node.h"

namespace husk::spec {
namespace {

using detail::Node;

// Go's encoding/json rejects a value of the wrong type but accepts null as
// "not given"; Node::optional_integer does the same.
template <class T>
Result<std::optional<T>> opt_int(const Node& n) {
  return n.optional_integer<T>();
}

Result<std::optional<bool>> opt_bool(const Node& n) {
  if (!n.present()) return std::optional<bool>();
  if (!n.json().is_boolean()) return n.type_error("a boolean");
  return std::optional<bool>(n.json().get<bool>());
}

Result<std::optional<std::string>> opt_string(const Node& n) {
  if (!n.present()) return std::optional<std::string>();
  HUSK_TRY_ASSIGN(std::string s, n.str());
  return std::optional<std::string>(std::move(s));
}

// An array of objects: runs parse_one on each element.
template <class T, class F>
Result<std::vector<T>> parse_list(const Node& n, F parse_one) {
  HUSK_TRY_ASSIGN(size_t count, n.size());
  std::vector<T> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    Node e = n.at(i);
    if (!e.present() || !e.json().is_object()) return e.type_error("an object");
    out.push_back(HUSK_TRY(parse_one(e)));
  }
  return out;
}

Result<config::DeviceRule> parse_device_rule(const Node& n) {
  config::DeviceRule r;
  if (!n["allow"].present()) return n["allow"].fail("field is required");
  HUSK_TRY_ASSIGN(r.allow, n["allow"].boolean_or(false));
  HUSK_TRY_ASSIGN(std::string type, n["type"].str_or("a"));
  if (type.empty()) type = "a";
  if (type != "a" && type != "b" && type != "c")
    return n["type"].fail("device type {:?} is not one of a, b, c", type);
  r.type = type[0];
  // runc treats -1 as the wildcard too.
  HUSK_TRY_ASSIGN(r.major, opt_int<int64_t>(n["major"]));
  HUSK_TRY_ASSIGN(r.minor, opt_int<int64_t>(n["minor"]));
  if (r.major == -1) r.major.reset();
  if (r.minor == -1) r.minor.reset();
  if (r.major && *r.major < 0) return n["major"].fail("{} is not a device number", *r.major);
  if (r.minor && *r.minor < 0) return n["minor"].fail("{} is not a device number", *r.minor);
  HUSK_TRY_ASSIGN(r.access, n["access"].str_or("rwm"));
  if (r.access.empty()) r.access = "rwm";
  // A deny rule may say "a" (all), as in runc's own tests ("rwa"): it denies
  // all three, which is what runc's device rules end up doing with it. An
  // allow rule gets no such reading (runc fails on it too).
  if (!r.allow && r.access.find('a') != std::string::npos) r.access = "rwm";
  for (char ch : r.access)
    if (ch != 'r' && ch != 'w' && ch != 'm')
      return n["access"].fail("access {:?} is not a subset of \"rwm\"", r.access);
  return r;
}

Result<config::MemoryResources> parse_memory(const Node& n) {
  config::MemoryResources m;
  HUSK_TRY_ASSIGN(m.limit, opt_int<int64_t>(n["limit"]));
  HUSK_TRY_ASSIGN(m.reservation, opt_int<int64_t>(n["reservation"]));
  HUSK_TRY_ASSIGN(m.swap, opt_int<int64_t>(n["swap"]));
  HUSK_TRY_ASSIGN(m.kernel, opt_int<int64_t>(n["kernel"]));
  HUSK_TRY_ASSIGN(m.kernel_tcp, opt_int<int64_t>(n["kernelTCP"]));
  HUSK_TRY_ASSIGN(m.swappiness, opt_int<uint64_t>(n["swappiness"]));
  if (m.swappiness && *m.swappiness > 100)
    return n["swappiness"].fail("{} is not in the range 0..100", *m.swappiness);
  HUSK_TRY_ASSIGN(m.disable_oom_killer, opt_bool(n["disableOOMKiller"]));
  HUSK_TRY_ASSIGN(m.use_hierarchy, opt_bool(n["useHierarchy"]));
  HUSK_TRY_ASSIGN(m.check_before_update, opt_bool(n["checkBeforeUpdate"]));
  return m;
}

Result<config::CpuResources> parse_cpu(const Node& n) {
  config::CpuResources c;
  HUSK_TRY_ASSIGN(c.shares, opt_int<uint64_t>(n["shares"]));
  HUSK_TRY_ASSIGN(c.quota, opt_int<int64_t>(n["quota"]));
  HUSK_TRY_ASSIGN(c.burst, opt_int<uint64_t>(n["burst"]));
  HUSK_TRY_ASSIGN(c.period, opt_int<uint64_t>(n["period"]));
  HUSK_TRY_ASSIGN(c.realtime_runtime, opt_int<int64_t>(n["realtimeRuntime"]));
  HUSK_TRY_ASSIGN(c.realtime_period, opt_int<uint64_t>(n["realtimePeriod"]));
  HUSK_TRY_ASSIGN(c.cpus, opt_string(n["cpus"]));
  HUSK_TRY_ASSIGN(c.mems, opt_string(n["mems"]));
  HUSK_TRY_ASSIGN(c.idle, opt_int<int64_t>(n["idle"]));
  if (c.idle && *c.idle != 0 && *c.idle != 1)
    return n["idle"].fail("{} is neither 0 nor 1", *c.idle);
  return c;
}

Result<config::WeightDevice> parse_weight_device(const Node& n) {
  config::WeightDevice d;
  HUSK_TRY_ASSIGN(d.major, n["major"].integer<int64_t>());
  HUSK_TRY_ASSIGN(d.minor, n["minor"].integer<int64_t>());
  HUSK_TRY_ASSIGN(d.weight, opt_int<uint16_t>(n["weight"]));
  HUSK_TRY_ASSIGN(d.leaf_weight, opt_int<uint16_t>(n["leafWeight"]));
  return d;
}

Result<config::ThrottleDevice> parse_throttle_device(const Node& n) {
  config::ThrottleDevice d;
  HUSK_TRY_ASSIGN(d.major, n["major"].integer<int64_t>());
  HUSK_TRY_ASSIGN(d.minor, n["minor"].integer<int64_t>());
  HUSK_TRY_ASSIGN(d.rate, n["rate"].integer<uint64_t>());
  return d;
}

Result<config::BlockIoResources> parse_block_io(const Node& n) {
  config::BlockIoResources b;
  HUSK_TRY_ASSIGN(b.weight, opt_int<uint16_t>(n["weight"]));
  HUSK_TRY_ASSIGN(b.leaf_weight, opt_int<uint16_t>(n["leafWeight"]));
  HUSK_TRY_ASSIGN(b.weight_device,
                  parse_list<config::WeightDevice>(n["weightDevice"], parse_weight_device));
  auto throttle = [&](std::string_view key) {
    return parse_list<config::ThrottleDevice>(n[key], parse_throttle_device);
  };
  HUSK_TRY_ASSIGN(b.throttle_read_bps_device, throttle("throttleReadBpsDevice"));
  HUSK_TRY_ASSIGN(b.throttle_write_bps_device, throttle("throttleWriteBpsDevice"));
  HUSK_TRY_ASSIGN(b.throttle_read_iops_device, throttle("throttleReadIOPSDevice"));
  HUSK_TRY_ASSIGN(b.throttle_write_iops_device, throttle("throttleWriteIOPSDevice"));
  return b;
}

// "2MB", "1GB", "64KB": digits then a unit, as the kernel names hugetlb files.
bool valid_page_size(std::string_view s) {
  if (s.size() < 3 || !s.ends_with("B")) return false;
  char unit = s[s.size() - 2];
  if (unit != 'K' && unit != 'M' && unit != 'G') return false;
  std::string_view digits = s.substr(0, s.size() - 2);
  if (digits.empty()) return false;
  for (char ch : digits)
    if (ch < '0' || ch > '9') return false;
  return true;
}

Result<config::HugepageLimit> parse_hugepage_limit(const Node& n) {
  config::HugepageLimit h;
  HUSK_TRY_ASSIGN(h.page_size, n["pageSize"].str());
  if (!valid_page_size(h.page_size))
    return n["pageSize"].fail("page size {:?} is not like \"2MB\" or \"1GB\"", h.page_size);
  HUSK_TRY_ASSIGN(h.limit, n["limit"].integer<uint64_t>());
  return h;
}

Result<config::InterfacePriority> parse_priority(const Node& n) {
  config::InterfacePriority p;
  HUSK_TRY_ASSIGN(p.name, n["name"].str());
  HUSK_TRY_ASSIGN(p.priority, n["priority"].integer<uint32_t>());
  return p;
}

Result<config::NetworkResources> parse_network(const Node& n) {
  config::NetworkResources net;
  HUSK_TRY_ASSIGN(net.class_id, opt_int<uint32_t>(n["classID"]));
  HUSK_TRY_ASSIGN(net.priorities,
                  parse_list<config::InterfacePriority>(n["priorities"], parse_priority));
  return net;
}

Result<std::map<std::string, config::RdmaLimit>> parse_rdma(const Node& n) {
  HUSK_TRY_ASSIGN(std::vector<std::string> keys, n.keys());
  std::map<std::string, config::RdmaLimit> out;
  for (const auto& key : keys) {
    Node e = n.entry(key);
    HUSK_TRY(e.expect_object());
    config::RdmaLimit l;
    HUSK_TRY_ASSIGN(l.hca_handles, opt_int<uint32_t>(e["hcaHandles"]));
    HUSK_TRY_ASSIGN(l.hca_objects, opt_int<uint32_t>(e["hcaObjects"]));
    out[key] = l;
  }
  return out;
}

Result<std::map<std::string, std::string>> parse_unified(const Node& n) {
  HUSK_TRY_ASSIGN(std::vector<std::string> keys, n.keys());
  std::map<std::string, std::string> out;
  for (const auto& key : keys) {
    // A key names one file of the container's own cgroup directory.
    if (key.empty() || key.find('/') != std::string::npos || key == "." || key == "..")
      return n.entry(key).fail("{:?} is not a cgroup file name", key);
    out[key] = HUSK_TRY(n.entry(key).str());
  }
  return out;
}

// Parses an optional object member with parse_one; absent stays empty.
template <class T, class F>
Result<std::optional<T>> parse_group(const Node& n, F parse_one) {
  HUSK_TRY(n.expect_object());
  if (!n.present()) return std::optional<T>();
  return std::optional<T>(HUSK_TRY(parse_one(n)));
}

}  // namespace

Result<config::Resources> parse_resources(const nlohmann::json& j, std::string_view path_prefix,
                                          std::string_view doc) {
  Node n(&j, std::string(path_prefix), doc);
  config::Resources r;
  HUSK_TRY(n.expect_object());
  if (!n.present()) return r;
  HUSK_TRY_ASSIGN(r.devices, parse_list<config::DeviceRule>(n["devices"], parse_device_rule));
  HUSK_TRY_ASSIGN(r.memory, parse_group<config::MemoryResources>(n["memory"], parse_memory));
  HUSK_TRY_ASSIGN(r.cpu, parse_group<config::CpuResources>(n["cpu"], parse_cpu));
  HUSK_TRY_ASSIGN(r.pids, parse_group<config::PidsResources>(
                              n["pids"], [](const Node& p) -> Result<config::PidsResources> {
                                config::PidsResources out;
                                HUSK_TRY_ASSIGN(out.limit, opt_int<int64_t>(p["limit"]));
                                return out;
                              }));
  HUSK_TRY_ASSIGN(r.block_io, parse_group<config::BlockIoResources>(n["blockIO"], parse_block_io));
  HUSK_TRY_ASSIGN(r.hugepage_limits,
                  parse_list<config::HugepageLimit>(n["hugepageLimits"], parse_hugepage_limit));
  HUSK_TRY_ASSIGN(r.network, parse_group<config::NetworkResources>(n["network"], parse_network));
  HUSK_TRY_ASSIGN(r.rdma, parse_rdma(n["rdma"]));
  HUSK_TRY_ASSIGN(r.unified, parse_unified(n["unified"]));
  return r;
}

Result<config::Resources> parse_resources_json(std::string_view json, std::string_view doc,
                                               std::string_view path_prefix) {
  if (json.find_first_not_of(" \t\r\n") == std::string_view::npos) return config::Resources{};
  HUSK_TRY_ASSIGN(detail::Json j, detail::parse_json(json, doc));
  return parse_resources(j, path_prefix, doc);
}

}  // namespace husk::spec
