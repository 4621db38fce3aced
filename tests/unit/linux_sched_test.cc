// linux/scheduling.h: cpu_list, the form messages name CPU sets in.
#include <gtest/gtest.h>

#include "linux/scheduling.h"

namespace husk::linux {
namespace {

config::CpuSet cpus(std::vector<uint64_t> words) { return config::CpuSet{std::move(words)}; }

TEST(LinuxSched, CpuListIsTheKernelsForm) {
  EXPECT_EQ(cpu_list(cpus({0x1})), "0");
  EXPECT_EQ(cpu_list(cpus({0xb, 0x1})), "0-1,3,64");
  EXPECT_EQ(cpu_list(cpus({0, 0x8000000000000000})), "127");
  EXPECT_EQ(cpu_list(cpus({~uint64_t{0}, 0x3})), "0-65");
  EXPECT_EQ(cpu_list(cpus({})), "");
}

}  // namespace
}  // namespace husk::linux
