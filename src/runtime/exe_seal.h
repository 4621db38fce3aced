// CVE-2019-5736: no process in a container may ever get a writable handle on
// the runtime's binary.
//
// The init and exec's process run runtime code until their execve, so until
// then their /proc/self/exe is the runtime's binary. A container program
// named /proc/self/exe, or a script whose interpreter is, makes that execve
// run the binary inside the container as a dumpable process, whose exe link
// any sibling can open; once no runtime process is left, the sibling reopens
// that fd for writing and rewrites the host's binary. Being non-dumpable
// until the execve is not enough.
//
// So the commands that start container processes (create, run, exec) first
// make sure they run from a sealed view of their binary, and re-execute
// themselves from one when they do not:
//   - zero-copy: a private overlayfs of two lower layers and no upper one,
//     the binary's own directory over an empty private tmpfs, both detached
//     (fsopen/fsmount: in no mount namespace) and mounted read-only; with no
//     upper layer nothing can be written through it at all, even if someone
//     made the mount writable again (runc 1.2 seals with an overlay too);
//   - otherwise (no overlayfs, no mount privilege, a binary replaced on
//     disk): a copy in a memfd, sealed against writes (crun's way).
// A binary that already sits on a read-only mount, or in a sealed memfd, is
// not re-executed.
#pragma once

#include "base/error.h"

namespace husk::runtime {

// Returns when /proc/self/exe is sealed. Otherwise re-executes the program
// with the same argv and envp from a sealed view of itself and does not
// return; an error means no sealed view could be made or executed.
Result<void> seal_own_executable(char** argv, char** envp);

// Whether an open executable file is sealed: in a memfd with F_SEAL_WRITE, or
// on a read-only mount or filesystem.
bool executable_is_sealed(int fd);

}  // namespace husk::runtime
