#include "image/unpack_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "sys/mount_api.h"

namespace husk::image {

namespace {

// Every lookup in the layer: one component (or a checked path) below a
// directory of the layer, never through a symlink, a magic link or a mount.
constexpr uint64_t kResolve =
    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
constexpr std::string_view kWhiteout = ".wh.";
constexpr std::string_view kOpaque = ".wh..wh..opq";
constexpr std::string_view kWhiteoutMeta = ".wh..wh.";
constexpr size_t kMaxTreeDepth = PATH_MAX / 2;

std::string join(const std::vector<std::string>& comps, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (i) out.push_back('/');
    out += comps[i];
  }
  return out;
}

Result<void> remove_tree(int parent, const std::string& name, size_t depth);

// fail_errno for a call on a name from the layer: errno is kept before the
// name is quoted.
std::unexpected<Error> fail_named(const char* what, std::string_view name) {
  int code = errno;
  return fail(code, "{} {}", what, quoted_name(name));
}

// Removes whatever is at parent/name (a directory with its content).
Result<void> remove_at(int parent, const std::string& name, size_t depth = 0) {
  struct stat st;
  if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return ok();
    return fail_named("stat", name);
  }
  if (S_ISDIR(st.st_mode)) return remove_tree(parent, name, depth);
  if (::unlinkat(parent, name.c_str(), 0) < 0) return fail_named("unlink", name);
  return ok();
}

Result<void> remove_tree(int parent, const std::string& name, size_t depth) {
  if (depth > kMaxTreeDepth) return fail_quiet(ELOOP, "remove {}: too deep", quoted_name(name));
  int fd = ::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return fail_named("open", name);
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    ::close(fd);
    return fail_named("open", name);
  }
  std::vector<std::string> names;
  while (dirent* d = ::readdir(dir)) {
    std::string_view n = d->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  Result<void> r = ok();
  for (const std::string& n : names) {
    r = remove_at(::dirfd(dir), n, depth + 1);
    if (!r) break;
  }
  ::closedir(dir);
  HUSK_TRY(std::move(r));
  if (::unlinkat(parent, name.c_str(), AT_REMOVEDIR) < 0) return fail_named("rmdir", name);
  return ok();
}

// Runs create() (which returns 0 or an errno); when the name is taken,
// removes what is there, unless keep_dir and it is a directory (then returns
// true: merged), and runs create() once more. A later entry wins, as docker.
template <class F>
Result<bool> create_replacing(int parent, const std::string& name, bool keep_dir, F&& create) {
  int err = create();
  if (err == 0) return false;
  if (err != EEXIST) return fail(err, "create");
  if (keep_dir) {
    struct stat st;
    if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
      return true;
  }
  HUSK_TRY(remove_at(parent, name).context("replace"));
  err = create();
  if (err != 0) return fail(err, "create");
  return false;
}

int errno_of(int rc) { return rc < 0 ? errno : 0; }

Result<void> write_full(int fd, std::span<const uint8_t> data, int64_t offset) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("write");
    }
    data = data.subspan(static_cast<size_t>(n));
    offset += n;
  }
  return ok();
}

}  // namespace

std::string quoted_name(std::string_view name) {
  constexpr size_t kShown = 128;
  std::string out = "\"";
  for (char c : name.substr(0, kShown)) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '"' || c == '\\')
      out += fmt::format("\\x{:02x}", u);  // one line, whatever the layer holds
    else
      out.push_back(c);
  }
  out += "\"";
  if (name.size() > kShown)
    out.insert(out.size() - 1, "...").append(fmt::format(" ({} bytes)", name.size()));
  return out;
}

Result<std::vector<std::string>> normalize_entry_path(std::string_view name) {
  if (name.size() >= PATH_MAX) return fail_quiet(ENAMETOOLONG, "name longer than PATH_MAX");
  if (name.find('\0') != std::string_view::npos) return fail_quiet(EINVAL, "name holds a NUL byte");
  std::vector<std::string> comps;
  size_t i = 0;
  while (i <= name.size()) {
    size_t j = name.find('/', i);
    if (j == std::string_view::npos) j = name.size();
    std::string_view c = name.substr(i, j - i);
    i = j + 1;
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (comps.empty()) return fail_quiet(EPERM, "path escapes the layer");
      comps.pop_back();
      continue;
    }
    if (c.size() > NAME_MAX) return fail_quiet(ENAMETOOLONG, "a component longer than NAME_MAX");
    comps.emplace_back(c);
  }
  return comps;
}

