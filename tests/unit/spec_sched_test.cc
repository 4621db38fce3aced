// process.scheduler, process.ioPriority, process.execCPUAffinity,
// linux.personality, linux.mountLabel and the refused linux fields: what
// spec::parse_config makes of good values and the one-line error of each bad
// one.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "spec/config.h"
#include "spec_test_util.h"

namespace husk::spec {
namespace {

using namespace husk::spec::testing;

TEST(SpecSched, SchedulerValues) {
  auto r = parse_with("/process/scheduler", Json::parse(R"({"policy": "SCHED_FIFO",
      "priority": 10, "flags": ["SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_KEEP_PARAMS"]})"));
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_TRUE(r->process.scheduler);
  EXPECT_EQ(r->process.scheduler->policy, 1u);
  EXPECT_EQ(r->process.scheduler->priority, 10u);
  EXPECT_EQ(r->process.scheduler->flags, 0x11u);
  EXPECT_EQ(r->process.scheduler->nice, 0);

  r = parse_with("/process/scheduler", {{"policy", "SCHED_BATCH"}, {"nice", -20}});
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->process.scheduler->policy, 3u);
  EXPECT_EQ(r->process.scheduler->nice, -20);

  r = parse_with("/process/scheduler", Json::parse(R"({"policy": "SCHED_DEADLINE",
      "runtime": 10000000, "deadline": 30000000, "period": 30000000,
      "flags": ["SCHED_FLAG_RECLAIM", "SCHED_FLAG_DL_OVERRUN"]})"));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->process.scheduler->policy, 6u);
  EXPECT_EQ(r->process.scheduler->runtime, 10000000u);
  EXPECT_EQ(r->process.scheduler->deadline, 30000000u);
  EXPECT_EQ(r->process.scheduler->period, 30000000u);
  EXPECT_EQ(r->process.scheduler->flags, 0x06u);

  r = parse_config(minimal().dump(), "/b");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->process.scheduler);
  EXPECT_FALSE(r->process.io_priority);
  EXPECT_FALSE(r->process.exec_cpus_initial);
  EXPECT_FALSE(r->process.exec_cpus_final);
  EXPECT_FALSE(r->personality);
}

TEST(SpecSched, SchedulerErrors) {
  const std::string s = "/process/scheduler";
  EXPECT_EQ(error_with(s, Json::object()),
            "config.json: process.scheduler.policy: field is required");
  EXPECT_EQ(error_with(s, {{"policy", "SCHED_FOO"}}),
            "config.json: process.scheduler.policy: unknown scheduling policy \"SCHED_FOO\"");
  EXPECT_EQ(error_with(s, {{"policy", "SCHED_ISO"}}),
            "config.json: process.scheduler.policy: SCHED_ISO is not implemented by Linux");
  EXPECT_EQ(error_with(s, {{"policy", "SCHED_OTHER"}, {"nice", 20}}),
            "config.json: process.scheduler.nice: 20 is outside -20..19");
  EXPECT_EQ(error_with(s, {{"policy", "SCHED_FIFO"}, {"priority", 1}, {"nice", 5}}),
            "config.json: process.scheduler.nice: SCHED_FIFO takes no nice value");
  EXPECT_EQ(error_with(s, {{"policy", "SCHED_RR"}}),
            "config.json: process.scheduler.priority: SCHED_RR needs a priority in 1..99, got 0");
  EXPECT_EQ(error_with(s, {{"policy", "SCHED_FIFO"}, {"priority", 100}}),
            "config.json: process.scheduler.priority: SCHED_FIFO needs a priority in 1..99, "
            "got 100");
  EXPECT_EQ(error_with(s, {{"policy", "SCHED_FIFO"}, {"priority", -1}}),
            "config.json: process.scheduler.priority: -1 is negative");
  EXPECT_EQ(error_with(s, {{"policy", "SCHED_OTHER"}, {"priority", 5}}),
            "config.json: process.scheduler.priority: only SCHED_FIFO and SCHED_RR take a "
            "priority");
  EXPECT_EQ(error_with(s, {{"policy", "SCHED_OTHER"}, {"flags", {"SCHED_FLAG_BOGUS"}}}),
            "config.json: process.scheduler.flags[0]: unknown scheduler flag "
            "\"SCHED_FLAG_BOGUS\"");
  EXPECT_EQ(error_with(s, {{"policy", "SCHED_OTHER"},
                           {"flags", {"SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_UTIL_CLAMP_MAX"}}}),
            "config.json: process.scheduler.flags[1]: SCHED_FLAG_UTIL_CLAMP_MAX is not "
            "supported by husk (the runtime-spec has no clamp value)");
  EXPECT_EQ(error_with(s, {{"policy", "SCHED_OTHER"}, {"flags", {"SCHED_FLAG_RECLAIM"}}}),
            "config.json: process.scheduler.flags[0]: SCHED_FLAG_RECLAIM applies to "
            "SCHED_DEADLINE only");
  EXPECT_EQ(error_with(s, {{"policy", "SCHED_OTHER"}, {"period", 1000}}),
            "config.json: process.scheduler.period: only SCHED_DEADLINE takes runtime, "
            "deadline and period");
  EXPECT_EQ(error_with(s, {{"policy", "SCHED_DEADLINE"}, {"runtime", 2000}, {"deadline", 1000}}),
            "config.json: process.scheduler: SCHED_DEADLINE needs 0 < runtime <= deadline <= "
            "period, got 2000 1000 0");
  EXPECT_EQ(error_with(s, {{"policy", "SCHED_DEADLINE"}}),
            "config.json: process.scheduler: SCHED_DEADLINE needs 0 < runtime <= deadline <= "
            "period, got 0 0 0");
  EXPECT_EQ(error_with(s, {{"policy", "SCHED_OTHER"}, {"runtime", -1}}),
            "config.json: process.scheduler.runtime: -1 is out of range");
  EXPECT_EQ(error_with(s, "SCHED_FIFO"),
            "config.json: process.scheduler: expected an object, got string");
}

