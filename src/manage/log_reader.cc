#include "manage/log_reader.h"

#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <vector>

#include "base/file.h"
#include "base/unique_fd.h"
#include "manage/log_files.h"

namespace husk::manage {

namespace {

constexpr size_t kReadChunk = 64 * 1024;
// Bytes with no '\n' in them beyond this are no record: dropped up to the next '\n' so that a
// garbage file cannot make the reader hold all of it.
constexpr size_t kMaxHeldLine = 1 << 20;
constexpr int kInotifyWaitMs = 250;
constexpr int kPollWaitMs = 100;

// One file read forward, line by line.
class LineReader {
 public:
  explicit LineReader(OpenLogFile f) : f_(std::move(f)) {}
  const FileId& id() const { return f_.id; }

  // The next whole line (without its '\n'), valid until the next call; nullopt at the end
  // of what is written so far.
  Result<std::optional<std::string_view>> next() {
    for (;;) {
      if (size_t nl = buf_.find('\n', pos_); nl != std::string::npos) {
        std::string_view line(buf_.data() + pos_, nl - pos_);
        pos_ = nl + 1;
        if (std::exchange(skipping_, false)) continue;  // the end of an oversized line
        return std::optional(line);
      }
      buf_.erase(0, pos_);
      pos_ = 0;
      if (buf_.size() > kMaxHeldLine) {
        buf_.clear();
        skipping_ = true;
      }
      size_t have = buf_.size();
      buf_.resize(have + kReadChunk);
      ssize_t n;
      do {
        n = ::read(f_.fd.get(), buf_.data() + have, kReadChunk);
      } while (n < 0 && errno == EINTR);
      buf_.resize(have + static_cast<size_t>(n > 0 ? n : 0));
      if (n < 0) return fail_errno("read log");
      if (n == 0) return std::optional<std::string_view>();
    }
  }
  // Bytes after the last '\n': a record being written, or one a crash cut short.
  std::string_view leftover() const {
    return skipping_ ? std::string_view() : std::string_view(buf_).substr(pos_);
  }
  void drop_leftover() {
    buf_.clear();
    pos_ = 0;
  }
  Result<void> seek(uint64_t offset) {
    if (::lseek(f_.fd.get(), static_cast<off_t>(offset), SEEK_SET) < 0)
      return fail_errno("seek log");
    return ok();
  }

 private:
  OpenLogFile f_;
  std::string buf_;
  size_t pos_ = 0;
  bool skipping_ = false;
};

// Wakes a follow when the log's directory changes (inotify) or after a short sleep.
class Waiter {
 public:
  explicit Waiter(const std::string& path) {
    size_t slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    fd_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (fd_ && ::inotify_add_watch(fd_.get(), dir.c_str(),
                                   IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                                       IN_CLOSE_WRITE) < 0)
      fd_.reset();
  }
  void wait() {
    if (!fd_) {
      ::poll(nullptr, 0, kPollWaitMs);
      return;
    }
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, kInotifyWaitMs) > 0) {
      alignas(inotify_event) char events[4096];
      while (::read(fd_.get(), events, sizeof events) > 0) {
      }
    }
  }

 private:
  UniqueFd fd_;
};

std::optional<FileId> path_id(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileId{st.st_dev, st.st_ino};
}

// Joins records into lines and hands them to the sink as the query says.
//
// Lines go out in the order of their last records in the file, the order the tail's
// backwards count uses (log_files.h). A stream whose latest record is a P may turn out to
// have ended there (a line with no newline, known only at the end), so lines of the other
// stream that end after that P are held until the stream goes on or the log ends.
class LineAssembler {
 public:
  LineAssembler(const LogQuery& q, LogSink& sink) : q_(q), sink_(sink) {
    collecting_ = q.tail.has_value();
  }

  bool stopped() const { return stopped_; }

  Result<void> line(std::string_view text) {
    auto r = parse_log_record(text);
    if (!r) return ok();  // not a record: cut short by a crash, or garbage
    ++seq_;
    Pending& p = pending_[static_cast<size_t>(r->stream)];
    p.ends_partial = false;  // the stream goes on: what waited for it ends before its line
    if (!any_partial()) HUSK_TRY(release_held());
    if (!p.open) {
      p.open = true;
      p.time_ns = r->time_ns;
    }
    p.text.append(r->text);
    p.end_seq = seq_;
    if (r->partial) {
      p.ends_partial = true;
      return ok();
    }
    p.text.push_back('\n');
    return finish(r->stream);
  }

