#include <gtest/gtest.h>

#include "cgroup/layout.h"
#include "cgroup/paths.h"

namespace husk::cgroup {
namespace {

// This machine's own mountinfo: v1 controllers plus an empty cgroup2 mount.
constexpr std::string_view kHybrid = R"(22 1 0:20 / / rw - ext4 /dev/vda rw
30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
)";

constexpr std::string_view kComounted =
    "25 20 0:22 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup "
    "rw,cpu,cpuacct\n"
    "26 20 0:23 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset,clone_children\n"
    "27 20 0:23 / /mnt/again rw - cgroup cgroup rw,cpuset,clone_children\n"
    "28 20 0:24 / /sys/fs/cgroup/blkio rw - cgroup cgroup rw,blkio,"
    "release_agent=/sbin/agent\n";

FileReader reader(std::string controllers, std::string* asked = nullptr) {
  return [=](const std::string& path) -> Result<std::string> {
    if (asked != nullptr) *asked = path;
    return controllers;
  };
}

TEST(CgroupLayout, HybridHost) {
  std::string asked;
  auto l = parse_layout(kHybrid, reader("hugetlb\n", &asked));
  ASSERT_TRUE(l) << l.error().what();
  EXPECT_EQ(l->mode, Mode::kHybrid);
  EXPECT_EQ(asked, "/sys/fs/cgroup/unified/cgroup.controllers");
  EXPECT_EQ(l->v2_mount, "/sys/fs/cgroup/unified");
  EXPECT_EQ(l->v2_controllers, std::vector<std::string>{"hugetlb"});
  ASSERT_EQ(l->v1.size(), 4u);
  ASSERT_NE(l->v1_for("memory"), nullptr);
  EXPECT_EQ(l->v1_for("memory")->mount_point, "/sys/fs/cgroup/memory");
  ASSERT_NE(l->v1_for("name=systemd"), nullptr);  // xattr is an option, not a controller
  EXPECT_EQ(l->v1_for("name=systemd")->controllers.size(), 1u);
  EXPECT_EQ(l->v1_for("pids"), nullptr);
  EXPECT_TRUE(l->v2_has("hugetlb"));
  EXPECT_FALSE(l->v2_has("memory"));
}

TEST(CgroupLayout, ComountedAndBindMountedV1) {
  auto l = parse_layout(kComounted, reader(""));
  ASSERT_TRUE(l) << l.error().what();
  EXPECT_EQ(l->mode, Mode::kV1);
  EXPECT_FALSE(l->has_v2());
  ASSERT_EQ(l->v1.size(), 3u);  // the second cpuset mount is the same hierarchy
  const V1Hierarchy* cpu = l->v1_for("cpuacct");
  ASSERT_NE(cpu, nullptr);
  EXPECT_EQ(cpu->mount_point, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(cpu->key(), "cpu,cpuacct");
  EXPECT_EQ(l->v1_for("cpu"), cpu);
  EXPECT_EQ(l->v1_for("cpuset")->mount_point, "/sys/fs/cgroup/cpuset");
  EXPECT_EQ(l->v1_for("blkio")->controllers, std::vector<std::string>{"blkio"});
}

TEST(CgroupLayout, PureV2) {
  auto l = parse_layout("30 22 0:27 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n",
                        reader("cpuset cpu io memory hugetlb pids rdma misc\n"));
  ASSERT_TRUE(l);
  EXPECT_EQ(l->mode, Mode::kV2);
  EXPECT_EQ(l->v2_controllers.size(), 8u);
  EXPECT_TRUE(l->v2_has("io"));
}

TEST(CgroupLayout, NoCgroupsAtAll) {
  EXPECT_FALSE(parse_layout("22 1 0:20 / / rw - ext4 /dev/vda rw\n", reader("")));
}

TEST(CgroupLayout, ControllersReadErrorIsReported) {
  auto l = parse_layout(
      kHybrid, [](const std::string&) -> Result<std::string> { return fail(EACCES, "open"); });
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code, EACCES);
}

// Found by tests/fuzz (fuzz_mountinfo): a cgroup line that ends after its
// source field has no super options; reading them read past the fields.
TEST(CgroupLayout, LineWithoutSuperOptionsIsSkipped) {
  auto l = parse_layout(
      "32 31 0:29 / /x - cgroup cgroup\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n",
      reader("cpu\n"));
  ASSERT_TRUE(l) << l.error().what();
  EXPECT_TRUE(l->v1.empty());
  EXPECT_EQ(l->mode, Mode::kV2);
}

TEST(CgroupLayout, MountinfoEscapes) {
  EXPECT_EQ(unescape_mountinfo("/mnt/a\\040b"), "/mnt/a b");
  EXPECT_EQ(unescape_mountinfo("/x\\"), "/x\\");
}

TEST(CgroupLayout, ProcSelfCgroup) {
  auto own = parse_proc_cgroup(
      "9:name=systemd:/\n4:memory:/process_api/abc\n2:cpu,cpuacct:/user\n0::/init.scope\n");
  ASSERT_TRUE(own);
  EXPECT_EQ(own->at("memory"), "/process_api/abc");
  EXPECT_EQ(own->at("cpu"), "/user");
  EXPECT_EQ(own->at("cpuacct"), "/user");
  EXPECT_EQ(own->at("name=systemd"), "/");
  EXPECT_EQ(own->at(""), "/init.scope");
  EXPECT_FALSE(parse_proc_cgroup("garbage\n"));
}

TEST(CgroupPaths, AbsoluteRelativeAndAbsent) {
  EXPECT_EQ(*container_cgroup_path("/kubepods/pod1/c1", "c1", "/process_api/abc"),
            "/kubepods/pod1/c1");
  EXPECT_EQ(*container_cgroup_path("/a//b/../c/", "x", "/"), "/a/c");
  EXPECT_EQ(*container_cgroup_path("mygroup/c1", "c1", "/process_api/abc"),
            "/process_api/abc/mygroup/c1");
  EXPECT_EQ(*container_cgroup_path("", "web", "/process_api/abc"), "/process_api/abc/web");
  EXPECT_EQ(*container_cgroup_path("", "web", "/"), "/web");
  EXPECT_FALSE(container_cgroup_path("../escape", "x", "/a"));
  EXPECT_FALSE(container_cgroup_path("a/../..", "x", "/a"));
  EXPECT_FALSE(container_cgroup_path("/", "x", "/a"));
  EXPECT_FALSE(container_cgroup_path("", "", "/a"));
}

TEST(CgroupPaths, DirectoryUnderMount) {
  EXPECT_EQ(*cgroup_dir("/sys/fs/cgroup/cpu", "/", "/web"), "/sys/fs/cgroup/cpu/web");
  // A mount of a subtree shows paths below its root.
  EXPECT_EQ(*cgroup_dir("/sys/fs/cgroup", "/lxc/c1", "/lxc/c1/web"), "/sys/fs/cgroup/web");
  EXPECT_FALSE(cgroup_dir("/sys/fs/cgroup", "/lxc/c1", "/other/web"));
}

TEST(CgroupPaths, SystemdDriverChoice) {
  EXPECT_TRUE(is_systemd_form("system.slice:docker:abc"));
  EXPECT_FALSE(is_systemd_form("/system.slice/abc"));
  EXPECT_FALSE(is_systemd_form("a:b"));
  // The systemd form needs the flag; the flag needs systemd and that form.
  auto r = use_systemd_driver("system.slice:docker:abc", false, true);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("needs --systemd-cgroup"), std::string::npos);
  EXPECT_FALSE(use_systemd_driver("", true, false));
  EXPECT_FALSE(use_systemd_driver("/x", true, true));
  EXPECT_EQ(use_systemd_driver("system.slice:docker:abc", true, true), true);
  EXPECT_EQ(use_systemd_driver("", true, true), true);
  EXPECT_EQ(use_systemd_driver("/x", false, false), false);
  EXPECT_EQ(use_systemd_driver("", false, true), false);
}

TEST(CgroupPaths, Clean) {
  EXPECT_EQ(clean_cgroup_path("//a/./b/../c/"), "/a/c");
  EXPECT_EQ(clean_cgroup_path("/../a"), "/a");
  EXPECT_EQ(clean_cgroup_path("a/../.."), "..");
  EXPECT_EQ(clean_cgroup_path(""), ".");
}

}  // namespace
}  // namespace husk::cgroup
