#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/file.h"
#include "base/unique_fd.h"

namespace husk {
namespace {

using Names = std::vector<std::string>;

class ListDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/husk-list-dir.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    for (const char* name : {"b", "a", ".hidden", "c"})
      ASSERT_TRUE(write_file_atomic(dir_ + "/" + name, "x", 0600, Durability::kVolatile));
  }
  void TearDown() override {
    for (const char* name : {"b", "a", ".hidden", "c"}) ::unlink((dir_ + "/" + name).c_str());
    ::rmdir(dir_.c_str());
  }
  std::string dir_;
};

TEST_F(ListDir, NamesSortedWithoutDotEntries) {
  auto names = list_dir(dir_);
  ASSERT_TRUE(names) << names.error().what();
  EXPECT_EQ(*names, (Names{".hidden", "a", "b", "c"}));
}

TEST_F(ListDir, MissingDirectoryHasNoNames) {
  auto names = list_dir(dir_ + "/nowhere");
  ASSERT_TRUE(names) << names.error().what();
  EXPECT_TRUE(names->empty());
}

TEST_F(ListDir, NotADirectoryIsAnError) {
  auto names = list_dir(dir_ + "/a");
  ASSERT_FALSE(names);
  EXPECT_EQ(names.error().code, ENOTDIR);
}

TEST_F(ListDir, AtLeavesTheCallersOffsetAlone) {
  UniqueFd fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(fd);
  auto first = list_dir_at(fd.get());
  auto second = list_dir_at(fd.get());
  ASSERT_TRUE(first && second);
  EXPECT_EQ(*first, (Names{".hidden", "a", "b", "c"}));
  EXPECT_EQ(*second, *first);
  // The caller's own description still reads from the start.
  DIR* d = ::fdopendir(fd.release());
  ASSERT_NE(d, nullptr);
  size_t seen = 0;
  while (::readdir(d) != nullptr) ++seen;
  ::closedir(d);
  EXPECT_EQ(seen, 6u);  // . .. .hidden a b c
}

}  // namespace
}  // namespace husk
