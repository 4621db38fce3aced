#include "linux/rootfs.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "linux/devices.h"
#include "linux/mount_fd.h"
#include "linux/mounts.h"
#include "linux/overlay_root.h"
#include "linux/path.h"

namespace husk::linux {

namespace {

bool is_new_namespace(const config::Container& c, config::NamespaceType t) {
  const config::Namespace* ns = c.find_namespace(t);
  return ns != nullptr && ns->path.empty();
}

// runc skips device setup when the config binds a whole /dev from the host.
bool needs_dev_setup(const config::Container& c) {
  for (const auto& m : c.mounts)
    if ((m.bind() || m.type == "bind") && clean_path(m.destination) == "/dev") return false;
  return true;
}

Result<std::string> real_root(const config::Container& c) {
  char buf[PATH_MAX];
  if (::realpath(c.root_path.c_str(), buf) == nullptr)
    return fail_errno("rootfs \"{}\"", c.root_path);
  return std::string(buf);
}

// pivot_root(2) refuses a rootfs whose parent mount is shared, and the self
// bind below would propagate to the host through it: make it private.
Result<void> make_parent_private(const std::string& root) {
  HUSK_TRY_ASSIGN(auto infos, read_mountinfo());
  const MountInfo* parent = nullptr;
  for (const auto& mi : infos) {
    // Later lines of the same mount point are stacked on top: prefer them.
    if (path_has_prefix(root, mi.mount_point) &&
        (parent == nullptr || mi.mount_point.size() >= parent->mount_point.size()))
      parent = &mi;
  }
  if (parent == nullptr || parent->optional.find("shared:") == std::string::npos) return ok();
  if (::mount(nullptr, parent->mount_point.c_str(), nullptr, MS_PRIVATE, nullptr) < 0)
    return fail_errno("make \"{}\" private", parent->mount_point);
  return ok();
}

Result<void> prepare_root(const config::Container& c, const std::string& root) {
  unsigned long propagation = c.rootfs_propagation != 0 ? c.rootfs_propagation : MS_SLAVE | MS_REC;
  // An unbindable "/" could not give the rootfs bind below: slave now, and
  // the new root is made unbindable once it is "/" (enter_rootfs).
  if (propagation & MS_UNBINDABLE) propagation = MS_SLAVE | MS_REC;
  if (::mount(nullptr, "/", nullptr, propagation, nullptr) < 0)
    return fail_errno("set propagation of \"/\"");
  // Under the default rslave no mount is left shared, so only a configured
  // propagation can leave the rootfs's parent shared.
  if (c.rootfs_propagation != 0) HUSK_TRY(make_parent_private(root));
  // An overlay root is mounted here, in the container's namespace only (a
  // slave now): pivot_root gets its mount point, and the host never sees it.
  if (c.root_overlay) return mount_root_overlay(*c.root_overlay, root);
  if (::mount(root.c_str(), root.c_str(), "bind", MS_BIND | MS_REC, nullptr) < 0)
    return fail_errno("bind mount rootfs \"{}\"", root);
  return ok();
}

Result<void> pivot_into(const std::string& root) {
  UniqueFd old_root(::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!old_root) return fail_errno("open \"/\"");
  UniqueFd new_root(::open(root.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!new_root) return fail_errno("open rootfs \"{}\"", root);
  if (::fchdir(new_root.get()) < 0) return fail_errno("chdir to rootfs \"{}\"", root);
  // pivot_root(".", "."): the old root ends up stacked on the new one, so no
  // directory for it is needed in the image; it is detached right after.
  if (::syscall(SYS_pivot_root, ".", ".") < 0) return fail_errno("pivot_root \"{}\"", root);
  if (::fchdir(old_root.get()) < 0) return fail_errno("chdir to old root");
  // rslave first, so the detach below cannot propagate to the host.
  if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
    return fail_errno("make old root rslave");
  if (::umount2(".", MNT_DETACH) < 0) return fail_errno("detach old root");
  return ok();
}

// Without pivot_root the host's proc and sysfs mounts stay reachable from the
// mount namespace; detach (or cover) them, as runc does, so that a later
// proc or sysfs mount sees no fully visible instance to borrow from.
Result<void> hide_host_kernel_fs(const std::string& root) {
  HUSK_TRY_ASSIGN(auto infos, read_mountinfo());
  for (const auto& mi : infos) {
    if (mi.fs_type != "proc" && mi.fs_type != "sysfs") continue;
    if (path_has_prefix(mi.mount_point, root)) continue;
    const char* p = mi.mount_point.c_str();
    if (::mount(nullptr, p, nullptr, MS_SLAVE | MS_REC, nullptr) < 0) {
      if (errno == ENOENT) continue;  // under a mount detached already
      return fail_errno("make \"{}\" rslave", mi.mount_point);
    }
    if (::umount2(p, MNT_DETACH) == 0) continue;
    if (errno != EINVAL && errno != EPERM) return fail_errno("detach \"{}\"", mi.mount_point);
    if (::mount("tmpfs", p, "tmpfs", 0, nullptr) < 0)
      return fail_errno("cover \"{}\"", mi.mount_point);
  }
  return ok();
}

Result<void> move_into(const std::string& root) {
  HUSK_TRY(hide_host_kernel_fs(root));
  if (::mount(root.c_str(), "/", nullptr, MS_MOVE, nullptr) < 0)
    return fail_errno("move rootfs \"{}\" to \"/\"", root);
  if (::chroot(".") < 0) return fail_errno("chroot \"{}\"", root);
  return ok();
}

// Each readonly or masked path is opened inside the root and mounted on by
// that fd; the mount made is changed through its own fd. Nothing is looked
// up again by path, so a /proc replaced meanwhile (CVE-2025-52881) or a
// /dev/null swapped for a symlink (CVE-2025-31133) redirects nothing.
Result<void> readonly_path(int root_fd, const std::string& path) {
  std::string dest = clean_path(path);
  auto fd = open_in_root(root_fd, dest, O_PATH);
  if (!fd) {
    if (fd.error().code == ENOENT) return ok();
    return fail(fd.error().code, "readonly path \"{}\"", dest);
  }
  MountTarget t{.fd = fd->get(), .root_fd = root_fd, .path = dest};
  auto mnt = bind_onto(fd->get(), "", true, t);
  if (!mnt) return fail(mnt.error().code, "readonly path \"{}\"", dest);
  return remount_readonly(mnt->get()).context("readonly path \"{}\"", dest);
}

// The container's /dev/null, checked to be the null device: masking files
// with anything else would show the image's content instead.
Result<UniqueFd> open_dev_null(int root_fd) {
  HUSK_TRY_ASSIGN(UniqueFd fd, open_in_root(root_fd, "/dev/null", O_PATH | O_NOFOLLOW));
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) return fail_errno("stat \"/dev/null\"");
  if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
    return fail(ENODEV, "\"/dev/null\" is not the null device");
  return fd;
}

Result<void> masked_path(int root_fd, const std::string& path, int dev_null_fd,
                         const std::string& mount_label) {
  std::string dest = clean_path(path);
  auto fd = open_in_root(root_fd, dest, O_PATH);
  if (!fd) {
    if (fd.error().code == ENOENT) return ok();
    return fail(fd.error().code, "masked path \"{}\"", dest);
  }
  struct stat st {};
  if (::fstat(fd->get(), &st) < 0) return fail_errno("masked path \"{}\"", dest);
  MountTarget t{.fd = fd->get(), .root_fd = root_fd, .path = dest};
  const std::string data = labelled_mount_data("tmpfs", "", mount_label);
  auto mnt = S_ISDIR(st.st_mode)
                 ? mount_fs_onto({.type = "tmpfs", .source = "tmpfs", .flags = MS_RDONLY,
                                  .data = data},
                                 t)
                 : bind_onto(dev_null_fd, "", false, t);
  if (!mnt) return fail(mnt.error().code, "masked path \"{}\"", dest);
  return ok();
}

// Standard streams inherited as the host's /dev/null are reopened on the
// container's, as runc does, so no fd keeps a host /dev inode reachable.
void reopen_stdio_dev_null() {
  struct stat inner {};
  if (::stat("/dev/null", &inner) < 0 || !S_ISCHR(inner.st_mode)) return;
  for (int fd = 0; fd <= 2; ++fd) {
    struct stat st {};
    if (::fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != inner.st_rdev) continue;
    if (st.st_dev == inner.st_dev && st.st_ino == inner.st_ino) continue;
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0) continue;
    UniqueFd fresh(::open("/dev/null", (flags & O_ACCMODE) | O_CLOEXEC));
    if (fresh) ::dup2(fresh.get(), fd);
  }
}

}  // namespace

