// spec::resources_to_json is the inverse of spec::parse_resources.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "spec/resources.h"
#include "spec/resources_out.h"

namespace husk::spec {
namespace {

// Every field of linux.resources, in the form the parser keeps (explicit
// type and access on device rules, no -1 wildcards).
constexpr const char* kEveryField = R"({
  "devices": [{"allow": false, "type": "a", "access": "rwm"},
              {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"},
              {"allow": true, "type": "b", "minor": 0, "access": "m"}],
  "memory": {"limit": 67108864, "reservation": 1024, "swap": -1, "kernel": 0,
             "kernelTCP": 4096, "swappiness": 10, "disableOOMKiller": true,
             "useHierarchy": true, "checkBeforeUpdate": false},
  "cpu": {"shares": 512, "quota": 50000, "burst": 1000, "period": 100000,
          "realtimeRuntime": 950, "realtimePeriod": 1000, "cpus": "0-1", "mems": "0",
          "idle": 1},
  "pids": {"limit": 100},
  "blockIO": {"weight": 500, "leafWeight": 300,
              "weightDevice": [{"major": 8, "minor": 0, "weight": 600, "leafWeight": 100},
                               {"major": 8, "minor": 16, "weight": 200}],
              "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
              "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 2}],
              "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 3}],
              "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 4}]},
  "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}],
  "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500}]},
  "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}, "mlx5_2": {"hcaHandles": 1}},
  "unified": {"memory.high": "1000000", "io.weight": "default 100"}
})";

TEST(SpecResourcesOut, EveryFieldRoundTrips) {
  auto r = parse_resources_json(kEveryField);
  ASSERT_TRUE(r) << r.error().what();
  std::string out = resources_to_json(*r);
  EXPECT_EQ(nlohmann::json::parse(out), nlohmann::json::parse(kEveryField)) << out;
}

TEST(SpecResourcesOut, AbsentStaysAbsent) {
  EXPECT_EQ(resources_to_json(config::Resources{}), "{}");
  config::Resources r;
  r.memory = config::MemoryResources{};
  r.memory->limit = 16 << 20;
  r.pids = config::PidsResources{};
  EXPECT_EQ(resources_to_json(r), R"({"memory":{"limit":16777216},"pids":{}})");
  auto back = parse_resources_json(resources_to_json(r));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->memory->limit, 16 << 20);
  EXPECT_EQ(back->memory->swap, std::nullopt);
  EXPECT_FALSE(back->cpu);
  ASSERT_TRUE(back->pids);
  EXPECT_EQ(back->pids->limit, std::nullopt);
}

}  // namespace
}  // namespace husk::spec
