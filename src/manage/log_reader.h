// The reading side of the container log (format: log_format.h), for `husk logs`:
//
//   HUSK_TRY_ASSIGN(auto since, parse_log_time("--since", flag, now_ns()));
//   FdLogSink sink(STDOUT_FILENO, STDERR_FILENO);
//   HUSK_TRY(read_logs(log_path, {.follow = true, .tail = 10, .since_ns = since}, sink,
//                      [&] { return monitor_alive(id); }));
//
// - The rotated files (path.N ... path.1, then path: log_writer.h) are read in order as one
//   log; P records are joined back into the line they cut (a line may start in path.1 and
//   end in path), each stream on its own, and a whole line goes to the sink at once.
// - A line's time is its first record's. since/until keep the lines whose time is in
//   [since, until]; tail keeps the last N of those, counted in whole lines. Without until,
//   tail reads the files backwards from the end only as far as it needs.
// - Bytes a stream ended with (a last P record) come out as they were, without a newline.
// - A record a crash cut short, or any line that is not a record, is skipped, never an error.
// - follow: after what is there, waits for more. It watches the log's directory with inotify
//   (one fd; wakes at the write, costs nothing while the container is quiet, and sees the
//   rename of a rotation too), with a 250 ms timeout to ask still_running() even when nothing
//   is written; without inotify (its per-user limit reached) it polls every 100 ms. A
//   rotation is followed by inode: the open file is read to its end (the writer renames it
//   only after its last record), then the file that came after it is opened, so no line is
//   lost or repeated. When still_running() says false, what is left is read and it returns:
//   still_running() must turn false only once the writer has closed the log for good (the
//   monitor has exited). An until in the past, or a record after it, ends a follow too;
//   with neither still_running nor until, a follow runs until the sink fails (EPIPE).
// - The log's files must exist (ENOENT otherwise: the monitor makes path before the
//   container starts).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "manage/log_format.h"

namespace husk::manage {

struct LogQuery {
  bool follow = false;
  std::optional<uint64_t> tail;               // the last N lines; nullopt: all
  bool timestamps = false;                    // prefix each line with its time and a space
  std::optional<int64_t> since_ns, until_ns;  // ns since the epoch, both inclusive
};

// Where the lines go. write() gets whole lines (or, in a follow, the pieces of a line still
// being written), already prefixed with the time when asked.
class LogSink {
 public:
  virtual ~LogSink() = default;
  virtual Result<void> write(LogStream stream, std::string_view bytes) = 0;
  // Called before each wait in a follow, and at the end.
  virtual Result<void> flush() { return ok(); }
};

// stdout lines to one fd, stderr lines to another, buffered. The buffer is written out when
// the stream changes, so two fds that are one terminal still show the lines in order.
class FdLogSink : public LogSink {
 public:
  FdLogSink(int out_fd, int err_fd) : fds_{out_fd, err_fd} {}
  ~FdLogSink() override { (void)flush(); }
  Result<void> write(LogStream stream, std::string_view bytes) override;
  Result<void> flush() override;

 private:
  int fds_[kLogStreams];
  LogStream buffered_ = LogStream::kStdout;
  std::string buf_;
};

Result<void> read_logs(const std::string& path, const LogQuery& query, LogSink& sink,
                       const std::function<bool()>& still_running = {});

// A --since/--until value as docker takes it, to ns since the epoch:
// - a duration before now_ns, in Go's syntax: 10m, 1h30m, 2.5s, 300ms;
// - an RFC 3339 date or time, the time cut anywhere after the hour, with or without a
//   fraction and a zone (Z, +02:00); no zone means the local time zone:
//   2024-05-01, 2024-05-01T12, 2024-05-01T12:30, 2024-05-01T12:30:00.5Z;
// - a unix time in seconds with an optional fraction: 1714564800, 1714564800.123.
// A bad value is one line naming the flag and the value (EINVAL).
Result<int64_t> parse_log_time(std::string_view flag, std::string_view value, int64_t now_ns);

// CLOCK_REALTIME in ns, the clock the records carry.
int64_t log_now_ns();

}  // namespace husk::manage
