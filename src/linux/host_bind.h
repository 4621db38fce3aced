// The rootfs of a container without a mount namespace of its own
// (runtime-spec allows it; runtime-tools' linux_ns_itype runs one).
//
// runc 1.1 makes the host's "/" rslave for such a container, mounts into the
// rootfs in the host's namespace and leaves every mount behind when the
// container is gone. husk never changes the host's "/": the runtime clones
// the rootfs (open_tree(OPEN_TREE_CLONE | AT_RECURSIVE)), makes the clone
// private (so nothing the init mounts below it propagates anywhere), learns
// its mount id (statx, the 64-bit unique id where the kernel has it), lets
// the caller record that id, and only then attaches it on the rootfs itself.
// The init mounts the config's mounts there and chroots (pivot_root would
// move the host's root). delete detaches the bind, with every mount below it,
// only while the mount on the rootfs is still the one with that id.
#pragma once

#undef linux  // GNU mode predefines `linux` as 1, which breaks `namespace husk::linux`

#include <cstdint>
#include <functional>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace husk::linux {

struct HostBind {
  std::string path;      // the rootfs, canonical
  uint64_t mount_id = 0;
  bool unique_id = false;  // STATX_MNT_ID_UNIQUE (never reused) rather than STATX_MNT_ID
};

// Binds root_path on itself as above. record(bind) runs between the clone and
// its attachment: an error from it (or a crash) leaves nothing mounted.
Result<HostBind> bind_rootfs_on_itself(const std::string& root_path,
                                       const std::function<Result<void>(const HostBind&)>& record);

// An O_PATH fd of the bind, if the mount on b.path is still it; ENOENT if not.
Result<UniqueFd> open_host_bind(const HostBind& b);

// Detaches the bind and everything mounted below it, if it is still there.
// Returns whether something was detached.
Result<bool> detach_host_bind(const HostBind& b);

}  // namespace husk::linux
