// The v1 and v2 resource writers against fixture directories: each file a
// kernel would offer is a plain file, and absent files model a kernel or
// host without that feature.
#include <gtest/gtest.h>

#include "base/unique_fd.h"
#include "cgroup/writers.h"
#include "cgroup_test_util.h"

namespace husk::cgroup {
namespace {

using testing::FixtureDir;

class Writers : public ::testing::Test {
 protected:
  // Creates files with the given contents in the fixture root.
  void files(std::initializer_list<std::pair<std::string, std::string>> list) {
    for (const auto& [name, content] : list) dir.write(name, content);
  }
  int fd() {
    if (!fd_) fd_.reset(dir.open());
    return fd_.get();
  }
  std::string read(const std::string& name) { return dir.read(name); }

  FixtureDir dir;

 private:
  UniqueFd fd_;
};

TEST_F(Writers, V1Cpu) {
  files({{"cpu.shares", "1024"},
         {"cpu.cfs_quota_us", "-1"},
         {"cpu.cfs_period_us", "100000"},
         {"cpu.cfs_burst_us", "0"},
         {"cpu.rt_period_us", ""},
         {"cpu.rt_runtime_us", ""},
         {"cpu.idle", "0"}});
  config::CpuResources cpu;
  cpu.shares = 512;
  cpu.quota = 50000;
  cpu.period = 200000;
  cpu.burst = 1000;
  cpu.realtime_period = 1000000;
  cpu.realtime_runtime = 950000;
  cpu.idle = 1;
  ASSERT_TRUE(v1::set_cpu(fd(), cpu));
  EXPECT_EQ(read("cpu.shares"), "512");
  EXPECT_EQ(read("cpu.cfs_quota_us"), "50000");
  EXPECT_EQ(read("cpu.cfs_period_us"), "200000");
  EXPECT_EQ(read("cpu.cfs_burst_us"), "1000");
  EXPECT_EQ(read("cpu.rt_period_us"), "1000000");
  EXPECT_EQ(read("cpu.rt_runtime_us"), "950000");
  EXPECT_EQ(read("cpu.idle"), "1");
}

TEST_F(Writers, V1CpuFieldsThisKernelLacks) {
  files({{"cpu.shares", "1024"}});
  config::CpuResources cpu;
  cpu.burst = 0;  // a no-op value passes without the file
  cpu.idle = 0;
  EXPECT_TRUE(v1::set_cpu(fd(), cpu));
  cpu.burst = 1000;
  auto r = v1::set_cpu(fd(), cpu);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "linux.resources.cpu.burst: this kernel has no cpu.cfs_burst_us");
  cpu.burst.reset();
  cpu.realtime_runtime = 5;
  r = v1::set_cpu(fd(), cpu);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(),
            "linux.resources.cpu.realtimeRuntime: this kernel has no realtime group scheduling");
}

TEST_F(Writers, V1CpusetAndItsInitialisation) {
  dir.write("parent/cpuset.cpus", "0-3\n");
  dir.write("parent/cpuset.mems", "0\n");
  dir.write("parent/child/cpuset.cpus", "\n");
  dir.write("parent/child/cpuset.mems", "1\n");  // already set: kept
  UniqueFd parent(dir.open("parent")), child(dir.open("parent/child"));
  ASSERT_TRUE(v1::init_cpuset(parent.get(), child.get()));
  EXPECT_EQ(read("parent/child/cpuset.cpus"), "0-3");
  EXPECT_EQ(read("parent/child/cpuset.mems"), "1\n");
  config::CpuResources cpu;
  cpu.cpus = "1";
  ASSERT_TRUE(v1::set_cpuset(child.get(), cpu));
  EXPECT_EQ(read("parent/child/cpuset.cpus"), "1");
  EXPECT_EQ(read("parent/child/cpuset.mems"), "1\n");
}

TEST_F(Writers, V1MemoryWithSwap) {
  files({{"memory.limit_in_bytes", "9223372036854771712\n"},
         {"memory.memsw.limit_in_bytes", "9223372036854771712\n"},
         {"memory.soft_limit_in_bytes", ""},
         {"memory.kmem.tcp.limit_in_bytes", ""},
         {"memory.swappiness", "60"},
         {"memory.oom_control", ""},
         {"memory.usage_in_bytes", "4096\n"}});
  config::MemoryResources m;
  m.limit = 64 << 20;
  m.swap = 128 << 20;
  m.reservation = 32 << 20;
  m.kernel_tcp = 1 << 20;
  m.swappiness = 0;
  m.disable_oom_killer = true;
  m.check_before_update = true;
  ASSERT_TRUE(v1::set_memory(fd(), m));
  EXPECT_EQ(read("memory.limit_in_bytes"), "67108864");
  EXPECT_EQ(read("memory.memsw.limit_in_bytes"), "134217728");
  EXPECT_EQ(read("memory.soft_limit_in_bytes"), "33554432");
  EXPECT_EQ(read("memory.kmem.tcp.limit_in_bytes"), "1048576");
  EXPECT_EQ(read("memory.swappiness"), "0");
  EXPECT_EQ(read("memory.oom_control"), "1");
}

