// The container's cgroup: one interface for every driver (STYLE.md §7.4).
// The cgroupfs driver behind it handles v1, v2 and hybrid hosts alike: each
// controller is driven in the hierarchy where it is mounted (on a hybrid host
// the v1 controllers in their v1 directories, the rest through the cgroup2
// mount), and the container also gets a directory in the cgroup2 hierarchy
// when one is mounted, as runc does.
//
//   HUSK_TRY_ASSIGN(auto cg, cgroup::Manager::make({c.cgroups_path, id, systemd}));
//   HUSK_TRY(cg->create());                       // undo: cg->destroy()
//   HUSK_TRY(cg->set(resources));
//   UniqueFd into = HUSK_TRY(cg->open_for_clone()); // valid where a cgroup2 hierarchy is
//   SelfJoin self = HUSK_TRY(cg->open_self_join());  // v1: the child writes "0" itself
//   ... clone3 with CLONE_INTO_CGROUP and `into`; the child calls move_self_into(self)
//   HUSK_TRY(cg->apply(pid, into.valid(), !self.empty()))  // what is left, before the
//   init goes on (nothing on pure v2 or hybrid)
//   state.cgroup = cg->saved_state();             // later: Manager::load(state.cgroup)
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "cgroup/layout.h"
#include "cgroup/stats.h"
#include "config/resources.h"

namespace husk::cgroup {

enum class FreezerState { kThawed, kFreezing, kFrozen };

// A new process's way into the container's v1 cgroups (Manager::open_self_join):
// the `tasks` file of each, opened by the runtime before the clone, into
// which the process writes "0" first thing (move_self_into). The kernel moves
// a thread that moves itself without its global lock; a pid written to
// cgroup.procs takes cgroup_threadgroup_rwsem for writing, which waits for an
// RCU grace period whenever no writer ran in the last one: 7.9 ms median
// against 0.05 ms for the self-move on the loaded development VM
// (docs/benchmarks.md, "The first cgroup.procs write").
struct SelfJoin {
  std::vector<UniqueFd> fds;
  std::vector<std::string> dirs;  // the same order, for the error
  bool empty() const { return fds.empty(); }
};

// In the new process, before anything else: writes "0" into each of j's fds
// (its copies, inherited at the clone) and closes them. Touches nothing but
// j (read only) and the stack: the process may share the runtime's memory
// and it is not its turn yet (runtime/sync.h). Returns the index of the first
// write that failed, with its errno in *err, or -1.
int move_self_into(const SelfJoin& j, int* err) noexcept;

// What this layer implements, whatever the host runs (husk-oci `features`
// reports it): the cgroupfs driver on v1, v2 and hybrid hosts, the rdma
// controller, and the systemd driver (system instance, cgroup v2 hosts).
struct DriverSupport {
  bool v1, v2, systemd, systemd_user, rdma;
};
inline constexpr DriverSupport kDriverSupport{
    .v1 = true, .v2 = true, .systemd = true, .systemd_user = false, .rdma = true};

// What the runtime keeps in its state to re-open the manager later.
struct SavedState {
  // Controller ("cpu", "cpuacct", "name=systemd"; "" for the cgroup2
  // directory) -> absolute directory of the container's cgroup there.
  std::map<std::string, std::string> paths;
  // Directories create() made, parents first. destroy() removes these and
  // the container's own directories, never a parent that existed before.
  std::vector<std::string> created;
  // The systemd driver's scope unit and its slice; empty for cgroupfs.
  std::string systemd_unit;
  std::string systemd_slice;
};

// exec --cgroup: each argument is PATH (alone: every hierarchy) or
// CONTROLLER[,CONTROLLER...]:PATH, as runc 1.1 takes them. Returns saved with
// those sub-cgroups joined onto the container's directories (a controller
// moves its whole hierarchy, co-mounted ones included), each kept inside the
// container's cgroup ("/" is the container's own). Pure: nothing is opened.
Result<SavedState> sub_cgroup_state(const SavedState& saved,
                                    const std::vector<std::string>& args);

struct Options {
  std::string cgroups_path;  // linux.cgroupsPath; "" when absent
  std::string id;            // the container id, the cgroup name when cgroups_path is ""
  bool systemd = false;      // --systemd-cgroup
};

// Readable (poll POLLIN) when the container's memory cgroup saw an OOM.
class OomWatcher {
 public:
  virtual ~OomWatcher() = default;
  virtual int fd() const = 0;
  // Drains the fd; returns how many OOM events happened since the last call
  // (0 on a spurious wakeup). ENOENT once the cgroup is removed.
  virtual Result<uint64_t> consume() = 0;
};

class Manager {
 public:
  virtual ~Manager() = default;

