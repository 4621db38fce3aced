// Where the cgroup hierarchies of this host are mounted and where this process
// sits in each. Parsing is pure (text in, values out) so tests feed it
// fixture text; host_layout()/self_cgroups() read /proc once per process.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace husk::cgroup {

enum class Mode {
  kV1,      // only v1 hierarchies
  kV2,      // one cgroup2 mount holds every controller
  kHybrid,  // v1 controllers plus a cgroup2 mount (often with no controller)
};

std::string_view mode_name(Mode m);  // "v1", "v2", "hybrid"

// One mounted v1 hierarchy. Co-mounted controllers share it ("cpu,cpuacct");
// a named hierarchy has the single pseudo-controller "name=systemd".
struct V1Hierarchy {
  std::string mount_point;               // "/sys/fs/cgroup/cpu,cpuacct"
  std::string root;                      // the cgroup mounted there ("/" normally)
  std::vector<std::string> controllers;  // {"cpu", "cpuacct"}
  bool has(std::string_view controller) const;
  std::string key() const;  // controllers joined by ',' as /proc/self/cgroup names them
};

struct Layout {
  Mode mode = Mode::kV1;
  std::vector<V1Hierarchy> v1;
  std::string v2_mount;  // empty: no cgroup2 mount
  std::string v2_root = "/";
  std::vector<std::string> v2_controllers;  // the v2 root's cgroup.controllers

  bool has_v2() const { return !v2_mount.empty(); }
  // The v1 hierarchy holding a controller, or null.
  const V1Hierarchy* v1_for(std::string_view controller) const;
  // True when the controller is bound to the cgroup2 hierarchy.
  bool v2_has(std::string_view controller) const;
};

// Reads a file by absolute path (cgroup.controllers); a seam for tests.
using FileReader = std::function<Result<std::string>(const std::string& path)>;

// Parses /proc/self/mountinfo text. The first mount of each hierarchy wins;
// bind mounts of the same hierarchy elsewhere are ignored.
Result<Layout> parse_layout(std::string_view mountinfo, const FileReader& read);

// /proc/self/cgroup: hierarchy key -> this process's cgroup path. Each v1
// controller gets its own entry ("cpu" and "cpuacct" for "cpu,cpuacct"),
// named ones keep "name=systemd", the v2 line ("0::/x") is under "".
using OwnCgroups = std::map<std::string, std::string>;
Result<OwnCgroups> parse_proc_cgroup(std::string_view text);

// The host's layout and this process's cgroups, read once and cached.
Result<Layout> host_layout();
Result<OwnCgroups> self_cgroups();

// Decodes mountinfo's octal escapes ("\040" is a space).
std::string unescape_mountinfo(std::string_view field);

}  // namespace husk::cgroup
