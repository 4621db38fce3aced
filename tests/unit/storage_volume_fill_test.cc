// VolumeStore::fill over several lowers: the merged view through a detached
// read-only overlay (whiteouts hide lower files), the target resolved inside
// it. Needs root (overlayfs, mknod, chown); skipped otherwise.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "storage/volume.h"

namespace husk::storage {
namespace {

class VolumeFillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (overlayfs mount, mknod, chown)";
    // tmpfs: the deep tree below costs seconds of mkdir on a loaded disk.
    char tmpl[] = "/dev/shm/husk-volume-fill.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    top_ = dir_ + "/top";
    bottom_ = dir_ + "/bottom";
    std::filesystem::create_directories(top_ + "/data");
    std::filesystem::create_directories(bottom_ + "/data/sub");
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  static void write(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
  }
  std::string dir_, top_, bottom_;
};

TEST_F(VolumeFillTest, MergedViewOfSeveralLowersWithWhiteouts) {
  write(top_ + "/data/a", "top");
  write(bottom_ + "/data/a", "bottom");
  write(bottom_ + "/data/b", "only-bottom");
  write(bottom_ + "/data/gone", "deleted-above");
  write(bottom_ + "/data/sub/c", "deep");
  ASSERT_EQ(::mknod((top_ + "/data/gone").c_str(), S_IFCHR | 0, makedev(0, 0)), 0);  // whiteout
  ASSERT_EQ(::chown((bottom_ + "/data/sub").c_str(), 11, 12), 0);
  VolumeStore s(dir_ + "/store");
  ASSERT_TRUE(s.create("v", {}));
  auto filled = s.fill("v", {top_, bottom_}, "/data");
  ASSERT_TRUE(filled) << filled.error().what();
  EXPECT_TRUE(*filled);
  std::string d = dir_ + "/store/volumes/v/_data";
  auto read = [](const std::string& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(read(d + "/a"), "top");
  EXPECT_EQ(read(d + "/b"), "only-bottom");
  EXPECT_EQ(read(d + "/sub/c"), "deep");
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(d + "/gone")));
  struct stat st {};
  ASSERT_EQ(::stat((d + "/sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 11u);
  EXPECT_EQ(st.st_gid, 12u);
  // Filled once: a second fill copies nothing, even into an emptied volume.
  std::filesystem::remove_all(d + "/a");
  auto again = s.fill("v", {top_, bottom_}, "/data");
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  EXPECT_FALSE(std::filesystem::exists(d + "/a"));
  // The overlay was never attached anywhere: nothing in this namespace names it.
  std::ifstream mi("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mi, line)) EXPECT_EQ(line.find(top_), std::string::npos) << line;
}

TEST_F(VolumeFillTest, ASymlinkInTheTopLayerStaysInsideTheRoot) {
  std::string secret = dir_ + "/secret";
  std::filesystem::create_directories(secret);
  write(secret + "/key", "host-secret");
  std::filesystem::remove_all(top_ + "/data");
  std::filesystem::create_directory_symlink(secret, top_ + "/data");
  VolumeStore s(dir_ + "/store");
  ASSERT_TRUE(s.create("v", {}));
  // /data is the link: resolved inside the merged root, dir_/secret does not exist there.
  auto filled = s.fill("v", {top_, bottom_}, "/data");
  ASSERT_TRUE(filled) << filled.error().what();
  EXPECT_FALSE(*filled);
  EXPECT_TRUE(std::filesystem::is_empty(dir_ + "/store/volumes/v/_data"));
  auto v = s.get("v");
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->filled);  // nothing at the target: the volume stays unfilled
}

TEST_F(VolumeFillTest, AFailedCopyLeavesTheVolumeEmptyAndUnfilled) {
  write(top_ + "/data/a", "x");
  std::string deep = top_ + "/data";
  for (int i = 0; i < 260; ++i) deep += "/d";
  std::filesystem::create_directories(deep);
  VolumeStore s(dir_ + "/store");
  ASSERT_TRUE(s.create("v", {}));
  auto filled = s.fill("v", {top_}, "/data");  // one lower: the directory itself
  ASSERT_FALSE(filled);
  EXPECT_NE(filled.error().what().find("deeper than 256"), std::string::npos)
      << filled.error().what();
  EXPECT_TRUE(std::filesystem::is_empty(dir_ + "/store/volumes/v/_data"));
  auto v = s.get("v");
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->filled);
}

TEST_F(VolumeFillTest, AFillKilledMidwayIsUndoneAndRedone) {
  write(top_ + "/data/a", "whole");
  VolumeStore s(dir_ + "/store");
  ASSERT_TRUE(s.create("v", {}));
  // What a fill killed midway leaves: its marker and part of the copy.
  std::string v = dir_ + "/store/volumes/v";
  write(v + "/filling", "");
  std::filesystem::create_directories(v + "/_data/half/copied");
  write(v + "/_data/a", "wh");
  auto filled = s.fill("v", {top_}, "/data");
  ASSERT_TRUE(filled) << filled.error().what();
  EXPECT_TRUE(*filled);
  std::ifstream in(v + "/_data/a");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "whole");
  EXPECT_FALSE(std::filesystem::exists(v + "/_data/half"));
  EXPECT_FALSE(std::filesystem::exists(v + "/filling"));
  // Without the marker a non-empty volume is the user's data: never filled over.
  ASSERT_TRUE(s.create("w", {}));
  write(dir_ + "/store/volumes/w/_data/mine", "keep");
  auto none = s.fill("w", {top_}, "/data");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/store/volumes/w/_data/a"));
}

}  // namespace
}  // namespace husk::storage
