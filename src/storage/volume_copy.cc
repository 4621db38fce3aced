#include "storage/volume_copy.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string_view>

#include "sys/mount_api.h"

namespace husk::storage {

namespace {

// Deeper trees than this are refused rather than copied: each level holds
// two fds, and an image could otherwise exhaust them.
constexpr int kMaxDepth = 256;

Result<void> config_lowers(int fs, const std::vector<std::string>& lowers) {
  auto first = sys::fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", lowers.front().c_str());
  if (first) {
    for (size_t i = 1; i < lowers.size(); ++i)
      HUSK_TRY(sys::fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", lowers[i].c_str())
                   .context("lower {:?}", lowers[i]));
    return ok();
  }
  if (first.error().code != EINVAL) return std::move(first).context("lower {:?}", lowers.front());
  // Kernels before 6.8: one string, ':' and '\' escaped.
  std::string all;
  for (const auto& l : lowers) {
    if (!all.empty()) all += ':';
    for (char ch : l) {
      if (ch == ':' || ch == '\\') all += '\\';
      all += ch;
    }
  }
  return sys::fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir", all.c_str()).context("lowerdir");
}

// Lists dir_fd's entries (not "." or "..").
Result<std::vector<std::string>> entries(int dir_fd) {
  int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail_errno("open directory");
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(fd), ::closedir);
  if (!dir) {
    ::close(fd);
    return fail_errno("fdopendir");
  }
  std::vector<std::string> out;
  errno = 0;
  while (struct dirent* e = ::readdir(dir.get())) {
    std::string_view n(e->d_name);
    if (n != "." && n != "..") out.emplace_back(n);
    errno = 0;
  }
  if (errno != 0) return fail_errno("readdir");
  return out;
}

// Copies the xattrs of src to dst (both real fds). overlayfs' own
// (trusted.overlay.*) describe the layer, not the file: they stay behind.
Result<void> copy_xattrs(int src, int dst) {
  ssize_t n = ::flistxattr(src, nullptr, 0);
  if (n < 0) {
    if (errno == ENOTSUP) return ok();
    return fail_errno("list xattrs");
  }
  if (n == 0) return ok();
  std::string names(static_cast<size_t>(n), '\0');
  n = ::flistxattr(src, names.data(), names.size());
  if (n < 0) return fail_errno("list xattrs");
  names.resize(static_cast<size_t>(n));
  for (size_t pos = 0; pos < names.size();) {
    std::string name(names.c_str() + pos);
    pos += name.size() + 1;
    if (name.empty() || name.starts_with("trusted.overlay.") || name.starts_with("user.overlay."))
      continue;
    ssize_t len = ::fgetxattr(src, name.c_str(), nullptr, 0);
    if (len < 0) return fail_errno("xattr {:?}", name);
    std::string value(static_cast<size_t>(len), '\0');
    len = ::fgetxattr(src, name.c_str(), value.data(), value.size());
    if (len < 0) return fail_errno("xattr {:?}", name);
    if (::fsetxattr(dst, name.c_str(), value.data(), static_cast<size_t>(len), 0) < 0)
      return fail_errno("set xattr {:?}", name);
  }
  return ok();
}

// Owner, then mode (a chown clears set-id bits), xattrs, then times.
Result<void> copy_meta_fd(int src, int dst, const struct stat& st) {
  if (::fchown(dst, st.st_uid, st.st_gid) < 0) return fail_errno("chown");
  if (::fchmod(dst, st.st_mode & 07777) < 0) return fail_errno("chmod");
  HUSK_TRY(copy_xattrs(src, dst));
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::futimens(dst, times) < 0) return fail_errno("set times");
  return ok();
}

Result<void> copy_data(int src, int dst) {
  for (;;) {
    ssize_t n = ::copy_file_range(src, nullptr, dst, nullptr, 1 << 30, 0);
    if (n == 0) return ok();
    if (n > 0) continue;
    if (errno == EINTR) continue;
    if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
      return fail_errno("copy");
    break;
  }
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(src, buf, sizeof buf);
    if (n == 0) return ok();
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("read");
    }
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(dst, buf + off, static_cast<size_t>(n - off));
      if (w < 0) {
        if (errno == EINTR) continue;
        return fail_errno("write");
      }
      off += w;
    }
  }
}

Result<void> copy_tree(int src_dir, int dst_dir, const std::string& where, int depth);

