#include <sys/mount.h>

#include <algorithm>

#include <gtest/gtest.h>

#include "spec/mount_options.h"

namespace husk::spec {
namespace {

using Flags = unsigned long;

struct FlagCase {
  const char* option;
  unsigned long set;
  unsigned long cleared;
};

TEST(SpecMountOptions, EachFlagWord) {
  const FlagCase cases[] = {
      {"defaults", 0, 0},
      {"ro", MS_RDONLY, 0},
      {"rw", 0, MS_RDONLY},
      {"nosuid", MS_NOSUID, 0},
      {"suid", 0, MS_NOSUID},
      {"nodev", MS_NODEV, 0},
      {"dev", 0, MS_NODEV},
      {"noexec", MS_NOEXEC, 0},
      {"exec", 0, MS_NOEXEC},
      {"sync", MS_SYNCHRONOUS, 0},
      {"async", 0, MS_SYNCHRONOUS},
      {"dirsync", MS_DIRSYNC, 0},
      {"remount", MS_REMOUNT, 0},
      {"mand", MS_MANDLOCK, 0},
      {"nomand", 0, MS_MANDLOCK},
      {"atime", 0, MS_NOATIME},
      {"noatime", MS_NOATIME, 0},
      {"diratime", 0, MS_NODIRATIME},
      {"nodiratime", MS_NODIRATIME, 0},
      {"relatime", MS_RELATIME, 0},
      {"norelatime", 0, MS_RELATIME},
      {"strictatime", MS_STRICTATIME, 0},
      {"nostrictatime", 0, MS_STRICTATIME},
      {"bind", MS_BIND, 0},
      {"rbind", MS_BIND | MS_REC, 0},
      {"nosymfollow", MS_NOSYMFOLLOW, 0},
      {"lazytime", MS_LAZYTIME, 0},
  };
  for (const auto& c : cases) {
    MountOptions o = parse_mount_options({c.option});
    EXPECT_EQ(o.flags, c.set) << c.option;
    EXPECT_EQ(o.clear_flags, c.cleared) << c.option;
    EXPECT_EQ(o.data, "") << c.option;
    EXPECT_EQ(o.propagation, 0u) << c.option;
  }
}

TEST(SpecMountOptions, LaterWordsWin) {
  MountOptions o = parse_mount_options({"ro", "rw"});
  EXPECT_EQ(o.flags, 0u);
  EXPECT_EQ(o.clear_flags, Flags{MS_RDONLY});
  o = parse_mount_options({"rw", "nosuid", "ro"});
  EXPECT_EQ(o.flags, Flags{MS_RDONLY | MS_NOSUID});
  EXPECT_EQ(o.clear_flags, 0u);
}

TEST(SpecMountOptions, Propagation) {
  const std::pair<const char*, unsigned long> cases[] = {
      {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
      {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
      {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
      {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
  };
  for (const auto& [word, flags] : cases) {
    MountOptions o = parse_mount_options({word});
    EXPECT_EQ(o.propagation, flags) << word;
    EXPECT_EQ(o.flags, 0u) << word;
  }
  EXPECT_EQ(parse_mount_options({"rshared", "private"}).propagation, Flags{MS_PRIVATE});
}

TEST(SpecMountOptions, RecursiveAttributes) {
  struct Case {
    const char* word;
    uint64_t set;
    uint64_t clear;
  };
  const Case cases[] = {
      {"rro", MOUNT_ATTR_RDONLY, 0},
      {"rrw", 0, MOUNT_ATTR_RDONLY},
      {"rnosuid", MOUNT_ATTR_NOSUID, 0},
      {"rsuid", 0, MOUNT_ATTR_NOSUID},
      {"rnodev", MOUNT_ATTR_NODEV, 0},
      {"rdev", 0, MOUNT_ATTR_NODEV},
      {"rnoexec", MOUNT_ATTR_NOEXEC, 0},
      {"rexec", 0, MOUNT_ATTR_NOEXEC},
      {"rnodiratime", MOUNT_ATTR_NODIRATIME, 0},
      {"rdiratime", 0, MOUNT_ATTR_NODIRATIME},
      // Setting an atime mode also needs MOUNT_ATTR__ATIME in attr_clr.
      {"rrelatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
      {"rnoatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME},
      {"ratime", 0, MOUNT_ATTR_NOATIME},
      {"rstrictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME},
      {"rnostrictatime", 0, MOUNT_ATTR_STRICTATIME},
      {"rnosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0},
  };
  for (const auto& c : cases) {
    MountOptions o = parse_mount_options({c.word});
    EXPECT_EQ(o.recursive_set, c.set) << c.word;
    EXPECT_EQ(o.recursive_clear, c.clear) << c.word;
    EXPECT_EQ(o.flags, 0u) << c.word;
    EXPECT_EQ(o.data, "") << c.word;
  }
}

// Found by tests/fuzz (fuzz_mount_options): "rro,rrw" put RDONLY in both
// attr_set and attr_clr (read-only, where runc's later word makes it
// read-write), and two atime modes were both set (EINVAL from the kernel).
TEST(SpecMountOptions, RecursiveLaterWordsWin) {
  MountOptions o = parse_mount_options({"rro", "rnosuid", "rrw"});
  EXPECT_EQ(o.recursive_set, uint64_t{MOUNT_ATTR_NOSUID});
  EXPECT_EQ(o.recursive_clear, uint64_t{MOUNT_ATTR_RDONLY});
  o = parse_mount_options({"rrw", "rsuid", "rro"});
  EXPECT_EQ(o.recursive_set, uint64_t{MOUNT_ATTR_RDONLY});
  EXPECT_EQ(o.recursive_clear, uint64_t{MOUNT_ATTR_NOSUID});
  o = parse_mount_options({"rnoatime", "rstrictatime"});
  EXPECT_EQ(o.recursive_set, uint64_t{MOUNT_ATTR_STRICTATIME});
  EXPECT_EQ(o.recursive_clear, uint64_t{MOUNT_ATTR__ATIME});
  o = parse_mount_options({"rnoatime", "rrelatime"});
  EXPECT_EQ(o.recursive_set, uint64_t{MOUNT_ATTR_RELATIME});
  EXPECT_EQ(o.recursive_clear, uint64_t{MOUNT_ATTR__ATIME});
}

TEST(SpecMountOptions, UnknownWordsBecomeDataInOrder) {
  MountOptions o =
      parse_mount_options({"nosuid", "mode=755", "", "newinstance", "noexec", "size=65536k"});
  EXPECT_EQ(o.data, "mode=755,newinstance,size=65536k");
  EXPECT_EQ(o.flags, Flags{MS_NOSUID | MS_NOEXEC});
}

TEST(SpecMountOptions, Extensions) {
  MountOptions o = parse_mount_options({"idmap", "tmpcopyup"});
  EXPECT_TRUE(o.idmap);
  EXPECT_FALSE(o.idmap_recursive);
  EXPECT_TRUE(o.tmpcopyup);
  EXPECT_EQ(o.data, "");
  o = parse_mount_options({"ridmap"});
  EXPECT_TRUE(o.idmap);
  EXPECT_TRUE(o.idmap_recursive);
  EXPECT_FALSE(o.tmpcopyup);
}

TEST(SpecMountOptions, ApplyFillsMountAndMarksBinds) {
  config::Mount m;
  m.destination = "/data";
  m.options = {"rbind", "ro", "rprivate", "rnoexec", "x-custom"};
  apply_mount_options(m);
  EXPECT_EQ(m.type, "bind");
  EXPECT_TRUE(m.bind());
  EXPECT_EQ(m.flags, Flags{MS_BIND | MS_REC | MS_RDONLY});
  EXPECT_EQ(m.propagation, Flags{MS_PRIVATE | MS_REC});
  EXPECT_EQ(m.recursive_set, uint64_t{MOUNT_ATTR_NOEXEC});
  EXPECT_EQ(m.data, "x-custom");

  config::Mount tmp;
  tmp.type = "tmpfs";
  tmp.options = {"nodev", "size=1m"};
  apply_mount_options(tmp);
  EXPECT_EQ(tmp.type, "tmpfs");
  EXPECT_FALSE(tmp.bind());

  config::Mount none;
  none.type = "none";
  none.options = {"bind"};
  apply_mount_options(none);
  EXPECT_EQ(none.type, "bind");
}

TEST(SpecMountOptions, KnownOptionsListsEveryWord) {
  auto names = known_mount_options();
  for (const char* w : {"rbind", "rro", "ridmap", "tmpcopyup", "nostrictatime", "runbindable"})
    EXPECT_NE(std::find(names.begin(), names.end(), w), names.end()) << w;
  EXPECT_EQ(std::find(names.begin(), names.end(), "mode=755"), names.end());
  std::vector<std::string_view> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());
}

}  // namespace
}  // namespace husk::spec
