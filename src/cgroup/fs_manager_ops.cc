// FsManager: freezer, processes, signals, stats and OOM events.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "cgroup/dir.h"
#include "cgroup/fs_manager.h"
#include "cgroup/text.h"
#include "sys/process.h"

namespace husk::cgroup {
namespace {

constexpr int kFreezeTimeoutMs = 2000;

// Zombies stay listed until reaped but no longer hold the cgroup busy.
bool is_zombie(pid_t pid) {
  auto stat = sys::process_stat(pid);
  return !stat || stat->state == 'Z';  // gone, or not reaped yet
}

Result<std::vector<std::string>> subdirs(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return fail_errno("open cgroup {}", dir);
  std::vector<std::string> out;
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (e->d_type == DT_DIR && name != "." && name != "..") out.push_back(dir + "/" + e->d_name);
  }
  ::closedir(d);
  return out;
}

// Polls a v1 freezer.state until it reads want, rewriting it meanwhile: a
// task that forks while freezing can leave the cgroup stuck in FREEZING.
Result<void> v1_freeze_wait(int fd, std::string_view want) {
  int64_t deadline = monotonic_ms() + kFreezeTimeoutMs;
  for (int i = 0;; ++i) {
    if (i % 10 == 0) HUSK_TRY(write_at(fd, "freezer.state", want));
    HUSK_TRY_ASSIGN(std::string state, read_at(fd, "freezer.state"));
    if (trim(state) == want) return ok();
    if (monotonic_ms() > deadline)
      return fail(ETIMEDOUT, "freezer.state still reads {} after {} ms", trim(state),
                  kFreezeTimeoutMs);
    sleep_ms(1);
  }
}

Result<void> v2_freeze_wait(int fd, bool frozen) {
  HUSK_TRY(write_at(fd, "cgroup.freeze", frozen ? "1" : "0"));
  int64_t deadline = monotonic_ms() + kFreezeTimeoutMs;
  for (;;) {
    HUSK_TRY_ASSIGN(std::string events, read_at(fd, "cgroup.events"));
    if (parse_flat_keyed(events)["frozen"] == (frozen ? 1u : 0u)) return ok();
    if (monotonic_ms() > deadline)
      return fail(ETIMEDOUT, "cgroup.events does not say frozen {} after {} ms", frozen ? 1 : 0,
                  kFreezeTimeoutMs);
    sleep_ms(1);
  }
}

class V1OomWatcher final : public OomWatcher {
 public:
  V1OomWatcher(std::string dir, UniqueFd event, UniqueFd control)
      : dir_(std::move(dir)), event_(std::move(event)), control_(std::move(control)) {}
  int fd() const override { return event_.get(); }
  Result<uint64_t> consume() override {
    uint64_t n = 0;
    if (::read(event_.get(), &n, sizeof n) < 0 && errno != EAGAIN)
      return fail_errno("read the OOM eventfd");
    // The eventfd also fires when the cgroup is removed.
    if (::access((dir_ + "/cgroup.event_control").c_str(), F_OK) < 0)
      return fail(ENOENT, "cgroup {} was removed", dir_);
    return n;
  }

 private:
  std::string dir_;
  UniqueFd event_;
  UniqueFd control_;  // memory.oom_control, kept open while registered
};

class V2OomWatcher final : public OomWatcher {
 public:
  V2OomWatcher(std::string dir, UniqueFd inotify, uint64_t last)
      : dir_(std::move(dir)), inotify_(std::move(inotify)), last_(last) {}
  int fd() const override { return inotify_.get(); }
  Result<uint64_t> consume() override {
    alignas(inotify_event) char buf[4096];
    bool gone = false;
    for (;;) {
      ssize_t n = ::read(inotify_.get(), buf, sizeof buf);
      if (n < 0) {
        if (errno == EAGAIN) break;
        return fail_errno("read inotify events");
      }
      for (ssize_t off = 0; off < n;) {
        auto* ev = reinterpret_cast<inotify_event*>(buf + off);
        if (ev->mask & (IN_IGNORED | IN_DELETE_SELF)) gone = true;
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      }
    }
    if (gone) return fail(ENOENT, "cgroup {} was removed", dir_);
    HUSK_TRY_ASSIGN(std::string text, read_at(AT_FDCWD, dir_ + "/memory.events"));
    uint64_t now = parse_flat_keyed(text)["oom_kill"];
    uint64_t diff = now > last_ ? now - last_ : 0;
    last_ = now;
    return diff;
  }

