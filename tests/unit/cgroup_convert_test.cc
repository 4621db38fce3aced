#include <gtest/gtest.h>

#include "cgroup/convert.h"
#include "cgroup/text.h"

namespace husk::cgroup {
namespace {

TEST(CgroupConvert, SharesToWeightFollowsRuncFormula) {
  EXPECT_EQ(shares_to_weight(0), 0u);
  EXPECT_EQ(shares_to_weight(2), 1u);
  EXPECT_EQ(shares_to_weight(1024), 39u);  // 1 + 1022*9999/262142
  EXPECT_EQ(shares_to_weight(262144), 10000u);
  // Out of range values are clamped instead of wrapping around.
  EXPECT_EQ(shares_to_weight(1), 1u);
  EXPECT_EQ(shares_to_weight(1'000'000), 10000u);
}

TEST(CgroupConvert, CpuMaxFromQuotaAndPeriod) {
  EXPECT_EQ(cpu_max_value(50000, 100000), "50000 100000");
  EXPECT_EQ(cpu_max_value(-1, 100000), "max 100000");
  EXPECT_EQ(cpu_max_value(std::nullopt, 100000), "max 100000");
  EXPECT_EQ(cpu_max_value(50000, std::nullopt), "50000");
  EXPECT_EQ(cpu_max_value(-1, std::nullopt), "max");
  EXPECT_EQ(cpu_max_value(std::nullopt, std::nullopt), std::nullopt);
  EXPECT_EQ(cpu_max_value(0, 0), std::nullopt);
}

TEST(CgroupConvert, CpuMaxParsesBothForms) {
  auto a = parse_cpu_max("max 100000\n");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->quota, -1);
  EXPECT_EQ(a->period, 100000u);
  auto b = parse_cpu_max("25000 50000");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->quota, 25000);
  EXPECT_EQ(b->period, 50000u);
  EXPECT_FALSE(parse_cpu_max("lots 100000"));
  EXPECT_FALSE(parse_cpu_max(""));
}

TEST(CgroupConvert, MemoryLimitSpellings) {
  EXPECT_EQ(memory_limit_v2(-1), "max");
  EXPECT_EQ(memory_limit_v2(67108864), "67108864");
  EXPECT_EQ(memory_limit_v1(-1), "-1");
  EXPECT_EQ(memory_limit_v1(4096), "4096");
}

TEST(CgroupConvert, SwapIsMemoryPlusSwapInOciButSwapOnlyInV2) {
  auto v = [](std::optional<int64_t> swap, std::optional<int64_t> limit) {
    return swap_max_v2(swap, limit);
  };
  EXPECT_EQ(*v(200, 100), std::optional<int64_t>(100));
  EXPECT_EQ(*v(100, 100), std::optional<int64_t>(0));  // no swap at all
  EXPECT_EQ(*v(-1, 100), std::optional<int64_t>(-1));
  EXPECT_EQ(*v(std::nullopt, -1), std::optional<int64_t>(-1));  // unlimited memory lifts swap
  EXPECT_EQ(*v(std::nullopt, 100), std::nullopt);
  EXPECT_EQ(*v(0, 100), std::nullopt);
  auto below = v(50, 100);
  ASSERT_FALSE(below);
  EXPECT_NE(below.error().message.find("must not be below"), std::string::npos);
  EXPECT_FALSE(v(200, std::nullopt));  // swap without a memory limit
  EXPECT_FALSE(v(200, -1));
}

TEST(CgroupConvert, PidsMax) {
  EXPECT_EQ(pids_max_value(100), "100");
  EXPECT_EQ(pids_max_value(0), "max");
  EXPECT_EQ(pids_max_value(-1), "max");
}

