// linux.cgroupsPath -> the container's cgroup in each hierarchy, as runc does:
// an absolute path is taken from each hierarchy's root; a relative one (or
// "<id>" when absent) nests under this process's own cgroup in that
// hierarchy. The systemd form "slice:prefix:name" is the systemd driver's
// (systemd_units.h).
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace husk::cgroup {

// "system.slice:docker:abc": not absolute, exactly two colons.
bool is_systemd_form(std::string_view cgroups_path);
// PID 1 is systemd (it creates /run/systemd/system early at boot).
bool systemd_running();

// Whether the systemd driver is to be used: with --systemd-cgroup, when
// systemd runs (systemd_up). The "slice:prefix:name" form without the flag
// is refused, as is the flag with any other non-empty cgroupsPath.
Result<bool> use_systemd_driver(std::string_view cgroups_path, bool systemd_flag,
                                bool systemd_up);

// The cgroup path ("/a/b", from the hierarchy's root) for one hierarchy in
// which this process sits at own. ".." may not climb out of own.
Result<std::string> container_cgroup_path(std::string_view cgroups_path, std::string_view id,
                                          std::string_view own);

// Where a cgroup path lives on disk under a mount of the hierarchy whose
// root (mountinfo's 4th field) is mount_root: "/sys/fs/cgroup/cpu" + "/a/b".
Result<std::string> cgroup_dir(std::string_view mount_point, std::string_view mount_root,
                               std::string_view cgroup_path);

// Lexical cleaning: "//a/./b/../c/" -> "/a/c"; relative stays relative
// ("a/../.." -> ".."); "" -> ".".
std::string clean_cgroup_path(std::string_view path);

}  // namespace husk::cgroup
