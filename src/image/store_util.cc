#include "image/store_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>

#include <fmt/format.h>

namespace husk::image::store_util {

Result<UniqueFd> lock_file(const std::string& path, int op) {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) return fail_errno("open {}", path);
    int rc;
    while ((rc = ::flock(fd.get(), op)) < 0 && errno == EINTR) {
    }
    if (rc < 0) {
      if (errno == EWOULDBLOCK) return fail_quiet(EWOULDBLOCK, "{} is locked", path);
      return fail_errno("lock {}", path);
    }
    struct stat held {}, named {};
    if (::fstat(fd.get(), &held) < 0) return fail_errno("stat {}", path);
    if (::stat(path.c_str(), &named) == 0 && named.st_ino == held.st_ino &&
        named.st_dev == held.st_dev)
      return fd;
    // Unlinked (or replaced) by prune between our open and our flock: lock the new one.
  }
  return fail(EAGAIN, "lock {}: the file keeps being replaced", path);
}

Result<std::string> random_name(size_t n) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string bytes(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::getrandom(bytes.data() + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return fail_errno("getrandom");
    got += static_cast<size_t>(r);
  }
  for (char& c : bytes) c = kAlphabet[static_cast<uint8_t>(c) % 32];
  return bytes;
}

namespace {

// Empties the directory dirfd (owned by the caller), depth first.
Result<void> empty_dir(int dirfd, const std::string& what) {
  int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return fail_errno("dup {}", what);
  DIR* d = ::fdopendir(dup);
  if (d == nullptr) {
    ::close(dup);
    return fail_errno("open {}", what);
  }
  std::vector<std::string> entries;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    entries.emplace_back(n);
  }
  ::closedir(d);
  for (const std::string& name : entries) {
    if (::unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT) continue;
    if (errno != EISDIR) return fail_errno("remove {}/{}", what, name);
    HUSK_TRY(remove_tree_at(dirfd, name));
  }
  return ok();
}

}  // namespace

Result<void> remove_tree_at(int dirfd, const std::string& name) {
  if (::unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT) return ok();
  if (errno != EISDIR) return fail_errno("remove {}", name);
  UniqueFd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!sub) {
    if (errno == ENOENT) return ok();
    return fail_errno("open {}", name);
  }
  HUSK_TRY(empty_dir(sub.get(), name));
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT)
    return fail_errno("remove {}", name);
  return ok();
}

Result<void> fsync_dir(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) < 0) return fail_errno("sync {}", path);
  return ok();
}

Result<std::vector<std::string>> list_dir(const std::string& path) {
  std::vector<std::string> out;
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return fail_errno("open {}", path);
  }
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") out.emplace_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace husk::image::store_util
