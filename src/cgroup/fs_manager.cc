#include "cgroup/fs_manager.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "base/cleanup.h"
#include "base/log.h"
#include "cgroup/device_bpf.h"
#include "cgroup/dir.h"
#include "cgroup/paths.h"
#include "cgroup/systemd_manager.h"
#include "cgroup/text.h"
#include "cgroup/writers.h"

namespace husk::cgroup {
namespace {

bool contains_word(std::string_view text, std::string_view word) {
  for (auto w : split_fields(text))
    if (w == word) return true;
  return false;
}

size_t depth(const std::string& path) { return std::count(path.begin(), path.end(), '/'); }

// Each ancestor of dir below (and including) mount_point, top first.
std::vector<std::string> ancestors(const std::string& mount_point, const std::string& dir) {
  std::vector<std::string> out{mount_point};
  std::string cur = mount_point;
  std::string_view rel = std::string_view(dir).substr(mount_point.size());
  auto parts = split(rel, '/');
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (parts[i].empty()) continue;
    cur += "/";
    cur += parts[i];
    out.push_back(cur);
  }
  return out;
}

std::unexpected<Error> unavailable(std::string_view field, std::string_view controller) {
  return std::unexpected(Error{0, fmt::format("linux.resources.{}: the {} controller is not "
                                              "available on this host",
                                              field, controller)});
}

}  // namespace

bool Hierarchy::has(std::string_view controller) const {
  return std::find(controllers.begin(), controllers.end(), controller) != controllers.end();
}

Result<std::unique_ptr<Manager>> Manager::make(const Options& opts) {
  HUSK_TRY_ASSIGN(Layout layout, host_layout());
  HUSK_TRY_ASSIGN(OwnCgroups own, self_cgroups());
  return make(opts, layout, own);
}

Result<std::unique_ptr<Manager>> Manager::make(const Options& opts, const Layout& layout,
                                               const OwnCgroups& own) {
  HUSK_TRY_ASSIGN(bool systemd, use_systemd_driver(opts.cgroups_path, opts.systemd,
                                                    systemd_running()));
  if (systemd) return make_systemd_manager(opts, layout);
  auto own_path = [&](const std::string& key) {
    auto it = own.find(key);
    return it == own.end() ? std::string("/") : it->second;
  };
  std::vector<Hierarchy> hs;
  for (const auto& v : layout.v1) {
    HUSK_TRY_ASSIGN(std::string cg, container_cgroup_path(opts.cgroups_path, opts.id,
                                                          own_path(v.controllers.front())));
    HUSK_TRY_ASSIGN(std::string dir, cgroup_dir(v.mount_point, v.root, cg));
    hs.push_back({false, v.mount_point, v.controllers, dir, v.root});
  }
  if (layout.has_v2()) {
    HUSK_TRY_ASSIGN(std::string cg,
                    container_cgroup_path(opts.cgroups_path, opts.id, own_path("")));
    HUSK_TRY_ASSIGN(std::string dir, cgroup_dir(layout.v2_mount, layout.v2_root, cg));
    hs.push_back({true, layout.v2_mount, layout.v2_controllers, dir, layout.v2_root});
  }
  return std::unique_ptr<Manager>(new FsManager(layout.mode, std::move(hs), {}));
}

Result<std::unique_ptr<Manager>> Manager::load(const SavedState& saved) {
  HUSK_TRY_ASSIGN(Layout layout, host_layout());
  return load(saved, layout);
}

Result<std::unique_ptr<Manager>> Manager::load(const SavedState& saved, const Layout& layout) {
  if (!saved.systemd_unit.empty()) return load_systemd_manager(saved, layout);
  std::vector<Hierarchy> hs;
  std::set<std::string> mounts;
  for (const auto& [key, dir] : saved.paths) {
    if (key.empty()) {
      if (!layout.has_v2()) return fail(ENOENT, "the saved cgroup {} needs a cgroup2 mount", dir);
      if (mounts.insert(layout.v2_mount).second)
        hs.push_back({true, layout.v2_mount, layout.v2_controllers, dir, layout.v2_root});
      continue;
    }
    const V1Hierarchy* v = layout.v1_for(key);
    if (v == nullptr) {
      log::warn("cgroup: the {} hierarchy of {} is no longer mounted", key, dir);
      continue;
    }
    if (mounts.insert(v->mount_point).second)
      hs.push_back({false, v->mount_point, v->controllers, dir, v->root});
  }
  return std::unique_ptr<Manager>(new FsManager(layout.mode, std::move(hs), saved.created));
}

SavedState FsManager::saved_state() const {
  SavedState s;
  for (const auto& h : hierarchies_) {
    if (h.v2)
      s.paths[""] = h.dir;
    else
      for (const auto& c : h.controllers) s.paths[c] = h.dir;
  }
  s.created = created_;
  return s;
}

