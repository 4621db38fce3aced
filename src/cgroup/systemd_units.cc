#include "cgroup/systemd_units.h"

#include <algorithm>
#include <limits>

#include "base/log.h"
#include "cgroup/convert.h"
#include "cgroup/text.h"

namespace husk::cgroup {
namespace {

using dbus::Value;

constexpr uint64_t kInfinity = std::numeric_limits<uint64_t>::max();
constexpr std::string_view kSystemd = "org.freedesktop.systemd1";
constexpr std::string_view kManagerPath = "/org/freedesktop/systemd1";
constexpr std::string_view kManager = "org.freedesktop.systemd1.Manager";

dbus::Message manager_call(std::string_view member, std::vector<Value> body) {
  return dbus::Message{.path = std::string(kManagerPath),
                       .interface = std::string(kManager),
                       .member = std::string(member),
                       .destination = std::string(kSystemd),
                       .body = std::move(body)};
}

Value properties_value(std::vector<UnitProperty> props) {
  std::vector<Value> items;
  for (auto& p : props)
    items.push_back(Value::structure({Value::string(p.name), Value::variant(std::move(p.value))}));
  return Value::array("(sv)", std::move(items));
}

uint64_t limit_value(int64_t v) { return v < 0 ? kInfinity : static_cast<uint64_t>(v); }

// A cpuset list as systemd's CPUSet bitmask: bit n of byte n/8 is cpu n.
Result<Value> cpu_mask(std::string_view list, std::string_view field) {
  auto cpus = parse_cpu_list(list);
  if (!cpus)
    return fail_quiet(EINVAL, "linux.resources.cpu.{}: {:?} is not a cpu list", field, list);
  std::vector<uint8_t> bytes;
  for (uint16_t c : *cpus) {
    if (bytes.size() <= c / 8u) bytes.resize(c / 8u + 1);
    bytes[c / 8u] |= static_cast<uint8_t>(1u << (c % 8u));
  }
  return Value::bytes(bytes);
}

// A unified value for a byte-count property: "max" or a number.
std::optional<uint64_t> unified_bytes(std::string_view v) {
  v = trim(v);
  if (v == "max") return kInfinity;
  return parse_u64(v);
}

Value device_list(std::vector<std::pair<std::string, uint64_t>> entries) {
  std::vector<Value> items;
  for (auto& [path, n] : entries)
    items.push_back(Value::structure({Value::string(std::move(path)), Value::u64(n)}));
  return Value::array("(st)", std::move(items));
}

std::string block_path(int64_t major, int64_t minor) {
  return fmt::format("/dev/block/{}:{}", major, minor);
}

void add_block_io(const config::BlockIoResources& io, std::vector<UnitProperty>& out) {
  if (io.weight && *io.weight != 0)
    out.push_back({"IOWeight", Value::u64(blkio_weight_to_io_weight(*io.weight))});
  std::vector<std::pair<std::string, uint64_t>> weights;
  for (const auto& d : io.weight_device)
    if (d.weight)
      weights.emplace_back(block_path(d.major, d.minor), blkio_weight_to_io_weight(*d.weight));
  if (!weights.empty()) out.push_back({"IODeviceWeight", device_list(std::move(weights))});
  auto limits = [&](const char* name, const std::vector<config::ThrottleDevice>& devs) {
    if (devs.empty()) return;
    std::vector<std::pair<std::string, uint64_t>> l;
    for (const auto& d : devs)
      l.emplace_back(block_path(d.major, d.minor), d.rate == 0 ? kInfinity : d.rate);
    out.push_back({name, device_list(std::move(l))});
  };
  limits("IOReadBandwidthMax", io.throttle_read_bps_device);
  limits("IOWriteBandwidthMax", io.throttle_write_bps_device);
  limits("IOReadIOPSMax", io.throttle_read_iops_device);
  limits("IOWriteIOPSMax", io.throttle_write_iops_device);
}

Result<void> add_cpu(const config::CpuResources& cpu, std::vector<UnitProperty>& out) {
  if (cpu.shares && *cpu.shares != 0)
    out.push_back({"CPUWeight", Value::u64(shares_to_weight(*cpu.shares))});
  bool quota_set = cpu.quota && *cpu.quota != 0;
  bool period_set = cpu.period && *cpu.period != 0;
  if (quota_set || period_set) {
    uint64_t period = period_set ? *cpu.period : 100000;
    // systemd keeps the quota per second at 1% (10 ms) steps: round up, as
    // runc, so the limit is never below the spec's; the file gets the exact one.
    uint64_t per_sec = kInfinity;
    if (quota_set && *cpu.quota > 0) {
      per_sec = static_cast<uint64_t>(*cpu.quota) * 1000000 / period;
      if (per_sec % 10000 != 0) per_sec = (per_sec / 10000 + 1) * 10000;
    }
    if (period_set) out.push_back({"CPUQuotaPeriodUSec", Value::u64(period)});
    out.push_back({"CPUQuotaPerSecUSec", Value::u64(per_sec)});
  }
  if (cpu.cpus && !trim(*cpu.cpus).empty()) {
    HUSK_TRY_ASSIGN(Value mask, cpu_mask(*cpu.cpus, "cpus"));
    out.push_back({"AllowedCPUs", std::move(mask)});
  }
  if (cpu.mems && !trim(*cpu.mems).empty()) {
    HUSK_TRY_ASSIGN(Value mask, cpu_mask(*cpu.mems, "mems"));
    out.push_back({"AllowedMemoryNodes", std::move(mask)});
  }
  return ok();
}

Result<void> add_memory(const config::MemoryResources& m, std::vector<UnitProperty>& out) {
  if (m.limit && *m.limit != 0) out.push_back({"MemoryMax", Value::u64(limit_value(*m.limit))});
  if (m.reservation && *m.reservation != 0)
    out.push_back({"MemoryLow", Value::u64(limit_value(*m.reservation))});
  HUSK_TRY_ASSIGN(auto swap, swap_max_v2(m.swap, m.limit).context("linux.resources.memory"));
  if (swap) out.push_back({"MemorySwapMax", Value::u64(limit_value(*swap))});
  return ok();
}

// unified keys systemd has a property for; the rest are files only.
void add_unified(const std::map<std::string, std::string>& unified,
                 std::vector<UnitProperty>& out) {
  static constexpr std::pair<std::string_view, std::string_view> kBytes[] = {
      {"memory.high", "MemoryHigh"},        {"memory.low", "MemoryLow"},
      {"memory.min", "MemoryMin"},          {"memory.max", "MemoryMax"},
      {"memory.swap.max", "MemorySwapMax"}, {"pids.max", "TasksMax"}};
  for (const auto& [key, value] : unified) {
    for (const auto& [file, prop] : kBytes) {
      if (key != file) continue;
      if (auto n = unified_bytes(value)) {
        std::erase_if(out, [&](const UnitProperty& p) { return p.name == prop; });
        out.push_back({std::string(prop), Value::u64(*n)});
      }
    }
    if (key == "cpu.weight") {
      if (auto n = parse_u64(trim(value))) {
        std::erase_if(out, [](const UnitProperty& p) { return p.name == "CPUWeight"; });
        out.push_back({"CPUWeight", Value::u64(*n)});
      }
    }
  }
}

bool valid_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
         c == '_' || c == '.' || c == '-' || c == '\\';
}

Result<void> wait_job(dbus::Connection& bus, const std::string& job, std::string_view what,
                      const std::string& unit, int timeout_ms) {
  auto removed = bus.wait_signal(
      [&](const dbus::Message& m) {
        return m.member == "JobRemoved" && m.body.size() == 4 && m.body[1].str == job;
      },
      timeout_ms);
  if (!removed) {
    Error e = removed.error();
    e.wrap(fmt::format("wait for systemd to {} {}", what, unit));
    return std::unexpected(std::move(e));
  }
  const std::string& result = removed->body[3].str;
  if (result != "done")
    return fail(0, "systemd could not {} {} (job result {:?})", what, unit, result);
  return ok();
}

void reset_failed(dbus::Connection& bus, const std::string& unit) {
  auto r = bus.call(manager_call("ResetFailedUnit", {Value::string(unit)}));
  if (!r && r.error().code != ENOENT)
    log::debug("systemd: reset-failed {}: {}", unit, r.error().what());
}

std::string job_match() {
  return fmt::format("type='signal',sender='{}',path='{}',interface='{}',member='JobRemoved'",
                     kSystemd, kManagerPath, kManager);
}

}  // namespace

