// The files of one rotated log (log_writer.h) as the reader sees them: path.N ... path.1,
// path, oldest first, each known by its inode so that a rename cannot fool the reader.
// Internal to log_reader.cc (and its tests).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace husk::manage {

struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const FileId&) const = default;
};

struct OpenLogFile {
  UniqueFd fd;
  FileId id;
  uint64_t size = 0;  // when it was opened
};

// path for k == 0, path.k otherwise.
std::string rotated_log_name(const std::string& path, unsigned k);

// Opens every file of the log, oldest first, as one consistent set: if a rotation renames
// them while they are being opened, it starts over. ENOENT if path has no file at all.
Result<std::vector<OpenLogFile>> open_log_set(const std::string& path);

// The file that comes after `current` (which is no longer path): the one renamed into the
// name just below current's, or, if current was rotated out of the set, the oldest left.
// nullopt while it does not exist yet (the writer is between its rename and its create).
Result<std::optional<OpenLogFile>> open_next_log(const std::string& path, FileId current);

// Where a forward read must start, so that the last n lines are read whole: the file's
// index in `files` and the offset in it (at a record boundary). Reads backwards from the end
// only as far as the last n lines go (lines: log_reader.h).
struct LogPosition {
  size_t file = 0;
  uint64_t offset = 0;
};
Result<LogPosition> find_tail_start(const std::vector<OpenLogFile>& files, uint64_t n);

}  // namespace husk::manage
