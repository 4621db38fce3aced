#include "spec/resources_out.h"

#include <nlohmann/json.hpp>

namespace husk::spec {
namespace {

using nlohmann::json;

template <class T>
void put(json& obj, const char* key, const std::optional<T>& v) {
  if (v) obj[key] = *v;
}

json device_rule(const config::DeviceRule& d) {
  json j = {{"allow", d.allow}, {"type", std::string(1, d.type)}, {"access", d.access}};
  put(j, "major", d.major);
  put(j, "minor", d.minor);
  return j;
}

json memory(const config::MemoryResources& m) {
  json j = json::object();
  put(j, "limit", m.limit);
  put(j, "reservation", m.reservation);
  put(j, "swap", m.swap);
  put(j, "kernel", m.kernel);
  put(j, "kernelTCP", m.kernel_tcp);
  put(j, "swappiness", m.swappiness);
  put(j, "disableOOMKiller", m.disable_oom_killer);
  put(j, "useHierarchy", m.use_hierarchy);
  put(j, "checkBeforeUpdate", m.check_before_update);
  return j;
}

json cpu(const config::CpuResources& c) {
  json j = json::object();
  put(j, "shares", c.shares);
  put(j, "quota", c.quota);
  put(j, "burst", c.burst);
  put(j, "period", c.period);
  put(j, "realtimeRuntime", c.realtime_runtime);
  put(j, "realtimePeriod", c.realtime_period);
  put(j, "cpus", c.cpus);
  put(j, "mems", c.mems);
  put(j, "idle", c.idle);
  return j;
}

json throttle(const std::vector<config::ThrottleDevice>& list) {
  json a = json::array();
  for (const auto& d : list)
    a.push_back({{"major", d.major}, {"minor", d.minor}, {"rate", d.rate}});
  return a;
}

json block_io(const config::BlockIoResources& b) {
  json j = json::object();
  put(j, "weight", b.weight);
  put(j, "leafWeight", b.leaf_weight);
  if (!b.weight_device.empty()) {
    json a = json::array();
    for (const auto& d : b.weight_device) {
      json e = {{"major", d.major}, {"minor", d.minor}};
      put(e, "weight", d.weight);
      put(e, "leafWeight", d.leaf_weight);
      a.push_back(std::move(e));
    }
    j["weightDevice"] = std::move(a);
  }
  auto lists = {std::pair{"throttleReadBpsDevice", &b.throttle_read_bps_device},
                std::pair{"throttleWriteBpsDevice", &b.throttle_write_bps_device},
                std::pair{"throttleReadIOPSDevice", &b.throttle_read_iops_device},
                std::pair{"throttleWriteIOPSDevice", &b.throttle_write_iops_device}};
  for (const auto& [key, list] : lists)
    if (!list->empty()) j[key] = throttle(*list);
  return j;
}

json network(const config::NetworkResources& n) {
  json j = json::object();
  put(j, "classID", n.class_id);
  if (!n.priorities.empty()) {
    json a = json::array();
    for (const auto& p : n.priorities) a.push_back({{"name", p.name}, {"priority", p.priority}});
    j["priorities"] = std::move(a);
  }
  return j;
}

}  // namespace

std::string resources_to_json(const config::Resources& r) {
  json j = json::object();
  if (!r.devices.empty()) {
    json a = json::array();
    for (const auto& d : r.devices) a.push_back(device_rule(d));
    j["devices"] = std::move(a);
  }
  if (r.memory) j["memory"] = memory(*r.memory);
  if (r.cpu) j["cpu"] = cpu(*r.cpu);
  if (r.pids) {
    json p = json::object();
    put(p, "limit", r.pids->limit);
    j["pids"] = std::move(p);
  }
  if (r.block_io) j["blockIO"] = block_io(*r.block_io);
  if (!r.hugepage_limits.empty()) {
    json a = json::array();
    for (const auto& h : r.hugepage_limits)
      a.push_back({{"pageSize", h.page_size}, {"limit", h.limit}});
    j["hugepageLimits"] = std::move(a);
  }
  if (r.network) j["network"] = network(*r.network);
  if (!r.rdma.empty()) {
    json o = json::object();
    for (const auto& [name, l] : r.rdma) {
      json e = json::object();
      put(e, "hcaHandles", l.hca_handles);
      put(e, "hcaObjects", l.hca_objects);
      o[name] = std::move(e);
    }
    j["rdma"] = std::move(o);
  }
  if (!r.unified.empty()) j["unified"] = r.unified;
  // Invalid UTF-8 (a cpuset string is the user's) is replaced, never thrown.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace husk::spec
