// Small whole-file helpers. Paths are host paths; inside a container rootfs
// use linux/path.h, which never follows a symlink out of the root.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace husk {

Result<std::string> read_file(const std::string& path);
Result<std::string> read_file_at(int dirfd, const std::string& path);
// Reads fd to its end, retrying EINTR.
Result<std::string> read_all(int fd);
// Writes all of data to fd, retrying short writes and EINTR.
Result<void> write_all(int fd, std::string_view data);
// Adds O_NONBLOCK to fd's file status flags.
Result<void> set_nonblock(int fd);
// Writes a file in place (for /proc and cgroup files: no O_CREAT, no temp).
Result<void> write_file(const std::string& path, std::string_view data);
Result<void> write_file_at(int dirfd, const std::string& path, std::string_view data);
// Writes a unique temp file next to path (<path>.tmp-<pid>-<n>, O_EXCL),
// fsyncs it and renames it over path: readers, and whoever looks after a
// crash, see the old file or the new one, whole. A writer killed midway
// leaves at most its temp file (names starting with path + kAtomicTempInfix).
// The directory is not fsynced: a lost rename leaves the old file, which
// every caller can live with (state.h).
inline constexpr const char* kAtomicTempInfix = ".tmp-";
// kVolatile skips the fsync, for files that a reboot makes meaningless anyway
// (leases and per-container files under /run): the rename still keeps readers
// from seeing a partial file.
enum class Durability { kSynced, kVolatile };
Result<void> write_file_atomic(const std::string& path, std::string_view data, int mode = 0644,
                               Durability durability = Durability::kSynced);

// mkdir -p: makes each missing directory of path with exactly `mode` (the
// umask does not apply to it); directories that exist are left as they are.
// ENOTDIR when path, or a component, is something else.
Result<void> make_dirs(const std::string& path, mode_t mode);

// The names in a directory, "." and ".." left out, sorted. A directory that
// does not exist has none.
Result<std::vector<std::string>> list_dir(const std::string& path);
// The same for an open directory, read through a file description of its own:
// dirfd's offset is left alone.
Result<std::vector<std::string>> list_dir_at(int dirfd);

// Opens (creating, 0600, never through a symlink) and flock()s path with op
// (LOCK_EX or LOCK_SH, maybe | LOCK_NB); the lock lasts as long as the fd.
// Once locked, checks that path still names the locked file (a holder may
// unlink a lock file it is done with) and starts over if not. With LOCK_NB a
// held lock is an error with code EWOULDBLOCK.
Result<UniqueFd> lock_file(const std::string& path, int op);

}  // namespace husk
