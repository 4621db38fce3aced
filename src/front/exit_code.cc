#include "front/exit_code.h"

#include <cerrno>
#include <string_view>

namespace husk::cli {

int exit_code_for(const Error& e) {
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
