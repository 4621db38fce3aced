// `husk run --cgroup-manager cgroupfs|systemd --slice NAME`: which cgroup
// driver a container of the front end gets, and its cgroupsPath.
//
// As podman: the systemd driver when systemd manages the host's cgroups, the
// container then a transient scope husk-<name>.scope in machine.slice (or
// --slice NAME, the flag of `systemd-run --scope --slice`); else cgroupfs,
// the container's cgroup nested under husk's own. Pure: the caller says
// whether the host is one the systemd driver serves.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace husk::cli {

inline constexpr const char* kDefaultSlice = "machine.slice";
// The prefix of the scope's name: husk-<name>.scope.
inline constexpr const char* kScopePrefix = "husk";

struct CgroupFlags {
  std::string manager;               // --cgroup-manager; empty: the host's default
  std::optional<std::string> slice;  // --slice (systemd only)
};

struct CgroupChoice {
  bool systemd = false;      // runtime::CreateOptions.systemd_cgroup
  std::string cgroups_path;  // "<slice>:husk:<name>"; empty for cgroupfs (<name> under ours)
};

// systemd_host: PID 1 is systemd and the host is cgroup v2 only, the hosts
// the systemd driver serves. An explicit --cgroup-manager systemd elsewhere
// is refused here, in one line, before anything is made.
Result<CgroupChoice> choose_cgroup(const CgroupFlags& f, std::string_view name,
                                   bool systemd_host);

}  // namespace husk::cli
