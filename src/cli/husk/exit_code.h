// Exit statuses of `husk run`, docker's convention: the container's own
// status when it ran, 125 when husk itself failed, 126 when the program could
// not be executed, 127 when it was not found.
#pragma once

#include <cerrno>
#include <string_view>

#include "base/error.h"

namespace husk::cli {

inline constexpr int kExitHuskError = 125;
inline constexpr int kExitNotExecutable = 126;
inline constexpr int kExitNotFound = 127;

// The runtime reports a failed execve as `exec: "prog": <reason>` (runc's
// wording, which engines already match); anything else is husk's own error.
inline int exit_code_for(const Error& e) {
  std::string_view msg = e.message;
  if (msg.find("executable file not found") != std::string_view::npos) return kExitNotFound;
  if (msg.find("exec: \"") == std::string_view::npos) return kExitHuskError;
  switch (e.code) {
    case ENOENT:
    case ENOTDIR:
      return kExitNotFound;
    case EACCES:
    case EPERM:
    case ENOEXEC:
    case EISDIR:
    case ETXTBSY:
    case ELOOP:
      return kExitNotExecutable;
    default:
      return kExitHuskError;
  }
}

}  // namespace husk::cli
