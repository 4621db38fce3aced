// Internal to cgroup/: the systemd driver behind Manager. The container's
// processes live in a transient scope unit that systemd makes over D-Bus
// (StartTransientUnit with Delegate=yes and the init's pid), in the slice of
// its "slice:prefix:name" cgroupsPath. Everything that reads or writes the
// cgroup itself (files, freezer, pids, stats, OOM) goes through a cgroupfs
// manager on the scope's directory, so it behaves as on any v2 host.
//
// The scope needs a pid, so the unit is started in apply(), not create():
// check_preexisting() refuses a unit of that name systemd has already (its
// cgroup is someone else's), create() only connects to the bus, set()
// before apply() keeps the resources for the start, and open_for_clone()
// gives no directory (the init is born in ours, and systemd moves it).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "cgroup/dbus.h"
#include "cgroup/fs_manager.h"
#include "cgroup/systemd_units.h"

namespace husk::cgroup {

class SystemdManager final : public Manager {
 public:
  // fresh: made for a new container (apply() starts the unit); else loaded from state.
  SystemdManager(SystemdUnit unit, std::unique_ptr<FsManager> fs, bool fresh,
                 std::string description)
      : unit_(std::move(unit)),
        fs_(std::move(fs)),
        fresh_(fresh),
        description_(std::move(description)) {}

  Mode mode() const override { return Mode::kV2; }
  SavedState saved_state() const override;
  std::string path(std::string_view controller) const override { return fs_->path(controller); }
  Result<size_t> check_preexisting() override;
  Result<void> create() override;
  Result<void> apply(pid_t pid, bool placed_in_v2, bool joined_v1) override;
  // systemd drives cgroup v2 only: nothing for a process to join itself.
  Result<SelfJoin> open_self_join() override { return SelfJoin{}; }
  Result<void> apply_beside_init(pid_t pid, std::string_view init_cgroup) override {
    return fs_->apply_beside_init(pid, init_cgroup);
  }
  Result<UniqueFd> open_for_clone() override;
  Result<void> set(const config::Resources& r) override;
  Result<void> freeze() override { return fs_->freeze(); }
  Result<void> thaw() override { return fs_->thaw(); }
  Result<FreezerState> freezer_state() override { return fs_->freezer_state(); }
  Result<std::vector<pid_t>> pids() override { return fs_->pids(); }
  Result<void> signal_all(int sig) override { return fs_->signal_all(sig); }
  Result<Stats> stats() override { return fs_->stats(); }
  Result<uint64_t> oom_kill_count() override { return fs_->oom_kill_count(); }
  Result<std::unique_ptr<OomWatcher>> watch_oom() override { return fs_->watch_oom(); }
  Result<void> destroy() override;

 private:
  Result<dbus::Connection*> bus();
  // Sets the unit's properties for r and returns what the files get.
  Result<config::Resources> split(const config::Resources& r,
                                  std::vector<UnitProperty>& props) const;

  SystemdUnit unit_;
  std::unique_ptr<FsManager> fs_;
  bool fresh_;
  bool started_ = false;
  std::string description_;
  std::optional<config::Resources> pending_;
  std::optional<dbus::Connection> bus_;
};

// The systemd driver for a new container (cgroup v2 hosts only).
Result<std::unique_ptr<Manager>> make_systemd_manager(const Options& opts, const Layout& layout);
Result<std::unique_ptr<Manager>> load_systemd_manager(const SavedState& saved,
                                                      const Layout& layout);

}  // namespace husk::cgroup