  // The end of what there was when the read began: the tail's lines go out, and from now
  // on lines go out as they come.
  Result<void> end_snapshot() {
    for (const Line& l : ring_) HUSK_TRY(write_line(l.stream, l.time_ns, l.text));
    ring_.clear();
    collecting_ = false;
    following_ = true;
    return ok();
  }

  // Before a follow waits: what is held goes out, and each unfinished line as far as it
  // goes (a prompt shows).
  Result<void> flush_unfinished() {
    HUSK_TRY(release_held());
    for (size_t s = 0; s < kLogStreams; ++s) {
      Pending& p = pending_[s];
      if (p.text.empty()) continue;
      auto stream = static_cast<LogStream>(s);
      if (p.started) {
        HUSK_TRY(sink_.write(stream, p.text));
      } else if (keep(p.time_ns)) {
        HUSK_TRY(write_line(stream, p.time_ns, p.text));
        p.started = true;
      } else {
        continue;  // filtered out: the rest of it will be too
      }
      p.text.clear();
    }
    return ok();
  }

  // The streams have ended: what each ended with is a line with no newline, in its place
  // among the lines held for it.
  Result<void> finish_all() {
    for (size_t s = 0; s < kLogStreams; ++s) {
      Pending& p = pending_[s];
      if (!p.open) continue;
      auto stream = static_cast<LogStream>(s);
      if (p.started) {
        HUSK_TRY(sink_.write(stream, p.text));
      } else if (keep(p.time_ns)) {
        held_.push_back({stream, p.time_ns, p.end_seq, std::move(p.text)});
      }
      p = Pending{};
    }
    std::stable_sort(held_.begin(), held_.end(),
                     [](const Line& a, const Line& b) { return a.end_seq < b.end_seq; });
    return release_held();
  }

  // In a follow, an until that has passed ends it.
  void check_clock(int64_t now_ns) {
    if (q_.until_ns && now_ns > *q_.until_ns) stopped_ = true;
  }

 private:
  struct Pending {
    std::string text;
    int64_t time_ns = 0;
    uint64_t end_seq = 0;       // its latest record's number
    bool open = false;          // a line has begun
    bool ends_partial = false;  // and its latest record is a P
    bool started = false;       // and part of it is out already (flush_unfinished)
  };
  struct Line {
    LogStream stream;
    int64_t time_ns;
    uint64_t end_seq;
    std::string text;
  };

  bool keep(int64_t t) const {
    return (!q_.since_ns || t >= *q_.since_ns) && (!q_.until_ns || t <= *q_.until_ns);
  }
  bool any_partial() const { return pending_[0].ends_partial || pending_[1].ends_partial; }

  Result<void> finish(LogStream stream) {
    Pending& p = pending_[static_cast<size_t>(stream)];
    Result<void> r = ok();
    if (p.started) {
      r = sink_.write(stream, p.text);
    } else if (keep(p.time_ns)) {
      Line l{stream, p.time_ns, p.end_seq, std::move(p.text)};
      if (any_partial() && held_bytes_ < kMaxHeldLine) {
        held_bytes_ += l.text.size();
        held_.push_back(std::move(l));
      } else {
        // (Past kMaxHeldLine a pathological log is shown slightly out of order rather
        // than held in memory.)
        HUSK_TRY(release_held());
        r = emit(std::move(l));
      }
    } else if (following_ && q_.until_ns && p.time_ns > *q_.until_ns) {
      stopped_ = true;
    }
    p = Pending{};
    return r;
  }

  Result<void> release_held() {
    for (Line& l : held_) HUSK_TRY(emit(std::move(l)));
    held_.clear();
    held_bytes_ = 0;
    return ok();
  }

  Result<void> emit(Line l) {
    if (!collecting_) return write_line(l.stream, l.time_ns, l.text);
    if (*q_.tail > 0) ring_.push_back(std::move(l));
    if (ring_.size() > *q_.tail) ring_.pop_front();
    return ok();
  }

  Result<void> write_line(LogStream stream, int64_t time_ns, std::string_view text) {
    if (q_.timestamps) {
      char stamp[kLogTimestampLen + 1];
      format_log_timestamp(time_ns, stamp);
      stamp[kLogTimestampLen] = ' ';
      HUSK_TRY(sink_.write(stream, std::string_view(stamp, sizeof stamp)));
    }
    return sink_.write(stream, text);
  }

  const LogQuery& q_;
  LogSink& sink_;
  Pending pending_[kLogStreams];
  std::vector<Line> held_;
  size_t held_bytes_ = 0;
  std::deque<Line> ring_;
  uint64_t seq_ = 0;
  bool collecting_ = false;
  bool following_ = false;
  bool stopped_ = false;
};

