#include "image/store_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <vector>

#include <fmt/format.h>

#include "base/random.h"

namespace husk::image::store_util {

Result<std::string> random_name(size_t n) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string bytes(n, '\0');
  HUSK_TRY(random_bytes(bytes.data(), n));
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

}  // namespace husk::image::store_util
