// Seccomp user notification (SCMP_ACT_NOTIFY), as runc does it. The process
// (the init, or exec's process) loads its filter late, after the user switch,
// and gets the listener fd from seccomp(2). It hands the fd to the runtime,
// which passes it on to the seccomp agent listening at
// linux.seccomp.listenerPath, together with runtime-spec's container process
// state (runtime.md), before the process goes on:
//
//   init / exec's process                        runtime
//   ---------------------                        -------
//   seccomp(NEW_LISTENER) -> fd N
//   write(kSeccomp "N") -------------------->   pidfd_getfd(N)
//                                               connect(listenerPath), SOCK_STREAM
//                                               sendmsg({"ociVersion", "fds":
//                                                 ["seccompFd"], "pid", "metadata",
//                                                 "state"} + the fd by SCM_RIGHTS)
//   recv(kSeccompDone) <---------------------   kSeccompDone
//   close(N), goes on
//
// Between the load and the answer the process makes one write(2), which a
// filter may not notify (runc's rule, spec/config_seccomp.cc), and a recv:
// that one (and every syscall after it) may be notified, since the agent has
// the fd by the time the runtime answers. The fd's number crosses the socket,
// not the fd, so no sendmsg is needed (runc sends the number too). An agent
// that cannot be reached fails create, run or exec; the runtime's guards then
// undo everything.
#pragma once
#undef linux  // GNU mode predefines `linux` as 1, which breaks `namespace husk::linux`

#include <sys/types.h>

#include <string_view>

#include "base/error.h"
#include "config/container.h"
#include "linux/process.h"
#include "runtime/sync.h"

namespace husk::runtime {

// The process's side, for linux::finalize_process: sends the fd's number as
// kSeccomp on sock and waits for kSeccompDone. Touches only its own stack.
linux::NotifyFdSink notify_fd_sink(SyncSocket& sock);

// The runtime's side, for kSeccomp from process `pid`: takes a copy of the
// fd, sends it with the container process state to the agent and answers
// kSeccompDone on sock. container_state is the container's state document
// (to_hook_json): "creating" and the init's pid for the init, "running" for
// exec's process.
Result<void> forward_notify_fd(SyncSocket& sock, const Message& m, pid_t pid,
                               const config::Seccomp* seccomp, std::string_view container_state);

}  // namespace husk::runtime
