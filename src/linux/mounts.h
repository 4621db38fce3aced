// Mounting config::Mount entries into a container's rootfs, from inside the
// container's mount namespace (before pivot_root).
//
// Mechanism: every target is created and opened inside the rootfs with
// openat2(RESOLVE_IN_ROOT) (linux/path.h), so a symlink planted in the rootfs
// cannot redirect a mount to the host. The mount itself is made by fd
// (linux/mount_fd.h): a detached tree (open_tree or fsopen/fsmount) moved
// onto the target's fd, then its flags, propagation and recursive attributes
// set by mount_setattr(2) on the fd it came back as. No "/proc/self/fd/N"
// path is involved, except on kernels without the new mount API.
//
// No destination may resolve inside /proc, except the few files lxcfs
// emulates, and /proc itself takes only a procfs (runc's checkProcMount).
#pragma once

#undef linux  // GNU mode predefines `linux` as 1, which breaks `namespace husk::linux`

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "config/container.h"

namespace husk::linux {

// One line of /proc/self/mountinfo, octal escapes decoded.
struct MountInfo {
  int id = 0;
  int parent = 0;
  std::string root;           // path of the mount's root inside its filesystem
  std::string mount_point;
  std::string mount_options;  // per-mount: "rw,nosuid,relatime"
  std::string optional;       // "shared:1 master:2" (may be empty)
  std::string fs_type;
  std::string source;
  std::string super_options;  // per-superblock: "rw,size=65536k"
};

// Parses mountinfo text; malformed lines are skipped.
std::vector<MountInfo> parse_mountinfo(std::string_view text);
Result<std::vector<MountInfo>> read_mountinfo();

// Whether child is parent or below it, as paths ("/a" holds "/a/b", not "/ab").
bool path_has_prefix(std::string_view child, std::string_view parent);

// MS_* flags of a mount from statfs(2) f_flags (ST_* values).
unsigned long statfs_to_ms_flags(unsigned long f_flags);

// Runtime-spec mount features mount_entry implements (husk-oci `features`
// reports them): id-mapped mounts ("idmap", "ridmap", uid/gidMappings) are
// refused with EOPNOTSUPP, and runc's "tmpcopyup" is accepted by spec/ but
// nothing copies the old contents in. Flip these when that changes.
inline constexpr bool kIdmappedMounts = false;
inline constexpr bool kTmpcopyup = false;

// What mount_entry needs to know about the container being built.
struct MountContext {
  int root_fd = -1;            // the rootfs, opened after its self bind mount
  std::string root_path;       // its canonical host path (for mountinfo filtering)
  bool in_user_namespace = false;
  bool new_cgroup_namespace = false;
  bool new_network_namespace = false;
  std::string mount_label;     // linux.mountLabel (checked by check_mount_label)
};

// linux.mountLabel needs SELinux: on a host without it a label is an error
// naming the field, never ignored. An empty label passes.
Result<void> check_mount_label(const std::string& label);

// A mount's data with linux.mountLabel applied, as runc applies it: the
// filesystems a config mounts get `context="LABEL"` appended; proc, sysfs,
// mqueue (labelled as a file instead), cgroup hierarchies and bind mounts (the kernel
// ignores their data) keep theirs. Pure, for mount_entry and tests.
std::string labelled_mount_data(std::string_view type, std::string_view data,
                                std::string_view label);

// Mounts one entry into the rootfs, target created as needed. Errors read
// `mount "SRC" on "DEST": reason`. A bind mount whose source_fd is given
// binds that (an O_PATH fd of m.source opened by the runtime, in our mount
// namespace) instead of looking m.source up.
Result<void> mount_entry(const MountContext& ctx, const config::Mount& m, int source_fd = -1);

// Changes the per-mount flags of the mount whose fd is given, as
// MS_BIND|MS_REMOUNT would. A flag the kernel locked (a user namespace keeps
// nosuid/nodev/noexec/ro inherited from a more privileged namespace) is kept
// unless clear_flags names it explicitly, in which case the EPERM stands.
Result<void> remount_bind(int mount_fd, unsigned long flags, unsigned long clear_flags);

// Makes the mount at mount_fd read-only, keeping its other flags.
Result<void> remount_readonly(int mount_fd);

// Applies MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC) to the mount
// whose root fd is given; 0 does nothing.
Result<void> apply_propagation(int mount_fd, unsigned long propagation);

// The "cgroup" mount type: cgroup2 on a v2 host; on a v1 or hybrid host a
// tmpfs holding one directory per hierarchy, as runc builds (mounts_cgroup.cc).
Result<void> mount_cgroup(const MountContext& ctx, const config::Mount& m);

// Internal helpers shared by mounts.cc and mounts_cgroup.cc.
Result<void> mount_bind(const MountContext& ctx, const config::Mount& m, int source_fd = -1);
Result<void> mount_filesystem(const MountContext& ctx, const config::Mount& m);

}  // namespace husk::linux
