// Mounts made and changed by fd, never by path (runc's fixes for
// CVE-2025-52881 and CVE-2025-31133 are the model). A target is an fd
// resolved inside the rootfs; the new mount is created detached
// (open_tree(OPEN_TREE_CLONE) for a bind, fsopen/fsconfig/fsmount for a
// filesystem), attached onto that fd by move_mount(2), and its flags and
// propagation then changed by mount_setattr(2) on the mount fd it returned.
// No step goes through "/proc/self/fd/N", which mount(2) would re-resolve
// through whatever procfs is mounted at /proc at that moment (after
// pivot_root, the container's own).
//
// On a kernel without the new mount API (before 5.12, probed once) every
// call falls back to mount(2) on "/proc/self/fd/N" and re-opens the new
// mount by its path in the root, as husk did before.
#pragma once

#undef linux  // GNU mode predefines `linux` as 1, which breaks `namespace husk::linux`

#include <string>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"

namespace husk::linux {

// Where a mount goes: fd is an O_PATH fd of the mount point, resolved inside
// the root; root_fd and path (inside the root) serve only the legacy fallback.
struct MountTarget {
  int fd = -1;
  int root_fd = -1;
  std::string_view path;
};

// A new filesystem instance: mount(2)'s source, type, MS_* flags and data.
struct FsSpec {
  std::string_view type;
  std::string_view source;
  unsigned long flags = 0;  // superblock (ro, sync, dirsync...) and per-mount flags
  std::string_view data;    // "key=value,flag,..."
};

// Binds the tree at src_path (resolved from src_dirfd; "" binds src_dirfd
// itself) onto the target, with its submounts when recursive. Returns an
// O_PATH fd of the new mount. Errors carry only the errno: callers name it.
Result<UniqueFd> bind_onto(int src_dirfd, const char* src_path, bool recursive,
                           const MountTarget& t);

// Mounts a new instance of fs onto the target; returns an fd of the new mount.
Result<UniqueFd> mount_fs_onto(const FsSpec& fs, const MountTarget& t);

// Sets the per-mount flags of the mount whose fd is given to exactly
// `flags` & (ro, nosuid, nodev, noexec, the atime modes), as a bind remount
// does (the atime mode is kept when flags name none). A flag the kernel
// locked is kept unless clear_flags names it, in which case EPERM stands.
Result<void> set_mount_flags(int mount_fd, unsigned long flags, unsigned long clear_flags);

// Makes the mount read-only, keeping its other flags.
Result<void> set_mount_readonly(int mount_fd);

// One of MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE, | MS_REC for the tree.
Result<void> set_mount_propagation(int mount_fd, unsigned long type);

// MOUNT_ATTR_* recursive attributes, set and cleared on the whole tree.
Result<void> set_mount_attr_tree(int mount_fd, uint64_t attr_set, uint64_t attr_clr);

}  // namespace husk::linux
