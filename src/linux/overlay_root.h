// The overlayfs root of a container (config::RootOverlay), mounted by its
// init inside the container's own mount namespace, after "/" became a slave:
// the host never sees the mount, so there is nothing to unmount and nothing
// left behind by a kill -9; the kernel drops it with the namespace.
//
// Options:
//   index=off  as containers/storage passes it where the kernel has it: the
//              upper records no file handles of the lowers, so a layer
//              directory can be moved, and the kernel's build default
//              (CONFIG_OVERLAY_FS_INDEX) changes nothing;
//   volatile   (with an upper that goes with its run, --rm; chosen by
//              measurement) no syncfs of the upper's filesystem at unmount:
//              the upper is thrown away with the container, so its data never
//              needs to reach the disk (docs/architecture.md has the numbers).
//              A kept container's upper is mounted without it: overlayfs
//              refuses to mount a volatile upper twice.
// No userxattr: the mount is made by root of the initial user namespace
// (husk run makes no user namespace); a rootless mount would need it.
// A read-only overlay (no upper) is mounted read-only.
#pragma once

#undef linux  // GNU mode predefines `linux` as 1, which breaks `namespace husk::linux`

#include <string>

#include "base/error.h"
#include "config/container.h"

namespace husk::linux {

// Mounts the overlay onto target (an absolute path to an empty directory).
// Relative lower names are resolved from o.base (the cwd is moved there for
// the mount and restored). Errors are one line with the kernel's own reason
// when overlayfs gave one ("overlay: filesystem on ... not supported").
Result<void> mount_root_overlay(const config::RootOverlay& o, const std::string& target);

}  // namespace husk::linux