Result<void> prepare_rootfs(const config::Container& c, const RootfsOptions& o) {
  HUSK_TRY(check_mount_label(c.mount_label));
  HUSK_TRY_ASSIGN(std::string root, real_root(c));
  // Without a mount namespace the runtime bound the rootfs on itself already,
  // private, in the host's namespace (linux/host_bind.h): "/" is the host's.
  if (c.has_namespace(config::NamespaceType::kMount)) HUSK_TRY(prepare_root(c, root));
  UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) return fail_errno("open rootfs \"{}\"", root);

  MountContext ctx;
  ctx.root_fd = root_fd.get();
  ctx.root_path = root;
  ctx.in_user_namespace = o.in_user_namespace;
  ctx.new_cgroup_namespace = o.new_cgroup_namespace;
  ctx.new_network_namespace = is_new_namespace(c, config::NamespaceType::kNetwork);
  ctx.mount_label = c.mount_label;
  for (size_t i = 0; i < c.mounts.size(); ++i) {
    int source_fd = o.bind_sources != nullptr && i < o.bind_sources->size()
                        ? (*o.bind_sources)[i].get()
                        : -1;
    HUSK_TRY(mount_entry(ctx, c.mounts[i], source_fd));
  }

  if (needs_dev_setup(c)) {
    HUSK_TRY(create_devices(root_fd.get(), merge_devices(c.devices), o.in_user_namespace));
    HUSK_TRY(create_dev_symlinks(root_fd.get()));
  }
  return ok();
}

