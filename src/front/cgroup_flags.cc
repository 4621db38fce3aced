#include "front/cgroup_flags.h"

#include "cgroup/systemd_units.h"

namespace husk::cli {

Result<CgroupChoice> choose_cgroup(const CgroupFlags& f, std::string_view name,
                                   bool systemd_host) {
  bool systemd = systemd_host;
  if (f.manager == "systemd") {
    systemd = true;
  } else if (f.manager == "cgroupfs") {
    systemd = false;
  } else if (!f.manager.empty()) {
    return fail(0, "--cgroup-manager {:?}: cgroupfs or systemd", f.manager);
  }
  if (!systemd) {
    if (f.slice)
      return fail(0, "--slice {:?}: needs --cgroup-manager systemd (the cgroup manager {} "
                     "cgroupfs)",
                  *f.slice, f.manager.empty() ? "here is" : "given is");
    return CgroupChoice{};
  }
  if (!systemd_host)
    return fail(0, "--cgroup-manager systemd: systemd is not running, or the host is not "
                   "cgroup v2 only");
  std::string slice = f.slice.value_or(kDefaultSlice);
  // Checked as the driver will (a ":" would split the cgroupsPath, and the
  // driver takes an empty slice as system.slice): refused now, before a
  // record exists.
  if (slice.find(':') != std::string::npos || !cgroup::expand_slice(slice))
    return fail(0, "--slice {:?}: not a slice name (NAME.slice, dashes for its parents: "
                   "a-b.slice is in a.slice)",
                slice);
  auto path = fmt::format("{}:{}:{}", slice, kScopePrefix, name);
  if (!cgroup::parse_systemd_path(path, name))
    return fail(0, "container {:?}: {}-{}.scope is not a valid systemd unit name", name,
                kScopePrefix, name);
  return CgroupChoice{.systemd = true, .cgroups_path = std::move(path)};
}

}  // namespace husk::cli
