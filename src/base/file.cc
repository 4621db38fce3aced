#include "base/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace husk {

Result<std::string> read_all(int fd) {
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("read");
    }
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

Result<std::string> read_file_at(int dirfd, const std::string& path) {
  UniqueFd fd(::openat(dirfd, path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("open {}", path);
  auto text = read_all(fd.get());
  if (!text) return fail(text.error().code, "read {}", path);
  return text;
}

Result<std::string> read_file(const std::string& path) { return read_file_at(AT_FDCWD, path); }

Result<void> write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("write");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return ok();
}

Result<void> set_nonblock(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return fail_errno("fcntl");
  return ok();
}

Result<void> write_file_at(int dirfd, const std::string& path, std::string_view data) {
  UniqueFd fd(::openat(dirfd, path.c_str(), O_WRONLY | O_CLOEXEC | O_TRUNC));
  if (!fd) return fail_errno("open {}", path);
  // Kernel files take one write; report the errno of that write.
  ssize_t n = ::write(fd.get(), data.data(), data.size());
  if (n < 0) return fail_errno("write {}", path);
  if (static_cast<size_t>(n) != data.size()) return fail(EIO, "short write to {}", path);
  return ok();
}

Result<void> write_file(const std::string& path, std::string_view data) {
  return write_file_at(AT_FDCWD, path, data);
}

Result<void> write_file_atomic(const std::string& path, std::string_view data, int mode,
                               Durability durability) {
  // A name of our own, made with O_EXCL: two writers never share a temp file
  // (nor does one that died leave it to the next), and a stale one from a
  // process that had our pid is stepped over.
  std::string tmp;
  UniqueFd fd;
  for (int attempt = 0; !fd; ++attempt) {
    tmp = fmt::format("{}{}{}-{}", path, kAtomicTempInfix, ::getpid(), attempt);
    fd.reset(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (!fd && (errno != EEXIST || attempt >= 100)) return fail_errno("create {}", tmp);
  }
  auto written = write_all(fd.get(), data);
  // On stable storage before the rename: a crash never leaves `path` empty
  // or cut short, only the old file or the new one.
  if (written && durability == Durability::kSynced && ::fsync(fd.get()) < 0)
    written = fail_errno("fsync");
  if (!written) {
    ::unlink(tmp.c_str());
    return std::move(written).context("write {}", tmp);
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    auto e = fail_errno("rename {} to {}", tmp, path);
    ::unlink(tmp.c_str());
    return e;
  }
  return ok();
}

Result<void> make_dirs(const std::string& path, mode_t mode) {
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/') continue;
    std::string part = path.substr(0, pos);
    if (::mkdir(part.c_str(), mode) == 0) {
      if (::chmod(part.c_str(), mode) < 0) return fail_errno("chmod {}", part);
    } else if (errno != EEXIST) {
      return fail_errno("mkdir {}", part);
    }
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) < 0) return fail_errno("stat {}", path);
  if (!S_ISDIR(st.st_mode)) return fail(ENOTDIR, "mkdir {}", path);
  return ok();
}

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
    // Unlinked (or replaced) between our open and our flock: lock the new one.
  }
  return fail(EAGAIN, "lock {}: the file keeps being replaced", path);
}

namespace {

// The sorted names in the directory open on fd, which this takes over.
Result<std::vector<std::string>> names_in(int fd, std::string_view what) {
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return fail_errno("read {}", what);
  }
  std::vector<std::string> out;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") out.emplace_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

Result<std::vector<std::string>> list_dir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::vector<std::string>{};
    return fail_errno("open {}", path);
  }
  return names_in(fd, path);
}

Result<std::vector<std::string>> list_dir_at(int dirfd) {
  int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail_errno("open a directory");
  return names_in(fd, "a directory");
}

}  // namespace husk
