// Paths inside a container's root filesystem. The rootfs is untrusted: an
// image may hold symlinks meant to point a mount or a mknod at the host. So
// every lookup goes through openat2(RESOLVE_IN_ROOT), which resolves "/" and
// ".." of symlinks against the root fd, as if the rootfs were "/", and every
// creation is a *at call on an fd already resolved inside the root.
#pragma once

#undef linux  // GNU mode predefines `linux` as 1, which breaks `namespace husk::linux`

#include <sys/types.h>

#include <string>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"

namespace husk::linux {

// Lexical clean-up: collapses "//", "." and "..", never climbs above "/".
// Always absolute: "a/../b" -> "/b", "" -> "/".
std::string clean_path(std::string_view path);

// "/proc/self/fd/N": the magic link through which mount(2) reaches an fd.
std::string proc_fd_path(int fd);

// Opens path (absolute or not, taken from root_fd) with symlinks resolved
// inside the root and magic links (/proc/self/...) refused.
Result<UniqueFd> open_in_root(int root_fd, std::string_view path, int flags, mode_t mode = 0);

// The path that `path` designates inside the root, symlinks followed (inside
// the root) as far as they exist: a dangling symlink such as
// /etc/resolv.conf -> ../run/resolve/stub.conf yields "/run/resolve/stub.conf".
// The result is clean and absolute; it is where creation should happen.
Result<std::string> resolve_in_root(int root_fd, std::string_view path);

// Creates every missing directory of path (symlinks resolved inside the root,
// each component made by mkdirat on its parent's fd, never followed out) and
// returns an O_PATH fd to the final directory.
Result<UniqueFd> mkdir_all_in_root(int root_fd, std::string_view path, mode_t mode);

// A mount target: the directory, or an empty file (for binding a file), with
// its parents created. An existing target is reused. Returns an O_PATH fd.
Result<UniqueFd> create_mountpoint(int root_fd, std::string_view path, bool directory);

}  // namespace husk::linux