 private:
  std::string dir_;
  UniqueFd inotify_;
  uint64_t last_;
};

}  // namespace

int64_t monotonic_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(int ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  while (::nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

Result<std::vector<pid_t>> pids_recursive(const std::string& dir) {
  HUSK_TRY_ASSIGN(UniqueFd fd, open_dir(dir));
  HUSK_TRY_ASSIGN(std::vector<pid_t> out, read_pids_at(fd.get()));
  HUSK_TRY_ASSIGN(auto children, subdirs(dir));
  for (const auto& child : children) {
    HUSK_TRY_ASSIGN(auto more, pids_recursive(child));
    out.insert(out.end(), more.begin(), more.end());
  }
  return out;
}

Result<void> remove_cgroup_tree(const std::string& dir, int64_t deadline_ms) {
  auto children = subdirs(dir);
  if (!children) {
    if (children.error().code == ENOENT) return ok();
    return std::unexpected(children.error());
  }
  for (const auto& child : *children) HUSK_TRY(remove_cgroup_tree(child, deadline_ms));
  for (int wait = 1;; wait = std::min(wait * 2, 20)) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return ok();
    if (errno != EBUSY || monotonic_ms() > deadline_ms) return fail_errno("remove cgroup {}", dir);
    sleep_ms(wait);
  }
}

const Hierarchy* FsManager::procs_hierarchy() const {
  if (const Hierarchy* h = v2()) return h;
  for (auto c : {"pids", "freezer", "memory", "cpu"})
    if (const Hierarchy* h = find(c)) return h;
  return hierarchies_.empty() ? nullptr : &hierarchies_.front();
}

Result<void> FsManager::freeze() {
  if (const Hierarchy* h = find("freezer"); h != nullptr && !h->v2) {
    HUSK_TRY_ASSIGN(UniqueFd fd, open_dir(h->dir));
    auto r = v1_freeze_wait(fd.get(), "FROZEN");
    if (!r) (void)v1_freeze_wait(fd.get(), "THAWED");  // never leave it half frozen
    return std::move(r).context("freeze {}", h->dir);
  }
  const Hierarchy* h = v2();
  if (h == nullptr) return fail(0, "no freezer on this host (no v1 freezer, no cgroup v2)");
  HUSK_TRY_ASSIGN(UniqueFd fd, open_dir(h->dir));
  auto r = v2_freeze_wait(fd.get(), true);
  if (!r) (void)v2_freeze_wait(fd.get(), false);
  return std::move(r).context("freeze {}", h->dir);
}

Result<void> FsManager::thaw() {
  if (const Hierarchy* h = find("freezer"); h != nullptr && !h->v2) {
    HUSK_TRY_ASSIGN(UniqueFd fd, open_dir(h->dir));
    return v1_freeze_wait(fd.get(), "THAWED").context("thaw {}", h->dir);
  }
  const Hierarchy* h = v2();
  if (h == nullptr) return fail(0, "no freezer on this host (no v1 freezer, no cgroup v2)");
  HUSK_TRY_ASSIGN(UniqueFd fd, open_dir(h->dir));
  return v2_freeze_wait(fd.get(), false).context("thaw {}", h->dir);
}

Result<FreezerState> FsManager::freezer_state() {
  if (const Hierarchy* h = find("freezer"); h != nullptr && !h->v2) {
    HUSK_TRY_ASSIGN(UniqueFd fd, open_dir(h->dir));
    HUSK_TRY_ASSIGN(std::string s, read_at(fd.get(), "freezer.state"));
    if (trim(s) == "FROZEN") return FreezerState::kFrozen;
    return trim(s) == "FREEZING" ? FreezerState::kFreezing : FreezerState::kThawed;
  }
  const Hierarchy* h = v2();
  if (h == nullptr) return FreezerState::kThawed;
  HUSK_TRY_ASSIGN(UniqueFd fd, open_dir(h->dir));
  if (!exists_at(fd.get(), "cgroup.freeze")) return FreezerState::kThawed;
  HUSK_TRY_ASSIGN(std::string want, read_at(fd.get(), "cgroup.freeze"));
  if (trim(want) != "1") return FreezerState::kThawed;
  HUSK_TRY_ASSIGN(std::string events, read_at(fd.get(), "cgroup.events"));
  return parse_flat_keyed(events)["frozen"] == 1 ? FreezerState::kFrozen : FreezerState::kFreezing;
}

Result<size_t> FsManager::check_preexisting() {
  // Each hierarchy that can freeze: on a hybrid host the init is born in the
  // cgroup2 directory (CLONE_INTO_CGROUP) and a frozen one holds it there too.
  for (const auto& h : hierarchies_) {
    if (!h.v2 && !h.has("freezer")) continue;
    auto fd = open_dir(h.dir);
    if (!fd && fd.error().code == ENOENT) continue;
    if (!fd) return std::unexpected(fd.error());
    std::string_view file = h.v2 ? "cgroup.freeze" : "freezer.state";
    if (!exists_at(fd->get(), file)) continue;
    HUSK_TRY_ASSIGN(std::string state, read_at(fd->get(), file));
    if (h.v2 ? trim(state) == "1" : trim(state) != "THAWED")
      return fail(0, "container's cgroup unexpectedly frozen ({}/{} reads {})", h.dir, file,
                  trim(state));
  }
  const Hierarchy* h = procs_hierarchy();
  if (h == nullptr) return 0;
  auto list = pids_recursive(h->dir);
  if (!list && list.error().code == ENOENT) return 0;
  if (!list) return std::unexpected(list.error());
  return list->size();
}

Result<std::vector<pid_t>> FsManager::pids() {
  const Hierarchy* h = procs_hierarchy();
  if (h == nullptr) return std::vector<pid_t>();
  return pids_recursive(h->dir);
}

Result<void> FsManager::signal_all(int sig) {
  const Hierarchy* h = procs_hierarchy();
  if (h == nullptr) return ok();
  if (sig == SIGKILL && h->v2 && ::access((h->dir + "/cgroup.kill").c_str(), F_OK) == 0) {
    HUSK_TRY_ASSIGN(UniqueFd fd, open_dir(h->dir));
    return write_at(fd.get(), "cgroup.kill", "1");
  }
  // Frozen, no process can fork a child that the list below would miss.
  const Hierarchy* fz = find("freezer");
  bool frozen = fz != nullptr && !fz->v2 && freeze();
  Result<void> result = ok();
  auto list = pids_recursive(h->dir);
  if (!list) result = std::unexpected(list.error());
  for (pid_t pid : list ? *list : std::vector<pid_t>())
    if (::kill(pid, sig) < 0 && errno != ESRCH && result) result = fail_errno("signal {}", pid);
  if (frozen) HUSK_TRY(thaw());
  return result;
}

Result<void> FsManager::kill_remaining() {
  // Frozen tasks would not act on SIGKILL until thawed.
  if (auto st = freezer_state(); st && *st != FreezerState::kThawed) HUSK_TRY(thaw());
  if (const Hierarchy* h = v2(); h != nullptr) {
    auto fd = open_dir(h->dir);
    if (fd && exists_at(fd->get(), "cgroup.kill"))
      HUSK_TRY(write_at(fd->get(), "cgroup.kill", "1"));
  }
  // Processes placed only in v1 directories (or a kernel without cgroup.kill).
  for (const auto& h : hierarchies_) {
    auto list = pids_recursive(h.dir);
    if (!list) continue;  // already gone
    for (pid_t pid : *list)
      if (::kill(pid, SIGKILL) < 0 && errno != ESRCH) return fail_errno("kill {}", pid);
  }
  return ok();
}

Result<void> FsManager::wait_empty() {
  int64_t deadline = monotonic_ms() + 1000;
  for (int wait = 1;; wait = std::min(wait * 2, 20)) {
    size_t alive = 0;
    for (const auto& h : hierarchies_) {
      auto list = pids_recursive(h.dir);
      if (!list) continue;
      for (pid_t pid : *list) alive += is_zombie(pid) ? 0 : 1;
    }
    if (alive == 0) return ok();
    if (monotonic_ms() > deadline)
      return fail(EBUSY, "{} processes still in the container's cgroup", alive);
    sleep_ms(wait);
  }
}

Result<Stats> FsManager::stats() {
  Stats s;
  auto with = [&](const char* controller, auto&& read_v1, auto&& read_v2) -> Result<void> {
    const Hierarchy* h = find(controller);
    if (h == nullptr) return ok();
    HUSK_TRY_ASSIGN(UniqueFd fd, open_dir(h->dir));
    return (h->v2 ? read_v2(fd.get()) : read_v1(fd.get())).context("read {} stats", controller);
  };
  auto none = [](int) -> Result<void> { return ok(); };
  // cpu.stat is a core file on v2: usage is there even without the cpu controller.
  if (find("cpuacct") == nullptr && v2() != nullptr) {
    HUSK_TRY_ASSIGN(UniqueFd fd, open_dir(v2()->dir));
    HUSK_TRY(v2::read_cpu(fd.get(), s.cpu));
  }
  HUSK_TRY(with(
      "cpuacct", [&](int fd) { return v1::read_cpuacct(fd, s.cpu); }, none));
  HUSK_TRY(with(
      "cpu", [&](int fd) { return v1::read_cpu(fd, s.cpu); },
      [&](int fd) { return v2::read_cpu(fd, s.cpu); }));
  HUSK_TRY(with(
      "cpuset", [&](int fd) { return v1::read_cpuset(fd, s.cpuset); },
      [&](int fd) { return v2::read_cpuset(fd, s.cpuset); }));
  HUSK_TRY(with(
      "memory", [&](int fd) { return v1::read_memory(fd, s.memory); },
      [&](int fd) { return v2::read_memory(fd, s.memory); }));
  HUSK_TRY(with(
      "pids", [&](int fd) { return v1::read_pids(fd, s.pids); },
      [&](int fd) { return v2::read_pids(fd, s.pids); }));
  HUSK_TRY(with(
      "blkio", [&](int fd) { return v1::read_blkio(fd, s.blkio); }, none));
  HUSK_TRY(with("io", none, [&](int fd) { return v2::read_io(fd, s.blkio); }));
  HUSK_TRY(with(
      "hugetlb", [&](int fd) { return v1::read_hugetlb(fd, s.hugetlb); },
      [&](int fd) { return v2::read_hugetlb(fd, s.hugetlb); }));
  return s;
}

Result<uint64_t> FsManager::oom_kill_count() {
  const Hierarchy* h = find("memory");
  if (h == nullptr) return 0;
  HUSK_TRY_ASSIGN(UniqueFd fd, open_dir(h->dir));
  std::string_view file = h->v2 ? "memory.events" : "memory.oom_control";
  if (!exists_at(fd.get(), file)) return 0;
  HUSK_TRY_ASSIGN(std::string text, read_at(fd.get(), file));
  return parse_flat_keyed(text)["oom_kill"];
}

Result<std::unique_ptr<OomWatcher>> FsManager::watch_oom() {
  const Hierarchy* h = find("memory");
  if (h == nullptr) return fail(0, "no memory controller on this host to watch for OOM");
  if (!h->v2) {
    UniqueFd event(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!event) return fail_errno("eventfd");
    UniqueFd control(::open((h->dir + "/memory.oom_control").c_str(), O_RDONLY | O_CLOEXEC));
    if (!control) return fail_errno("open {}/memory.oom_control", h->dir);
    HUSK_TRY_ASSIGN(UniqueFd dir, open_dir(h->dir));
    HUSK_TRY(write_at(dir.get(), "cgroup.event_control",
                      fmt::format("{} {}", event.get(), control.get())));
    return std::unique_ptr<OomWatcher>(
        new V1OomWatcher(h->dir, std::move(event), std::move(control)));
  }
  HUSK_TRY_ASSIGN(uint64_t last, oom_kill_count());
  UniqueFd in(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!in) return fail_errno("inotify_init1");
  std::string file = h->dir + "/memory.events";
  if (::inotify_add_watch(in.get(), file.c_str(), IN_MODIFY) < 0)
    return fail_errno("watch {}", file);
  return std::unique_ptr<OomWatcher>(new V2OomWatcher(h->dir, std::move(in), last));
}

}  // namespace husk::cgroup