TEST_F(Writers, V1UnlimitedMemoryLiftsSwapToo) {
  files({{"memory.limit_in_bytes", "67108864\n"}, {"memory.memsw.limit_in_bytes", "134217728\n"}});
  config::MemoryResources m;
  m.limit = -1;
  ASSERT_TRUE(v1::set_memory(fd(), m));
  EXPECT_EQ(read("memory.limit_in_bytes"), "-1");
  EXPECT_EQ(read("memory.memsw.limit_in_bytes"), "-1");
}

TEST_F(Writers, V1SwapWithoutSwapAccounting) {
  files({{"memory.limit_in_bytes", "0"}});
  config::MemoryResources m;
  m.limit = 1 << 20;
  m.swap = -1;  // nothing to lift: fine
  ASSERT_TRUE(v1::set_memory(fd(), m));
  m.swap = 2 << 20;
  auto r = v1::set_memory(fd(), m);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(),
            "linux.resources.memory.swap: swap accounting is not enabled on this host");
}

TEST_F(Writers, CheckBeforeUpdateRefusesALimitBelowUsage) {
  files({{"memory.limit_in_bytes", "0"},
         {"memory.usage_in_bytes", "1000000\n"},
         {"memory.max", "max"},
         {"memory.current", "1000000\n"}});
  config::MemoryResources m;
  m.limit = 4096;
  m.check_before_update = true;
  auto r1 = v1::set_memory(fd(), m);
  ASSERT_FALSE(r1);
  EXPECT_NE(r1.error().what().find("below the current usage 1000000"), std::string::npos);
  EXPECT_FALSE(v2::set_memory(fd(), m));
  EXPECT_EQ(read("memory.max"), "max");
  m.check_before_update = false;
  EXPECT_TRUE(v2::set_memory(fd(), m));
  EXPECT_EQ(read("memory.max"), "4096");
}

TEST_F(Writers, V1PidsBlkioHugetlbNetworkRdma) {
  files({{"pids.max", "max"},
         {"blkio.bfq.weight", "100"},
         {"blkio.bfq.weight_device", ""},
         {"blkio.throttle.read_bps_device", ""},
         {"blkio.throttle.write_iops_device", ""},
         {"hugetlb.2MB.limit_in_bytes", ""},
         {"hugetlb.2MB.rsvd.limit_in_bytes", ""},
         {"net_cls.classid", ""},
         {"net_prio.ifpriomap", ""},
         {"rdma.max", ""}});
  ASSERT_TRUE(v1::set_pids(fd(), {100}));
  EXPECT_EQ(read("pids.max"), "100");
  ASSERT_TRUE(v1::set_pids(fd(), {-1}));
  EXPECT_EQ(read("pids.max"), "max");

  config::BlockIoResources io;
  io.weight = 300;
  io.weight_device = {{8, 0, 700, std::nullopt}};
  io.throttle_read_bps_device = {{8, 0, 1048576}};
  io.throttle_write_iops_device = {{8, 16, 50}};
  ASSERT_TRUE(v1::set_blkio(fd(), io));  // no CFQ here: BFQ's files
  EXPECT_EQ(read("blkio.bfq.weight"), "300");
  EXPECT_EQ(read("blkio.bfq.weight_device"), "8:0 700");
  EXPECT_EQ(read("blkio.throttle.read_bps_device"), "8:0 1048576");
  EXPECT_EQ(read("blkio.throttle.write_iops_device"), "8:16 50");
  io = {};
  io.leaf_weight = 10;
  auto leaf = v1::set_blkio(fd(), io);
  ASSERT_FALSE(leaf);
  EXPECT_EQ(leaf.error().what(),
            "linux.resources.blockIO.leafWeight: this kernel has no leaf weights");

  ASSERT_TRUE(v1::set_hugetlb(fd(), {{"2MB", 4194304}}));
  EXPECT_EQ(read("hugetlb.2MB.limit_in_bytes"), "4194304");
  EXPECT_EQ(read("hugetlb.2MB.rsvd.limit_in_bytes"), "4194304");
  auto gb = v1::set_hugetlb(fd(), {{"2MB", 1}, {"1GB", 1}});
  ASSERT_FALSE(gb);
  EXPECT_EQ(gb.error().what(),
            "linux.resources.hugepageLimits[1]: page size 1GB is not supported on this host");

  config::NetworkResources net;
  net.class_id = 0x100001;
  net.priorities = {{"eth0", 5}};
  ASSERT_TRUE(v1::set_net_cls(fd(), net));
  ASSERT_TRUE(v1::set_net_prio(fd(), net));
  EXPECT_EQ(read("net_cls.classid"), "1048577");
  EXPECT_EQ(read("net_prio.ifpriomap"), "eth0 5");
  ASSERT_TRUE(v1::set_rdma(fd(), {{"mlx5_0", {2, 100}}}));
  EXPECT_EQ(read("rdma.max"), "mlx5_0 hca_handle=2 hca_object=100");
}

