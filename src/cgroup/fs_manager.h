// Internal to cgroup/: the cgroupfs driver behind Manager. fs_manager.cc has
// construction, create/apply/set and destroy; fs_manager_ops.cc the
// freezer, process listing, signals, stats and OOM watching.
#pragma once

#include <string>
#include <vector>

#include "cgroup/manager.h"

namespace husk::cgroup {

// The container's directory in one hierarchy.
struct Hierarchy {
  bool v2 = false;
  std::string mount_point;
  std::vector<std::string> controllers;  // v1: the mount's; v2: the root's cgroup.controllers
  std::string dir;                       // absolute path of the container's cgroup
  std::string root = "/";                // the cgroup mounted at mount_point
  bool has(std::string_view controller) const;
};

class FsManager final : public Manager {
 public:
  FsManager(Mode mode, std::vector<Hierarchy> hierarchies, std::vector<std::string> created)
      : mode_(mode), hierarchies_(std::move(hierarchies)), created_(std::move(created)) {}

  Mode mode() const override { return mode_; }
  SavedState saved_state() const override;
  std::string path(std::string_view controller) const override;
  Result<size_t> check_preexisting() override;
  Result<void> create() override;
  Result<void> apply(pid_t pid, bool placed_in_v2, bool joined_v1) override;
  Result<SelfJoin> open_self_join() override;
  Result<void> apply_beside_init(pid_t pid, std::string_view init_cgroup) override;
  Result<UniqueFd> open_for_clone() override;
  Result<void> set(const config::Resources& r) override;
  Result<void> freeze() override;
  Result<void> thaw() override;
  Result<FreezerState> freezer_state() override;
  Result<std::vector<pid_t>> pids() override;
  Result<void> signal_all(int sig) override;
  Result<Stats> stats() override;
  Result<uint64_t> oom_kill_count() override;
  Result<std::unique_ptr<OomWatcher>> watch_oom() override;
  Result<void> destroy() override;

 private:
  // The hierarchy that drives a controller: a v1 one that has it, else the
  // v2 one when its root lists it; null when the host lacks it.
  const Hierarchy* find(std::string_view controller) const;
  const Hierarchy* v2() const;
  // The hierarchy whose cgroup.procs lists the container's processes.
  const Hierarchy* procs_hierarchy() const;
  // v2: makes sure the container's cgroup has the controller, enabling it in
  // each ancestor's cgroup.subtree_control where missing.
  Result<void> enable_v2(const Hierarchy& h, std::string_view controller);
  // Opens the controller's directory, or fails naming the field.
  Result<std::pair<const Hierarchy*, UniqueFd>> target(std::string_view controller,
                                                       std::string_view field);
  Result<void> set_cpu(const config::CpuResources& cpu);
  Result<void> set_v1_only(const config::Resources& r);
  Result<void> set_devices(const std::vector<config::DeviceRule>& rules);
  Result<void> set_unified(const std::map<std::string, std::string>& unified);
  Result<void> make_dirs(const Hierarchy& h);
  Result<void> kill_remaining();
  Result<void> wait_empty();

  Mode mode_;
  std::vector<Hierarchy> hierarchies_;
  std::vector<std::string> created_;
};

// Every pid in dir's cgroup.procs and in those of its sub-cgroups.
Result<std::vector<pid_t>> pids_recursive(const std::string& dir);
// Removes dir and any sub-cgroup in it, deepest first; EBUSY is retried
// until deadline_ms (CLOCK_MONOTONIC milliseconds). A missing dir is fine.
Result<void> remove_cgroup_tree(const std::string& dir, int64_t deadline_ms);
int64_t monotonic_ms();
void sleep_ms(int ms);

}  // namespace husk::cgroup