const Hierarchy* FsManager::v2() const {
  for (const auto& h : hierarchies_)
    if (h.v2) return &h;
  return nullptr;
}

const Hierarchy* FsManager::find(std::string_view controller) const {
  for (const auto& h : hierarchies_)
    if (!h.v2 && h.has(controller)) return &h;
  const Hierarchy* h = v2();
  return h != nullptr && h->has(controller) ? h : nullptr;
}

std::string FsManager::path(std::string_view controller) const {
  const Hierarchy* h = controller.empty() ? v2() : find(controller);
  return h != nullptr ? h->dir : std::string();
}

Result<void> FsManager::make_dirs(const Hierarchy& h) {
  if (!h.dir.starts_with(h.mount_point + "/"))
    return fail(EINVAL, "cgroup {} is not below {}", h.dir, h.mount_point);
  std::string cur = h.mount_point;
  for (auto part : split(std::string_view(h.dir).substr(h.mount_point.size()), '/')) {
    if (part.empty()) continue;
    std::string parent = cur;
    cur += "/";
    cur += part;
    bool existed = false;
    if (::mkdir(cur.c_str(), 0755) < 0) {
      if (errno != EEXIST) return fail_errno("create cgroup {}", cur);
      existed = true;
    } else {
      created_.push_back(cur);
    }
    // A v1 cpuset needs cpus and mems before it can hold a task or a child
    // with them. A parent made by someone else with plain mkdir (a pod's
    // cgroup) has neither: it gets its parent's, top down, as runc does.
    if (!h.v2 && h.has("cpuset")) {
      HUSK_TRY_ASSIGN(UniqueFd pfd, open_dir(parent));
      HUSK_TRY_ASSIGN(UniqueFd fd, open_dir(cur));
      HUSK_TRY(v1::init_cpuset(pfd.get(), fd.get()).context("initialise cpuset {}", cur));
    }
    if (existed) continue;
    if (h.v2 && cur != h.dir) {
      // Hand down what this directory got to the levels we create below it.
      // Best effort: set() enables what it needs and reports what fails.
      HUSK_TRY_ASSIGN(UniqueFd fd, open_dir(cur));
      auto avail = read_at(fd.get(), "cgroup.controllers");
      std::string names = avail ? *avail : std::string();
      for (auto c : split_fields(names))
        if (auto r = write_at(fd.get(), "cgroup.subtree_control", fmt::format("+{}", c)); !r)
          log::debug("cgroup: enable {} in {}: {}", c, cur, r.error().what());
    }
  }
  return ok();
}

Result<void> FsManager::create() {
  size_t before = created_.size();
  Cleanup undo([&] {
    for (size_t i = created_.size(); i > before; --i) ::rmdir(created_[i - 1].c_str());
    created_.resize(before);
  });
  for (const auto& h : hierarchies_) HUSK_TRY(make_dirs(h));
  undo.cancel();
  return ok();
}

Result<void> FsManager::apply(pid_t pid, bool placed_in_v2, bool joined_v1) {
  std::string text = std::to_string(pid);
  for (const auto& h : hierarchies_) {
    if (h.v2 ? placed_in_v2 : joined_v1) continue;
    HUSK_TRY_ASSIGN(UniqueFd fd, open_dir(h.dir));
    HUSK_TRY(write_at(fd.get(), "cgroup.procs", text).context("move {} into {}", pid, h.dir));
  }
  return ok();
}

Result<SelfJoin> FsManager::open_self_join() {
  SelfJoin j;
  for (const auto& h : hierarchies_) {
    if (h.v2) continue;
    // One open each, not the directory then its file: exec and run pay it per hierarchy.
    UniqueFd tasks(::open((h.dir + "/tasks").c_str(), O_WRONLY | O_CLOEXEC));
    if (!tasks) return fail_errno("open {}/tasks", h.dir);
    j.fds.push_back(std::move(tasks));
    j.dirs.push_back(h.dir);
  }
  return j;
}

int move_self_into(const SelfJoin& j, int* err) noexcept {
  int failed = -1;
  for (size_t i = 0; i < j.fds.size(); ++i) {
    int fd = j.fds[i].get();
    if (failed < 0 && ::write(fd, "0", 1) != 1) {
      *err = errno;
      failed = static_cast<int>(i);
    }
    ::close(fd);
  }
  return failed;
}

