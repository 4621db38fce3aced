#include "manage/log_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

namespace husk::manage {

namespace {

// Errors without fmt: fmt's formatting brings std::locale into a static binary, which alone
// took the monitor's writer from 0.6 to 1.0 MB of peak RSS (docs/cli.md, "Logs").
std::unexpected<Error> log_error(int code, std::string message) {
  return std::unexpected(Error{code, std::move(message)});
}

Result<void> write_fully(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return log_error(errno, "write log " + path);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return ok();
}

std::string rotated_name(const std::string& path, unsigned k) {
  return k == 0 ? path : path + "." + std::to_string(k);
}

Result<UniqueFd> open_log(const std::string& path) {
  // O_APPEND: each write lands at the end even if someone else appends too (a second monitor
  // by mistake interleaves whole records rather than overwriting them). O_NOFOLLOW: the log
  // directory is ours, a symlink there is not.
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640));
  if (!fd) return log_error(errno, "open log " + path);
  return fd;
}

}  // namespace

LogWriter::LogWriter(std::string path, LogLimits limits, UniqueFd fd, uint64_t size)
    : path_(std::move(path)), limits_(limits), fd_(std::move(fd)), size_(size) {}

Result<LogWriter> LogWriter::open(std::string path, LogLimits limits) {
  if (limits.max_files < 1)
    return log_error(EINVAL, "log " + path + ": max files must be at least 1");
  HUSK_TRY_ASSIGN(UniqueFd fd, open_log(path));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return log_error(errno, "stat log " + path);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > 0) {
    char last = 0;
    if (::pread(fd.get(), &last, 1, st.st_size - 1) != 1)
      return log_error(errno, "read log " + path);
    if (last != '\n') {
      HUSK_TRY(write_fully(fd.get(), "\n", path));
      ++size;
    }
  }
  return LogWriter(std::move(path), limits, std::move(fd), size);
}

void LogWriter::stamp_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  if (ts.tv_sec == stamp_sec_) {
    // Same second: only the nine digits of the fraction change.
    for (int k = 28; k >= 20; --k) {
      stamp_[k] = static_cast<char>('0' + ts.tv_nsec % 10);
      ts.tv_nsec /= 10;
    }
    return;
  }
  format_log_timestamp(static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec, stamp_);
  stamp_sec_ = ts.tv_sec;
}

Result<void> LogWriter::add_record(LogStream stream, bool partial, std::string_view text) {
  std::string_view name = stream_name(stream);
  const size_t len = kLogTimestampLen + 1 + name.size() + 3 + text.size() + 1;
  if (limits_.max_size > 0 && size_ + out_.size() > 0 &&
      size_ + out_.size() + len > limits_.max_size) {
    HUSK_TRY(flush());
    HUSK_TRY(rotate());
  }
  out_.append(stamp_, kLogTimestampLen);
  out_.push_back(' ');
  out_.append(name);
  out_.append(partial ? " P " : " F ");
  out_.append(text);
  out_.push_back('\n');
  return ok();
}

// A line's text (all of it, or its start when !ends) as records of at most kMaxLineBytes.
Result<void> LogWriter::add_line(LogStream stream, std::string_view text, bool ends) {
  while (text.size() > kMaxLineBytes) {
    HUSK_TRY(add_record(stream, true, text.substr(0, kMaxLineBytes)));
    text.remove_prefix(kMaxLineBytes);
  }
  return add_record(stream, !ends, text);
}

Result<void> LogWriter::write(LogStream stream, std::string_view bytes) {
  if (bytes.empty()) return ok();
  stamp_now();
  std::string& pending = pending_[static_cast<size_t>(stream)];
  for (;;) {
    size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos) {
      pending.append(bytes);
      // A line that will be cut anyway is written as soon as a whole piece is there.
      size_t done = 0;
      while (pending.size() - done > kMaxLineBytes) {
        HUSK_TRY(add_record(stream, true, std::string_view(pending).substr(done, kMaxLineBytes)));
        done += kMaxLineBytes;
      }
      pending.erase(0, done);
      break;
    }
    std::string_view line = bytes.substr(0, nl);
    bytes.remove_prefix(nl + 1);
    if (pending.empty()) {
      HUSK_TRY(add_line(stream, line, true));
    } else {
      pending.append(line);
      HUSK_TRY(add_line(stream, pending, true));
      pending.clear();
    }
    if (bytes.empty()) break;
  }
  return flush();
}

Result<void> LogWriter::flush_pending() {
  stamp_now();
  for (size_t s = 0; s < kLogStreams; ++s) {
    if (pending_[s].empty()) continue;
    HUSK_TRY(add_record(static_cast<LogStream>(s), true, pending_[s]));
    pending_[s].clear();
  }
  return flush();
}

Result<void> LogWriter::end_stream(LogStream stream) {
  std::string& pending = pending_[static_cast<size_t>(stream)];
  if (pending.empty()) return ok();
  stamp_now();
  HUSK_TRY(add_record(stream, true, pending));
  pending.clear();
  return flush();
}

Result<void> LogWriter::flush() {
  if (out_.empty()) return ok();
  auto r = write_fully(fd_.get(), out_, path_);
  // What did not get written is dropped either way: keeping it would only grow the buffer
  // while the disk is full, and the monitor must keep draining the container's pipes.
  size_ += out_.size();
  out_.clear();
  return r;
}

Result<void> LogWriter::rotate() {
  // Oldest first, so that each rename moves a file into a name that is free or is the one to
  // drop; path last, the moment the reader's "path is another file now" becomes true.
  for (unsigned k = limits_.max_files - 1; k >= 1; --k) {
    std::string from = rotated_name(path_, k - 1), to = rotated_name(path_, k);
    if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT)
      return log_error(errno, "rotate log " + from + " to " + to);
  }
  if (limits_.max_files == 1 && ::unlink(path_.c_str()) != 0 && errno != ENOENT)
    return log_error(errno, "rotate log " + path_);
  HUSK_TRY_ASSIGN(fd_, open_log(path_));
  size_ = 0;
  return ok();
}

}  // namespace husk::manage
