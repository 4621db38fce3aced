// husk run --cgroup-manager / --slice -> the driver and cgroupsPath
// (front/cgroup_flags.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cgroup/systemd_units.h"
#include "front/cgroup_flags.h"

namespace husk::cli {
namespace {

using ::testing::HasSubstr;

CgroupFlags flags(std::string manager, std::optional<std::string> slice = std::nullopt) {
  return {.manager = std::move(manager), .slice = std::move(slice)};
}

TEST(HuskCgroupFlags, DefaultFollowsTheHost) {
  auto fs = choose_cgroup({}, "web", /*systemd_host=*/false);
  ASSERT_TRUE(fs) << fs.error().what();
  EXPECT_FALSE(fs->systemd);
  EXPECT_EQ(fs->cgroups_path, "");  // <name> under husk's own cgroup, as before

  auto sd = choose_cgroup({}, "web", /*systemd_host=*/true);
  ASSERT_TRUE(sd) << sd.error().what();
  EXPECT_TRUE(sd->systemd);
  EXPECT_EQ(sd->cgroups_path, "machine.slice:husk:web");
}

TEST(HuskCgroupFlags, ThePathNamesTheScopeTheDriverMakes) {
  auto sd = choose_cgroup(flags("systemd", "user-apps.slice"), "db.1", true);
  ASSERT_TRUE(sd) << sd.error().what();
  EXPECT_EQ(sd->cgroups_path, "user-apps.slice:husk:db.1");
  auto unit = cgroup::parse_systemd_path(sd->cgroups_path, "db.1");
  ASSERT_TRUE(unit) << unit.error().what();
  EXPECT_EQ(unit->slice, "user-apps.slice");
  EXPECT_EQ(unit->unit, "husk-db.1.scope");
}

TEST(HuskCgroupFlags, CgroupfsOnASystemdHost) {
  auto fs = choose_cgroup(flags("cgroupfs"), "web", true);
  ASSERT_TRUE(fs) << fs.error().what();
  EXPECT_FALSE(fs->systemd);
  EXPECT_EQ(fs->cgroups_path, "");
}

TEST(HuskCgroupFlags, SystemdWhereItDoesNotRunIsRefused) {
  auto r = choose_cgroup(flags("systemd"), "web", false);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().what(), HasSubstr("--cgroup-manager systemd: systemd is not running"));
}

TEST(HuskCgroupFlags, UnknownManagerIsRefused) {
  auto r = choose_cgroup(flags("systemd-user"), "web", true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "--cgroup-manager \"systemd-user\": cgroupfs or systemd");
}

TEST(HuskCgroupFlags, SliceNeedsTheSystemdManager) {
  auto given = choose_cgroup(flags("cgroupfs", "machine.slice"), "web", true);
  ASSERT_FALSE(given);
  EXPECT_THAT(given.error().what(), HasSubstr("--slice \"machine.slice\": needs --cgroup-manager "
                                              "systemd (the cgroup manager given is cgroupfs)"));
  auto host = choose_cgroup(flags("", "machine.slice"), "web", false);
  ASSERT_FALSE(host);
  EXPECT_THAT(host.error().what(), HasSubstr("the cgroup manager here is cgroupfs"));
}

TEST(HuskCgroupFlags, BadSliceNamesAreRefused) {
  for (const char* bad : {"machine", "a--b.slice", "-a.slice", "a-.slice", "a/b.slice", ".slice",
                          "a b.slice", "x.scope", "", "a:b.slice"}) {
    auto r = choose_cgroup(flags("systemd", bad), "web", true);
    ASSERT_FALSE(r) << bad;
    EXPECT_THAT(r.error().what(), HasSubstr(fmt::format("--slice {:?}: not a slice name", bad)))
        << bad;
  }
  // The root slice and nested ones are slices systemd has or makes.
  for (const char* good : {"-.slice", "system.slice", "a-b-c.slice", "a_b.slice"}) {
    auto r = choose_cgroup(flags("systemd", good), "web", true);
    EXPECT_TRUE(r) << good << ": " << r.error().what();
  }
}

TEST(HuskCgroupFlags, NamesNoUnitCanHaveAreRefused) {
  // husk's names allow "+", systemd's unit names do not.
  auto r = choose_cgroup({}, "a+b", true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "container \"a+b\": husk-a+b.scope is not a valid systemd unit name");
  EXPECT_TRUE(choose_cgroup({}, "a+b", false));  // fine for cgroupfs
}

}  // namespace
}  // namespace husk::cli