bool valid_unit_name(std::string_view name) {
  if (name.empty() || name.size() > 255 || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(), valid_name_char);
}

Result<std::string> expand_slice(std::string_view slice) {
  constexpr std::string_view kSuffix = ".slice";
  if (!slice.ends_with(kSuffix) || !valid_unit_name(slice))
    return fail_quiet(EINVAL, "invalid slice name {:?}: not a systemd slice unit name", slice);
  if (slice == "-.slice") return std::string("/");
  std::string_view base = slice.substr(0, slice.size() - kSuffix.size());
  if (base.empty() || base.front() == '-' || base.back() == '-' ||
      base.find("--") != std::string_view::npos)
    return fail_quiet(EINVAL, "invalid slice name {:?}: dashes separate its parent slices", slice);
  std::string path, prefix;
  for (auto part : split(base, '-')) {
    prefix += prefix.empty() ? "" : "-";
    prefix += part;
    path += "/" + prefix + std::string(kSuffix);
  }
  return path;
}

Result<SystemdUnit> parse_systemd_path(std::string_view cgroups_path, std::string_view id) {
  SystemdUnit u;
  if (cgroups_path.empty()) {
    u.slice = "system.slice";
    u.unit = fmt::format("husk-{}.scope", id);
  } else {
    auto parts = split(cgroups_path, ':');
    if (parts.size() != 3 || cgroups_path.front() == '/')
      return fail_quiet(EINVAL,
                        "cgroupsPath {:?}: the systemd cgroup driver expects \"slice:prefix:name\"",
                        cgroups_path);
    u.slice = parts[0].empty() ? "system.slice" : std::string(parts[0]);
    if (parts[2].empty()) return fail_quiet(EINVAL, "cgroupsPath {:?}: no name", cgroups_path);
    if (parts[2].ends_with(".slice"))
      return fail_quiet(EINVAL,
                        "cgroupsPath {:?}: a slice as the container's unit is not supported",
                        cgroups_path);
    u.unit = parts[1].empty() ? fmt::format("{}.scope", parts[2])
                              : fmt::format("{}-{}.scope", parts[1], parts[2]);
  }
  HUSK_TRY(expand_slice(u.slice).context("cgroupsPath {:?}", cgroups_path));
  if (!valid_unit_name(u.unit))
    return fail_quiet(EINVAL, "cgroupsPath {:?}: {:?} is not a valid systemd unit name",
                      cgroups_path, u.unit);
  return u;
}

