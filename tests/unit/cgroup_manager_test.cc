// FsManager on a fixture tree: a layout whose mount points are directories
// of a tmpdir. The kernel's files are fixture files written by the test.
#include <gtest/gtest.h>

#include "cgroup/manager.h"
#include "cgroup_test_util.h"

namespace husk::cgroup {
namespace {

using testing::FixtureDir;

// This machine's shape: v1 cpu, memory, freezer, pids and name=systemd; a
// cgroup2 mount holding only hugetlb.
Layout hybrid_layout(const FixtureDir& d) {
  Layout l;
  l.mode = Mode::kHybrid;
  for (const char* c : {"cpu", "memory", "freezer", "pids", "name=systemd"}) {
    std::string mount = d / (std::string(c) == "name=systemd" ? "systemd" : c);
    d.mkdir(mount.substr(d.path().size() + 1));
    l.v1.push_back({mount, "/", {c}});
  }
  l.v2_mount = d / "unified";
  d.mkdir("unified");
  l.v2_controllers = {"hugetlb"};
  return l;
}

TEST(CgroupManager, PathsNestUnderOwnCgroupPerHierarchy) {
  FixtureDir d;
  Layout l = hybrid_layout(d);
  OwnCgroups own{{"memory", "/process_api/abc"}, {"cpu", "/"}, {"", "/"}};
  auto m = Manager::make({"", "web", false}, l, own);
  ASSERT_TRUE(m) << m.error().what();
  EXPECT_EQ((*m)->mode(), Mode::kHybrid);
  EXPECT_EQ((*m)->path("memory"), d / "memory/process_api/abc/web");
  EXPECT_EQ((*m)->path("cpu"), d / "cpu/web");
  EXPECT_EQ((*m)->path("name=systemd"), d / "systemd/web");
  EXPECT_EQ((*m)->path(""), d / "unified/web");
  EXPECT_EQ((*m)->path("hugetlb"), d / "unified/web");  // lives in cgroup2 here
  EXPECT_EQ((*m)->path("net_cls"), "");
  auto abs = Manager::make({"/kube/pod1/c1", "c1", false}, l, own);
  ASSERT_TRUE(abs);
  EXPECT_EQ((*abs)->path("memory"), d / "memory/kube/pod1/c1");
  auto systemd = Manager::make({"system.slice:husk:c1", "c1", false}, l, own);
  ASSERT_FALSE(systemd);
  EXPECT_EQ(systemd.error().what(),
            "cgroupsPath \"system.slice:husk:c1\" is systemd's \"slice:prefix:name\" form: it "
            "needs --systemd-cgroup");
}

TEST(CgroupManager, CreateRecordsOnlyNewDirectoriesAndDestroyKeepsParents) {
  FixtureDir d;
  Layout l = hybrid_layout(d);
  d.mkdir("memory/process_api/abc");  // the runtime's own cgroup: exists before
  OwnCgroups own{{"memory", "/process_api/abc"}};
  auto made = Manager::make({"group/web", "web", false}, l, own);
  ASSERT_TRUE(made);
  auto& m = *made;
  d.mkdir("cpu/group");  // a parent someone else made
  ASSERT_TRUE(m->create());
  SavedState s = m->saved_state();
  EXPECT_EQ(s.paths.at("memory"), d / "memory/process_api/abc/group/web");
  EXPECT_EQ(s.paths.at(""), d / "unified/group/web");
  std::vector<std::string> expect_created = {d / "cpu/group/web",
                                             d / "memory/process_api/abc/group",
                                             d / "memory/process_api/abc/group/web",
                                             d / "freezer/group",
                                             d / "freezer/group/web",
                                             d / "pids/group",
                                             d / "pids/group/web",
                                             d / "systemd/group",
                                             d / "systemd/group/web",
                                             d / "unified/group",
                                             d / "unified/group/web"};
  EXPECT_EQ(s.created, expect_created);
  EXPECT_TRUE(d.exists("memory/process_api/abc/group/web"));

  // A reloaded manager knows the same directories and removes them.
  auto loaded = Manager::load(s, l);
  ASSERT_TRUE(loaded);
  EXPECT_EQ((*loaded)->saved_state().paths, s.paths);
  EXPECT_EQ((*loaded)->saved_state().created, s.created);
  ASSERT_TRUE((*loaded)->destroy());
  EXPECT_FALSE(d.exists("memory/process_api/abc/group"));
  EXPECT_TRUE(d.exists("memory/process_api/abc"));
  EXPECT_FALSE(d.exists("cpu/group/web"));
  EXPECT_TRUE(d.exists("cpu/group"));  // pre-existing parent kept
  EXPECT_FALSE(d.exists("unified/group"));
  EXPECT_TRUE((*loaded)->saved_state().created.empty());
}

// A v1 cpuset parent made with plain mkdir (a pod's cgroup) has empty cpus
// and mems; it gets its parent's, top down, before the container's below it.
TEST(CgroupManager, CreateFillsEmptyCpusetParents) {
  FixtureDir d;
  Layout l;
  l.mode = Mode::kV1;
  l.v1.push_back({d / "cpuset", "/", {"cpuset"}});
  d.write("cpuset/cpuset.cpus", "0-3\n");
  d.write("cpuset/cpuset.mems", "0\n");
  for (const char* dir : {"cpuset/pod", "cpuset/pod/c1"}) {
    d.write(std::string(dir) + "/cpuset.cpus", "\n");
    d.write(std::string(dir) + "/cpuset.mems", "\n");
  }
  auto m = Manager::make({"/pod/c1", "c1", false}, l, {});
  ASSERT_TRUE(m);
  auto r = (*m)->create();
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(d.read("cpuset/pod/cpuset.cpus"), "0-3");
  EXPECT_EQ(d.read("cpuset/pod/cpuset.mems"), "0");
  EXPECT_EQ(d.read("cpuset/pod/c1/cpuset.cpus"), "0-3");
  EXPECT_TRUE((*m)->saved_state().created.empty());
  // One that has its own values keeps them.
  d.write("cpuset/pod/cpuset.cpus", "1\n");
  d.write("cpuset/pod/c1/cpuset.cpus", "\n");
  ASSERT_TRUE((*m)->create());
  EXPECT_EQ(d.read("cpuset/pod/cpuset.cpus"), "1\n");
  EXPECT_EQ(d.read("cpuset/pod/c1/cpuset.cpus"), "1");
}

// exec's v2 fallback: the init's cgroup2 cgroup, only inside the container's.
TEST(CgroupManager, ApplyBesideInitJoinsTheInitsSubCgroup) {
  FixtureDir d;
  Layout v2;
  v2.mode = Mode::kV2;
  v2.v2_mount = d / "v2";
  v2.v2_controllers = {"memory"};
  d.write("v2/c1/foobar/cgroup.procs", "");
  auto m = Manager::make({"/c1", "c1", false}, v2, {});
  ASSERT_TRUE(m);
  auto r = (*m)->apply_beside_init(4242, "0::/c1/foobar\n");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(d.read("v2/c1/foobar/cgroup.procs"), "4242");
  auto out = (*m)->apply_beside_init(4242, "0::/elsewhere\n");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, EPERM);
  EXPECT_FALSE((*m)->apply_beside_init(4242, "0::/c1\n"));  // the container's own: not below
  EXPECT_FALSE((*m)->apply_beside_init(4242, "3:memory:/c1/foobar\n"));
}

TEST(CgroupManager, DestroyKeepsACreatedParentStillInUse) {
  FixtureDir d;
  Layout l = hybrid_layout(d);
  auto a = Manager::make({"shared/a", "a", false}, l, {});
  ASSERT_TRUE(a);
  ASSERT_TRUE((*a)->create());
  d.mkdir("cpu/shared/b");  // another container's cgroup, made later
  ASSERT_TRUE((*a)->destroy());
  EXPECT_FALSE(d.exists("cpu/shared/a"));
  EXPECT_TRUE(d.exists("cpu/shared/b"));
  EXPECT_FALSE(d.exists("pids/shared"));
}

TEST(CgroupManager, SetDrivesEachControllerWhereItLives) {
  FixtureDir d;
  Layout l = hybrid_layout(d);
  auto made = Manager::make({"/c1", "c1", false}, l, {});
  ASSERT_TRUE(made);
  auto& m = *made;
  // What the kernel would show in the new directories.
  d.write("cpu/c1/cpu.cfs_quota_us", "-1");
  d.write("cpu/c1/cpu.cfs_period_us", "100000");
  d.write("memory/c1/memory.limit_in_bytes", "9223372036854771712");
  d.write("pids/c1/pids.max", "max");
  d.write("unified/cgroup.subtree_control", "");
  d.write("unified/c1/cgroup.controllers", "");
  d.write("unified/c1/hugetlb.2MB.max", "max");
  ASSERT_TRUE(m->create());
  config::Resources r;
  r.cpu = config::CpuResources{};
  r.cpu->quota = 50000;
  r.memory = config::MemoryResources{};
  r.memory->limit = 64 << 20;
  r.pids = config::PidsResources{32};
  r.hugepage_limits = {{"2MB", 2097152}};
  ASSERT_TRUE(m->set(r)) << m->set(r).error().what();
  EXPECT_EQ(d.read("cpu/c1/cpu.cfs_quota_us"), "50000");
  EXPECT_EQ(d.read("memory/c1/memory.limit_in_bytes"), "67108864");
  EXPECT_EQ(d.read("pids/c1/pids.max"), "32");
  // hugetlb is a cgroup2 controller here: enabled in the parent, then set.
  EXPECT_EQ(d.read("unified/cgroup.subtree_control"), "+hugetlb");
  EXPECT_EQ(d.read("unified/c1/hugetlb.2MB.max"), "2097152");
}

TEST(CgroupManager, UnsupportedFieldsOnThisHostAreClearErrors) {
  FixtureDir d;
  Layout l = hybrid_layout(d);
  auto made = Manager::make({"/c1", "c1", false}, l, {});
  ASSERT_TRUE(made);
  auto& m = *made;
  auto err = [&](const config::Resources& r) {
    auto res = m->set(r);
    return res ? std::string("(ok)") : res.error().what();
  };
  config::Resources r;
  r.network = config::NetworkResources{};
  r.network->class_id = 0;  // no-op value: fine without net_cls
  EXPECT_EQ(err(r), "(ok)");
  r.network->class_id = 42;
  EXPECT_EQ(err(r),
            "linux.resources.network.classID: the net_cls controller is not available "
            "on this host");
  r = {};
  r.cpu = config::CpuResources{};
  r.cpu->cpus = "0";
  EXPECT_EQ(err(r),
            "linux.resources.cpu.cpus: the cpuset controller is not available on this "
            "host");
  r = {};
  r.unified = {{"memory.high", "1"}};
  EXPECT_EQ(err(r),
            "invalid configuration: linux.resources.unified[\"memory.high\"]: the memory "
            "controller is on cgroup v1 on this host");
  r = {};
  r.rdma = {{"mlx5_0", {1, 1}}};
  EXPECT_EQ(err(r), "linux.resources.rdma: the rdma controller is not available on this host");
  r = {};
  r.block_io = config::BlockIoResources{};
  r.block_io->weight = 0;
  EXPECT_EQ(err(r), "(ok)");
  r.block_io->weight = 100;
  EXPECT_EQ(err(r), "linux.resources.blockIO: the io controller is not available on this host");

  Layout v1_only = l;
  v1_only.mode = Mode::kV1;
  v1_only.v2_mount.clear();
  auto plain = Manager::make({"/c1", "c1", false}, v1_only, {});
  ASSERT_TRUE(plain);
  r = {};
  r.unified = {{"pids.max", "1"}};
  auto res = (*plain)->set(r);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().what(),
            "invalid configuration: linux.resources.unified: this host has no cgroup v2 "
            "hierarchy");
}

