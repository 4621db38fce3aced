// Helpers of the CNI tests: a temporary directory that removes itself, and
// files written into it whole (configs, fake plugins).
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "base/file.h"
#include "temp_dir_util.h"

namespace husk::testing {
namespace {

class CniTempDir : public test::TempDir {
 public:
  CniTempDir() : test::TempDir("husk-cni") {}
  // Writes path()/rel (parents made) with mode; returns its path.
  std::string write(const std::string& rel, std::string_view text, mode_t mode = 0644) const {
    std::string p = path() + "/" + rel;
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    (void)write_file_atomic(p, text, mode);
    ::chmod(p.c_str(), mode);
    return p;
  }
  bool exists(const std::string& rel) const {
    return ::access((path() + "/" + rel).c_str(), F_OK) == 0;
  }
  std::string read(const std::string& rel) const {
    auto t = read_file(path() + "/" + rel);
    return t ? *t : "<missing " + rel + ">";
  }
};

}  // namespace
}  // namespace husk::testing
