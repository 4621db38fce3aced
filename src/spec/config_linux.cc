// config.json "linux": namespaces, id mappings, devices, sysctl, paths, seccomp;
// the fields husk does not implement are refused.
#include <sys/mount.h>

#include <array>

#include "spec/config_parts.h"

namespace husk::spec::detail {
namespace {

using config::NamespaceType;

struct NamespaceName {
  std::string_view name;
  NamespaceType type;
};

constexpr std::array<NamespaceName, 8> kNamespaces = {{
    {"pid", NamespaceType::kPid},
    {"network", NamespaceType::kNetwork},
    {"mount", NamespaceType::kMount},
    {"ipc", NamespaceType::kIpc},
    {"uts", NamespaceType::kUts},
    {"user", NamespaceType::kUser},
    {"cgroup", NamespaceType::kCgroup},
    {"time", NamespaceType::kTime},
}};

struct PropagationName {
  std::string_view name;
  unsigned long flags;
};

constexpr std::array<PropagationName, 8> kPropagations = {{
    {"shared", MS_SHARED},
    {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},
    {"rslave", MS_SLAVE | MS_REC},
    {"private", MS_PRIVATE},
    {"rprivate", MS_PRIVATE | MS_REC},
    {"unbindable", MS_UNBINDABLE},
    {"runbindable", MS_UNBINDABLE | MS_REC},
}};

Result<std::vector<config::Namespace>> parse_namespaces(const Node& n) {
  HUSK_TRY_ASSIGN(size_t count, n.size());
  std::vector<config::Namespace> out;
  for (size_t i = 0; i < count; ++i) {
    Node e = n.at(i);
    if (!e.present()) return e.type_error("an object");
    HUSK_TRY(e.expect_object());
    HUSK_TRY_ASSIGN(std::string type, e["type"].str());
    const NamespaceName* known = nullptr;
    for (const auto& ns : kNamespaces)
      if (ns.name == type) known = &ns;
    if (known == nullptr) return e["type"].fail("unknown namespace {:?}", type);
    for (const auto& prev : out)
      if (prev.type == known->type) return e["type"].fail("duplicate namespace {:?}", type);
    config::Namespace ns{known->type, HUSK_TRY(e["path"].str_or(""))};
    if (!ns.path.empty() && ns.path.front() != '/')
      return e["path"].fail("must be an absolute path");
    out.push_back(std::move(ns));
  }
  return out;
}

Result<std::map<std::string, config::TimeOffset>> parse_time_offsets(const Node& n) {
  HUSK_TRY_ASSIGN(std::vector<std::string> clocks, n.keys());
  std::map<std::string, config::TimeOffset> out;
  for (const auto& clock : clocks) {
    Node e = n.entry(clock);
    if (clock != "monotonic" && clock != "boottime")
      return e.fail("unknown clock, expected \"monotonic\" or \"boottime\"");
    if (!e.present()) continue;
    HUSK_TRY(e.expect_object());
    config::TimeOffset off;
    off.secs = HUSK_TRY(e["secs"].optional_integer<int64_t>()).value_or(0);
    off.nanosecs = HUSK_TRY(e["nanosecs"].optional_integer<uint32_t>()).value_or(0);
    if (off.nanosecs >= 1000000000) return e["nanosecs"].fail("must be less than 1000000000");
    out[clock] = off;
  }
  return out;
}

Result<config::Device> parse_device(const Node& n) {
  if (!n.present()) return n.type_error("an object");
  HUSK_TRY(n.expect_object());
  config::Device d;
  HUSK_TRY_ASSIGN(d.path, n["path"].str());
  if (d.path.empty() || d.path.front() != '/') return n["path"].fail("must be an absolute path");
  HUSK_TRY_ASSIGN(std::string type, n["type"].str());
  if (type != "c" && type != "b" && type != "u" && type != "p")
    return n["type"].fail("unknown device type {:?}, expected \"c\", \"b\", \"u\" or \"p\"", type);
  d.type = type.front();
  if (d.type != 'p') {
    HUSK_TRY_ASSIGN(d.major, n["major"].integer<int64_t>());
    HUSK_TRY_ASSIGN(d.minor, n["minor"].integer<int64_t>());
  } else {
    d.major = HUSK_TRY(n["major"].optional_integer<int64_t>()).value_or(0);
    d.minor = HUSK_TRY(n["minor"].optional_integer<int64_t>()).value_or(0);
  }
  if (auto mode = HUSK_TRY(n["fileMode"].optional_integer<uint32_t>())) {
    if (*mode > 07777) return n["fileMode"].fail("{:#o} is not a permission mode", *mode);
    d.file_mode = *mode;
  }
  d.uid = HUSK_TRY(n["uid"].optional_integer<uint32_t>()).value_or(0);
  d.gid = HUSK_TRY(n["gid"].optional_integer<uint32_t>()).value_or(0);
  return d;
}

Result<std::vector<config::Device>> parse_devices(const Node& n) {
  HUSK_TRY_ASSIGN(size_t count, n.size());
  std::vector<config::Device> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) out.push_back(HUSK_TRY(parse_device(n.at(i))));
  return out;
}

Result<unsigned long> parse_propagation(const Node& n) {
  HUSK_TRY_ASSIGN(std::string name, n.str_or(""));
  if (name.empty()) return 0ul;
  for (const auto& p : kPropagations)
    if (p.name == name) return p.flags;
  return n.fail("unknown propagation {:?}", name);
}

// Fields of runtime-spec husk does not implement: asking for one is an error,
// never silently ignored (runtime-spec: a runtime MUST generate an error
// for what it cannot honour). An empty netDevices map asks for nothing.
Result<void> refuse_unsupported(const Node& n) {
  for (const char* key : {"intelRdt", "memoryPolicy"})
    if (n[key].present()) return n[key].fail("not supported by husk");
  Node net = n["netDevices"];
  HUSK_TRY(net.expect_object());
  if (net.present() && !net.json().empty()) return net.fail("not supported by husk");
  return ok();
}

}  // namespace

