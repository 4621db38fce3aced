// The monitor's side of the container log (format: log_format.h): bytes from the container's
// stdout/stderr pipes (or its pty master) in, CRI records out, with size-based rotation.
//
//   HUSK_TRY_ASSIGN(auto log, LogWriter::open(dir + "/ctr.log", {.max_size = 10 << 20,
//                                                                 .max_files = 3}));
//   HUSK_TRY(log.write(LogStream::kStdout, {buf, n}));   // any chunk a read() returned
//   ...
//   HUSK_TRY(log.end_stream(LogStream::kStdout));         // the pipe hit EOF
//
// It links into the monitor, a static binary whose peak RSS is measured against conmon's: no
// iostreams, no JSON, no allocation per record (one buffer, reused), one write(2) per chunk.
//
// Rotation (docker's json-file max-size/max-file): before a record would take the file past
// max_size, path.(max_files-2) is renamed to path.(max_files-1) (dropping what was there, the
// oldest), ..., path to path.1, and a new path is made; max_files counts every file, path
// included, so max_files 1 just starts path afresh. Records are never split across files. A
// reader that has path open keeps reading the renamed file to its end and then moves on
// (log_reader.h). max_size 0 never rotates.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"
#include "manage/log_format.h"

namespace husk::manage {

struct LogLimits {
  uint64_t max_size = 0;   // bytes per file; 0: unlimited
  unsigned max_files = 1;  // every file, path included; at least 1
};

class LogWriter {
 public:
  // Opens path for appending (made 0640 if missing). A file that does not end in `\n` (a
  // writer killed mid-record) gets one first, so the next record starts on its own line.
  static Result<LogWriter> open(std::string path, LogLimits limits);

  LogWriter(LogWriter&&) = default;
  LogWriter& operator=(LogWriter&&) = default;

  // Appends a chunk of a stream: any bytes, half lines or many lines. Complete lines become F
  // records (long ones P records first); bytes after the last `\n` wait for the rest of their
  // line (or flush_pending / end_stream). All records of one call share one timestamp: the
  // bytes arrived together.
  Result<void> write(LogStream stream, std::string_view bytes);
  // Writes what waits of an unfinished line as a P record (the line continues later). For the
  // monitor to call when a stream has been quiet a while, so that a prompt shows in `logs -f`.
  Result<void> flush_pending();
  bool has_pending() const { return !pending_[0].empty() || !pending_[1].empty(); }
  // The stream has ended: its unfinished line, if any, becomes a last P record.
  Result<void> end_stream(LogStream stream);

  const std::string& path() const { return path_; }
  // Bytes in the current file (what rotation measures).
  uint64_t size() const { return size_; }

 private:
  LogWriter(std::string path, LogLimits limits, UniqueFd fd, uint64_t size);
  void stamp_now();
  Result<void> add_record(LogStream stream, bool partial, std::string_view text);
  Result<void> add_line(LogStream stream, std::string_view text, bool ends);
  Result<void> flush();
  Result<void> rotate();

  std::string path_;
  LogLimits limits_;
  UniqueFd fd_;
  uint64_t size_ = 0;
  std::string out_;  // records not yet written
  std::string pending_[kLogStreams];
  char stamp_[kLogTimestampLen] = {};
  int64_t stamp_sec_ = -1;  // the second stamp_'s date and time are for
};

}  // namespace husk::manage