TEST_F(Writers, V1DevicesStartFromDenyAll) {
  files({{"devices.allow", ""}, {"devices.deny", ""}});
  ASSERT_TRUE(v1::set_devices(fd(), {{true, 'c', 1, 3, "rwm"}}));
  EXPECT_EQ(read("devices.deny"), "a *:* rwm");
  EXPECT_EQ(read("devices.allow"), "c 1:3 rwm");
  // A list that starts with its own default writes it as given.
  files({{"devices.allow", ""}, {"devices.deny", ""}});
  ASSERT_TRUE(v1::set_devices(
      fd(), {{true, 'a', std::nullopt, std::nullopt, "rwm"}, {false, 'b', 8, std::nullopt, "w"}}));
  EXPECT_EQ(read("devices.allow"), "a *:* rwm");
  EXPECT_EQ(read("devices.deny"), "b 8:* w");
  // Nothing to do without rules: the inherited rules stay.
  files({{"devices.allow", ""}, {"devices.deny", ""}});
  ASSERT_TRUE(v1::set_devices(fd(), {}));
  EXPECT_EQ(read("devices.deny"), "");
}

TEST_F(Writers, V1WriteErrorNamesFieldAndFile) {
  // No pids.max here at all: the open fails and says where.
  auto r = v1::set_pids(fd(), {10});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOENT);
  EXPECT_EQ(r.error().what(),
            "linux.resources.pids.limit: open pids.max: No such file or directory");
}

TEST_F(Writers, V2Cpu) {
  files({{"cpu.weight", "100"},
         {"cpu.max", "max 100000\n"},
         {"cpu.max.burst", "0"},
         {"cpu.idle", "0"}});
  config::CpuResources cpu;
  cpu.shares = 1024;
  cpu.quota = 50000;
  cpu.period = 100000;
  cpu.burst = 500;
  ASSERT_TRUE(v2::set_cpu(fd(), cpu));
  EXPECT_EQ(read("cpu.weight"), "39");
  EXPECT_EQ(read("cpu.max"), "50000 100000");
  EXPECT_EQ(read("cpu.max.burst"), "500");
  // A new period alone keeps the quota in force.
  files({{"cpu.max", "30000 100000\n"}});
  config::CpuResources period_only;
  period_only.period = 50000;
  ASSERT_TRUE(v2::set_cpu(fd(), period_only));
  EXPECT_EQ(read("cpu.max"), "30000 50000");
  config::CpuResources unlimited;
  unlimited.quota = -1;
  ASSERT_TRUE(v2::set_cpu(fd(), unlimited));
  EXPECT_EQ(read("cpu.max"), "max");
  config::CpuResources rt;
  rt.realtime_runtime = 1000;
  auto r = v2::set_cpu(fd(), rt);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(),
            "linux.resources.cpu.realtimeRuntime: cgroup v2 has no realtime group limits");
}

TEST_F(Writers, V2MemorySwapIsSwapOnly) {
  files({{"memory.max", "max"}, {"memory.swap.max", "max"}, {"memory.low", "0"}});
  config::MemoryResources m;
  m.limit = 64 << 20;
  m.swap = 96 << 20;
  m.reservation = 16 << 20;
  ASSERT_TRUE(v2::set_memory(fd(), m));
  EXPECT_EQ(read("memory.max"), "67108864");
  EXPECT_EQ(read("memory.swap.max"), "33554432");
  EXPECT_EQ(read("memory.low"), "16777216");
  m = {};
  m.limit = -1;
  ASSERT_TRUE(v2::set_memory(fd(), m));
  EXPECT_EQ(read("memory.max"), "max");
  EXPECT_EQ(read("memory.swap.max"), "max");
  m = {};
  m.limit = 100;
  m.swap = 50;
  auto r = v2::set_memory(fd(), m);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(),
            "linux.resources.memory.swap: memory+swap limit 50 must not be "
            "below the memory limit 100: Invalid argument");
}

