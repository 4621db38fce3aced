#include "spec/default_spec.h"

#include <unistd.h>

#include <string_view>

#include <nlohmann/json.hpp>

namespace husk::spec {
namespace {

using Json = nlohmann::ordered_json;

Json default_capabilities() {
  Json caps = Json::array({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"});
  return {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}};
}

Json default_process() {
  return {
      {"terminal", true},
      {"user", {{"uid", 0}, {"gid", 0}}},
      {"args", {"sh"}},
      {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
      {"cwd", "/"},
      {"capabilities", default_capabilities()},
      {"rlimits", Json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
      {"noNewPrivileges", true},
  };
}

Json mount(std::string_view dst, std::string_view type, std::string_view src,
           std::initializer_list<std::string_view> options) {
  Json m = {{"destination", dst}, {"type", type}, {"source", src}};
  if (options.size() > 0) m["options"] = options;
  return m;
}

Json default_mounts() {
  return Json::array({
      mount("/proc", "proc", "proc", {}),
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
  });
}

Json default_linux() {
  Json namespaces = Json::array();
  for (const char* type : {"pid", "network", "ipc", "uts", "mount"})
    namespaces.push_back({{"type", type}});
  return {
      {"resources", {{"devices", Json::array({{{"allow", false}, {"access", "rwm"}}})}}},
      {"namespaces", namespaces},
      {"maskedPaths",
       {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
        "/proc/scsi"}},
      {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
  };
}

// What `runc spec --rootless` changes: no network namespace (a rootless user
// cannot configure one), a user namespace mapping root to the caller, /sys
// bind-mounted (sysfs cannot be mounted without a netns of our own), no uid=/gid=
// mount options (those ids are unmapped) and no cgroup resources.
void make_rootless(Json& spec, uid_t uid, gid_t gid) {
  // Rebuilt rather than edited: runc puts the mappings first.
  const Json& old = spec["linux"];
  Json namespaces = Json::array();
  for (const auto& ns : old["namespaces"])
    if (ns["type"] != "network" && ns["type"] != "user") namespaces.push_back(ns);
  namespaces.push_back({{"type", "user"}});
  Json fresh = {
      {"uidMappings", Json::array({{{"containerID", 0}, {"hostID", uid}, {"size", 1}}})},
      {"gidMappings", Json::array({{{"containerID", 0}, {"hostID", gid}, {"size", 1}}})},
      {"namespaces", namespaces},
  };
  for (const auto& [key, value] : old.items())
    if (key != "namespaces" && key != "resources") fresh[key] = value;
  spec["linux"] = std::move(fresh);

  for (Json& m : spec["mounts"]) {
    if (m["destination"] == "/sys") {
      m = mount("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"});
      continue;
    }
    if (!m.contains("options")) continue;
    Json kept = Json::array();
    for (const auto& o : m["options"]) {
      std::string_view s = o.get_ref<const std::string&>();
      if (!s.starts_with("uid=") && !s.starts_with("gid=")) kept.push_back(o);
    }
    m["options"] = kept;
  }
}

}  // namespace

std::string default_config_json(bool rootless, uid_t host_uid, gid_t host_gid) {
  Json spec = {
      {"ociVersion", kOciVersion},
      {"process", default_process()},
      {"root", {{"path", "rootfs"}, {"readonly", true}}},
      {"hostname", "runc"},
      {"mounts", default_mounts()},
      {"linux", default_linux()},
  };
  if (rootless) make_rootless(spec, host_uid, host_gid);
  return spec.dump(1, '\t');
}

std::string default_config_json(bool rootless) {
  return default_config_json(rootless, ::geteuid(), ::getegid());
}

}  // namespace husk::spec
