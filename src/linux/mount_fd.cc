#include "linux/mount_fd.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/vfs.h>

#include "linux/mounts.h"
#include "linux/path.h"
#include "sys/mount_api.h"

namespace husk::linux {

namespace {

constexpr unsigned long kAtimeFlags = MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME;
// Per-mount flags a bind remount can change.
constexpr unsigned long kPerMountFlags =
    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | kAtimeFlags;
// Flags the kernel locks on mounts copied into a less privileged user namespace.
constexpr unsigned long kLockableFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
constexpr unsigned kEmptyPaths = MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH;

// ro, nosuid, nodev, noexec, nodiratime, nosymfollow as MOUNT_ATTR_* bits.
uint64_t plain_attrs(unsigned long ms) {
  uint64_t a = 0;
  if (ms & MS_RDONLY) a |= MOUNT_ATTR_RDONLY;
  if (ms & MS_NOSUID) a |= MOUNT_ATTR_NOSUID;
  if (ms & MS_NODEV) a |= MOUNT_ATTR_NODEV;
  if (ms & MS_NOEXEC) a |= MOUNT_ATTR_NOEXEC;
  if (ms & MS_NODIRATIME) a |= MOUNT_ATTR_NODIRATIME;
  if (ms & MS_NOSYMFOLLOW) a |= MOUNT_ATTR_NOSYMFOLLOW;
  return a;
}

// mount(2)'s atime rule: relatime unless noatime, and strictatime wins.
uint64_t atime_attr(unsigned long ms) {
  if (ms & MS_STRICTATIME) return MOUNT_ATTR_STRICTATIME;
  if (ms & MS_NOATIME) return MOUNT_ATTR_NOATIME;
  return MOUNT_ATTR_RELATIME;
}

// The legacy path: mount(2) reaches the target through its magic link.
Result<void> legacy_mount(const char* source, int target_fd, const char* type,
                          unsigned long flags, std::string_view data) {
  std::string target = proc_fd_path(target_fd);
  std::string d(data);
  if (::mount(source, target.c_str(), type, flags, d.empty() ? nullptr : d.c_str()) < 0)
    return fail_errno("");  // callers say which mount
  return ok();
}

Result<UniqueFd> legacy_reopen(const MountTarget& t) {
  return open_in_root(t.root_fd, t.path, O_PATH);
}

// Superblock flags as fsconfig flag names. "silent" only quiets the kernel
// log, which a context keeps to itself anyway.
constexpr struct {
  unsigned long ms;
  const char* name;
} kSbFlags[] = {{MS_RDONLY, "ro"},    {MS_SYNCHRONOUS, "sync"}, {MS_DIRSYNC, "dirsync"},
                {MS_MANDLOCK, "mand"}, {MS_LAZYTIME, "lazytime"}};
// Superblock flags fsconfig has no name for: such a mount takes mount(2).
constexpr unsigned long kLegacyOnlyFlags = MS_POSIXACL | MS_I_VERSION;

// "key=value" as a string parameter, a bare "key" as a flag, as mount(2)
// itself splits its data.
Result<void> configure(int fs, const FsSpec& s) {
  std::string source(s.source);
  HUSK_TRY(sys::fsconfig(fs, FSCONFIG_SET_STRING, "source", source.c_str()));
  size_t i = 0;
  while (i < s.data.size()) {
    size_t j = s.data.find(',', i);
    if (j == std::string_view::npos) j = s.data.size();
    std::string opt(s.data.substr(i, j - i));
    i = j + 1;
    if (opt.empty()) continue;
    size_t eq = opt.find('=');
    if (eq == std::string::npos) {
      HUSK_TRY(sys::fsconfig(fs, FSCONFIG_SET_FLAG, opt.c_str(), nullptr));
    } else {
      opt[eq] = '\0';
      HUSK_TRY(sys::fsconfig(fs, FSCONFIG_SET_STRING, opt.c_str(), opt.c_str() + eq + 1));
    }
  }
  for (const auto& f : kSbFlags)
    if (s.flags & f.ms) HUSK_TRY(sys::fsconfig(fs, FSCONFIG_SET_FLAG, f.name, nullptr));
  return sys::fsconfig(fs, FSCONFIG_CMD_CREATE, nullptr, nullptr);
}

Result<void> strip_prefix_message(Result<void> r) {
  // sys:: names the syscall; for the new-API steps the errno says enough,
  // as mount(2)'s did, unless the filesystem gave its own reason.
  if (r || r.error().message != "fsconfig") return r;
  return fail(r.error().code, "");
}

}  // namespace

Result<UniqueFd> bind_onto(int src_dirfd, const char* src_path, bool recursive,
                           const MountTarget& t) {
  if (!sys::has_new_mount_api()) {
    std::string src = *src_path == '\0' ? proc_fd_path(src_dirfd) : std::string(src_path);
    HUSK_TRY(legacy_mount(src.c_str(), t.fd, nullptr, MS_BIND | (recursive ? MS_REC : 0), ""));
    return legacy_reopen(t);
  }
  unsigned flags = OPEN_TREE_CLONE | (recursive ? AT_RECURSIVE : 0);
  if (*src_path == '\0') flags |= AT_EMPTY_PATH;
  auto tree = sys::open_tree(src_dirfd, src_path, flags);
  if (!tree) return fail(tree.error().code, "");
  auto moved = sys::move_mount(tree->get(), "", t.fd, "", kEmptyPaths);
  if (!moved) return fail(moved.error().code, "");
  return tree;
}

Result<UniqueFd> mount_fs_onto(const FsSpec& s, const MountTarget& t) {
  if (!sys::has_new_mount_api() || (s.flags & kLegacyOnlyFlags) != 0) {
    std::string type(s.type), source(s.source);
    HUSK_TRY(legacy_mount(source.c_str(), t.fd, type.c_str(), s.flags, s.data));
    return legacy_reopen(t);
  }
  std::string type(s.type);
  auto fs = sys::fsopen(type.c_str());
  if (!fs) return fail(fs.error().code, "");
  HUSK_TRY(strip_prefix_message(configure(fs->get(), s)));
  unsigned attrs = static_cast<unsigned>(plain_attrs(s.flags) | atime_attr(s.flags));
  auto mnt = sys::fsmount(fs->get(), attrs);
  if (!mnt) return fail(mnt.error().code, "");
  auto moved = sys::move_mount(mnt->get(), "", t.fd, "", kEmptyPaths);
  if (!moved) return fail(moved.error().code, "");
  return mnt;
}

namespace {

// A remount refused with EPERM: a user namespace keeps the flags it inherited
// locked (ro, nosuid, nodev, noexec). Returns those the retry must keep; fails
// when the user asked to clear one of them, or when none is missing from want
// (then the EPERM was for something else).
Result<unsigned long> locked_flags_to_keep(int mount_fd, unsigned long want,
                                           unsigned long clear_flags) {
  struct statfs sf {};
  if (::fstatfs(mount_fd, &sf) < 0) return fail_errno("remount: statfs");
  unsigned long locked = statfs_to_ms_flags(sf.f_flags) & kLockableFlags;
  if (locked & clear_flags) return fail(EPERM, "remount: flags locked by the kernel");
  if ((locked & ~want) == 0) return fail(EPERM, "remount");
  return locked;
}

}  // namespace

Result<void> set_mount_flags(int mount_fd, unsigned long flags, unsigned long clear_flags) {
  unsigned long want = flags & kPerMountFlags;
  if (!sys::has_new_mount_api()) {
    unsigned long f = MS_BIND | MS_REMOUNT | want;
    auto r = legacy_mount(nullptr, mount_fd, nullptr, f, "");
    if (r || r.error().code != EPERM) return std::move(r).context("remount");
    HUSK_TRY_ASSIGN(unsigned long locked, locked_flags_to_keep(mount_fd, want, clear_flags));
    return legacy_mount(nullptr, mount_fd, nullptr, f | locked, "").context("remount");
  }
  uint64_t set = plain_attrs(want);
  uint64_t clr = plain_attrs(kLockableFlags & ~want);
  if (want & kAtimeFlags) {  // else the mount keeps its atime mode, as a remount does
    set |= atime_attr(want);
    clr |= MOUNT_ATTR__ATIME | MOUNT_ATTR_NODIRATIME;
  }
  auto r = sys::mount_setattr(mount_fd, "", AT_EMPTY_PATH, set, clr);
  if (r || r.error().code != EPERM) return std::move(r).context("remount");
  HUSK_TRY_ASSIGN(unsigned long locked, locked_flags_to_keep(mount_fd, want, clear_flags));
  return sys::mount_setattr(mount_fd, "", AT_EMPTY_PATH, set | plain_attrs(locked),
                            clr & ~plain_attrs(locked))
      .context("remount");
}

Result<void> set_mount_readonly(int mount_fd) {
  if (sys::has_new_mount_api())
    return sys::mount_setattr(mount_fd, "", AT_EMPTY_PATH, MOUNT_ATTR_RDONLY, 0)
        .context("remount read-only");
  struct statfs sf {};
  if (::fstatfs(mount_fd, &sf) < 0) return fail_errno("statfs");
  // No atime flag given: the kernel keeps the mount's atime mode.
  unsigned long keep = statfs_to_ms_flags(sf.f_flags) & kLockableFlags;
  return legacy_mount(nullptr, mount_fd, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, "")
      .context("remount read-only");
}

Result<void> set_mount_propagation(int mount_fd, unsigned long type) {
  if (!sys::has_new_mount_api()) return legacy_mount(nullptr, mount_fd, nullptr, type, "");
  unsigned at = AT_EMPTY_PATH | ((type & MS_REC) ? AT_RECURSIVE : 0);
  auto r = sys::mount_setattr(mount_fd, "", at, 0, 0, type & ~MS_REC);
  if (!r) return fail(r.error().code, "");
  return ok();
}

Result<void> set_mount_attr_tree(int mount_fd, uint64_t attr_set, uint64_t attr_clr) {
  return sys::mount_setattr(mount_fd, "", AT_EMPTY_PATH | AT_RECURSIVE, attr_set, attr_clr);
}

}  // namespace husk::linux