TEST(CgroupConvert, BlkioWeightToIoWeight) {
  EXPECT_EQ(blkio_weight_to_io_weight(0), 0u);
  EXPECT_EQ(blkio_weight_to_io_weight(10), 1u);
  EXPECT_EQ(blkio_weight_to_io_weight(500), 1 + 490 * 9999 / 990u);
  EXPECT_EQ(blkio_weight_to_io_weight(1000), 10000u);
  EXPECT_EQ(blkio_weight_to_io_weight(5), 1u);  // clamped
}

TEST(CgroupConvert, DeviceLines) {
  EXPECT_EQ(io_max_line(8, 0, "rbps", 1048576), "8:0 rbps=1048576");
  EXPECT_EQ(io_max_line(8, 16, "wiops", 0), "8:16 wiops=max");
  EXPECT_EQ(device_value_line(8, 0, 500), "8:0 500");
  EXPECT_EQ(device_rule_line({true, 'c', 1, 3, "rwm"}), "c 1:3 rwm");
  EXPECT_EQ(device_rule_line({false, 'a', std::nullopt, std::nullopt, "rwm"}), "a *:* rwm");
  EXPECT_EQ(device_rule_line({true, 'b', 8, std::nullopt, "r"}), "b 8:* r");
  EXPECT_EQ(device_rule_line({true, 'c', std::nullopt, std::nullopt, "m"}), "c *:* m");
}

TEST(CgroupConvert, DefaultDevicesIncludeNullAndPts) {
  auto rules = default_device_rules();
  bool null = false, pts = false;
  for (const auto& r : rules) {
    EXPECT_TRUE(r.allow);
    if (r.type == 'c' && r.major == 1 && r.minor == 3) null = true;
    if (r.type == 'c' && r.major == 136 && !r.minor) pts = true;
  }
  EXPECT_TRUE(null);
  EXPECT_TRUE(pts);
}

// As runc: a default device the config lists itself (by path) gets no rule.
TEST(CgroupConvert, DefaultDevicesLeaveOutWhatTheConfigLists) {
  EXPECT_EQ(default_device_rules().size(), 10u);
  auto rules = default_device_rules({"/dev/null", "/dev/kmsg"});
  EXPECT_EQ(rules.size(), 9u);
  for (const auto& r : rules) EXPECT_FALSE(r.type == 'c' && r.major == 1 && r.minor == 3);
}

TEST(CgroupConvert, HugetlbFileNames) {
  EXPECT_EQ(hugetlb_limit_file_v1("2MB"), "hugetlb.2MB.limit_in_bytes");
  EXPECT_EQ(hugetlb_rsvd_file_v1("1GB"), "hugetlb.1GB.rsvd.limit_in_bytes");
  EXPECT_EQ(hugetlb_max_file_v2("2MB"), "hugetlb.2MB.max");
  EXPECT_EQ(hugetlb_rsvd_file_v2("2MB"), "hugetlb.2MB.rsvd.max");
  EXPECT_EQ(hugetlb_size_name(2048), "2MB");
  EXPECT_EQ(hugetlb_size_name(1048576), "1GB");
  EXPECT_EQ(hugetlb_size_name(64), "64KB");
}

TEST(CgroupConvert, RdmaLine) {
  EXPECT_EQ(rdma_max_line("mlx5_0", {2, std::nullopt}), "mlx5_0 hca_handle=2 hca_object=max");
}

TEST(CgroupText, CpuListsAndKeyedFiles) {
  auto l = parse_cpu_list("0-2,5\n");
  ASSERT_TRUE(l);
  EXPECT_EQ(*l, (std::vector<uint16_t>{0, 1, 2, 5}));
  EXPECT_FALSE(parse_cpu_list("3-1"));
  EXPECT_FALSE(parse_cpu_list("x"));
  auto m = parse_flat_keyed("usage_usec 10\nnr_periods 3\nbad\n");
  EXPECT_EQ(m["usage_usec"], 10u);
  EXPECT_EQ(m["nr_periods"], 3u);
  EXPECT_EQ(m.count("bad"), 0u);
}

}  // namespace
}  // namespace husk::cgroup