TEST(SpecSched, IoPriority) {
  auto r = parse_with("/process/ioPriority", {{"class", "IOPRIO_CLASS_IDLE"}, {"priority", 7}});
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_TRUE(r->process.io_priority);
  EXPECT_EQ(r->process.io_priority->io_class, 3);
  EXPECT_EQ(r->process.io_priority->level, 7);
  r = parse_with("/process/ioPriority", {{"class", "IOPRIO_CLASS_RT"}, {"priority", 0}});
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->process.io_priority->io_class, 1);

  const std::string p = "/process/ioPriority";
  EXPECT_EQ(error_with(p, {{"class", "IOPRIO_CLASS_NONE"}, {"priority", 0}}),
            "config.json: process.ioPriority.class: unknown I/O priority class "
            "\"IOPRIO_CLASS_NONE\"");
  EXPECT_EQ(error_with(p, {{"class", "IOPRIO_CLASS_BE"}, {"priority", 8}}),
            "config.json: process.ioPriority.priority: 8 is outside 0..7");
  EXPECT_EQ(error_with(p, {{"class", "IOPRIO_CLASS_BE"}, {"priority", -1}}),
            "config.json: process.ioPriority.priority: -1 is outside 0..7");
  EXPECT_EQ(error_with(p, {{"class", "IOPRIO_CLASS_BE"}}),
            "config.json: process.ioPriority.priority: field is required");
  EXPECT_EQ(error_with(p, {{"priority", 1}}),
            "config.json: process.ioPriority.class: field is required");
}

TEST(SpecSched, ExecCpuAffinity) {
  auto r = parse_with("/process/execCPUAffinity", {{"initial", "1"}, {"final", " 0-1, 3,,64 "}});
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_TRUE(r->process.exec_cpus_initial);
  ASSERT_TRUE(r->process.exec_cpus_final);
  EXPECT_EQ(r->process.exec_cpus_initial->words, std::vector<uint64_t>{0x2});
  EXPECT_EQ(r->process.exec_cpus_final->words, (std::vector<uint64_t>{0xb, 0x1}));

  // Empty strings are "not given", as in runc.
  r = parse_with("/process/execCPUAffinity", {{"initial", ""}});
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_FALSE(r->process.exec_cpus_initial);
  EXPECT_FALSE(r->process.exec_cpus_final);

  const std::string a = "/process/execCPUAffinity";
  EXPECT_EQ(error_with(a, {{"final", "0-x"}}),
            "config.json: process.execCPUAffinity.final: \"x\" is not a CPU number");
  EXPECT_EQ(error_with(a, {{"initial", "3-1"}}),
            "config.json: process.execCPUAffinity.initial: invalid range \"3-1\"");
  EXPECT_EQ(error_with(a, {{"initial", "-1"}}),
            "config.json: process.execCPUAffinity.initial: \"\" is not a CPU number");
  EXPECT_EQ(error_with(a, {{"final", "8192"}}),
            "config.json: process.execCPUAffinity.final: CPU 8192 is beyond 8191, the most "
            "Linux supports");
  EXPECT_EQ(error_with(a, {{"final", " , "}}),
            "config.json: process.execCPUAffinity.final: no CPUs in \" , \"");
  EXPECT_EQ(error_with(a, {{"final", 1}}),
            "config.json: process.execCPUAffinity.final: expected a string, got number");
}

