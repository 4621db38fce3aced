#include <gtest/gtest.h>
#include <unistd.h>

#include "base/unique_fd.h"
#include "cgroup/stats.h"
#include "cgroup_test_util.h"

namespace husk::cgroup {
namespace {

using testing::FixtureDir;

TEST(CgroupStats, V1Files) {
  FixtureDir d;
  d.write("cpuacct.usage", "46957949\n");
  d.write("cpuacct.usage_percpu", "9468467 37489482 \n");
  d.write("cpuacct.usage_all", "cpu user system\n0 0 4000000\n1 8000000 28000000\n");
  d.write("cpuacct.stat", "user 0\nsystem 3\n");
  d.write("cpu.stat", "nr_periods 12\nnr_throttled 5\nthrottled_time 777\n");
  d.write("memory.usage_in_bytes", "667648\n");
  d.write("memory.max_usage_in_bytes", "2514944\n");
  d.write("memory.limit_in_bytes", "67108864\n");
  d.write("memory.failcnt", "2\n");
  d.write("memory.stat", "cache 4096\nrss 53248\n");
  d.write("pids.current", "3\n");
  d.write("pids.max", "max\n");
  d.write("blkio.throttle.io_service_bytes_recursive", "8:0 Read 4096\n8:0 Write 0\nTotal 4096\n");
  d.write("hugetlb.2MB.limit_in_bytes", "4194304\n");
  d.write("hugetlb.2MB.rsvd.limit_in_bytes", "4194304\n");
  d.write("hugetlb.2MB.usage_in_bytes", "2097152\n");
  d.write("hugetlb.2MB.failcnt", "1\n");
  UniqueFd fd(d.open());
  Stats s;
  ASSERT_TRUE(v1::read_cpuacct(fd.get(), s.cpu));
  ASSERT_TRUE(v1::read_cpu(fd.get(), s.cpu));
  ASSERT_TRUE(v1::read_memory(fd.get(), s.memory));
  ASSERT_TRUE(v1::read_pids(fd.get(), s.pids));
  ASSERT_TRUE(v1::read_blkio(fd.get(), s.blkio));
  ASSERT_TRUE(v1::read_hugetlb(fd.get(), s.hugetlb));
  EXPECT_EQ(s.cpu.usage.total, 46957949u);
  EXPECT_EQ(s.cpu.usage.percpu, (std::vector<uint64_t>{9468467, 37489482}));
  EXPECT_EQ(s.cpu.usage.percpu_kernel, (std::vector<uint64_t>{4000000, 28000000}));
  EXPECT_EQ(s.cpu.usage.percpu_user, (std::vector<uint64_t>{0, 8000000}));
  EXPECT_EQ(s.cpu.usage.kernel, 3 * (1000000000u / ::sysconf(_SC_CLK_TCK)));
  EXPECT_EQ(s.cpu.throttling.throttled_periods, 5u);
  EXPECT_EQ(s.cpu.throttling.throttled_time, 777u);
  EXPECT_EQ(s.memory.cache, 4096u);
  EXPECT_EQ(s.memory.usage.usage, 667648u);
  EXPECT_EQ(s.memory.usage.max, 2514944u);
  EXPECT_EQ(s.memory.usage.limit, 67108864u);
  EXPECT_EQ(s.memory.usage.failcnt, 2u);
  EXPECT_EQ(s.memory.swap.usage, 0u);  // no memsw files: left empty
  EXPECT_EQ(s.pids.current, 3u);
  EXPECT_EQ(s.pids.limit, 0u);  // "max" reads as no limit, as runc reports it
  ASSERT_EQ(s.blkio.io_service_bytes_recursive.size(), 2u);
  EXPECT_EQ(s.blkio.io_service_bytes_recursive[0].op, "Read");
  EXPECT_EQ(s.blkio.io_service_bytes_recursive[0].value, 4096u);
  ASSERT_EQ(s.hugetlb.size(), 1u);  // the rsvd file is not another page size
  EXPECT_EQ(s.hugetlb["2MB"].usage, 2097152u);
  EXPECT_EQ(s.hugetlb["2MB"].failcnt, 1u);
}

TEST(CgroupStats, V2Files) {
  FixtureDir d;
  d.write("cpu.stat",
          "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\n"
          "nr_throttled 2\nthrottled_usec 30\n");
  d.write("memory.current", "1048576\n");
  d.write("memory.max", "max\n");
  d.write("memory.peak", "2097152\n");
  d.write("memory.events", "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n");
  d.write("memory.swap.current", "4096\n");
  d.write("memory.swap.max", "max\n");
  d.write("memory.stat", "anon 1000\nfile 2000\n");
  d.write("io.stat", "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n");
  d.write("hugetlb.2MB.max", "max\n");
  d.write("hugetlb.2MB.current", "0\n");
  d.write("hugetlb.2MB.events", "max 4\n");
  d.write("hugetlb.2MB.rsvd.max", "max\n");
  UniqueFd fd(d.open());
  Stats s;
  ASSERT_TRUE(v2::read_cpu(fd.get(), s.cpu));
  ASSERT_TRUE(v2::read_memory(fd.get(), s.memory));
  ASSERT_TRUE(v2::read_io(fd.get(), s.blkio));
  ASSERT_TRUE(v2::read_hugetlb(fd.get(), s.hugetlb));
  EXPECT_EQ(s.cpu.usage.total, 1500000u);
  EXPECT_EQ(s.cpu.usage.user, 1000000u);
  EXPECT_EQ(s.cpu.usage.kernel, 500000u);
  EXPECT_EQ(s.cpu.throttling.throttled_time, 30000u);
  EXPECT_EQ(s.memory.cache, 2000u);
  EXPECT_EQ(s.memory.usage.usage, 1048576u);
  EXPECT_EQ(s.memory.usage.limit, UINT64_MAX);
  EXPECT_EQ(s.memory.usage.max, 2097152u);
  EXPECT_EQ(s.memory.usage.failcnt, 7u);
  EXPECT_EQ(s.memory.swap.usage, 1048576u + 4096u);  // memory+swap, like v1
  EXPECT_EQ(s.memory.swap.limit, UINT64_MAX);
  ASSERT_EQ(s.blkio.io_service_bytes_recursive.size(), 2u);
  EXPECT_EQ(s.blkio.io_service_bytes_recursive[1].op, "Write");
  EXPECT_EQ(s.blkio.io_service_bytes_recursive[1].value, 200u);
  EXPECT_EQ(s.blkio.io_serviced_recursive[0].value, 1u);
  ASSERT_EQ(s.hugetlb.size(), 1u);
  EXPECT_EQ(s.hugetlb["2MB"].failcnt, 4u);
}

TEST(CgroupStats, BlkioLines) {
  auto e = parse_blkio_lines("8:0 Read 1\n8:16 Async 2\n8:0 77\nTotal 3\nbad line here x\n");
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[1].minor, 16u);
  EXPECT_EQ(e[1].op, "Async");
  EXPECT_EQ(e[2].op, "");
  EXPECT_EQ(e[2].value, 77u);
}

TEST(CgroupStats, JsonMatchesRuncsShape) {
  Stats s;
  s.cpu.usage.total = 100;
  s.cpu.usage.percpu = {60, 40};
  s.cpu.usage.kernel = 30;
  s.cpu.throttling.periods = 1;
  s.cpuset.cpus = {0, 1};
  s.cpuset.mems = {0};
  s.cpuset.sched_load_balance = 1;
  s.cpuset.sched_relax_domain_level = -1;
  s.memory.usage = {67108864, 667648, 2514944, 0};
  s.memory.raw = {{"cache", 0}, {"rss", 53248}};
  s.pids = {1, 50};
  s.blkio.io_service_bytes_recursive = {{8, 0, "Read", 4096}};
  s.hugetlb["2MB"] = {0, 0, 0};
  EXPECT_EQ(stats_to_json(s),
            R"({"cpu":{"usage":{"total":100,"percpu":[60,40],"kernel":30,"user":0},)"
            R"("throttling":{"periods":1}},)"
            R"("cpuset":{"cpus":[0,1],"cpu_exclusive":0,"mems":[0],"mem_hardwall":0,)"
            R"("mem_exclusive":0,"memory_migrate":0,"memory_spread_page":0,)"
            R"("memory_spread_slab":0,"memory_pressure":0,"sched_load_balance":1,)"
            R"("sched_relax_domain_level":-1},)"
            R"("memory":{"usage":{"limit":67108864,"usage":667648,"max":2514944,"failcnt":0},)"
            R"("swap":{"limit":0,"failcnt":0},"kernel":{"limit":0,"failcnt":0},)"
            R"("kernelTCP":{"limit":0,"failcnt":0},"raw":{"cache":0,"rss":53248}},)"
            R"("pids":{"current":1,"limit":50},)"
            R"("blkio":{"ioServiceBytesRecursive":[{"major":8,"op":"Read","value":4096}]},)"
            R"("hugetlb":{"2MB":{"failcnt":0}},"intel_rdt":{},"network_interfaces":null})");
}

}  // namespace
}  // namespace husk::cgroup