// Wherever the container has a cgroup2 directory the child can be born in it;
// apply() then writes only the v1 hierarchies.
TEST(CgroupManager, CloneIntoTheCgroup2Directory) {
  FixtureDir d;
  Layout hybrid = hybrid_layout(d);
  auto h = Manager::make({"/c1", "c1", false}, hybrid, {});
  ASSERT_TRUE(h);
  ASSERT_TRUE((*h)->create());
  auto fd = (*h)->open_for_clone();
  ASSERT_TRUE(fd);
  EXPECT_TRUE(fd->valid());
  for (const char* n : {"cpu", "memory", "freezer", "pids", "systemd", "unified"})
    d.write(std::string(n) + "/c1/cgroup.procs", "");
  ASSERT_TRUE((*h)->apply(4242, /*placed_in_v2=*/true));
  for (const char* n : {"cpu", "memory", "freezer", "pids", "systemd"})
    EXPECT_EQ(d.read(std::string(n) + "/c1/cgroup.procs"), "4242") << n;
  EXPECT_EQ(d.read("unified/c1/cgroup.procs"), "");

  Layout v1 = hybrid;
  v1.mode = Mode::kV1;
  v1.v2_mount.clear();
  auto plain = Manager::make({"/c2", "c2", false}, v1, {});
  ASSERT_TRUE(plain);
  ASSERT_TRUE((*plain)->create());
  auto none = (*plain)->open_for_clone();
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->valid());

  Layout v2;
  v2.mode = Mode::kV2;
  v2.v2_mount = d / "v2";
  d.mkdir("v2");
  v2.v2_controllers = {"cpu", "memory", "pids"};
  auto p = Manager::make({"/c1", "c1", false}, v2, {});
  ASSERT_TRUE(p);
  ASSERT_TRUE((*p)->create());
  auto fd2 = (*p)->open_for_clone();
  ASSERT_TRUE(fd2);
  EXPECT_TRUE(fd2->valid());
  EXPECT_EQ((*p)->saved_state().paths.size(), 1u);
  EXPECT_EQ((*p)->saved_state().paths.at(""), d / "v2/c1");
}