TEST_F(Writers, V2MemoryFieldsV2CannotHonour) {
  files({{"memory.max", "max"}});
  auto err = [&](config::MemoryResources m) {
    auto r = v2::set_memory(fd(), m);
    return r ? std::string("(ok)") : r.error().what();
  };
  config::MemoryResources m;
  m.swappiness = 10;
  EXPECT_EQ(err(m), "linux.resources.memory.swappiness: cgroup v2 has no per-cgroup swappiness");
  m = {};
  m.disable_oom_killer = true;
  EXPECT_EQ(err(m),
            "linux.resources.memory.disableOOMKiller: cgroup v2 cannot disable the OOM "
            "killer");
  m.disable_oom_killer = false;  // no-op values pass
  m.kernel_tcp = -1;
  m.use_hierarchy = true;
  m.kernel = 1 << 20;  // deprecated, ignored
  EXPECT_EQ(err(m), "(ok)");
  m = {};
  m.limit = 1 << 20;
  m.swap = 2 << 20;  // no memory.swap.max: swap accounting is off
  EXPECT_EQ(err(m), "linux.resources.memory.swap: swap accounting is not enabled on this host");
}

TEST_F(Writers, V2IoWeightsAndLimits) {
  files({{"io.weight", "default 100"}, {"io.max", ""}});
  config::BlockIoResources io;
  io.weight = 500;
  io.throttle_read_bps_device = {{8, 0, 1048576}};
  io.throttle_write_iops_device = {{8, 0, 0}};
  ASSERT_TRUE(v2::set_io(fd(), io));
  EXPECT_EQ(read("io.weight"), "4950");        // 1 + (500-10)*9999/990
  EXPECT_EQ(read("io.max"), "8:0 wiops=max");  // the last line written
  io = {};
  io.throttle_read_bps_device = {{8, 0, 1048576}};
  ASSERT_TRUE(v2::set_io(fd(), io));
  EXPECT_EQ(read("io.max"), "8:0 rbps=1048576");
  // BFQ takes the blkio scale unchanged, per device too.
  files({{"io.bfq.weight", "default 100"}});
  io = {};
  io.weight_device = {{8, 16, 200, std::nullopt}};
  ASSERT_TRUE(v2::set_io(fd(), io));
  EXPECT_EQ(read("io.bfq.weight"), "8:16 200");
  io.leaf_weight = 100;
  EXPECT_FALSE(v2::set_io(fd(), io));
}

TEST_F(Writers, V2PidsHugetlbUnified) {
  files({{"pids.max", "max"}, {"hugetlb.2MB.max", "max"}, {"memory.high", "max"}});
  ASSERT_TRUE(v2::set_pids(fd(), {0}));
  EXPECT_EQ(read("pids.max"), "max");
  ASSERT_TRUE(v2::set_pids(fd(), {64}));
  EXPECT_EQ(read("pids.max"), "64");
  ASSERT_TRUE(v2::set_hugetlb(fd(), {{"2MB", 2097152}}));
  EXPECT_EQ(read("hugetlb.2MB.max"), "2097152");
  ASSERT_TRUE(v2::set_unified(fd(), {{"memory.high", "1000000"}}));
  EXPECT_EQ(read("memory.high"), "1000000");
  auto r = v2::set_unified(fd(), {{"memory.oom.group", "1"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(),
            "linux.resources.unified[\"memory.oom.group\"]: the cgroup has no "
            "file memory.oom.group (is its controller available?)");
}

TEST(CgroupWants, NoOpValuesNeedNoController) {
  config::MemoryResources m;
  m.limit = -1;
  m.swap = 0;
  EXPECT_FALSE(wants_memory(m));
  m.limit = 1;
  EXPECT_TRUE(wants_memory(m));
  config::CpuResources c;
  c.quota = -1;
  c.shares = 0;
  EXPECT_FALSE(wants_cpu(c));
  c.cpus = "";
  EXPECT_FALSE(wants_cpuset(c));
  c.cpus = "0";
  EXPECT_TRUE(wants_cpuset(c));
  EXPECT_FALSE(wants_pids({-1}));
  EXPECT_TRUE(wants_pids({5}));
  config::NetworkResources n;
  n.class_id = 0;
  EXPECT_FALSE(wants_class_id(n));
  EXPECT_FALSE(wants_priorities(n));
  config::BlockIoResources b;
  EXPECT_FALSE(wants_block_io(b));
  b.throttle_read_bps_device = {{8, 0, 1}};
  EXPECT_TRUE(wants_block_io(b));
}

}  // namespace
}  // namespace husk::cgroup
