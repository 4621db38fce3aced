#include <gtest/gtest.h>

#include "spec/resources.h"

namespace husk::spec {
namespace {

Result<config::Resources> parse(std::string_view json) {
  return parse_resources_json(json, "config.json", "linux.resources");
}

TEST(SpecResources, EveryGroup) {
  auto r = parse(R"({
    "devices": [{"allow": false, "access": "rwm"},
                {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"},
                {"allow": true, "type": "b", "major": -1, "minor": 0}],
    "memory": {"limit": 67108864, "reservation": 1024, "swap": -1, "kernel": 0,
               "kernelTCP": 4096, "swappiness": 10, "disableOOMKiller": true,
               "useHierarchy": true, "checkBeforeUpdate": false},
    "cpu": {"shares": 512, "quota": 50000, "burst": 1000, "period": 100000,
            "realtimeRuntime": 950, "realtimePeriod": 1000, "cpus": "0-1", "mems": "0",
            "idle": 1},
    "pids": {"limit": 100},
    "blockIO": {"weight": 500, "leafWeight": 300,
                "weightDevice": [{"major": 8, "minor": 0, "weight": 600, "leafWeight": 100}],
                "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 2}],
                "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 3}],
                "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 4}]},
    "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}],
    "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500}]},
    "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}},
    "unified": {"memory.high": "1000000", "io.weight": "default 100"}
  })");
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_EQ(r->devices.size(), 3u);
  EXPECT_FALSE(r->devices[0].allow);
  EXPECT_EQ(r->devices[0].type, 'a');
  EXPECT_EQ(r->devices[0].access, "rwm");
  EXPECT_EQ(r->devices[1].type, 'c');
  EXPECT_EQ(r->devices[1].major, 1);
  EXPECT_EQ(r->devices[1].access, "rw");
  EXPECT_FALSE(r->devices[2].major);  // -1 is the wildcard
  EXPECT_EQ(r->devices[2].access, "rwm");
  ASSERT_TRUE(r->memory);
  EXPECT_EQ(r->memory->limit, 67108864);
  EXPECT_EQ(r->memory->swap, -1);
  EXPECT_EQ(r->memory->kernel_tcp, 4096);
  EXPECT_EQ(r->memory->swappiness, 10u);
  EXPECT_EQ(r->memory->disable_oom_killer, true);
  EXPECT_EQ(r->memory->check_before_update, false);
  ASSERT_TRUE(r->cpu);
  EXPECT_EQ(r->cpu->shares, 512u);
  EXPECT_EQ(r->cpu->quota, 50000);
  EXPECT_EQ(r->cpu->burst, 1000u);
  EXPECT_EQ(r->cpu->realtime_runtime, 950);
  EXPECT_EQ(r->cpu->cpus, "0-1");
  EXPECT_EQ(r->cpu->idle, 1);
  EXPECT_EQ(r->pids->limit, 100);
  ASSERT_TRUE(r->block_io);
  EXPECT_EQ(r->block_io->weight, 500);
  EXPECT_EQ(r->block_io->weight_device.at(0).leaf_weight, 100);
  EXPECT_EQ(r->block_io->throttle_read_bps_device.at(0).rate, 1048576u);
  EXPECT_EQ(r->block_io->throttle_write_iops_device.at(0).rate, 4u);
  EXPECT_EQ(r->hugepage_limits.at(0).page_size, "2MB");
  EXPECT_EQ(r->network->class_id, 1048577u);
  EXPECT_EQ(r->network->priorities.at(0).name, "eth0");
  EXPECT_EQ(r->rdma.at("mlx5_1").hca_objects, 10000u);
  EXPECT_EQ(r->unified.at("io.weight"), "default 100");
}

TEST(SpecResources, AbsentGroupsStayEmpty) {
  auto r = parse(R"({"pids": {"limit": 5}})");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->memory);
  EXPECT_FALSE(r->cpu);
  EXPECT_TRUE(r->pids);
  EXPECT_TRUE(r->devices.empty());
  auto empty = parse("");
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->pids);
  auto nulls = parse(R"({"memory": {"limit": null}, "cpu": null})");
  ASSERT_TRUE(nulls);
  EXPECT_TRUE(nulls->memory);
  EXPECT_FALSE(nulls->memory->limit);
  EXPECT_FALSE(nulls->cpu);
}

TEST(SpecResources, ErrorsNameTheJsonPath) {
  auto e = [](std::string_view json) {
    auto r = parse(json);
    return r ? std::string("(parsed)") : r.error().what();
  };
  EXPECT_EQ(e(R"({"memory": {"limit": "64m"}})"),
            "config.json: linux.resources.memory.limit: expected a number, got string");
  EXPECT_EQ(
      e(R"({"devices": [{"allow": true, "type": "x"}]})"),
      "config.json: linux.resources.devices[0].type: device type \"x\" is not one of a, b, c");
  EXPECT_EQ(e(R"({"devices": [{"type": "c"}]})"),
            "config.json: linux.resources.devices[0].allow: field is required");
  EXPECT_EQ(e(R"({"devices": [{"allow": true, "access": "rwx"}]})"),
            "config.json: linux.resources.devices[0].access: access \"rwx\" is not a subset of "
            "\"rwm\"");
  // "a" reads as all three on a deny rule only (runc's "rwa" in its own tests).
  EXPECT_EQ(e(R"({"devices": [{"allow": true, "access": "rwa"}]})"),
            "config.json: linux.resources.devices[0].access: access \"rwa\" is not a subset of "
            "\"rwm\"");
  auto deny = parse(R"({"devices": [{"allow": false, "type": "c", "major": 1, "minor": 11,
                                      "access": "ra"}]})");
  ASSERT_TRUE(deny) << deny.error().what();
  EXPECT_EQ(deny->devices.at(0).access, "rwm");
  EXPECT_EQ(e(R"({"cpu": {"shares": -5}})"),
            "config.json: linux.resources.cpu.shares: -5 is out of range");
  EXPECT_EQ(e(R"({"hugepageLimits": [{"pageSize": "2M", "limit": 1}]})"),
            "config.json: linux.resources.hugepageLimits[0].pageSize: page size \"2M\" is not "
            "like \"2MB\" or \"1GB\"");
  EXPECT_EQ(e(R"({"blockIO": {"weightDevice": [{"minor": 0}]}})"),
            "config.json: linux.resources.blockIO.weightDevice[0].major: field is required");
  EXPECT_EQ(e(R"({"unified": {"../x": "1"}})"),
            "config.json: linux.resources.unified[\"../x\"]: \"../x\" is not a cgroup file name");
  EXPECT_EQ(e(R"({"memory": {"swappiness": 101}})"),
            "config.json: linux.resources.memory.swappiness: 101 is not in the range 0..100");
  EXPECT_EQ(e(R"({"pids": 3})"),
            "config.json: linux.resources.pids: expected an object, got number");
  EXPECT_EQ(e("[1]"), "config.json: linux.resources: expected an object, got array");
}

TEST(SpecResources, UpdateFileHasNoPrefix) {
  auto r = parse_resources_json(R"({"memory": {"limit": true}})", "resources");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "resources: memory.limit: expected a number, got boolean");
  auto bad = parse_resources_json("{", "resources");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().what().rfind("resources: invalid JSON", 0), 0u);
}

}  // namespace
}  // namespace husk::spec