Result<void> FsManager::apply_beside_init(pid_t pid, std::string_view init_cgroup) {
  const Hierarchy* h = v2();
  if (h == nullptr) return fail(0, "no cgroup2 hierarchy to join the init's cgroup in");
  HUSK_TRY_ASSIGN(OwnCgroups init, parse_proc_cgroup(init_cgroup));
  auto it = init.find("");
  if (it == init.end()) return fail(ENOENT, "the init has no cgroup2 cgroup");
  HUSK_TRY_ASSIGN(std::string dir, cgroup_dir(h->mount_point, h->root, it->second));
  // The init may have moved anywhere it could reach: only below the container's.
  if (!dir.starts_with(h->dir + "/"))
    return fail(EPERM, "the init's cgroup {} is not inside the container's {}", dir, h->dir);
  HUSK_TRY_ASSIGN(UniqueFd fd, open_dir(dir));
  return write_at(fd.get(), "cgroup.procs", std::to_string(pid))
      .context("adding pid {} to cgroups: {}", pid, dir);
}

Result<UniqueFd> FsManager::open_for_clone() {
  const Hierarchy* h = v2();
  if (h == nullptr) return UniqueFd();
  return open_dir(h->dir);
}

Result<void> FsManager::enable_v2(const Hierarchy& h, std::string_view controller) {
  HUSK_TRY_ASSIGN(UniqueFd fd, open_dir(h.dir));
  HUSK_TRY_ASSIGN(std::string have, read_at(fd.get(), "cgroup.controllers"));
  if (contains_word(have, controller)) return ok();
  for (const auto& dir : ancestors(h.mount_point, h.dir)) {
    HUSK_TRY_ASSIGN(UniqueFd afd, open_dir(dir));
    HUSK_TRY_ASSIGN(std::string enabled, read_at(afd.get(), "cgroup.subtree_control"));
    if (contains_word(enabled, controller)) continue;
    HUSK_TRY(write_at(afd.get(), "cgroup.subtree_control", fmt::format("+{}", controller))
                 .context("enable the {} controller in {}", controller, dir));
  }
  return ok();
}

Result<std::pair<const Hierarchy*, UniqueFd>> FsManager::target(std::string_view controller,
                                                                std::string_view field) {
  const Hierarchy* h = find(controller);
  if (h == nullptr) return unavailable(field, controller);
  if (h->v2) HUSK_TRY(enable_v2(*h, controller).context("linux.resources.{}", field));
  HUSK_TRY_ASSIGN(UniqueFd fd, open_dir(h->dir));
  return std::pair{h, std::move(fd)};
}

Result<void> FsManager::set_cpu(const config::CpuResources& cpu) {
  bool cpu_fields = cpu.shares || cpu.quota || cpu.period || cpu.burst || cpu.realtime_runtime ||
                    cpu.realtime_period || cpu.idle;
  if (cpu_fields && (find("cpu") != nullptr || wants_cpu(cpu))) {
    HUSK_TRY_ASSIGN(auto t, target("cpu", "cpu"));
    HUSK_TRY(t.first->v2 ? v2::set_cpu(t.second.get(), cpu) : v1::set_cpu(t.second.get(), cpu));
  }
  if (wants_cpuset(cpu)) {
    HUSK_TRY_ASSIGN(auto t, target("cpuset", "cpu.cpus"));
    HUSK_TRY(t.first->v2 ? v2::set_cpuset(t.second.get(), cpu)
                         : v1::set_cpuset(t.second.get(), cpu));
  }
  return ok();
}

Result<void> FsManager::set_v1_only(const config::Resources& r) {
  if (r.network) {
    const auto& net = *r.network;
    if (find("net_cls") != nullptr || wants_class_id(net)) {
      HUSK_TRY_ASSIGN(auto t, target("net_cls", "network.classID"));
      HUSK_TRY(v1::set_net_cls(t.second.get(), net));
    }
    if (find("net_prio") != nullptr || wants_priorities(net)) {
      HUSK_TRY_ASSIGN(auto t, target("net_prio", "network.priorities"));
      HUSK_TRY(v1::set_net_prio(t.second.get(), net));
    }
  }
  if (!r.rdma.empty()) {
    HUSK_TRY_ASSIGN(auto t, target("rdma", "rdma"));
    HUSK_TRY(v1::set_rdma(t.second.get(), r.rdma));
  }
  return ok();
}

Result<void> FsManager::set_devices(const std::vector<config::DeviceRule>& rules) {
  if (rules.empty()) return ok();
  if (const Hierarchy* h = find("devices"); h != nullptr && !h->v2) {
    HUSK_TRY_ASSIGN(UniqueFd fd, open_dir(h->dir));
    return v1::set_devices(fd.get(), rules);
  }
  // No v1 devices controller: the eBPF filter works on any cgroup2 directory.
  const Hierarchy* h = v2();
  if (h == nullptr) return unavailable("devices", "devices");
  HUSK_TRY_ASSIGN(UniqueFd fd, open_dir(h->dir));
  return apply_device_rules_v2(fd.get(), rules).context("linux.resources.devices");
}

