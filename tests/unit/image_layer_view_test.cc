// read_layered_file: a file of the merged view, straight from unpacked layers.
#include "image/layer_view.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "temp_dir_util.h"

namespace husk::image {
namespace {

class LayerView : public ::testing::Test {
 protected:
  // Layer n's directory; made on first use.
  std::string layer(int n) {
    std::string d = tmp_.path() + "/l" + std::to_string(n);
    std::filesystem::create_directories(d);
    return d;
  }
  void put(int n, const std::string& rel, const std::string& text) {
    std::string p = layer(n) + "/" + rel;
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    std::ofstream(p) << text;
    ASSERT_TRUE(std::filesystem::is_regular_file(p)) << p;
  }
  void whiteout(int n, const std::string& rel) {
    std::string p = layer(n) + "/" + rel;
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    ASSERT_EQ(::mknod(p.c_str(), S_IFCHR | 0600, makedev(0, 0)), 0) << p;
  }
  std::optional<std::string> read(std::vector<int> top_first, const std::string& path) {
    std::vector<std::string> diffs;
    for (int n : top_first) diffs.push_back(layer(n));
    auto r = read_layered_file(diffs, path, 1 << 20);
    EXPECT_TRUE(r) << r.error().what();
    return r ? *r : std::nullopt;
  }
  test::TempDir tmp_;
};

TEST_F(LayerView, TopmostLayerWins) {
  put(1, "etc/passwd", "base");
  put(2, "etc/group", "g");
  EXPECT_EQ(read({2, 1}, "/etc/passwd"), "base");
  put(2, "etc/passwd", "top");
  EXPECT_EQ(read({2, 1}, "/etc/passwd"), "top");
  EXPECT_EQ(read({2, 1}, "etc//./passwd"), "top");
  EXPECT_EQ(read({2, 1}, "/etc/shadow"), std::nullopt);
}

TEST_F(LayerView, WhiteoutsAndOpaqueDirectoriesHideLowerLayers) {
  put(1, "etc/passwd", "base");
  whiteout(2, "etc/passwd");
  EXPECT_EQ(read({2, 1}, "/etc/passwd"), std::nullopt);
  EXPECT_EQ(read({1}, "/etc/passwd"), "base");
  whiteout(3, "etc");
  put(4, "etc/passwd", "again");
  EXPECT_EQ(read({3, 1}, "/etc/passwd"), std::nullopt) << "the directory was deleted";
  EXPECT_EQ(read({4, 3, 1}, "/etc/passwd"), "again");
  put(5, "etc/group", "g");
  ASSERT_EQ(::setxattr((layer(5) + "/etc").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  EXPECT_EQ(read({5, 1}, "/etc/passwd"), std::nullopt) << "opaque: layer 1's etc is hidden";
  EXPECT_EQ(read({5, 1}, "/etc/group"), "g");
}

// A symlink on the way is never followed, whatever it points at: the image is hostile.
TEST_F(LayerView, SymlinksAreNotFollowed) {
  put(1, "real/passwd", "inside");
  std::filesystem::create_directories(layer(2));
  std::filesystem::create_directory_symlink("/etc", layer(2) + "/etc");
  EXPECT_EQ(read({2, 1}, "/etc/passwd"), std::nullopt) << "never the host's /etc/passwd";
  std::filesystem::create_directories(layer(3) + "/etc");
  std::filesystem::create_symlink("../../../../../etc/passwd", layer(3) + "/etc/passwd");
  EXPECT_EQ(read({3, 1}, "/etc/passwd"), std::nullopt);
  std::filesystem::create_symlink("../real/passwd", layer(3) + "/etc/group");
  EXPECT_EQ(read({3, 1}, "/etc/group"), std::nullopt);
  EXPECT_FALSE(read_layered_file(std::vector<std::string>{layer(1)}, "/../etc/passwd", 100));
}

TEST_F(LayerView, BoundedAndTypeChecked) {
  put(1, "etc/passwd", std::string(200, 'x'));
  auto big = read_layered_file(std::vector<std::string>{layer(1)}, "/etc/passwd", 100);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().what(), "image file /etc/passwd: larger than 100 bytes");
  std::filesystem::create_directories(layer(2) + "/etc/passwd");
  EXPECT_EQ(read({2, 1}, "/etc/passwd"), std::nullopt) << "a directory is not the file";
}

}  // namespace
}  // namespace husk::image
