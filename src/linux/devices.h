// Device nodes and the standard /dev symlinks inside a container's rootfs
// (before pivot_root), as runc creates them.
#pragma once

#undef linux  // GNU mode predefines `linux` as 1, which breaks `namespace husk::linux`

#include <vector>

#include "base/error.h"
#include "config/container.h"

namespace husk::linux {

// The nodes every container gets: /dev/null, zero, full, random, urandom, tty.
std::vector<config::Device> default_devices();

// default_devices() followed by the user's devices; a user entry replaces a
// default one with the same path.
std::vector<config::Device> merge_devices(const std::vector<config::Device>& user);

// Creates each device under root_fd: mknod with its mode and owner, or, in a
// user namespace (where mknod is refused), a bind mount of the host's node
// of the same path over an empty file. An existing node is kept.
Result<void> create_devices(int root_fd, const std::vector<config::Device>& devices,
                            bool in_user_namespace);

// /dev/ptmx -> pts/ptmx (replacing what is there), /dev/fd -> /proc/self/fd,
// /dev/stdin|stdout|stderr -> /proc/self/fd/0|1|2, and /dev/core ->
// /proc/kcore when the host has one.
Result<void> create_dev_symlinks(int root_fd);

}  // namespace husk::linux
