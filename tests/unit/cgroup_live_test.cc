// The cgroup manager on this machine's real hierarchies. Root only (skipped
// otherwise). Every test makes a uniquely named cgroup nested under the test
// process's own cgroup in each hierarchy (a relative cgroupsPath, as runc),
// touches nothing else, and checks that every directory is gone at the end.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>

#include "base/file.h"
#include "cgroup/device_bpf.h"
#include "cgroup/dir.h"
#include "cgroup/manager.h"

namespace husk::cgroup {
namespace {

std::string unique_name() {
  static int counter = 0;
  return "husk-live-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

// A forked child that waits for go() and then runs fn, exiting with its
// result. Killed and reaped on scope exit if still there.
class Child {
 public:
  explicit Child(std::function<int()> fn) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(p[1]);
      char c;
      if (::read(p[0], &c, 1) != 1) ::_exit(100);
      ::_exit(fn());
    }
    ::close(p[0]);
    go_ = p[1];
  }
  ~Child() {
    if (go_ >= 0) ::close(go_);
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  void go() {
    char c = 'g';
    ASSERT_EQ(::write(go_, &c, 1), 1);
  }
  // The wait status.
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped_ = true;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int go_ = -1;
  bool reaped_ = false;
};

std::string proc_field(pid_t pid, std::string_view name) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/status");
  if (!text) return "";
  size_t at = text->find(std::string(name) + ":");
  if (at == std::string::npos) return "";
  size_t start = text->find_first_not_of(" \t", at + name.size() + 1);
  return text->substr(start, text->find('\n', start) - start);
}

std::string read_trimmed(const std::string& path) {
  auto t = read_file(path);
  if (!t) return "<" + t.error().what() + ">";
  while (!t->empty() && t->back() == '\n') t->pop_back();
  return *t;
}

class LiveCgroup : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    auto l = host_layout();
    if (!l) GTEST_SKIP() << "no cgroups here: " << l.error().what();
    layout_ = *l;
  }
  // Whatever a failed assertion left behind is removed here.
  void TearDown() override {
    for (auto& m : managers_) (void)m->destroy();
  }
  // A manager for a fresh, unique, relative cgroupsPath, owned by the fixture.
  Manager* make(const Layout& layout) {
    auto own = self_cgroups();
    EXPECT_TRUE(own);
    auto m = Manager::make({unique_name(), "unused", false}, layout, *own);
    EXPECT_TRUE(m) << m.error().what();
    if (!m) return nullptr;
    managers_.push_back(std::move(*m));
    return managers_.back().get();
  }
  // destroy() and check that nothing of the container's cgroup is left.
  void destroy_and_check(Manager& m) {
    SavedState s = m.saved_state();
    auto r = m.destroy();
    EXPECT_TRUE(r) << r.error().what();
    for (const auto& [key, dir] : s.paths) EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
    for (const auto& dir : s.created) EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
  }

  Layout layout_;
  std::vector<std::unique_ptr<Manager>> managers_;
};

TEST_F(LiveCgroup, LimitsPlacementFreezeAndRemoval) {
  Manager* m = make(layout_);
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->create());
  config::Resources r;
  r.memory = config::MemoryResources{};
  r.memory->limit = 64 << 20;
  r.pids = config::PidsResources{20};
  r.cpu = config::CpuResources{};
  r.cpu->quota = 50000;
  r.cpu->period = 100000;
  auto set = m->set(r);
  ASSERT_TRUE(set) << set.error().what();

  Child child([] {
    for (;;) ::pause();
    return 0;
  });
  ASSERT_GT(child.pid(), 0);
  auto applied = m->apply(child.pid());
  ASSERT_TRUE(applied) << applied.error().what();

  if (layout_.v1_for("memory")) {
    EXPECT_EQ(read_trimmed(m->path("memory") + "/memory.limit_in_bytes"), "67108864");
  }
  if (layout_.v1_for("pids")) {
    EXPECT_EQ(read_trimmed(m->path("pids") + "/pids.max"), "20");
  }
  if (layout_.v1_for("cpu")) {
    EXPECT_EQ(read_trimmed(m->path("cpu") + "/cpu.cfs_quota_us"), "50000");
    EXPECT_EQ(read_trimmed(m->path("cpu") + "/cpu.cfs_period_us"), "100000");
  }
  // /proc/<pid>/cgroup names the new cgroup in every hierarchy.
  std::string proc = read_trimmed("/proc/" + std::to_string(child.pid()) + "/cgroup");
  auto own = self_cgroups();
  ASSERT_TRUE(own);
  for (const auto& [controller, dir] : m->saved_state().paths) {
    // "4:memory:/process_api/<hash>/<name>", "0::/<name>"
    std::string parent = own->contains(controller) ? own->at(controller) : "/";
    std::string want =
        (parent == "/" ? "" : parent) + "/" + std::filesystem::path(dir).filename().string();
    std::string line = (controller.empty() ? "0::" : controller + ":") + want + "\n";
    EXPECT_NE((proc + "\n").find(line), std::string::npos) << line << " not in\n" << proc;
  }
  auto pids = m->pids();
  ASSERT_TRUE(pids);
  EXPECT_EQ(*pids, std::vector<pid_t>{child.pid()});
  auto stats = m->stats();
  ASSERT_TRUE(stats) << stats.error().what();
  EXPECT_EQ(stats->pids.current, 1u);
  EXPECT_EQ(stats->pids.limit, 20u);
  EXPECT_EQ(stats->memory.usage.limit, 64u << 20);

  ASSERT_TRUE(m->freeze());
  EXPECT_EQ(*m->freezer_state(), FreezerState::kFrozen);
  std::string frozen = proc_field(child.pid(), "State");
  EXPECT_EQ(frozen.substr(0, 1), "D") << frozen;  // a frozen task sleeps uninterruptibly
  ASSERT_TRUE(m->thaw());
  EXPECT_EQ(*m->freezer_state(), FreezerState::kThawed);
  // Thawed, the child runs again (briefly R) and goes back to its sleep (S).
  std::string thawed;
  for (int i = 0; i < 200; ++i) {
    thawed = proc_field(child.pid(), "State");
    if (thawed.starts_with("S")) break;
    ::usleep(5000);
  }
  EXPECT_EQ(thawed.substr(0, 1), "S") << thawed;

  destroy_and_check(*m);
  int status = child.wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
}

