// Shared by the cgroup unit tests: a temporary directory that stands in for a
// cgroup tree (plain files the writers open with openat).
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace husk::cgroup::testing {

class FixtureDir {
 public:
  FixtureDir() {
    // tmpfs when there is one: disk-backed /tmp makes each test 10x slower.
    char shm[] = "/dev/shm/husk-cgroup-test.XXXXXX";
    char tmp[] = "/tmp/husk-cgroup-test.XXXXXX";
    const char* made = ::mkdtemp(shm);
    if (made == nullptr) made = ::mkdtemp(tmp);
    path_ = made != nullptr ? made : "";
  }
  ~FixtureDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  FixtureDir(const FixtureDir&) = delete;
  FixtureDir& operator=(const FixtureDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

  // Creates rel (and its parent directories) holding content.
  void write(const std::string& rel, const std::string& content = "") const {
    std::filesystem::create_directories(std::filesystem::path(path_ + "/" + rel).parent_path());
    std::ofstream(path_ + "/" + rel, std::ios::trunc) << content;
  }
  std::string read(const std::string& rel) const {
    std::ifstream in(path_ + "/" + rel);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  bool exists(const std::string& rel) const { return std::filesystem::exists(path_ + "/" + rel); }
  void mkdir(const std::string& rel) const {
    std::filesystem::create_directories(path_ + "/" + rel);
  }
  // An O_DIRECTORY fd for rel ("" for the root), closed by the caller.
  int open(const std::string& rel = "") const {
    return ::open((path_ + "/" + rel).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }

 private:
  std::string path_;
};

}  // namespace husk::cgroup::testing