Result<void> enter_rootfs(const config::Container& c, bool no_pivot) {
  HUSK_TRY_ASSIGN(std::string root, real_root(c));
  if (::chdir(root.c_str()) < 0) return fail_errno("chdir to rootfs \"{}\"", root);
  if (!c.has_namespace(config::NamespaceType::kMount)) {
    // The host's mount namespace: pivot_root or MS_MOVE would move the
    // host's own root. The cwd is the runtime's bind on the rootfs.
    if (::chroot(".") < 0) return fail_errno("chroot \"{}\"", root);
  } else if (no_pivot) {
    HUSK_TRY(move_into(root));
  } else {
    HUSK_TRY(pivot_into(root));
  }
  if (::chdir("/") < 0) return fail_errno("chdir \"/\"");
  // Only now: applied before the pivot it would change the host's "/".
  if (c.rootfs_propagation != 0 &&
      ::mount(nullptr, "/", nullptr, c.rootfs_propagation, nullptr) < 0)
    return fail_errno("set rootfs propagation");
  return ok();
}

Result<void> finalize_rootfs(const config::Container& c) {
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return fail_errno("open \"/\"");
  for (const auto& p : c.readonly_paths) HUSK_TRY(readonly_path(root.get(), p));
  if (!c.masked_paths.empty()) {
    HUSK_TRY_ASSIGN(UniqueFd dev_null, open_dev_null(root.get()).context("masked paths"));
    for (const auto& p : c.masked_paths)
      HUSK_TRY(masked_path(root.get(), p, dev_null.get(), c.mount_label));
  }
  for (const auto& m : c.mounts) {
    if (clean_path(m.destination) != "/dev") continue;
    if (m.flags & MS_RDONLY) {
      HUSK_TRY_ASSIGN(UniqueFd dev, open_in_root(root.get(), "/dev", O_PATH | O_DIRECTORY));
      HUSK_TRY(remount_readonly(dev.get()).context("mount \"/dev\""));
    }
    break;
  }
  if (c.root_readonly) HUSK_TRY(remount_readonly(root.get()).context("rootfs \"/\""));
  reopen_stdio_dev_null();
  return ok();
}

}  // namespace husk::linux
