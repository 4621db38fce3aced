#include "cgroup/systemd_manager.h"

#include <signal.h>

#include "base/file.h"
#include "base/log.h"
#include "cgroup/paths.h"

namespace husk::cgroup {
namespace {

Result<std::unique_ptr<FsManager>> scope_fs(const SystemdUnit& u, const Layout& layout) {
  if (layout.mode != Mode::kV2)
    return fail(0, "the systemd cgroup driver needs a cgroup v2 host (this one is {})",
                mode_name(layout.mode));
  HUSK_TRY_ASSIGN(std::string slice, expand_slice(u.slice));
  std::string cg = (slice == "/" ? "" : slice) + "/" + u.unit;
  HUSK_TRY_ASSIGN(std::string dir, cgroup_dir(layout.v2_mount, layout.v2_root, cg));
  std::vector<Hierarchy> hs{{true, layout.v2_mount, layout.v2_controllers, dir, layout.v2_root}};
  return std::make_unique<FsManager>(Mode::kV2, std::move(hs), std::vector<std::string>{});
}

}  // namespace

Result<std::unique_ptr<Manager>> make_systemd_manager(const Options& opts, const Layout& layout) {
  HUSK_TRY_ASSIGN(SystemdUnit u, parse_systemd_path(opts.cgroups_path, opts.id));
  HUSK_TRY_ASSIGN(auto fs, scope_fs(u, layout));
  std::string description = fmt::format("husk container {}", opts.id);
  return std::unique_ptr<Manager>(
      new SystemdManager(std::move(u), std::move(fs), true, std::move(description)));
}

Result<std::unique_ptr<Manager>> load_systemd_manager(const SavedState& saved,
                                                      const Layout& layout) {
  SystemdUnit u{saved.systemd_slice, saved.systemd_unit};
  HUSK_TRY_ASSIGN(auto fs, scope_fs(u, layout));
  return std::unique_ptr<Manager>(new SystemdManager(std::move(u), std::move(fs), false, ""));
}

SavedState SystemdManager::saved_state() const {
  SavedState s = fs_->saved_state();
  s.systemd_slice = unit_.slice;
  s.systemd_unit = unit_.unit;
  return s;
}

Result<dbus::Connection*> SystemdManager::bus() {
  if (!bus_) {
    HUSK_TRY_ASSIGN(dbus::Connection c,
                    dbus::Connection::system().context("systemd cgroup driver"));
    bus_.emplace(std::move(c));
  }
  return &*bus_;
}

Result<size_t> SystemdManager::check_preexisting() {
  if (fresh_) {
    HUSK_TRY_ASSIGN(dbus::Connection * b, bus());
    HUSK_TRY(check_unit_absent(*b, unit_.unit));
  }
  return fs_->check_preexisting();
}

Result<void> SystemdManager::create() {
  // Only reach the bus: without one nothing is made, and the error says why.
  HUSK_TRY(bus());
  return ok();
}

Result<UniqueFd> SystemdManager::open_for_clone() {
  if (fresh_ && !started_) return UniqueFd();
  return fs_->open_for_clone();
}

Result<config::Resources> SystemdManager::split(const config::Resources& r,
                                                std::vector<UnitProperty>& props) const {
  HUSK_TRY_ASSIGN(props, resource_properties(r));
  config::Resources files = r;
  if (!r.devices.empty()) {
    auto devices = read_file("/proc/devices");
    auto dev = device_properties(r.devices, devices ? *devices : std::string());
    // systemd's own device program when it can say the same; else husk's
    // alone (writing husk's would detach systemd's: one of them decides).
    if (dev) {
      for (auto& p : *dev) props.push_back(std::move(p));
      files.devices.clear();
    }
  }
  return files;
}

Result<void> SystemdManager::apply(pid_t pid, bool placed_in_v2, bool joined_v1) {
  if (!fresh_ || started_) return fs_->apply(pid, placed_in_v2, joined_v1);
  HUSK_TRY_ASSIGN(dbus::Connection * b, bus());
  std::vector<UnitProperty> props;
  config::Resources files;
  if (pending_) {
    HUSK_TRY_ASSIGN(files, split(*pending_, props));
  }
  auto r = start_transient_unit(*b, unit_, pid, description_, std::move(props));
  // Anything but a name taken by another unit may have left ours behind: destroy() stops it.
  if (r || r.error().code != EEXIST) started_ = true;
  HUSK_TRY(std::move(r));
  if (pending_) {
    HUSK_TRY(fs_->set(files).context("set cgroup resources"));
    pending_.reset();
  }
  return ok();
}

Result<void> SystemdManager::set(const config::Resources& r) {
  if (fresh_ && !started_) {
    std::vector<UnitProperty> props;
    HUSK_TRY(split(r, props));  // bad values fail now, before anything starts
    pending_ = r;
    return ok();
  }
  std::vector<UnitProperty> props;
  HUSK_TRY_ASSIGN(config::Resources files, split(r, props));
  HUSK_TRY_ASSIGN(dbus::Connection * b, bus());
  HUSK_TRY(set_unit_properties(*b, unit_.unit, std::move(props)));
  return fs_->set(files);
}

Result<void> SystemdManager::destroy() {
  // Never started here: the scope's directory, if there is one, is another unit's.
  if (fresh_ && !started_) return ok();
  // Kill and remove the cgroup first: stopping a scope that still has
  // processes would wait for them to heed SIGTERM (90 s by default).
  auto removed = fs_->destroy();
  if (!removed) log::warn("cgroup: {}", removed.error().what());
  HUSK_TRY_ASSIGN(dbus::Connection * b, bus());
  HUSK_TRY(stop_unit(*b, unit_.unit));
  started_ = false;
  return removed;
}

}  // namespace husk::cgroup
