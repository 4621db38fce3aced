// storage::ContainerLayer on a real filesystem (a temp dir as its root), and
// linux::mount_root_overlay in a child's private mount namespace.
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "base/file.h"
#include "child_test_util.h"
#include "linux/overlay_root.h"
#include "storage/container_layer.h"
#include "sys/process.h"
#include "temp_dir_util.h"

namespace husk::storage {
namespace {

bool exists(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

mode_t mode_of(const std::string& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

// A pid that existed and is gone (reaped).
pid_t dead_pid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

class ContainerLayerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (chown of the upper)";
    root_ = tmp_.path() + "/layers";
    lower_ = tmp_.path() + "/lower";
    ASSERT_EQ(::mkdir(lower_.c_str(), 0751), 0);
    ASSERT_EQ(::chmod(lower_.c_str(), 0751), 0);
    ASSERT_EQ(::chown(lower_.c_str(), 123, 456), 0);
  }
  LayerOptions opts(std::string id, bool writable = true) {
    return {.root = root_, .id = std::move(id), .lower_root = lower_, .writable = writable};
  }
  test::TempDir tmp_;
  std::string root_, lower_;
};

TEST_F(ContainerLayerTest, PrepareMakesPrivateDirsAndAnUpperLikeTheLowerRoot) {
  auto l = ContainerLayer::prepare(opts("c1"));
  ASSERT_TRUE(l) << l.error().what();
  const LayerPaths& p = l->paths();
  EXPECT_EQ(p.dir, root_ + "/c1");
  EXPECT_EQ(p.merged, root_ + "/c1/merged");
  EXPECT_EQ(mode_of(root_), 0700u);
  EXPECT_EQ(mode_of(p.dir), 0700u);
  EXPECT_EQ(mode_of(p.work), 0700u);
  EXPECT_EQ(mode_of(p.merged), 0700u);
  // The overlay's "/" shows the upper's root: it must look like the lower's.
  struct stat st {};
  ASSERT_EQ(::stat(p.upper.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0751u);
  EXPECT_EQ(st.st_uid, 123u);
  EXPECT_EQ(st.st_gid, 456u);
  auto owner = read_file(p.dir + "/owner");
  ASSERT_TRUE(owner);
  EXPECT_EQ(*owner, fmt::format("{} {}\n", ::getpid(), *sys::process_start_time(::getpid())));
  EXPECT_TRUE(layer_is_live(p.dir));
}

TEST_F(ContainerLayerTest, ReadOnlyLayerHasNoUpperOrWork) {
  auto l = ContainerLayer::prepare(opts("ro", false));
  ASSERT_TRUE(l) << l.error().what();
  EXPECT_TRUE(l->paths().upper.empty());
  EXPECT_TRUE(l->paths().work.empty());
  EXPECT_TRUE(exists(root_ + "/ro/merged"));
  EXPECT_FALSE(exists(root_ + "/ro/upper"));
  EXPECT_FALSE(exists(root_ + "/ro/work"));
}

TEST_F(ContainerLayerTest, DestructorRemovesEverythingUnlessReleased) {
  {
    auto l = ContainerLayer::prepare(opts("gone"));
    ASSERT_TRUE(l);
    // What a container leaves: files, a whiteout-like 0/0 device, an unreadable dir.
    ASSERT_TRUE(write_file_atomic(l->paths().upper + "/f", "x"));
    ASSERT_EQ(::mknod((l->paths().upper + "/wh").c_str(), S_IFCHR | 0, 0), 0);
    ASSERT_EQ(::mkdir((l->paths().work + "/work").c_str(), 0), 0);
  }
  EXPECT_FALSE(exists(root_ + "/gone"));
  {
    auto l = ContainerLayer::prepare(opts("kept"));
    ASSERT_TRUE(l);
    l->release();
  }
  EXPECT_TRUE(exists(root_ + "/kept/upper"));
}

TEST_F(ContainerLayerTest, HandToMakesTheLayerFollowAnotherProcess) {
  auto l = ContainerLayer::prepare(opts("h"));
  ASSERT_TRUE(l);
  pid_t gone = dead_pid();
  // A dead pid has no start time: hand_to refuses it and the record stays ours.
  EXPECT_FALSE(l->hand_to(gone));
  EXPECT_TRUE(layer_is_live(l->paths().dir));
  pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  ASSERT_TRUE(l->hand_to(child));
  EXPECT_TRUE(layer_is_live(l->paths().dir));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_FALSE(layer_is_live(l->paths().dir));
}

TEST_F(ContainerLayerTest, ReclaimRemovesOnlyLayersOfDeadOwners) {
  auto live = ContainerLayer::prepare(opts("live"));
  ASSERT_TRUE(live);
  auto dead = ContainerLayer::prepare(opts("dead"));
  ASSERT_TRUE(dead);
  dead->release();
  // A pid reused by another process: same pid, another start time.
  ASSERT_TRUE(write_file_atomic(root_ + "/dead/owner", fmt::format("{} 1\n", ::getpid())));
  // No owner record: young ones may be in the making, old ones are leftovers.
  ASSERT_EQ(::mkdir((root_ + "/young").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((root_ + "/old").c_str(), 0700), 0);
  struct utimbuf old_time {.actime = ::time(nullptr) - 120, .modtime = ::time(nullptr) - 120};
  ASSERT_EQ(::utime((root_ + "/old").c_str(), &old_time), 0);
  ASSERT_TRUE(write_file_atomic(root_ + "/a-file", "x"));  // not a layer: skipped

  auto removed = reclaim_stale(root_);
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(removed, (std::vector<std::string>{"dead", "old"}));
  EXPECT_TRUE(exists(root_ + "/live/upper"));
  EXPECT_TRUE(exists(root_ + "/young"));
  EXPECT_TRUE(exists(root_ + "/a-file"));
  EXPECT_TRUE(reclaim_stale(tmp_.path() + "/missing").empty());
}

TEST_F(ContainerLayerTest, PrepareReplacesAStaleLayerAndRefusesALiveOne) {
  auto first = ContainerLayer::prepare(opts("same"));
  ASSERT_TRUE(first);
  auto again = ContainerLayer::prepare(opts("same"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, EBUSY);
  EXPECT_NE(again.error().what().find(fmt::format("in use by pid {}", ::getpid())),
            std::string::npos)
      << again.error().what();
  first->release();
  ASSERT_TRUE(write_file_atomic(root_ + "/same/upper/old-file", "x"));
  ASSERT_TRUE(write_file_atomic(root_ + "/same/owner", fmt::format("{} 0\n", dead_pid())));
  auto fresh = ContainerLayer::prepare(opts("same"));
  ASSERT_TRUE(fresh) << fresh.error().what();
  EXPECT_FALSE(exists(root_ + "/same/upper/old-file"));
}

TEST_F(ContainerLayerTest, BadIdsAndLowersAreRefusedBeforeAnythingIsMade) {
  for (const char* id : {"", ".", "..", "a/b"}) {
    auto l = ContainerLayer::prepare(opts(id));
    ASSERT_FALSE(l) << id;
    EXPECT_EQ(l.error().code, EINVAL);
  }
  EXPECT_FALSE(exists(root_));
  auto missing = check_lower(tmp_.path() + "/nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().what(),
            fmt::format("\"{}/nope\": No such file or directory", tmp_.path()));
  ASSERT_TRUE(write_file_atomic(tmp_.path() + "/file", "x"));
  auto file = check_lower(tmp_.path() + "/file");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().code, ENOTDIR);
  auto dir = check_lower(tmp_.path() + "/lower/../lower");
  ASSERT_TRUE(dir);
  EXPECT_EQ(*dir, lower_);
}

// Two lowers named relative to base, top first, and an upper: what the child
// sees through the mount (which never reaches this process's namespace).
TEST_F(ContainerLayerTest, MountRootOverlayStacksRelativeLowersFromBase) {
  std::string base = tmp_.path() + "/l";
  for (const char* d : {"/l", "/l/top", "/l/bottom"})
    ASSERT_EQ(::mkdir((tmp_.path() + d).c_str(), 0755), 0);
  ASSERT_TRUE(write_file_atomic(base + "/top/f", "top"));
  ASSERT_TRUE(write_file_atomic(base + "/bottom/f", "bottom"));
  ASSERT_TRUE(write_file_atomic(base + "/bottom/only-bottom", "b"));
  auto l = ContainerLayer::prepare(opts("m"));
  ASSERT_TRUE(l);
  const LayerPaths p = l->paths();
  std::string out = testing::run_in_child([&]() -> std::string {
    if (::unshare(CLONE_NEWNS) < 0) return "unshare failed";
    if (::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) return "rslave failed";
    config::RootOverlay o{
        .lower = {"top", "bottom"}, .base = base, .upper = p.upper, .work = p.work};
    if (auto r = linux::mount_root_overlay(o, p.merged); !r) return r.error().what();
    char cwd[4096];
    std::string got = (::getcwd(cwd, sizeof cwd) ? std::string(cwd) : "?") + "|";
    got += read_file(p.merged + "/f").value_or("?") + "|" +
           read_file(p.merged + "/only-bottom").value_or("?") + "|";
    (void)write_file_atomic(p.merged + "/new", "n");
    return got;
  });
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
  // The child's cwd came back from base; top hides bottom; the write went to the upper.
  EXPECT_EQ(out, std::string(cwd) + "|top|b|");
  EXPECT_EQ(read_file(p.upper + "/new").value_or("?"), "n");
  EXPECT_FALSE(exists(base + "/top/new"));
  EXPECT_FALSE(exists(p.merged + "/f"));  // not mounted here
}

TEST_F(ContainerLayerTest, MountRootOverlayErrorsNameTheLayer) {
  auto l = ContainerLayer::prepare(opts("e"));
  ASSERT_TRUE(l);
  const LayerPaths p = l->paths();
  std::string out = testing::run_in_child([&]() -> std::string {
    if (::unshare(CLONE_NEWNS) < 0) return "unshare failed";
    if (::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) return "rslave failed";
    config::RootOverlay o{.lower = {tmp_.path() + "/absent"}, .upper = p.upper, .work = p.work};
    auto r = linux::mount_root_overlay(o, p.merged);
    return r ? "mounted" : r.error().what();
  });
  EXPECT_NE(out.find(fmt::format("mount overlay root \"{}\": lower \"{}/absent\"", p.merged,
                                 tmp_.path())),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("No such file or directory"), std::string::npos) << out;
}

}  // namespace
}  // namespace husk::storage
