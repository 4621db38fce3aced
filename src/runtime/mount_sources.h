// Bind-mount sources for an init in a user namespace (runc's mount fds).
//
// In a user namespace the init's root is a mapped uid: a source under a host
// directory it cannot search (0700, someone else's) fails with EACCES, though
// the config, written for a root runtime, names it. So the runtime opens each
// bind source for it, O_PATH, with its own credentials, *inside the init's
// mount namespace* (a forked helper setns()es there): a bind made later from
// that fd (open_tree(OPEN_TREE_CLONE), then move_mount) must come from the
// namespace it goes into, and the mounts in it are the copies the kernel made
// for the user namespace, with their flags locked (a read-only host mount stays
// read-only). Symlinks in the source are followed as a bind by path would;
// nothing is created or resolved inside the rootfs here.
//
// Where the helper cannot enter that namespace (a runtime without
// CAP_SYS_ADMIN of its own, rootless), every answer says "open it yourself"
// and the init binds by path as before.
#pragma once

#include <sys/types.h>

#include <optional>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "config/container.h"
#include "runtime/sync.h"

namespace husk::runtime {

// Whether the init asks for its bind sources: it is in a user namespace (new
// or joined) and its mount namespace is its own.
bool wants_mount_sources(const config::Container& c);

// The runtime's side: opened once, on the first request, for every bind mount.
class MountSources {
 public:
  // Answers one kMountSource request from the init (pid) on sock.
  Result<void> answer(SyncSocket& sock, const Message& request, pid_t pid,
                      const config::Container& c);

 private:
  struct Source {
    UniqueFd fd;
    int err = 0;  // fd invalid and err 0: the init opens it itself
  };
  Result<void> open_all(pid_t pid, const config::Container& c);
  std::optional<std::vector<Source>> sources_;  // by index in c.mounts
};

// The init's side: one fd per entry of c.mounts (invalid where the init
// binds by path: not a bind mount, or the runtime could not open it).
Result<std::vector<UniqueFd>> request_mount_sources(SyncSocket& sock, const config::Container& c);

}  // namespace husk::runtime