TEST(SpecSched, ProcessJsonTakesTheSameFields) {
  auto p = parse_process_json(R"({"args": ["true"], "cwd": "/",
      "scheduler": {"policy": "SCHED_IDLE"}, "ioPriority": {"class": "IOPRIO_CLASS_BE",
      "priority": 2}, "execCPUAffinity": {"final": "1"}})");
  ASSERT_TRUE(p) << p.error().what();
  EXPECT_EQ(p->scheduler->policy, 5u);
  EXPECT_EQ(p->io_priority->level, 2);
  EXPECT_EQ(p->exec_cpus_final->words, std::vector<uint64_t>{0x2});
  p = parse_process_json(R"({"args": ["true"], "cwd": "/", "scheduler": {"policy": "X"}})");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().what(), "process.json: scheduler.policy: unknown scheduling policy \"X\"");
}

TEST(SpecSched, Personality) {
  auto r = parse_with("/linux/personality", {{"domain", "LINUX32"}});
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->personality, 8u);
  r = parse_with("/linux/personality", {{"domain", "LINUX"}, {"flags", Json::array()}});
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->personality, 0u);

  EXPECT_EQ(error_with("/linux/personality", {{"domain", "LINUX64"}}),
            "config.json: linux.personality.domain: unknown execution domain \"LINUX64\", "
            "expected \"LINUX\" or \"LINUX32\"");
  EXPECT_EQ(error_with("/linux/personality", Json::object()),
            "config.json: linux.personality.domain: field is required");
  EXPECT_EQ(error_with("/linux/personality",
                       {{"domain", "LINUX"}, {"flags", {"ADDR_NO_RANDOMIZE"}}}),
            "config.json: linux.personality.flags[0]: personality flag \"ADDR_NO_RANDOMIZE\" "
            "is not supported (the runtime-spec defines none)");
}

TEST(SpecSched, UnsupportedLinuxFieldsAreRefused) {
  EXPECT_EQ(error_with("/linux/intelRdt", {{"closID", "guaranteed_group"}}),
            "config.json: linux.intelRdt: not supported by husk");
  EXPECT_EQ(error_with("/linux/intelRdt", Json::object()),
            "config.json: linux.intelRdt: not supported by husk");
  EXPECT_EQ(error_with("/linux/memoryPolicy", {{"mode", "MPOL_INTERLEAVE"}, {"nodes", "0"}}),
            "config.json: linux.memoryPolicy: not supported by husk");
  EXPECT_EQ(error_with("/linux/netDevices", {{"eth0", {{"name", "ctr0"}}}}),
            "config.json: linux.netDevices: not supported by husk");
  EXPECT_EQ(error_with("/linux/netDevices", Json::array()),
            "config.json: linux.netDevices: expected an object, got array");
  // Absent (null) or an empty map asks for nothing.
  EXPECT_EQ(error_with("/linux/netDevices", Json::object()), "<parsed>");
  EXPECT_EQ(error_with("/linux/intelRdt", nullptr), "<parsed>");
  EXPECT_EQ(error_with("/linux/memoryPolicy", nullptr), "<parsed>");
}

TEST(SpecSched, MountLabelIsKept) {
  auto r = parse_with("/linux/mountLabel", "system_u:object_r:container_file_t:s0:c1,c2");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->mount_label, "system_u:object_r:container_file_t:s0:c1,c2");
}

}  // namespace
}  // namespace husk::spec
