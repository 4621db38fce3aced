// Small whole-file helpers. Paths are host paths; inside a container rootfs
// use linux/path.h, which never follows a symlink out of the root.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"

namespace husk {

Result<std::string> read_file(const std::string& path);
Result<std::string> read_file_at(int dirfd, const std::string& path);
// Writes all of data to fd, retrying short writes and EINTR.
Result<void> write_all(int fd, std::string_view data);
// Writes a file in place (for /proc and cgroup files: no O_CREAT, no temp).
Result<void> write_file(const std::string& path, std::string_view data);
Result<void> write_file_at(int dirfd, const std::string& path, std::string_view data);
// Writes via a temp file + fsync-free rename, so readers see old or new.
Result<void> write_file_atomic(const std::string& path, std::string_view data, int mode = 0644);

}  // namespace husk