TEST(CgroupManager, ApplyWritesThePidEverywhere) {
  FixtureDir d;
  Layout l = hybrid_layout(d);
  auto m = Manager::make({"/c1", "c1", false}, l, {});
  ASSERT_TRUE(m);
  ASSERT_TRUE((*m)->create());
  for (const char* h : {"cpu", "memory", "freezer", "pids", "systemd", "unified"})
    d.write(std::string(h) + "/c1/cgroup.procs", "");
  ASSERT_TRUE((*m)->apply(4242));
  for (const char* h : {"cpu", "memory", "freezer", "pids", "systemd", "unified"})
    EXPECT_EQ(d.read(std::string(h) + "/c1/cgroup.procs"), "4242") << h;
  // pids() reads the cgroup2 directory, sub-cgroups included.
  d.write("unified/c1/cgroup.procs", "10\n11\n");
  d.write("unified/c1/sub/cgroup.procs", "12\n");
  auto pids = (*m)->pids();
  ASSERT_TRUE(pids);
  EXPECT_EQ(*pids, (std::vector<pid_t>{10, 11, 12}));
}

TEST(CgroupManager, FreezerStateFromV1File) {
  FixtureDir d;
  Layout l = hybrid_layout(d);
  auto m = Manager::make({"/c1", "c1", false}, l, {});
  ASSERT_TRUE(m);
  d.write("freezer/c1/freezer.state", "FREEZING\n");
  auto st = (*m)->freezer_state();
  ASSERT_TRUE(st);
  EXPECT_EQ(*st, FreezerState::kFreezing);
  d.write("freezer/c1/freezer.state", "FROZEN\n");
  EXPECT_EQ(*(*m)->freezer_state(), FreezerState::kFrozen);
  // The fixture obeys: writing THAWED reads back THAWED.
  ASSERT_TRUE((*m)->thaw());
  EXPECT_EQ(d.read("freezer/c1/freezer.state"), "THAWED");
}

