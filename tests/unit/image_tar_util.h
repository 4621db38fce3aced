// Builds layer tars for the unpack tests with libarchive's writer (pax, so
// xattrs and long names fit), optionally gzip or zstd, and looks at trees.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/unique_fd.h"

namespace husk::test {

enum class Compression { kNone, kGzip, kZstd };

struct TarSpec {
  std::string path;
  unsigned type = AE_IFREG;  // AE_IF*
  std::string data;          // file contents
  std::string link;          // symlink target
  std::string hardlink;      // hardlink target (type ignored)
  unsigned mode = 0644;
  long uid = 0, gid = 0;
  time_t mtime = 1000000000;
  unsigned rmajor = 0, rminor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

inline TarSpec file(std::string path, std::string data, unsigned mode = 0644) {
  return {.path = std::move(path), .data = std::move(data), .mode = mode};
}
inline TarSpec dir(std::string path, unsigned mode = 0755) {
  return {.path = std::move(path), .type = AE_IFDIR, .mode = mode};
}
inline TarSpec symlink(std::string path, std::string target) {
  return {.path = std::move(path), .type = AE_IFLNK, .link = std::move(target), .mode = 0777};
}
inline TarSpec hardlink(std::string path, std::string target) {
  return {.path = std::move(path), .hardlink = std::move(target)};
}

inline std::string make_tar(const std::vector<TarSpec>& entries,
                            Compression c = Compression::kNone) {
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (c == Compression::kGzip) archive_write_add_filter_gzip(a);
  if (c == Compression::kZstd) archive_write_add_filter_zstd(a);
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open(
      a, &out, nullptr,
      [](archive*, void* p, const void* buf, size_t n) -> la_ssize_t {
        static_cast<std::string*>(p)->append(static_cast<const char*>(buf), n);
        return static_cast<la_ssize_t>(n);
      },
      nullptr);
  for (const TarSpec& s : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, s.path.c_str());
    archive_entry_set_filetype(e, s.type);
    archive_entry_set_perm(e, s.mode);
    archive_entry_set_uid(e, s.uid);
    archive_entry_set_gid(e, s.gid);
    archive_entry_set_mtime(e, s.mtime, 0);
    if (!s.link.empty()) archive_entry_set_symlink(e, s.link.c_str());
    if (!s.hardlink.empty()) archive_entry_set_hardlink(e, s.hardlink.c_str());
    if (s.type == AE_IFCHR || s.type == AE_IFBLK) {
      archive_entry_set_rdevmajor(e, s.rmajor);
      archive_entry_set_rdevminor(e, s.rminor);
    }
    for (const auto& [k, v] : s.xattrs)
      archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
    bool has_data = s.type == AE_IFREG && s.hardlink.empty();
    archive_entry_set_size(e, has_data ? static_cast<la_int64_t>(s.data.size()) : 0);
    archive_write_header(a, e);
    if (has_data && !s.data.empty()) archive_write_data(a, s.data.data(), s.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

// A file holding bytes, opened for reading (the blob fd).
inline UniqueFd blob_fd(const std::string& path, const std::string& bytes) {
  {
    UniqueFd w(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::write(w.get(), bytes.data() + off, bytes.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
  }
  return UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
}

// Every path under root with its type, mode, size and mtime: a fingerprint to
// show that nothing there changed.
inline std::map<std::string, std::string> tree_of(const std::string& root) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    ::lstat(it->path().c_str(), &st);
    out[it->path().string()] = std::to_string(st.st_mode) + "/" + std::to_string(st.st_size) + "/" +
                               std::to_string(st.st_nlink) + "/" +
                               std::to_string(st.st_mtim.tv_sec) + "." +
                               std::to_string(st.st_mtim.tv_nsec);
  }
  return out;
}

inline std::string xattr_of(const std::string& path, const char* name) {
  char buf[4096];
  ssize_t n = ::lgetxattr(path.c_str(), name, buf, sizeof buf);
  return n < 0 ? std::string("<none>") : std::string(buf, static_cast<size_t>(n));
}

}  // namespace husk::test
