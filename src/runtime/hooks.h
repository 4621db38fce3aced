// OCI hooks (runtime-spec config.md#posix-platform-hooks). Each hook is a
// program run with exactly its args and env (nothing inherited), the
// container's state JSON on stdin, and an optional timeout in seconds.
//
//   phase            who runs it, where                  state.status
//   prestart         runtime, after the namespaces exist   creating
//   createRuntime    runtime, same point, before pivot     creating
//   createContainer  the init, in the container's mount    creating
//                    namespace, before pivot_root, with
//                    cwd = the rootfs (as runc)
//   startContainer   the init, after start, before execve  created
//                    (cwd = process.cwd, in the new root)
//   poststart        runtime (start/run) after the exec    running
//   poststop         runtime, when delete removed it       stopped
//
// A failing hook (non-zero exit, signal, timeout, cannot start) fails the
// command, as in runc, except poststop whose failures are only logged.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "config/container.h"

namespace husk::runtime {

// Runs hooks in order and stops at the first failure:
//   `error running hook: <phase> hook #<i> (<path>): exit status 3: <its output>`
//   `error running hook: <phase> hook #<i> (<path>): killed by signal 31 (bad system call)`
// ("error running hook" and the signal's words are what runc says, and engines and
// runc's tests look for.)
Result<void> run_hooks(std::string_view phase, const std::vector<config::Hook>& hooks,
                       std::string_view state_json);

}  // namespace husk::runtime
