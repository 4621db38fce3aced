// The container log format: the Kubernetes CRI log format, as kubelet reads it and CRI-O's
// conmon and containerd write it. One record per line:
//
//   <timestamp> <stream> <tag> <text>\n
//
//   2026-12-04T15:31:18.123456789Z stdout F hello, world
//   2026-12-04T15:31:18.123456789Z stderr P first 16 KiB of a long line...
//   2026-12-04T15:31:18.123456789Z stderr F ...and the rest of it
//
// - timestamp: when the monitor read the bytes (CLOCK_REALTIME), RFC 3339 in UTC with all nine
//   digits of nanoseconds (Go's RFC3339NanoFixed: fixed width, so lines sort as text).
// - stream: `stdout` or `stderr`. A container with a terminal has one stream, written as stdout.
// - tag: `F` when the program's line ends with this record (the `\n` it wrote is the record's
//   own), `P` when it does not: the line continues in the next record of the same stream, which
//   may come after records of the other stream. Tags are `:`-separated for later additions
//   (`F:x`); only the first counts and anything but `P` ends the line, as in kubelet.
// - text: the program's bytes verbatim, without the ending `\n`; it can hold any byte but `\n`
//   (a pty's `\r` stays).
//
// A line longer than kMaxLineBytes is cut into P records of exactly that size and a last record
// (F) with the rest (containerd's max_container_log_line_size, 16 KiB). Bytes a stream ends with
// and no `\n` after them are a last P record: kubelet drops the record's `\n` from a P text and
// keeps it on an F text, so P gives back exactly the bytes the program wrote and F would add a
// newline it never wrote (containerd writes P there too).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace husk::manage {

enum class LogStream : uint8_t { kStdout = 0, kStderr = 1 };
inline constexpr size_t kLogStreams = 2;

inline constexpr size_t kMaxLineBytes = 16 * 1024;
// "2026-12-04T15:31:18.123456789Z"
inline constexpr size_t kLogTimestampLen = 30;

std::string_view stream_name(LogStream s);

// One parsed record; text points into the line it was parsed from.
struct LogRecord {
  int64_t time_ns = 0;  // since the epoch, UTC
  LogStream stream = LogStream::kStdout;
  bool partial = false;
  std::string_view text;
};

// Parses one line (without its `\n`). nullopt for anything that is not a record: a line a
// crash cut short, garbage. Accepts any RFC 3339 time (fraction of 0-9 digits, `Z` or an
// offset), as kubelet's lenient parser does.
std::optional<LogRecord> parse_log_record(std::string_view line);

// Writes `ns` (since the epoch) as the record timestamp into out[0..kLogTimestampLen).
void format_log_timestamp(int64_t ns, char* out);

// Parses an RFC 3339 time: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM); `t` may be `T` or
// `t`, `Z` may be `z`. nullopt if it is anything else.
std::optional<int64_t> parse_rfc3339_ns(std::string_view s);

// Days since 1970-01-01 of a proleptic Gregorian date, and back.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
void civil_from_days(int64_t days, int64_t& y, unsigned& m, unsigned& d);

}  // namespace husk::manage