Result<LayerWriter> LayerWriter::open(int dest_dirfd, bool preserve_ownership) {
  LayerWriter w;
  w.preserve_ownership_ = preserve_ownership;
  HUSK_TRY_ASSIGN(UniqueFd root, sys::openat2(dest_dirfd, ".", O_RDONLY | O_DIRECTORY, 0, kResolve)
                                     .context("open the layer directory"));
  w.stack_.push_back({"", std::move(root)});
  return w;
}

Result<UniqueFd> LayerWriter::open_child_dir(int parent, const std::string& name,
                                             const std::string& shown) {
  auto fd = sys::openat2(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, kResolve);
  if (fd) return std::move(*fd);
  int err = fd.error().code;
  struct stat st;
  if (err == ENOTDIR && ::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      S_ISLNK(st.st_mode))
    err = ELOOP;  // O_DIRECTORY spoke first
  if (err == ELOOP) return fail_quiet(err, "parent {} is a symlink", quoted_name(shown));
  if (err == ENOTDIR) return fail_quiet(err, "parent {} is not a directory", quoted_name(shown));
  return fail(err, "open {}", quoted_name(shown));
}

// The directory that holds comps.back(), made where missing, through the
// stack of the last parent's chain (tar entries come grouped by directory).
Result<int> LayerWriter::open_parent(const std::vector<std::string>& comps) {
  size_t depth = comps.size() - 1;
  size_t keep = 1;
  while (keep < stack_.size() && keep - 1 < depth && stack_[keep].name == comps[keep - 1]) ++keep;
  stack_.resize(keep);
  for (size_t i = keep - 1; i < depth; ++i) {
    const std::string& c = comps[i];
    if (c.starts_with(kWhiteout))
      return fail_quiet(EINVAL, "whiteout name {} as a parent directory",
                        quoted_name(join(comps, i + 1)));
    int parent = stack_.back().fd.get();
    if (::mkdirat(parent, c.c_str(), 0755) == 0) {
      // Made for a child entry, as docker does: 0755 whatever the umask, root's.
      if (::fchmodat(parent, c.c_str(), 0755, 0) < 0) return fail_named("chmod", c);
    } else if (errno != EEXIST) {
      return fail_named("mkdir", join(comps, i + 1));
    }
    HUSK_TRY_ASSIGN(UniqueFd fd, open_child_dir(parent, c, join(comps, i + 1)));
    stack_.push_back({c, std::move(fd)});
  }
  return stack_.back().fd.get();
}

Result<void> LayerWriter::apply(const TarEntry& e, EntryData& data) {
  HUSK_TRY_ASSIGN(auto comps,
                  normalize_entry_path(e.path).context("entry {}", quoted_name(e.path)));
  if (comps.empty()) {  // "./" or "/": the layer's root directory itself
    if (e.type != EntryType::kDir)
      return fail_quiet(EINVAL, "entry {}: the root is not a directory", quoted_name(e.path));
    HUSK_TRY(meta_fd(stack_[0].fd.get(), e, true).context("entry {}", quoted_name(e.path)));
    return remember_dir_times(".", e);
  }
  HUSK_TRY_ASSIGN(int parent, open_parent(comps).context("entry {}", quoted_name(e.path)));
  const std::string& base = comps.back();
  if (base.starts_with(kWhiteout)) return make_whiteout(parent, base, e.path);
  return make_entry(parent, base, join(comps, comps.size()), e, data)
      .context("entry {}", quoted_name(e.path));
}

Result<void> LayerWriter::make_entry(int parent, const std::string& name, const std::string& shown,
                                     const TarEntry& e, EntryData& data) {
  switch (e.type) {
    case EntryType::kFile:
      return make_file(parent, name, e, data);
    case EntryType::kDir:
      return make_dir(parent, name, shown, e);
    case EntryType::kHardlink:
      return make_hardlink(parent, name, e);
    case EntryType::kSymlink: {
      if (e.link.empty() || e.link.size() >= PATH_MAX || e.link.find('\0') != std::string::npos)
        return fail_quiet(EINVAL, "bad symlink target");
      HUSK_TRY(create_replacing(parent, name, false, [&] {
        return errno_of(::symlinkat(e.link.c_str(), parent, name.c_str()));
      }));
      return meta_at(parent, name, e, false);
    }
    case EntryType::kChar:
    case EntryType::kBlock:
    case EntryType::kFifo: {
      mode_t type = e.type == EntryType::kChar    ? S_IFCHR
                    : e.type == EntryType::kBlock ? S_IFBLK
                                                  : S_IFIFO;
      dev_t dev = e.type == EntryType::kFifo ? 0 : e.rdev;
      HUSK_TRY(create_replacing(parent, name, false, [&] {
        return errno_of(::mknodat(parent, name.c_str(), type | (e.mode & 0777), dev));
      }));
      return meta_at(parent, name, e, true);
    }
    case EntryType::kOther:
      break;
  }
  return fail_quiet(EINVAL, "unsupported entry type");
}

