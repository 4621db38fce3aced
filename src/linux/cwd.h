// The container process's working directory (CVE-2024-21626). process.cwd is
// hostile input: "/proc/self/fd/N" would land on whatever directory fd N of
// the runtime names, on the host. So the cwd is resolved inside the
// container's root with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) —
// symlinks stay inside the root, magic links are refused — entered with
// fchdir on that fd, and checked afterwards to be reachable from the root.
// The caller closes every fd the container is not meant to get first.
#pragma once

#undef linux  // GNU mode predefines `linux` as 1, which breaks `namespace husk::linux`

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "base/error.h"

namespace husk::linux {

// Enters cwd (absolute), resolved inside the current root ("/"). With
// create, missing directories are made inside the root first (mode 0755), as
// runc does for the init; exec's cwd must exist. owner: a cwd made here is
// chowned to it (uid, gid).
Result<void> enter_cwd(std::string_view cwd, bool create,
                       std::optional<std::pair<uint32_t, uint32_t>> owner = std::nullopt);

}  // namespace husk::linux