// A process moves itself into the v1 hierarchies (SelfJoin) and apply() does
// the rest: it ends up in the container's cgroup everywhere, and a write that
// fails is reported with its index and errno.
TEST_F(LiveCgroup, AProcessMovesItselfIntoTheV1Hierarchies) {
  Manager* m = make(layout_);
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->create());
  auto join = m->open_self_join();
  ASSERT_TRUE(join) << join.error().what();
  size_t v1 = 0;
  for (const auto& [controller, dir] : m->saved_state().paths) v1 += !controller.empty();
  ASSERT_EQ(join->fds.size(), v1);
  if (join->empty()) GTEST_SKIP() << "no v1 hierarchy here";
  Child child([&] {
    int err = 0;
    if (move_self_into(*join, &err) >= 0) return 1;
    for (;;) ::pause();
    return 0;
  });
  ASSERT_GT(child.pid(), 0);
  child.go();
  // Only the child writes itself into the v1 ones; apply() the cgroup2 one, if any.
  ASSERT_TRUE(m->apply(child.pid(), false, /*joined_v1=*/true));
  // The child writes itself into one hierarchy after the other: wait for all.
  auto in_all = [&] {
    for (const auto& dir : join->dirs) {
      auto procs = read_file(dir + "/cgroup.procs");
      if (!procs || procs->find(std::to_string(child.pid())) == std::string::npos) return false;
    }
    return true;
  };
  bool moved = false;
  for (int i = 0; i < 400 && !(moved = in_all()); ++i) ::usleep(5000);
  ASSERT_TRUE(moved) << "not in every v1 hierarchy";
  auto pids = m->pids();
  ASSERT_TRUE(pids);
  EXPECT_EQ(*pids, std::vector<pid_t>{child.pid()});
  for (const auto& dir : join->dirs) {
    auto procs = read_file(dir + "/cgroup.procs");
    ASSERT_TRUE(procs) << dir;
    EXPECT_EQ(*procs, std::to_string(child.pid()) + "\n") << dir;
  }
  // The parent's copies are untouched by the child's close.
  for (const auto& fd : join->fds) EXPECT_GE(::fcntl(fd.get(), F_GETFD), 0);
  destroy_and_check(*m);

  // A write that fails: the index of the first, with its errno.
  SelfJoin bad;
  bad.fds.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  bad.dirs.emplace_back("/dev/null");
  int err = 0;
  EXPECT_EQ(move_self_into(bad, &err), 0);
  EXPECT_EQ(err, EBADF);
  (void)bad.fds.front().release();  // move_self_into closed it
}

// destroy() takes one rmdir per hierarchy when the container is empty; a
// sub-cgroup (ENOTEMPTY) or a frozen process (EBUSY) in some hierarchies
// sends it the long way: thaw, kill, wait, remove the tree.
TEST_F(LiveCgroup, DestroyRemovesSubCgroupsAndFrozenProcesses) {
  Manager* empty = make(layout_);
  ASSERT_TRUE(empty);
  ASSERT_TRUE(empty->create());
  destroy_and_check(*empty);

  Manager* m = make(layout_);
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->create());
  Child child([] {
    for (;;) ::pause();
    return 0;
  });
  ASSERT_GT(child.pid(), 0);
  ASSERT_TRUE(m->apply(child.pid()));
  for (const auto& [controller, dir] : m->saved_state().paths) {
    if (controller == "memory") {
      ASSERT_EQ(::mkdir((dir + "/sub").c_str(), 0755), 0) << dir;
    }
  }
  if (m->freeze()) {
    EXPECT_EQ(*m->freezer_state(), FreezerState::kFrozen);
  }
  destroy_and_check(*m);
  int status = child.wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
}

