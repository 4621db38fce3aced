// What the store's files (store*.cc) share: flock'ed files, staging names in tmp/, removing
// trees through dirfds, record JSON. Internal to src/image/.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace husk::image::store_util {

// Opens (creating, 0600) and flock()s path with op (LOCK_EX/LOCK_SH, maybe | LOCK_NB). Checks,
// once locked, that path still names the locked file (prune unlinks lock files it holds), and
// retries if not. With LOCK_NB, a held lock is an error with code EWOULDBLOCK.
Result<UniqueFd> lock_file(const std::string& path, int op);

// n random characters of base32 (A-Z, 2-7), as containers/storage names its links.
Result<std::string> random_name(size_t n);

// Removes the tree at dirfd/name (not following symlinks); a missing name is no error.
Result<void> remove_tree_at(int dirfd, const std::string& name);

Result<void> fsync_dir(const std::string& path);

// Names of dir's entries (no . and ..), sorted; a missing dir is empty.
Result<std::vector<std::string>> list_dir(const std::string& path);

}  // namespace husk::image::store_util
