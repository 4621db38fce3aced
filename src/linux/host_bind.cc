#include "linux/host_bind.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <climits>
#include <cstdlib>

#include "linux/mount_fd.h"
#include "linux/path.h"
#include "sys/mount_api.h"

namespace husk::linux {
namespace {

// Debian 12's headers predate the unique mount id (Linux 6.8).
constexpr unsigned kStatxMntId = 0x1000;        // STATX_MNT_ID
constexpr unsigned kStatxMntIdUnique = 0x4000;  // STATX_MNT_ID_UNIQUE

Result<HostBind> mount_id_of(int fd) {
  struct statx sx {};
  if (::statx(fd, "", AT_EMPTY_PATH, kStatxMntIdUnique, &sx) == 0 &&
      (sx.stx_mask & kStatxMntIdUnique) != 0)
    return HostBind{.mount_id = sx.stx_mnt_id, .unique_id = true};
  if (::statx(fd, "", AT_EMPTY_PATH, kStatxMntId, &sx) < 0) return fail_errno("statx");
  if ((sx.stx_mask & kStatxMntId) == 0) return fail(ENOSYS, "statx: no mount id");
  return HostBind{.mount_id = sx.stx_mnt_id, .unique_id = false};
}

}  // namespace

Result<HostBind> bind_rootfs_on_itself(
    const std::string& root_path, const std::function<Result<void>(const HostBind&)>& record) {
  if (!sys::has_new_mount_api())
    return fail(ENOSYS, "a container without a mount namespace needs the new mount API (Linux 5.12)");
  char buf[PATH_MAX];
  if (::realpath(root_path.c_str(), buf) == nullptr) return fail_errno("rootfs {:?}", root_path);
  std::string root(buf);
  UniqueFd target(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!target) return fail_errno("open rootfs {:?}", root);
  auto tree = sys::open_tree(target.get(), "", OPEN_TREE_CLONE | AT_RECURSIVE | AT_EMPTY_PATH);
  if (!tree) return fail(tree.error().code, "clone rootfs {:?}", root);
  // Private before it is attached: mounts made below it stay where they are.
  HUSK_TRY(set_mount_propagation(tree->get(), MS_PRIVATE | MS_REC)
               .context("make the rootfs bind {:?} private", root));
  HUSK_TRY_ASSIGN(HostBind b, mount_id_of(tree->get()).context("rootfs bind {:?}", root));
  b.path = root;
  HUSK_TRY(record(b));
  // Detached until here: dropping the fd on an error above unmounts it.
  auto moved = sys::move_mount(tree->get(), "", target.get(), "",
                               MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  if (!moved) return fail(moved.error().code, "bind rootfs {:?} on itself", root);
  return b;
}

Result<UniqueFd> open_host_bind(const HostBind& b) {
  UniqueFd fd(::open(b.path.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return fail_errno("open rootfs {:?}", b.path);
  HUSK_TRY_ASSIGN(HostBind now, mount_id_of(fd.get()).context("rootfs {:?}", b.path));
  if (now.unique_id != b.unique_id || now.mount_id != b.mount_id)
    return fail(ENOENT, "rootfs {:?}: the container's bind is no longer mounted there", b.path);
  return fd;
}

Result<bool> detach_host_bind(const HostBind& b) {
  auto fd = open_host_bind(b);
  if (!fd) {
    if (fd.error().code == ENOENT) return false;
    return std::unexpected(std::move(fd).error());
  }
  // Through the fd: the mount checked above, not whatever the path names now.
  if (::umount2(proc_fd_path(fd->get()).c_str(), MNT_DETACH) < 0)
    return fail_errno("detach the rootfs bind {:?}", b.path);
  return true;
}

}  // namespace husk::linux