// The cgroup2 freezer and cgroup.kill, on this host's cgroup2 mount: a
// layout without the v1 freezer makes the manager use cgroup.freeze.
TEST_F(LiveCgroup, CgroupV2FreezerWhereThereIsNoV1Freezer) {
  if (!layout_.has_v2()) GTEST_SKIP() << "no cgroup2 mount";
  Layout l = layout_;
  std::erase_if(l.v1, [](const V1Hierarchy& h) { return h.has("freezer"); });
  Manager* m = make(l);
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->create());
  Child child([] {
    for (;;) ::pause();
    return 0;
  });
  ASSERT_TRUE(m->apply(child.pid()));
  auto frozen = m->freeze();
  ASSERT_TRUE(frozen) << frozen.error().what();
  EXPECT_EQ(read_trimmed(m->path("") + "/cgroup.freeze"), "1");
  EXPECT_EQ(*m->freezer_state(), FreezerState::kFrozen);
  ASSERT_TRUE(m->thaw());
  EXPECT_EQ(*m->freezer_state(), FreezerState::kThawed);
  destroy_and_check(*m);
  int status = child.wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
}

int open_status(const char* path) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
    return 0;
  }
  return errno == EPERM ? 1 : 2;
}

// linux.resources.devices through the manager (v1 devices here).
TEST_F(LiveCgroup, DeviceRulesDenyWhatIsNotAllowed) {
  Manager* m = make(layout_);
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->create());
  config::Resources r;
  r.devices = {{false, 'a', std::nullopt, std::nullopt, "rwm"}, {true, 'c', 1, 5, "rwm"}};
  auto set = m->set(r);
  ASSERT_TRUE(set) << set.error().what();
  Child child([] { return open_status("/dev/null") * 10 + open_status("/dev/zero"); });
  ASSERT_TRUE(m->apply(child.pid()));
  child.go();
  int status = child.wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 10);  // /dev/null: EPERM, /dev/zero: opened
  destroy_and_check(*m);
}

// The eBPF device filter, loaded and attached to this host's cgroup2
// directory (it applies next to the v1 devices controller).
TEST_F(LiveCgroup, EbpfDeviceFilterOnTheCgroup2Directory) {
  if (!layout_.has_v2()) GTEST_SKIP() << "no cgroup2 mount";
  Manager* m = make(layout_);
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->create());
  auto fd = open_dir(m->path(""));
  ASSERT_TRUE(fd);
  std::vector<config::DeviceRule> rules = {{false, 'a', std::nullopt, std::nullopt, "rwm"},
                                           {true, 'c', 1, 5, "rwm"}};
  auto attached = apply_device_rules_v2(fd->get(), rules);
  if (!attached && (attached.error().code == ENOSYS || attached.error().code == EPERM)) {
    destroy_and_check(*m);
    GTEST_SKIP() << attached.error().what();
  }
  ASSERT_TRUE(attached) << attached.error().what();
  // Attaching again replaces the filter rather than stacking a second one.
  rules.push_back({true, 'c', 1, 3, "r"});
  ASSERT_TRUE(apply_device_rules_v2(fd->get(), rules));
  Child child([] {
    int null_rw = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    int null_r = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    int code = (null_rw < 0 && errno == EPERM ? 1 : 0) * 100 + (null_r >= 0 ? 1 : 0) * 10 +
               open_status("/dev/zero");
    return code;
  });
  ASSERT_TRUE(m->apply(child.pid()));
  child.go();
  int status = child.wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 110);  // rw of null denied, r allowed, zero fine
  destroy_and_check(*m);
}

TEST_F(LiveCgroup, OomKillIsCountedAndReported) {
  Manager* m = make(layout_);
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->create());
  config::Resources r;
  r.memory = config::MemoryResources{};
  r.memory->limit = 16 << 20;
  r.memory->swap = 16 << 20;  // no swap to escape into
  auto set = m->set(r);
  ASSERT_TRUE(set) << set.error().what();
  auto watcher = m->watch_oom();
  ASSERT_TRUE(watcher) << watcher.error().what();
  Child child([] {
    size_t size = 64 << 20;
    // Touch every page through a volatile pointer: at -O3 a malloc+memset
    // whose result is never read is removed altogether.
    volatile char* p = static_cast<char*>(::malloc(size));
    if (p == nullptr) return 3;
    for (size_t i = 0; i < size; i += 4096) p[i] = 1;
    return 0;
  });
  ASSERT_TRUE(m->apply(child.pid()));
  child.go();
  int status = child.wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  pollfd pfd{(*watcher)->fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 2000), 1);
  auto events = (*watcher)->consume();
  ASSERT_TRUE(events) << events.error().what();
  EXPECT_GE(*events, 1u);
  auto kills = m->oom_kill_count();
  ASSERT_TRUE(kills);
  EXPECT_EQ(*kills, 1u);
  destroy_and_check(*m);
}

}  // namespace
}  // namespace husk::cgroup
