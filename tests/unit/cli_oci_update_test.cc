// husk-oci update's flags (cli/oci/update_flags.h) and ps's table filter
// (cli/oci/ps_filter.h): runc's rules, without a container.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/oci/ps_filter.h"
#include "cli/oci/update_flags.h"

namespace husk::oci {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

Result<config::Resources> from(const UpdateFlags& f) {
  std::vector<std::string> warnings;
  return resources_from_update_flags(f, warnings);
}

std::string error_of(const UpdateFlags& f) {
  auto r = from(f);
  return r ? "<no error>" : r.error().what();
}

TEST(OciUpdateFlags, NoFlagsChangeNothing) {
  auto r = from(UpdateFlags{});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->cpu);
  EXPECT_FALSE(r->memory);
  EXPECT_FALSE(r->pids);
  EXPECT_FALSE(r->block_io);
  EXPECT_THAT(r->devices, IsEmpty());
}

TEST(OciUpdateFlags, EveryCpuFlag) {
  UpdateFlags f;
  f.cpu_share = "512";
  f.cpu_period = "100000";
  f.cpu_quota = "-1";
  f.cpu_burst = "2000";
  f.cpu_rt_period = "1000000";
  f.cpu_rt_runtime = "950000";
  f.cpu_idle = "1";
  f.cpuset_cpus = "0-1";
  f.cpuset_mems = "0";
  auto r = from(f);
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_TRUE(r->cpu);
  EXPECT_EQ(r->cpu->shares, 512u);
  EXPECT_EQ(r->cpu->period, 100000u);
  EXPECT_EQ(r->cpu->quota, -1);
  EXPECT_EQ(r->cpu->burst, 2000u);
  EXPECT_EQ(r->cpu->realtime_period, 1000000u);
  EXPECT_EQ(r->cpu->realtime_runtime, 950000);
  EXPECT_EQ(r->cpu->idle, 1);
  EXPECT_EQ(r->cpu->cpus, "0-1");
  EXPECT_EQ(r->cpu->mems, "0");
  EXPECT_FALSE(r->memory);
}

TEST(OciUpdateFlags, QuotaAloneLeavesThePeriodAlone) {
  UpdateFlags f;
  f.cpu_quota = "50000";
  f.cpu_period = "0";  // runc: 0 is "unchanged"
  auto r = from(f);
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->cpu);
  EXPECT_EQ(r->cpu->quota, 50000);
  EXPECT_EQ(r->cpu->period, std::nullopt);
}

TEST(OciUpdateFlags, MemoryTakesUnitsAndMinusOne) {
  UpdateFlags f;
  f.memory = "64m";
  f.memory_reservation = "32M";
  f.memory_swap = "-1";
  auto r = from(f);
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_TRUE(r->memory);
  EXPECT_EQ(r->memory->limit, 64 << 20);
  EXPECT_EQ(r->memory->reservation, 32 << 20);
  EXPECT_EQ(r->memory->swap, -1);
  f = {};
  f.memory = "1073741824";
  r = from(f);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->memory->limit, 1 << 30);
  EXPECT_EQ(r->memory->swap, std::nullopt);
}

TEST(OciUpdateFlags, KernelMemoryIsParsedThenIgnoredWithRuncsWarning) {
  UpdateFlags f;
  f.kernel_memory = "10m";
  f.kernel_memory_tcp = "1m";
  std::vector<std::string> warnings;
  auto r = resources_from_update_flags(f, warnings);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->memory);
  EXPECT_THAT(warnings, ElementsAre(kKernelMemoryWarning));
  f.kernel_memory = "10x";
  EXPECT_EQ(error_of(f), "invalid value for kernel-memory: invalid size: '10x'");
}

TEST(OciUpdateFlags, PidsAndBlkioWeight) {
  UpdateFlags f;
  f.pids_limit = "100";
  f.blkio_weight = "500";
  auto r = from(f);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pids->limit, 100);
  EXPECT_EQ(r->block_io->weight, 500);
  f.pids_limit = "-1";
  EXPECT_EQ(from(f)->pids->limit, -1);
  f.pids_limit = "0";  // unchanged
  f.blkio_weight = "0";
  r = from(f);
  EXPECT_FALSE(r->pids);
  EXPECT_FALSE(r->block_io);
}