std::optional<std::string> device_group(std::string_view proc_devices, char type, int64_t major) {
  bool in_section = false;
  std::string_view want = type == 'c' ? "Character devices:" : "Block devices:";
  for (auto line : split(proc_devices, '\n')) {
    auto t = trim(line);
    if (t.ends_with(':')) {
      in_section = t == want;
      continue;
    }
    if (!in_section) continue;
    auto f = split_fields(t);
    if (f.size() == 2 && parse_i64(f[0]) == major) return std::string(f[1]);
  }
  return std::nullopt;
}

std::optional<std::vector<UnitProperty>> device_properties(
    const std::vector<config::DeviceRule>& rules, std::string_view proc_devices) {
  if (rules.empty()) return std::vector<UnitProperty>();
  const auto& first = rules.front();
  if (first.allow || first.type != 'a' || first.major || first.minor) return std::nullopt;
  std::vector<Value> allow;
  for (size_t i = 1; i < rules.size(); ++i) {
    const auto& r = rules[i];
    if (!r.allow) return std::nullopt;
    if (r.type == 'a')  // everything allowed after all
      return std::vector<UnitProperty>{{"DevicePolicy", Value::string("auto")},
                                       {"DeviceAllow", Value::array("(ss)", {})}};
    std::string group = r.type == 'c' ? "char" : "block";
    std::string path;
    if (!r.major) {
      if (r.minor) return std::nullopt;
      path = group + "-*";
    } else if (r.minor) {
      path = fmt::format("/dev/{}/{}:{}", group, *r.major, *r.minor);
    } else {
      auto name = device_group(proc_devices, r.type, *r.major);
      if (!name) return std::nullopt;
      path = group + "-" + *name;
    }
    allow.push_back(Value::structure({Value::string(path), Value::string(r.access)}));
  }
  return std::vector<UnitProperty>{{"DevicePolicy", Value::string("strict")},
                                   {"DeviceAllow", Value::array("(ss)", std::move(allow))}};
}