Result<std::vector<config::IdMapping>> parse_id_mappings(const Node& n) {
  HUSK_TRY_ASSIGN(size_t count, n.size());
  std::vector<config::IdMapping> out;
  for (size_t i = 0; i < count; ++i) {
    Node e = n.at(i);
    if (!e.present()) return e.type_error("an object");
    HUSK_TRY(e.expect_object());
    config::IdMapping m;
    HUSK_TRY_ASSIGN(m.container_id, e["containerID"].integer<uint32_t>());
    HUSK_TRY_ASSIGN(m.host_id, e["hostID"].integer<uint32_t>());
    HUSK_TRY_ASSIGN(m.size, e["size"].integer<uint32_t>());
    out.push_back(m);
  }
  return out;
}

Result<std::map<std::string, std::string>> parse_string_map(const Node& n) {
  HUSK_TRY_ASSIGN(std::vector<std::string> keys, n.keys());
  std::map<std::string, std::string> out;
  for (const auto& key : keys) out[key] = HUSK_TRY(n.entry(key).str());
  return out;
}

Result<void> parse_linux(const Node& n, config::Container& c) {
  HUSK_TRY(n.expect_object());
  if (!n.present()) return ok();
  HUSK_TRY(refuse_unsupported(n));
  HUSK_TRY_ASSIGN(c.namespaces, parse_namespaces(n["namespaces"]));
  HUSK_TRY_ASSIGN(c.uid_mappings, parse_id_mappings(n["uidMappings"]));
  HUSK_TRY_ASSIGN(c.gid_mappings, parse_id_mappings(n["gidMappings"]));
  HUSK_TRY_ASSIGN(c.time_offsets, parse_time_offsets(n["timeOffsets"]));
  HUSK_TRY_ASSIGN(c.devices, parse_devices(n["devices"]));
  HUSK_TRY_ASSIGN(c.sysctl, parse_string_map(n["sysctl"]));
  HUSK_TRY_ASSIGN(c.masked_paths, n["maskedPaths"].strings());
  HUSK_TRY_ASSIGN(c.readonly_paths, n["readonlyPaths"].strings());
  HUSK_TRY_ASSIGN(c.rootfs_propagation, parse_propagation(n["rootfsPropagation"]));
  HUSK_TRY_ASSIGN(c.mount_label, n["mountLabel"].str_or(""));
  HUSK_TRY_ASSIGN(c.personality, parse_personality(n["personality"]));
  HUSK_TRY_ASSIGN(c.cgroups_path, n["cgroupsPath"].str_or(""));
  if (Node seccomp = n["seccomp"]; seccomp.present()) c.seccomp = HUSK_TRY(parse_seccomp(seccomp));
  // The cgroup layer interprets resources; keep them as (re-serialized) JSON text.
  if (Node res = n["resources"]; res.present()) {
    HUSK_TRY(res.expect_object());
    c.resources_json = res.json().dump();
  }
  return ok();
}

std::vector<std::string_view> namespace_names() {
  std::vector<std::string_view> out;
  for (const auto& ns : kNamespaces) out.push_back(ns.name);
  return out;
}

}  // namespace husk::spec::detail
