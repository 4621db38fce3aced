// Thin wrappers for the path-resolution and new mount API syscalls that
// glibc 2.36 either lacks (openat2) or declares in <sys/mount.h> only (which
// conflicts with <linux/mount.h>). Typed results, no policy.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace husk::sys {

// openat2(2). flags always gain O_CLOEXEC. Retries EAGAIN, which the kernel
// returns for RESOLVE_IN_ROOT/RESOLVE_BENEATH when a rename or mount raced
// the lookup. The error message is just "openat2": callers name the path.
Result<UniqueFd> openat2(int dirfd, const char* path, uint64_t flags, uint64_t mode,
                         uint64_t resolve);

// mount_setattr(2) with struct mount_attr.
Result<void> mount_setattr(int dirfd, const char* path, unsigned flags, uint64_t attr_set,
                           uint64_t attr_clr, uint64_t propagation = 0);

// open_tree(2); OPEN_TREE_CLOEXEC is always added.
Result<UniqueFd> open_tree(int dirfd, const char* path, unsigned flags);

// move_mount(2).
Result<void> move_mount(int from_dirfd, const char* from_path, int to_dirfd,
                        const char* to_path, unsigned flags);

// fsopen(2); FSOPEN_CLOEXEC is always added.
Result<UniqueFd> fsopen(const char* fs_type);

// fsconfig(2). On failure the message is the filesystem's own reason when it
// logged one in the context ("tmpfs: Bad value for 'size'"), else "fsconfig".
Result<void> fsconfig(int fs_fd, unsigned cmd, const char* key, const char* value, int aux = 0);

// fsmount(2) with FSMOUNT_CLOEXEC and MOUNT_ATTR_* attr_flags.
Result<UniqueFd> fsmount(int fs_fd, unsigned attr_flags);

// Whether the kernel has the whole new mount API (open_tree, move_mount,
// fsopen/fsconfig/fsmount: 5.2; mount_setattr: 5.12). Probed once, by
// mount_setattr, the newest of them.
bool has_new_mount_api();

}  // namespace husk::sys
