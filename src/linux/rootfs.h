// The container's root filesystem, built by its init process (a clone()d
// child already in its new mount namespace, still seeing the host's / and
// /proc). Called in this order:
//
//   prepare_rootfs   propagation of /, rootfs self bind, config mounts,
//                    devices and /dev symlinks (host paths, before pivot)
//   enter_rootfs     pivot_root (or MS_MOVE + chroot), old root detached
//   finalize_rootfs  readonly and masked paths, read-only /dev and /
//                    (container paths, /proc mounted by the config)
//
// No exceptions, no allocation-heavy globals: safe in a cloned child.
#pragma once

#undef linux  // GNU mode predefines `linux` as 1, which breaks `namespace husk::linux`

#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "config/container.h"

namespace husk::linux {

struct RootfsOptions {
  bool in_user_namespace = false;
  // Per entry of c.mounts: an O_PATH fd of a bind mount's source opened for
  // us by the runtime (runtime/mount_sources.h), or invalid: bind by path.
  const std::vector<UniqueFd>* bind_sources = nullptr;
  bool new_cgroup_namespace = false;
  bool no_pivot = false;
};

Result<void> prepare_rootfs(const config::Container& c, const RootfsOptions& o);

// Makes c.root_path the process's "/" and its cwd. With no_pivot, moves the
// rootfs onto "/" and chroots (for ramdisk roots, where pivot_root fails).
// Without a mount namespace of its own (the host's), only chroots.
Result<void> enter_rootfs(const config::Container& c, bool no_pivot);

Result<void> finalize_rootfs(const config::Container& c);

}  // namespace husk::linux