// runc's checks before create: nothing there is fine, processes are counted,
// a frozen directory in any hierarchy (v1 freezer or cgroup2) is refused.
TEST(CgroupManager, CheckPreexistingCountsProcessesAndRefusesFrozen) {
  FixtureDir d;
  Layout l = hybrid_layout(d);
  auto m = Manager::make({"/c1", "c1", false}, l, {});
  ASSERT_TRUE(m);
  auto n = (*m)->check_preexisting();
  ASSERT_TRUE(n) << n.error().what();
  EXPECT_EQ(*n, 0u);
  d.write("unified/c1/cgroup.procs", "10\n11\n");
  d.write("freezer/c1/freezer.state", "THAWED\n");
  n = (*m)->check_preexisting();
  ASSERT_TRUE(n) << n.error().what();
  EXPECT_EQ(*n, 2u);
  d.write("freezer/c1/freezer.state", "FROZEN\n");
  n = (*m)->check_preexisting();
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().what(), fmt::format("container's cgroup unexpectedly frozen "
                                          "({}/freezer.state reads FROZEN)",
                                          d / "freezer/c1"));
  d.write("freezer/c1/freezer.state", "THAWED\n");
  d.write("unified/c1/cgroup.freeze", "1\n");
  n = (*m)->check_preexisting();
  ASSERT_FALSE(n);
  EXPECT_NE(n.error().what().find("unified/c1/cgroup.freeze reads 1"), std::string::npos);

  Layout v2;
  v2.mode = Mode::kV2;
  v2.v2_mount = d / "v2";
  v2.v2_controllers = {"cpu", "memory", "pids"};
  d.write("v2/c2/cgroup.freeze", "0\n");
  d.write("v2/c2/cgroup.procs", "7\n");
  auto p = Manager::make({"/c2", "c2", false}, v2, {});
  ASSERT_TRUE(p);
  EXPECT_EQ((*p)->check_preexisting().value_or(99), 1u);
  d.write("v2/c2/cgroup.freeze", "1\n");
  EXPECT_FALSE((*p)->check_preexisting());
}

