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

}  // namespace husk::sys