Result<void> copy_entry(int src_dir, int dst_dir, const std::string& name, const std::string& path,
                        int depth) {
  struct stat st {};
  if (::fstatat(src_dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
    return fail_errno("{:?}", path);
  const char* n = name.c_str();
  switch (st.st_mode & S_IFMT) {
    case S_IFDIR: {
      if (depth >= kMaxDepth) return fail(ELOOP, "{:?}: deeper than {}", path, kMaxDepth);
      UniqueFd src(::openat(src_dir, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!src) return fail_errno("{:?}", path);
      if (::mkdirat(dst_dir, n, 0700) < 0) return fail_errno("create {:?}", path);
      UniqueFd dst(::openat(dst_dir, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!dst) return fail_errno("{:?}", path);
      HUSK_TRY(copy_tree(src.get(), dst.get(), path, depth + 1));
      return copy_meta_fd(src.get(), dst.get(), st).context("{:?}", path);
    }
    case S_IFREG: {
      UniqueFd src(::openat(src_dir, n, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC));
      if (!src) return fail_errno("{:?}", path);
      UniqueFd dst(
          ::openat(dst_dir, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!dst) return fail_errno("create {:?}", path);
      HUSK_TRY(copy_data(src.get(), dst.get()).context("{:?}", path));
      return copy_meta_fd(src.get(), dst.get(), st).context("{:?}", path);
    }
    case S_IFLNK: {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t len = ::readlinkat(src_dir, n, target.data(), target.size());
      if (len < 0) return fail_errno("{:?}", path);
      if (static_cast<size_t>(len) >= target.size()) return fail(EIO, "{:?}: link grew", path);
      target.resize(static_cast<size_t>(len));
      if (::symlinkat(target.c_str(), dst_dir, n) < 0) return fail_errno("create {:?}", path);
      break;
    }
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO:
      if (::mknodat(dst_dir, n, (st.st_mode & S_IFMT) | 0600, st.st_rdev) < 0)
        return fail_errno("create {:?}", path);
      break;
    default:
      return ok();  // a socket means nothing without its process: docker skips it too
  }
  // Symlinks and special files: never opened, so set by name, not followed.
  if (::fchownat(dst_dir, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
    return fail_errno("chown {:?}", path);
  if (!S_ISLNK(st.st_mode) && ::fchmodat(dst_dir, n, st.st_mode & 07777, 0) < 0)
    return fail_errno("chmod {:?}", path);
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(dst_dir, n, times, AT_SYMLINK_NOFOLLOW) < 0)
    return fail_errno("set times {:?}", path);
  return ok();
}

Result<void> copy_tree(int src_dir, int dst_dir, const std::string& where, int depth) {
  HUSK_TRY_ASSIGN(auto names, entries(src_dir).context("{:?}", where));
  for (const auto& name : names)
    HUSK_TRY(copy_entry(src_dir, dst_dir, name, where + "/" + name, depth));
  return ok();
}

}  // namespace

Result<UniqueFd> open_merged_root(const std::vector<std::string>& lowers) {
  if (lowers.empty()) return fail(EINVAL, "no lower layers");
  for (const auto& l : lowers)
    if (l.empty() || l.front() != '/') return fail(EINVAL, "lower {:?}: not absolute", l);
  if (lowers.size() == 1) {
    UniqueFd fd(::open(lowers.front().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return fail_errno("lower {:?}", lowers.front());
    return fd;
  }
  HUSK_TRY_ASSIGN(UniqueFd fs, sys::fsopen("overlay"));
  HUSK_TRY(config_lowers(fs.get(), lowers));
  (void)sys::fsconfig(fs.get(), FSCONFIG_SET_STRING, "index", "off");
  HUSK_TRY(sys::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr)
               .context("overlay of {} lowers", lowers.size()));
  return sys::fsmount(fs.get(), MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
}

Result<bool> copy_into_volume(int root_fd, const std::string& target, int dst_fd) {
  auto src = sys::openat2(root_fd, target.c_str(), O_RDONLY | O_DIRECTORY, 0,
                          RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
  if (!src) {
    int code = src.error().code;
    if (code == ENOENT || code == ENOTDIR) return false;
    return fail(code, "{:?}: resolve in the root", target);
  }
  struct stat st {};
  if (::fstat(src->get(), &st) < 0) return fail_errno("{:?}", target);
  std::string where = target == "/" ? std::string() : target;
  HUSK_TRY(copy_tree(src->get(), dst_fd, where, 0));
  HUSK_TRY(copy_meta_fd(src->get(), dst_fd, st).context("{:?}", target));
  return true;
}

Result<bool> dir_is_empty(int dir_fd) {
  HUSK_TRY_ASSIGN(auto names, entries(dir_fd));
  return names.empty();
}

Result<void> empty_dir(int dir_fd) {
  HUSK_TRY_ASSIGN(auto names, entries(dir_fd));
  for (const auto& name : names) {
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
    if (S_ISDIR(st.st_mode)) {
      UniqueFd sub(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) return fail_errno("{:?}", name);
      HUSK_TRY(empty_dir(sub.get()));
      if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) < 0) return fail_errno("{:?}", name);
    } else if (::unlinkat(dir_fd, name.c_str(), 0) < 0) {
      return fail_errno("{:?}", name);
    }
  }
  return ok();
}

}  // namespace husk::storage
