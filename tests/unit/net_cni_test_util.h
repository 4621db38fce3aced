// Helpers of the CNI tests: a temporary directory that removes itself, and
// files written into it whole (configs, fake plugins).
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "base/file.h"

namespace husk::testing {
namespace {

class CniTempDir {
 public:
  CniTempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "husk-cni-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~CniTempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  CniTempDir(const CniTempDir&) = delete;
  CniTempDir& operator=(const CniTempDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes path()/rel (parents made) with mode; returns its path.
  std::string write(const std::string& rel, std::string_view text, mode_t mode = 0644) const {
    std::string p = path_ + "/" + rel;
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    (void)write_file_atomic(p, text, mode);
    ::chmod(p.c_str(), mode);
    return p;
  }
  bool exists(const std::string& rel) const {
    return ::access((path_ + "/" + rel).c_str(), F_OK) == 0;
  }
  std::string read(const std::string& rel) const {
    auto t = read_file(path_ + "/" + rel);
    return t ? *t : "<missing " + rel + ">";
  }

 private:
  std::string path_;
};

}  // namespace
}  // namespace husk::testing