  // A manager for a new container, from the host's layout and this process's
  // own cgroups. Nothing is created yet. --systemd-cgroup picks the systemd
  // driver (systemd_manager.h), which takes the "slice:prefix:name" form.
  static Result<std::unique_ptr<Manager>> make(const Options& opts);
  // The same on an explicit layout (tests point it at a fixture tree).
  static Result<std::unique_ptr<Manager>> make(const Options& opts, const Layout& layout,
                                               const OwnCgroups& own);
  // Re-opens the cgroup of an existing container.
  static Result<std::unique_ptr<Manager>> load(const SavedState& saved);
  static Result<std::unique_ptr<Manager>> load(const SavedState& saved, const Layout& layout);

  virtual Mode mode() const = 0;
  virtual SavedState saved_state() const = 0;
  // The container's directory for a controller ("" for the cgroup2 one);
  // empty when there is none.
  virtual std::string path(std::string_view controller) const = 0;

  // Before create(), runc's checks of a cgroup that exists already: fails when
  // it is frozen in any hierarchy (the init would freeze in it and create would
  // hang); else returns how many processes it holds (0 when it does not exist).
  virtual Result<size_t> check_preexisting() = 0;
  // Makes every directory (v1 cpuset ones get their parent's cpus/mems).
  // Existing directories are reused and never recorded as created.
  virtual Result<void> create() = 0;
  // Moves pid into the container's cgroup in every hierarchy; with
  // placed_in_v2, not in the cgroup2 one, where clone3 put it (below); with
  // joined_v1, not in the v1 ones, which it joins itself (open_self_join).
  virtual Result<void> apply(pid_t pid, bool placed_in_v2 = false, bool joined_v1 = false) = 0;
  // The v1 `tasks` files for a process about to be cloned to move itself in
  // (SelfJoin); empty where no v1 hierarchy is used (pure v2, systemd).
  virtual Result<SelfJoin> open_self_join() = 0;
  // exec on cgroup v2, where the container's own directory refused the pid
  // (EBUSY: the init moved below it and a domain controller is on there): as
  // runc, the process joins the init's cgroup2 cgroup instead. init_cgroup is
  // the init's /proc/PID/cgroup text; that directory must be inside the
  // container's.
  virtual Result<void> apply_beside_init(pid_t pid, std::string_view init_cgroup) = 0;
  // The container's directory in the cgroup2 hierarchy (pure v2 or hybrid), to
  // pass to clone3 with CLONE_INTO_CGROUP: the child is born there, which
  // spares the cgroup.procs write that waits longest (0.6 ms on the hybrid
  // development VM). An invalid fd where no cgroup2 hierarchy is used.
  virtual Result<UniqueFd> open_for_clone() = 0;
  // Writes the given resources (absent fields are left alone).
  virtual Result<void> set(const config::Resources& r) = 0;

  // v1 freezer.state or v2 cgroup.freeze; both wait until the kernel says
  // the whole cgroup is frozen (or thawed).
  virtual Result<void> freeze() = 0;
  virtual Result<void> thaw() = 0;
  virtual Result<FreezerState> freezer_state() = 0;

  // Every process in the cgroup and its sub-cgroups.
  virtual Result<std::vector<pid_t>> pids() = 0;
  // kill --all: each process gets sig (frozen first on v1 so none forks away).
  virtual Result<void> signal_all(int sig) = 0;
  virtual Result<Stats> stats() = 0;
  // The kernel's OOM-kill counter for the container (0 without memory accounting).
  virtual Result<uint64_t> oom_kill_count() = 0;
  virtual Result<std::unique_ptr<OomWatcher>> watch_oom() = 0;

  // Kills what remains (cgroup.kill, or SIGKILL to each pid), waits for it to
  // go, and removes the container's directories and those create() made,
  // deepest first, retrying EBUSY for about a second. Missing ones are fine.
  virtual Result<void> destroy() = 0;
};

}  // namespace husk::cgroup
