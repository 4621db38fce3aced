// What the store's files (store*.cc) share: staging names in tmp/, removing trees through
// dirfds, syncing directories (lock files and listings are base/file.h's). Internal to src/image/.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"

namespace husk::image::store_util {

// n random characters of base32 (A-Z, 2-7), as containers/storage names its links.
Result<std::string> random_name(size_t n);

// Removes the tree at dirfd/name (not following symlinks); a missing name is no error.
Result<void> remove_tree_at(int dirfd, const std::string& name);

Result<void> fsync_dir(const std::string& path);

}  // namespace husk::image::store_util
