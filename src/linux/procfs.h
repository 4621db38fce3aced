// A procfs that nobody else can tamper with, for every write the runtime
// makes into /proc (oom_score_adj, LSM attr, sysctl, timens_offsets, the id
// maps). Writing by path trusts whatever is mounted at /proc at that moment:
// after pivot_root that is the container's /proc, and a bind mount over
// /proc/sys/kernel/domainname (a race with shared mounts, runc's
// CVE-2025-52881) sends the write anywhere, /proc/sys/kernel/core_pattern
// included. runc's answer (pathrs-lite) is the model:
//   - the handle is a private, detached proc instance of our own
//     (fsopen("proc") + fsmount): no mount of anyone else's sits on it;
//   - where the kernel refuses a new instance (a user namespace whose proc
//     is not fully visible: mnt_too_revealing; a pid namespace another user
//     namespace owns), a detached clone of the top mount at /proc
//     (open_tree(OPEN_TREE_CLONE), without its submounts);
//   - the handle is checked to be the root of a procfs (statfs magic, root
//     inode), every file is opened beneath it with openat2(RESOLVE_BENEATH |
//     RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV) and checked to be on procfs
//     before it is written.
// A proc instance shows the pid namespace of the task that makes it: the
// init opens its handle once its pid namespace exists, before any mount of
// the container (masked paths would make a new instance "too revealing").
#pragma once

#undef linux  // GNU mode predefines `linux` as 1, which breaks `namespace husk::linux`

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"

namespace husk::linux {

// Whether path may be looked up beneath the proc root: relative, and no
// empty, "." or ".." component ("self/attr/exec", "sys/kernel/domainname").
bool valid_proc_path(std::string_view path);

class Procfs {
 public:
  // No handle: every open fails (EBADF).
  Procfs() = default;

  // A private proc instance, or a detached clone of /proc's top mount where
  // a new instance is refused; verified to be a proc root. The fd is
  // O_CLOEXEC; close() it before anything runs that should not see it.
  static Result<Procfs> open();

  bool valid() const { return root_.valid(); }
  int fd() const { return root_.get(); }
  void close() { root_.reset(); }

  // Opens path (valid_proc_path) beneath the root; symlinks such as "self"
  // are followed only inside it, magic links and mount crossings are
  // refused, and the file must be on procfs. `resolve` adds RESOLVE_* flags.
  Result<UniqueFd> open_file(std::string_view path, int flags, uint64_t resolve = 0) const;

  // Writes data to path in one write(2) (proc files take a value per write).
  Result<void> write(std::string_view path, std::string_view data, uint64_t resolve = 0) const;

  Result<std::string> read(std::string_view path) const;

 private:
  explicit Procfs(UniqueFd root) : root_(std::move(root)) {}
  UniqueFd root_;
};

}  // namespace husk::linux