TEST(CgroupManager, OomKillCountFromV1OomControl) {
  FixtureDir d;
  Layout l = hybrid_layout(d);
  auto m = Manager::make({"/c1", "c1", false}, l, {});
  ASSERT_TRUE(m);
  d.write("memory/c1/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
  auto n = (*m)->oom_kill_count();
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 3u);
}

}  // namespace
}  // namespace husk::cgroup

namespace husk::cgroup {
namespace {

// exec --cgroup, as runc 1.1 takes it: PATH alone moves every hierarchy, a
// CONTROLLER: prefix moves that controller's hierarchy (co-mounted ones too).
TEST(CgroupSubCgroups, PathsJoinedAndKeptInside) {
  SavedState s;
  s.paths = {{"cpu", "/cg/cpu,cpuacct/c1"},
             {"cpuacct", "/cg/cpu,cpuacct/c1"},
             {"memory", "/cg/memory/c1"},
             {"", "/cg/unified/c1"}};
  s.created = {"/cg/memory/c1"};
  auto err = [&](std::vector<std::string> args) {
    auto r = sub_cgroup_state(s, args);
    return r ? std::string("(ok)") : r.error().what();
  };
  auto same = sub_cgroup_state(s, {});
  ASSERT_TRUE(same);
  EXPECT_EQ(same->paths, s.paths);
  EXPECT_TRUE(same->created.empty());

  auto all = sub_cgroup_state(s, {"sub/x"});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->paths.at("memory"), "/cg/memory/c1/sub/x");
  EXPECT_EQ(all->paths.at(""), "/cg/unified/c1/sub/x");
  EXPECT_EQ(all->paths.at("cpuacct"), "/cg/cpu,cpuacct/c1/sub/x");
  auto root = sub_cgroup_state(s, {"/"});
  ASSERT_TRUE(root);
  EXPECT_EQ(root->paths, s.paths);
  auto abs = sub_cgroup_state(s, {"/a/./b/../c"});
  ASSERT_TRUE(abs);
  EXPECT_EQ(abs->paths.at("memory"), "/cg/memory/c1/a/c");

  auto some = sub_cgroup_state(s, {"memory:submem", "cpu:subcpu"});
  ASSERT_TRUE(some);
  EXPECT_EQ(some->paths.at("memory"), "/cg/memory/c1/submem");
  EXPECT_EQ(some->paths.at("cpu"), "/cg/cpu,cpuacct/c1/subcpu");
  EXPECT_EQ(some->paths.at("cpuacct"), "/cg/cpu,cpuacct/c1/subcpu");  // co-mounted
  EXPECT_EQ(some->paths.at(""), "/cg/unified/c1");                    // untouched
  EXPECT_EQ(err({"cpu,cpuacct:subcpu"}), "(ok)");

  EXPECT_EQ(err({".."}), "--cgroup: .. is not a sub cgroup path");
  EXPECT_EQ(err({"a/../../x"}), "--cgroup: a/../../x is not a sub cgroup path");
  EXPECT_EQ(err({"memory:../.."}), "--cgroup: ../.. is not a sub cgroup path");
  EXPECT_EQ(err({"whaaat:/"}), "--cgroup: unknown controller \"whaaat\"");
  EXPECT_EQ(err({":/"}), "--cgroup: unknown controller \"\"");
  EXPECT_EQ(err({"a:b:c"}), "--cgroup: invalid argument \"a:b:c\"");
  EXPECT_EQ(err({"x", "memory:y"}),
            "--cgroup: \"x\" lacks its CONTROLLER: prefix (needed with several)");
  EXPECT_EQ(err({"cpu:a", "cpuacct:b"}), "--cgroup: two sub-cgroups for the hierarchy of cpuacct");

  // Pure v2: one directory, no controller names.
  SavedState v2;
  v2.paths = {{"", "/sys/fs/cgroup/c1"}};
  auto foo = sub_cgroup_state(v2, {"foobar"});
  ASSERT_TRUE(foo);
  EXPECT_EQ(foo->paths.at(""), "/sys/fs/cgroup/c1/foobar");
  EXPECT_FALSE(sub_cgroup_state(v2, {"memory:foobar"}));
}

}  // namespace
}  // namespace husk::cgroup
