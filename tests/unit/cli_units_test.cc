// Value syntaxes the CLIs share (front/units.h): sizes as go-units'
// RAMInBytes reads them, Go durations, integers, cpuset lists.
#include <gtest/gtest.h>

#include "base/time.h"
#include "front/units.h"

namespace husk::cli {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TEST(CliUnits, RamBytesTakeDockersUnitsInPowersOf1024) {
  EXPECT_EQ(parse_ram_bytes("0"), 0);
  EXPECT_EQ(parse_ram_bytes("512"), 512);
  EXPECT_EQ(parse_ram_bytes("1k"), 1024);
  EXPECT_EQ(parse_ram_bytes("64m"), 64 << 20);
  EXPECT_EQ(parse_ram_bytes("64M"), 64 << 20);
  EXPECT_EQ(parse_ram_bytes("64mb"), 64 << 20);
  EXPECT_EQ(parse_ram_bytes("64MiB"), 64 << 20);
  EXPECT_EQ(parse_ram_bytes("64 MB"), 64 << 20);
  EXPECT_EQ(parse_ram_bytes("1g"), int64_t{1} << 30);
  EXPECT_EQ(parse_ram_bytes("2t"), int64_t{2} << 40);
  EXPECT_EQ(parse_ram_bytes("1p"), int64_t{1} << 50);
  EXPECT_EQ(parse_ram_bytes("1.5g"), int64_t{3} << 29);
  EXPECT_EQ(parse_ram_bytes("0.5k"), 512);
  EXPECT_EQ(parse_ram_bytes("10b"), 10);
  EXPECT_EQ(parse_ram_bytes("10 "), 10);  // the regex's optional space, then nothing
  EXPECT_EQ(parse_ram_bytes("1.1k"), 1126);  // truncated, as Go's int64(float)
}

TEST(CliUnits, RamBytesRejectWhatGoUnitsRejects) {
  for (const char* bad : {"", "12q", "-1", "m", "1.", ".5m", "1  m", "1mm", "1e3", "0x10",
                          "1.2.3", "99999999999p"})
    EXPECT_EQ(parse_ram_bytes(bad), std::nullopt) << bad;
}

TEST(CliUnits, GoDurations) {
  EXPECT_EQ(parse_go_duration("5s"), seconds(5));
  EXPECT_EQ(parse_go_duration("250ms"), milliseconds(250));
  EXPECT_EQ(parse_go_duration("1m30s"), seconds(90));
  EXPECT_EQ(parse_go_duration("1.5s"), milliseconds(1500));
  EXPECT_EQ(parse_go_duration("2h"), seconds(7200));
  EXPECT_EQ(parse_go_duration("100us"), nanoseconds(100000));
  EXPECT_EQ(parse_go_duration("100\xC2\xB5s"), nanoseconds(100000));
  EXPECT_EQ(parse_go_duration("7ns"), nanoseconds(7));
  EXPECT_EQ(parse_go_duration("0"), nanoseconds(0));
  EXPECT_EQ(parse_go_duration("-1s"), seconds(-1));
  for (const char* bad : {"", "5", "s", "5x", "5 s", "1s5", "--1s", "."})
    EXPECT_EQ(parse_go_duration(bad), std::nullopt) << bad;
}

TEST(CliUnits, Integers) {
  EXPECT_EQ(parse_int64("0"), 0);
  EXPECT_EQ(parse_int64("-1"), -1);
  EXPECT_EQ(parse_int64("+7"), 7);
  EXPECT_EQ(parse_int64("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(parse_int64("-9223372036854775808"), INT64_MIN);
  EXPECT_EQ(parse_int64("9223372036854775808"), std::nullopt);
  EXPECT_EQ(parse_int64("-9223372036854775809"), std::nullopt);
  for (const char* bad : {"", "-", "1.0", " 1", "1k", "0x1"})
    EXPECT_EQ(parse_int64(bad), std::nullopt) << bad;
  EXPECT_EQ(parse_uint64("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(parse_uint64("18446744073709551616"), std::nullopt);
  EXPECT_EQ(parse_uint64("-1"), std::nullopt);
  EXPECT_EQ(parse_uint64("+1"), std::nullopt);
}

TEST(CliUnits, CpusetLists) {
  for (const char* good : {"0", "0-3", "0,2", "0-1,4-7,9", "12"})
    EXPECT_TRUE(valid_id_list(good)) << good;
  for (const char* bad : {"", ",", "0,", ",0", "0-", "-1", "0--1", "a", "0 1", "0-1-2", "1;2"})
    EXPECT_FALSE(valid_id_list(bad)) << bad;
}

}  // namespace
}  // namespace husk::cli