class LogFollower {
 public:
  LogFollower(const std::string& path, const LogQuery& q, LogSink& sink,
              const std::function<bool()>& still_running)
      : path_(path), q_(q), sink_(sink), running_(still_running), lines_(q, sink) {}

  Result<void> run() {
    std::optional<Waiter> waiter;
    if (q_.follow) waiter.emplace(path_);  // before the first read: no write goes unseen
    HUSK_TRY_ASSIGN(auto files, open_log_set(path_));
    LogPosition start;
    if (q_.tail && !q_.until_ns) {
      HUSK_TRY_ASSIGN(start, find_tail_start(files, *q_.tail));
    }
    std::optional<LineReader> cur;
    for (size_t k = start.file; k < files.size(); ++k) {
      cur.emplace(std::move(files[k]));
      if (k == start.file && start.offset > 0) HUSK_TRY(cur->seek(start.offset));
      HUSK_TRY(drain(*cur));
      if (k + 1 < files.size()) HUSK_TRY(take_leftover(*cur));
    }
    if (!q_.follow) {
      // The writer may be in the middle of a record; only once it is gone is the rest of
      // the file whatever a crash left.
      if (!running_ || !running_()) HUSK_TRY(take_leftover(*cur));
      // Lines the streams ended with count for the tail like any other: before the ring.
      HUSK_TRY(lines_.finish_all());
      HUSK_TRY(lines_.end_snapshot());
      return sink_.flush();
    }
    HUSK_TRY(lines_.end_snapshot());
    for (;;) {
      HUSK_TRY(drain(*cur));
      if (lines_.stopped()) break;
      if (path_id(path_) != cur->id()) {
        // Rotated: the writer renamed the file after its last record, so reading on to
        // the end now gets everything, and then comes the file after it.
        HUSK_TRY(drain(*cur));
        HUSK_TRY(take_leftover(*cur));
        HUSK_TRY_ASSIGN(auto next, open_next_log(path_, cur->id()));
        if (next) {
          cur.emplace(std::move(*next));
          continue;
        }
      }
      bool running = !running_ || running_();
      if (!running) {
        HUSK_TRY(drain(*cur));
        HUSK_TRY(take_leftover(*cur));
        // The writer is gone: a file it rotated to just before it went is read too.
        if (path_id(path_) != cur->id()) {
          HUSK_TRY_ASSIGN(auto next, open_next_log(path_, cur->id()));
          if (next) {
            cur.emplace(std::move(*next));
            continue;
          }
        }
        break;
      }
      lines_.check_clock(log_now_ns());
      if (lines_.stopped()) break;
      HUSK_TRY(lines_.flush_unfinished());
      HUSK_TRY(sink_.flush());
      waiter->wait();
    }
    if (!lines_.stopped()) HUSK_TRY(lines_.finish_all());
    return sink_.flush();
  }

 private:
  Result<void> drain(LineReader& r) {
    for (;;) {
      HUSK_TRY_ASSIGN(auto line, r.next());
      if (!line) return ok();
      HUSK_TRY(lines_.line(*line));
      if (lines_.stopped()) return ok();
    }
  }

  // What a file ends with after its last '\n' is read as a line: it is as long as it gets.
  Result<void> take_leftover(LineReader& r) {
    std::string_view rest = r.leftover();
    if (rest.empty()) return ok();
    auto res = lines_.line(rest);
    r.drop_leftover();
    return res;
  }

  const std::string& path_;
  const LogQuery& q_;
  LogSink& sink_;
  const std::function<bool()>& running_;
  LineAssembler lines_;
};

}  // namespace

Result<void> FdLogSink::write(LogStream stream, std::string_view bytes) {
  if (stream != buffered_ && !buf_.empty()) HUSK_TRY(flush());
  buffered_ = stream;
  buf_.append(bytes);
  if (buf_.size() >= kReadChunk) return flush();
  return ok();
}

Result<void> FdLogSink::flush() {
  if (buf_.empty()) return ok();
  auto r = write_all(fds_[static_cast<size_t>(buffered_)], buf_);
  buf_.clear();
  return std::move(r).context("write {}", stream_name(buffered_));
}

Result<void> read_logs(const std::string& path, const LogQuery& query, LogSink& sink,
                       const std::function<bool()>& still_running) {
  LogFollower f(path, query, sink, still_running);
  return f.run();
}

}  // namespace husk::manage
