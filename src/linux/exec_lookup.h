// Finds the program the container's init will execve, the way runc does it
// (Go's exec.LookPath run inside the container, after pivot_root). Engines
// read the messages: "executable file not found in $PATH" maps to exit 127,
// "permission denied" to 126.
#pragma once
#undef linux  // GNU mode predefines `linux` as 1, which breaks `namespace husk::linux`

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace husk::linux {

// Used when the process env has no PATH at all (crun does the same; runc
// would find nothing). An empty "PATH=" still means an empty search list.
inline constexpr std::string_view kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The value of the last "PATH=" entry of env (the one a shell would see
// after applying env in order), or kDefaultPath when there is none.
std::string_view path_from_env(const std::vector<std::string>& env);

// arg0 with a '/': returned as is when it is an executable regular file,
// else `exec: "<arg0>": <reason>` (EACCES: "permission denied", ENOENT:
// "stat <arg0>: no such file or directory", EISDIR: "is a directory").
// Without a '/': the first executable <dir>/<arg0> along PATH (an empty
// element means "."); none → `exec: "<arg0>": executable file not found in
// $PATH` (ENOENT). Like Go, a non-executable match is skipped, not reported.
Result<std::string> find_executable(const std::vector<std::string>& env, const std::string& arg0);

}  // namespace husk::linux