Result<void> FsManager::set_unified(const std::map<std::string, std::string>& unified) {
  if (unified.empty()) return ok();
  const Hierarchy* h = v2();
  // runc calls these "invalid configuration"; engines and its tests look for the words.
  if (h == nullptr)
    return fail(0,
                "invalid configuration: linux.resources.unified: this host has no cgroup v2 "
                "hierarchy");
  for (const auto& [key, value] : unified) {
    std::string controller = key.substr(0, key.find('.'));
    const Hierarchy* owner = find(controller);
    if (owner != nullptr && !owner->v2)
      return fail(0,
                  "invalid configuration: linux.resources.unified[{:?}]: the {} controller "
                  "is on cgroup v1 on this host",
                  key, controller);
    if (owner != nullptr)
      HUSK_TRY(enable_v2(*h, controller).context("linux.resources.unified[{:?}]", key));
  }
  HUSK_TRY_ASSIGN(UniqueFd fd, open_dir(h->dir));
  return v2::set_unified(fd.get(), unified);
}

Result<void> FsManager::set(const config::Resources& r) {
  if (r.cpu) HUSK_TRY(set_cpu(*r.cpu));
  if (r.memory && (find("memory") != nullptr || wants_memory(*r.memory))) {
    HUSK_TRY_ASSIGN(auto t, target("memory", "memory"));
    HUSK_TRY(t.first->v2 ? v2::set_memory(t.second.get(), *r.memory)
                         : v1::set_memory(t.second.get(), *r.memory));
  }
  if (r.pids && (find("pids") != nullptr || wants_pids(*r.pids))) {
    HUSK_TRY_ASSIGN(auto t, target("pids", "pids"));
    HUSK_TRY(t.first->v2 ? v2::set_pids(t.second.get(), *r.pids)
                         : v1::set_pids(t.second.get(), *r.pids));
  }
  if (r.block_io) {
    const char* ctl = find("blkio") != nullptr ? "blkio" : "io";
    if (find(ctl) != nullptr || wants_block_io(*r.block_io)) {
      HUSK_TRY_ASSIGN(auto t, target(ctl, "blockIO"));
      HUSK_TRY(t.first->v2 ? v2::set_io(t.second.get(), *r.block_io)
                           : v1::set_blkio(t.second.get(), *r.block_io));
    }
  }
  if (!r.hugepage_limits.empty()) {
    HUSK_TRY_ASSIGN(auto t, target("hugetlb", "hugepageLimits"));
    HUSK_TRY(t.first->v2 ? v2::set_hugetlb(t.second.get(), r.hugepage_limits)
                         : v1::set_hugetlb(t.second.get(), r.hugepage_limits));
  }
  HUSK_TRY(set_devices(r.devices));
  HUSK_TRY(set_v1_only(r));
  return set_unified(r.unified);
}

Result<void> FsManager::destroy() {
  // The usual end: the container's processes are gone (its init was reaped,
  // and its pid namespace with it) and it made no sub-cgroups, so one rmdir
  // per hierarchy does it. Whatever is still in use (EBUSY: processes;
  // ENOTEMPTY: sub-cgroups) goes the long way: thaw, kill, wait, remove the
  // tree. Hierarchies already removed are skipped there.
  bool all_gone = true;
  for (const auto& h : hierarchies_)
    all_gone = (::rmdir(h.dir.c_str()) == 0 || errno == ENOENT) && all_gone;
  if (!all_gone) {
    if (auto r = kill_remaining(); !r) log::warn("cgroup: {}", r.error().what());
    if (auto r = wait_empty(); !r) log::warn("cgroup: {}", r.error().what());
  }
  int64_t deadline = monotonic_ms() + 1000;
  Result<void> result = ok();
  // The container's own directories, with any sub-cgroup made inside them.
  std::set<std::string> leaves;
  for (const auto& h : hierarchies_) {
    leaves.insert(h.dir);
    if (all_gone) continue;
    auto r = remove_cgroup_tree(h.dir, deadline);
    if (!r && result) result = std::move(r);
  }
  // Then the parents create() made, deepest first. One that holds another
  // container's cgroup by now stays (EBUSY): it is that one's parent too.
  std::vector<std::string> parents;
  for (const auto& d : created_)
    if (!leaves.contains(d)) parents.push_back(d);
  std::sort(parents.begin(), parents.end(), [](const std::string& a, const std::string& b) {
    return depth(a) != depth(b) ? depth(a) > depth(b) : a > b;
  });
  for (const auto& d : parents) {
    if (::rmdir(d.c_str()) == 0 || errno == ENOENT) continue;
    if (errno == EBUSY || errno == ENOTEMPTY) {
      log::debug("cgroup: {} is still in use, kept", d);
      continue;
    }
    if (result) result = fail_errno("remove cgroup {}", d);
  }
  if (result) created_.clear();
  return result;
}

}  // namespace husk::cgroup