Result<void> LayerWriter::make_file(int parent, const std::string& name, const TarEntry& e,
                                    EntryData& data) {
  UniqueFd fd;
  HUSK_TRY(create_replacing(parent, name, false, [&] {
    fd.reset(
        ::openat(parent, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    return fd ? 0 : errno;
  }));
  int64_t end = 0;
  for (;;) {
    int64_t offset = 0;
    HUSK_TRY_ASSIGN(auto block, data.next(&offset));
    if (block.empty()) break;
    if (offset < 0) return fail_quiet(EINVAL, "negative data offset");
    HUSK_TRY(write_full(fd.get(), block, offset));
    end = std::max(end, offset + static_cast<int64_t>(block.size()));
  }
  // A sparse file's last hole.
  if (static_cast<uint64_t>(end) < e.size && ::ftruncate(fd.get(), static_cast<off_t>(e.size)) < 0)
    return fail_errno("truncate");
  return meta_fd(fd.get(), e, false);
}

Result<void> LayerWriter::make_dir(int parent, const std::string& name, const std::string& shown,
                                   const TarEntry& e) {
  HUSK_TRY(create_replacing(parent, name, true,
                            [&] { return errno_of(::mkdirat(parent, name.c_str(), 0700)); }));
  HUSK_TRY_ASSIGN(UniqueFd fd, open_child_dir(parent, name, shown));
  HUSK_TRY(meta_fd(fd.get(), e, true));
  HUSK_TRY(remember_dir_times(shown, e));
  // Its children usually come next.
  stack_.push_back({name, std::move(fd)});
  return ok();
}

Result<void> LayerWriter::make_hardlink(int parent, const std::string& name, const TarEntry& e) {
  HUSK_TRY_ASSIGN(auto target,
                  normalize_entry_path(e.link).context("hardlink target {}", quoted_name(e.link)));
  if (target.empty())
    return fail_quiet(EINVAL, "hardlink target {}: the layer's root", quoted_name(e.link));
  std::string tdir = target.size() == 1 ? "." : join(target, target.size() - 1);
  auto tparent = sys::openat2(stack_[0].fd.get(), tdir.c_str(), O_PATH | O_DIRECTORY, 0, kResolve);
  if (!tparent) {
    int err = tparent.error().code;
    if (err == ELOOP || err == ENOTDIR)
      return fail_quiet(err, "hardlink target {}: through a symlink or a non-directory",
                        quoted_name(e.link));
    return fail(err, "hardlink target {}", quoted_name(e.link));
  }
  const std::string& tname = target.back();
  struct stat want, have;
  if (::fstatat(tparent->get(), tname.c_str(), &want, AT_SYMLINK_NOFOLLOW) < 0)
    return fail_named("hardlink target", e.link);
  if (S_ISDIR(want.st_mode))
    return fail_quiet(EPERM, "hardlink target {}: a directory", quoted_name(e.link));
  if (::fstatat(parent, name.c_str(), &have, AT_SYMLINK_NOFOLLOW) == 0 &&
      have.st_ino == want.st_ino && have.st_dev == want.st_dev)
    return ok();  // already that inode (a link to itself, or a repeated entry)
  HUSK_TRY(create_replacing(parent, name, false, [&] {
    return errno_of(::linkat(tparent->get(), tname.c_str(), parent, name.c_str(), 0));
  }));
  return ok();
}

Result<void> LayerWriter::make_whiteout(int parent, const std::string& base,
                                        const std::string& shown) {
  if (base == kOpaque) {
    // The directory that holds the marker: the top of the stack.
    if (::fsetxattr(parent, "trusted.overlay.opaque", "y", 1, 0) < 0)
      return fail_named("set trusted.overlay.opaque for", shown);
    return ok();
  }
  if (base.starts_with(kWhiteoutMeta)) return ok();  // aufs' own metadata (.wh..wh.plnk, ...)
  std::string name = base.substr(kWhiteout.size());
  if (name.empty() || name == "." || name == "..")
    return fail_quiet(EINVAL, "entry {}: bad whiteout name", quoted_name(shown));
  HUSK_TRY(create_replacing(parent, name, false, [&] {
             return errno_of(::mknodat(parent, name.c_str(), S_IFCHR, makedev(0, 0)));
           }).context("entry {}: whiteout", quoted_name(shown)));
  return ok();
}

bool LayerWriter::keep_xattr(const std::string& name) {
  if (name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.")) {
    ++dropped_xattrs_;
    return false;
  }
  return true;
}

// Owner, then mode (chown clears setuid/setgid), then xattrs (chown and data
// writes clear security.capability), then times (files; directories later).
Result<void> LayerWriter::meta_fd(int fd, const TarEntry& e, bool is_dir) {
  if (preserve_ownership_ && ::fchown(fd, e.uid, e.gid) < 0) return fail_errno("chown");
  if (::fchmod(fd, e.mode & 07777) < 0) return fail_errno("chmod");
  HUSK_TRY(set_xattrs_fd(fd, e));
  if (!is_dir) {
    timespec ts[2] = {e.atime, e.mtime};
    if (::futimens(fd, ts) < 0) return fail_errno("set times");
  }
  return ok();
}

// The same for what cannot be opened (symlinks, devices, FIFOs). name is a
// single component just made by this writer in parent.
Result<void> LayerWriter::meta_at(int parent, const std::string& name, const TarEntry& e,
                                  bool chmod) {
  const char* n = name.c_str();
  if (preserve_ownership_ && ::fchownat(parent, n, e.uid, e.gid, AT_SYMLINK_NOFOLLOW) < 0)
    return fail_errno("chown");
  if (chmod && ::fchmodat(parent, n, e.mode & 07777, 0) < 0) return fail_errno("chmod");
  HUSK_TRY(set_xattrs_at(parent, name, e));
  timespec ts[2] = {e.atime, e.mtime};
  if (::utimensat(parent, n, ts, AT_SYMLINK_NOFOLLOW) < 0) return fail_errno("set times");
  return ok();
}

Result<void> LayerWriter::set_xattrs_fd(int fd, const TarEntry& e) {
  if (e.xattrs.size() > kMaxXattrsPerEntry) return fail_quiet(E2BIG, "too many xattrs");
  for (const auto& [name, value] : e.xattrs) {
    if (!keep_xattr(name)) continue;
    if (value.size() > kMaxXattrValue)
      return fail_quiet(E2BIG, "xattr {} too large", quoted_name(name));
    if (::fsetxattr(fd, name.c_str(), value.data(), value.size(), 0) < 0 && errno != ENOTSUP)
      return fail_named("set xattr", name);
  }
  return ok();
}

Result<void> LayerWriter::set_xattrs_at(int parent, const std::string& name, const TarEntry& e) {
  if (e.xattrs.empty()) return ok();
  if (e.xattrs.size() > kMaxXattrsPerEntry) return fail_quiet(E2BIG, "too many xattrs");
  // No *at form of lsetxattr: the parent through its fd, the entry not followed.
  std::string path = "/proc/self/fd/" + std::to_string(parent) + "/" + name;
  for (const auto& [key, value] : e.xattrs) {
    if (!keep_xattr(key)) continue;
    if (value.size() > kMaxXattrValue)
      return fail_quiet(E2BIG, "xattr {} too large", quoted_name(key));
    if (::lsetxattr(path.c_str(), key.c_str(), value.data(), value.size(), 0) < 0 &&
        errno != ENOTSUP)
      return fail_named("set xattr", key);
  }
  return ok();
}

Result<void> LayerWriter::remember_dir_times(std::string path, const TarEntry& e) {
  Times t{{e.atime, e.mtime}};
  auto it = dir_times_index_.find(path);
  if (it != dir_times_index_.end()) {
    dir_times_[it->second].second = t;
    return ok();
  }
  dir_times_bytes_ += path.size() + 64;
  if (dir_times_bytes_ > kMaxDirTimesBytes) return fail_quiet(E2BIG, "too many directories");
  dir_times_index_.emplace(path, dir_times_.size());
  dir_times_.emplace_back(std::move(path), t);
  return ok();
}

Result<void> LayerWriter::finish() {
  stack_.resize(1);
  for (const auto& [path, t] : dir_times_) {
    auto fd = sys::openat2(stack_[0].fd.get(), path.c_str(), O_RDONLY | O_DIRECTORY, 0, kResolve);
    if (!fd) {
      int err = fd.error().code;
      if (err == ENOENT || err == ENOTDIR || err == ELOOP) continue;  // replaced by a later entry
      return fail(err, "directory {}: set times", quoted_name(path));
    }
    if (::futimens(fd->get(), t.at) < 0) return fail_named("set times of directory", path);
  }
  return ok();
}

}  // namespace husk::image