Result<std::vector<UnitProperty>> resource_properties(const config::Resources& r) {
  std::vector<UnitProperty> out;
  if (r.cpu) HUSK_TRY(add_cpu(*r.cpu, out));
  if (r.memory) HUSK_TRY(add_memory(*r.memory, out));
  if (r.pids && r.pids->limit)
    out.push_back({"TasksMax", Value::u64(*r.pids->limit > 0 ? static_cast<uint64_t>(*r.pids->limit)
                                                             : kInfinity)});
  if (r.block_io) add_block_io(*r.block_io, out);
  add_unified(r.unified, out);
  return out;
}

Result<void> start_transient_unit(dbus::Connection& bus, const SystemdUnit& u, pid_t pid,
                                  const std::string& description, std::vector<UnitProperty> props,
                                  int timeout_ms) {
  // Subscribed before the call: the job may end before its reply is read.
  HUSK_TRY(bus.send(dbus::Message{.path = "/org/freedesktop/DBus",
                                  .interface = "org.freedesktop.DBus",
                                  .member = "AddMatch",
                                  .destination = "org.freedesktop.DBus",
                                  .body = {Value::string(job_match())}}));
  std::vector<UnitProperty> all = {
      {"Description", Value::string(description)},
      {"Slice", Value::string(u.slice)},
      {"Delegate", Value::boolean(true)},
      {"DefaultDependencies", Value::boolean(false)},
      {"PIDs", Value::array("u", {Value::u32(static_cast<uint32_t>(pid))})},
      {"MemoryAccounting", Value::boolean(true)},
      {"CPUAccounting", Value::boolean(true)},
      {"TasksAccounting", Value::boolean(true)},
      {"IOAccounting", Value::boolean(true)},
  };
  for (auto& p : props) all.push_back(std::move(p));
  auto reply = bus.call(manager_call(
      "StartTransientUnit", {Value::string(u.unit), Value::string("replace"),
                             properties_value(std::move(all)), Value::array("(sa(sv))", {})}));
  if (!reply) {
    if (reply.error().code == EEXIST)
      return fail_quiet(EEXIST, "systemd unit {} already exists", u.unit);
    reset_failed(bus, u.unit);
    return fail(0, "systemd refused unit {}: {}", u.unit, reply.error().what());
  }
  if (reply->body.empty() || reply->body[0].sig != "o")
    return fail(EBADMSG, "StartTransientUnit {}: unexpected reply {:?}", u.unit,
                reply->signature());
  auto done = wait_job(bus, reply->body[0].str, "start", u.unit, timeout_ms);
  if (!done) reset_failed(bus, u.unit);
  return done;
}

Result<void> check_unit_absent(dbus::Connection& bus, const std::string& unit) {
  auto r = bus.call(manager_call("GetUnit", {Value::string(unit)}));
  if (r) return fail_quiet(EEXIST, "systemd unit {} already exists", unit);
  if (r.error().code == ENOENT) return ok();
  return fail(r.error().code, "systemd: look up unit {}: {}", unit, r.error().what());
}

Result<void> set_unit_properties(dbus::Connection& bus, const std::string& unit,
                                 std::vector<UnitProperty> props) {
  if (props.empty()) return ok();
  auto r = bus.call(manager_call("SetUnitProperties", {Value::string(unit), Value::boolean(true),
                                                       properties_value(std::move(props))}));
  if (!r)
    return fail(r.error().code, "systemd refused the properties of {}: {}", unit, r.error().what());
  return ok();
}

Result<void> stop_unit(dbus::Connection& bus, const std::string& unit, int timeout_ms) {
  HUSK_TRY(bus.send(dbus::Message{.path = "/org/freedesktop/DBus",
                                  .interface = "org.freedesktop.DBus",
                                  .member = "AddMatch",
                                  .destination = "org.freedesktop.DBus",
                                  .body = {Value::string(job_match())}}));
  auto reply = bus.call(manager_call("StopUnit", {Value::string(unit), Value::string("replace")}));
  if (!reply) {
    if (reply.error().code != ENOENT)
      return fail(reply.error().code, "systemd could not stop {}: {}", unit, reply.error().what());
  } else if (!reply->body.empty() && reply->body[0].sig == "o") {
    HUSK_TRY(wait_job(bus, reply->body[0].str, "stop", unit, timeout_ms));
  }
  reset_failed(bus, unit);
  return ok();
}

}  // namespace husk::cgroup