TEST(OciUpdateFlags, BadValuesNameTheFlag) {
  auto with = [](auto member, const char* value) {
    UpdateFlags f;
    f.*member = value;
    return error_of(f);
  };
  EXPECT_EQ(with(&UpdateFlags::memory, "12q"), "invalid value for memory: invalid size: '12q'");
  EXPECT_EQ(with(&UpdateFlags::memory_swap, "-2"),
            "invalid value for memory-swap: invalid size: '-2'");
  EXPECT_EQ(with(&UpdateFlags::cpu_quota, "x"),
            "invalid value for cpu-quota: \"x\" is not an integer");
  EXPECT_EQ(with(&UpdateFlags::cpu_period, "-5"),
            "invalid value for cpu-period: \"-5\" is not an unsigned integer");
  EXPECT_EQ(with(&UpdateFlags::cpu_share, ""),
            "invalid value for cpu-share: \"\" is not an unsigned integer");
  EXPECT_EQ(with(&UpdateFlags::pids_limit, "abc"),
            "invalid value for pids-limit: \"abc\" is not an integer");
  EXPECT_EQ(with(&UpdateFlags::blkio_weight, "5"),
            "invalid value for blkio-weight: 5 is not in the range 10..1000");
  EXPECT_EQ(with(&UpdateFlags::cpu_idle, "2"), "invalid value for cpu-idle: 2 is not 0 or 1");
  EXPECT_THAT(with(&UpdateFlags::cpuset_cpus, "0-"), HasSubstr("cpuset-cpus: \"0-\""));
  EXPECT_THAT(with(&UpdateFlags::cpuset_mems, "a"), HasSubstr("cpuset-mems: \"a\""));
  EXPECT_THAT(with(&UpdateFlags::l3_cache_schema, "L3:0=ff"), HasSubstr("Intel RDT"));
  EXPECT_THAT(with(&UpdateFlags::mem_bw_schema, "MB:0=20"), HasSubstr("Intel RDT"));
}

constexpr const char* kPsOutput =
    "UID          PID    PPID  C STIME TTY          TIME CMD\n"
    "root           1       0  0 10:00 ?        00:00:01 /sbin/init\n"
    "root        4242       1  0 10:01 ?        00:00:00 sleep 100\n"
    "root        4243    4242  0 10:01 ?        00:00:00 sh -c echo 1 4242\n";

TEST(OciPs, TableKeepsTheHeaderAndTheContainersLines) {
  auto t = filter_ps_output(kPsOutput, {4243, 4242});
  ASSERT_TRUE(t) << t.error().what();
  EXPECT_EQ(*t,
            "UID          PID    PPID  C STIME TTY          TIME CMD\n"
            "root        4242       1  0 10:01 ?        00:00:00 sleep 100\n"
            "root        4243    4242  0 10:01 ?        00:00:00 sh -c echo 1 4242\n");
  // The PID column is found by its title, wherever it is.
  t = filter_ps_output("  PID COMMAND\n    7 sh\n    8 ps\n", {8});
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, "  PID COMMAND\n    8 ps\n");
  t = filter_ps_output(kPsOutput, {});
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, "UID          PID    PPID  C STIME TTY          TIME CMD\n");
}

TEST(OciPs, TableErrors) {
  auto t = filter_ps_output("USER COMMAND\nroot sh\n", {1});
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().what(), "couldn't find PID field in ps output");
  t = filter_ps_output("PID CMD\nx sh\n", {1});
  ASSERT_FALSE(t);
  EXPECT_THAT(t.error().what(), HasSubstr("unable to parse pid"));
}

TEST(OciPs, JsonIsAnArrayOfPids) {
  EXPECT_EQ(pids_json({}), "[]");
  EXPECT_EQ(pids_json({1}), "[1]");
  EXPECT_EQ(pids_json({5, 17, 300}), "[5,17,300]");
}

}  // namespace
}  // namespace husk::oci
