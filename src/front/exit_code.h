// Exit statuses of `husk run`, docker's convention: the container's own
// status when it ran, 125 when husk itself failed, 126 when the program could
// not be executed, 127 when it was not found.
#pragma once

#include "base/error.h"

namespace husk::cli {

inline constexpr int kExitHuskError = 125;
inline constexpr int kExitNotExecutable = 126;
inline constexpr int kExitNotFound = 127;

// The status for a failed run. The runtime reports a failed execve as
// `exec: "prog": <reason>` (runc's wording, which engines already match);
// anything else is husk's own error.
int exit_code_for(const Error& e);

}  // namespace husk::cli
