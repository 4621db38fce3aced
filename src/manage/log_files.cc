#include "manage/log_files.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string_view>

#include "manage/log_format.h"

namespace husk::manage {

namespace {

// A rotation renames every file once; more attempts than that and something else is wrong.
constexpr int kConsistentTries = 50;
// Names scanned past path: far more than any max_files in use (docker's is a few).
constexpr unsigned kMaxRotated = 1000;
constexpr size_t kBackChunk = 64 * 1024;
// A "line" longer than this is no record (one is at most ~16.5 KiB): the backwards scan gives
// up on being clever and the read starts at the beginning.
constexpr size_t kMaxBackLine = 1 << 20;

std::optional<FileId> id_of(const std::string& name) {
  struct stat st {};
  if (::stat(name.c_str(), &st) != 0) return std::nullopt;
  return FileId{st.st_dev, st.st_ino};
}

// The ids under each name, index k for rotated_log_name(path, k). Stops at the first two
// missing names in a row past path: a rotation leaves at most one gap while it runs.
std::vector<std::optional<FileId>> scan_names(const std::string& path) {
  std::vector<std::optional<FileId>> ids;
  ids.push_back(id_of(path));
  for (unsigned k = 1; k <= kMaxRotated; ++k) {
    ids.push_back(id_of(rotated_log_name(path, k)));
    if (!ids.back() && k >= 2 && !ids[k - 1]) break;
  }
  while (!ids.empty() && !ids.back()) ids.pop_back();
  return ids;
}

Result<std::optional<OpenLogFile>> open_if_there(const std::string& name) {
  UniqueFd fd(::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (errno == ENOENT) return std::optional<OpenLogFile>();
    return fail_errno("open log {}", name);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail_errno("stat log {}", name);
  return std::optional<OpenLogFile>(
      OpenLogFile{std::move(fd), {st.st_dev, st.st_ino}, static_cast<uint64_t>(st.st_size)});
}

}  // namespace

std::string rotated_log_name(const std::string& path, unsigned k) {
  return k == 0 ? path : path + "." + std::to_string(k);
}

Result<std::vector<OpenLogFile>> open_log_set(const std::string& path) {
  for (int attempt = 0; attempt < kConsistentTries; ++attempt) {
    auto ids = scan_names(path);
    std::vector<OpenLogFile> files;
    bool moved = false;
    for (size_t k = ids.size(); k-- > 0 && !moved;) {
      if (!ids[k]) continue;
      HUSK_TRY_ASSIGN(auto f, open_if_there(rotated_log_name(path, static_cast<unsigned>(k))));
      moved = !f || f->id != *ids[k];
      if (f) files.push_back(std::move(*f));
    }
    // Opened one by one; the same names with the same files afterwards means no rotation
    // ran in between (a rotation renames path last and makes a new one, which changes it).
    if (!moved && scan_names(path) == ids) {
      if (files.empty()) return fail(ENOENT, "open log {}", path);
      return files;
    }
  }
  return fail(EAGAIN, "open log {}: the files keep rotating", path);
}

Result<std::optional<OpenLogFile>> open_next_log(const std::string& path, FileId current) {
  for (int attempt = 0; attempt < kConsistentTries; ++attempt) {
    auto ids = scan_names(path);
    size_t at = ids.size();
    for (size_t k = 0; k < ids.size(); ++k)
      if (ids[k] == current) at = k;
    if (at == 0) return std::optional<OpenLogFile>();  // still path: nothing comes after it
    size_t next = 0;
    if (at < ids.size()) {
      next = at - 1;
    } else {
      // Rotated out (or unlinked, with max_files 1): everything left is newer than it, and
      // the last name scanned is the oldest (scan_names drops missing ones at the end).
      if (ids.empty()) return std::optional<OpenLogFile>();
      next = ids.size() - 1;
    }
    if (!ids[next]) return std::optional<OpenLogFile>();  // the writer's rename is in flight
    std::string name = rotated_log_name(path, static_cast<unsigned>(next));
    HUSK_TRY_ASSIGN(auto f, open_if_there(name));
    if (f && f->id != current && id_of(name) == f->id &&
        (at == ids.size() || id_of(rotated_log_name(path, static_cast<unsigned>(at))) == current))
      return f;
  }
  return fail(EAGAIN, "open log {}: the files keep rotating", path);
}

namespace {

// Counts lines backwards, record by record, and says when the last n are all inside.
class TailCounter {
 public:
  explicit TailCounter(uint64_t n) : n_(n) {}
  // Feeds the records from the last one back; true when the read can start right after
  // this one: n lines are counted and each of them has its first record behind.
  bool feed(const LogRecord& r) {
    size_t s = static_cast<size_t>(r.stream);
    // The last record of a stream ends a line even as a P (the bytes it ended with).
    bool ends_line = !r.partial || !seen_[s];
    seen_[s] = true;
    if (ends_line) {
      open_[s] = false;  // the line counted for s starts after this record
      if (counted_ < n_) {
        ++counted_;
        open_[s] = true;
      }
    }
    return counted_ >= n_ && !open_[0] && !open_[1];
  }

 private:
  uint64_t n_;
  uint64_t counted_ = 0;
  bool seen_[kLogStreams] = {};
  bool open_[kLogStreams] = {};
};

// Feeds the records of [0, size) of fd to `counter`, last first. The offset just past the
// record where it said stop, nullopt if it never did, or kMaxBackLine exceeded (-> 0).
Result<std::optional<uint64_t>> scan_back(const OpenLogFile& f, TailCounter& counter,
                                          bool& too_long) {
  std::string win;  // the bytes [win_lo, end)
  uint64_t win_lo = f.size, end = f.size;
  while (end > 0) {
    // The line ending at `end` starts after the last '\n' before its own last byte.
    const char* nl = nullptr;
    for (;;) {
      if (win_lo < end && end - 1 > win_lo)
        nl = static_cast<const char*>(
            ::memrchr(win.data(), '\n', static_cast<size_t>(end - 1 - win_lo)));
      if (nl || win_lo == 0) break;
      if (win.size() > kMaxBackLine) {
        too_long = true;
        return std::optional<uint64_t>();
      }
      uint64_t lo = win_lo > kBackChunk ? win_lo - kBackChunk : 0;
      std::string chunk(static_cast<size_t>(win_lo - lo), '\0');
      ssize_t n = ::pread(f.fd.get(), chunk.data(), chunk.size(), static_cast<off_t>(lo));
      if (n < 0) return fail_errno("read log");
      if (static_cast<size_t>(n) != chunk.size()) return fail(EIO, "read log: the file shrank");
      win.insert(0, chunk);
      win_lo = lo;
    }
    uint64_t start = nl ? win_lo + static_cast<uint64_t>(nl - win.data()) + 1 : 0;
    std::string_view line(win.data() + (start - win_lo), static_cast<size_t>(end - start));
    if (line.ends_with('\n')) line.remove_suffix(1);
    if (auto r = parse_log_record(line); r && counter.feed(*r)) return std::optional(end);
    win.resize(static_cast<size_t>(start - win_lo));
    end = start;
  }
  return std::optional<uint64_t>();
}

}  // namespace

Result<LogPosition> find_tail_start(const std::vector<OpenLogFile>& files, uint64_t n) {
  TailCounter counter(n);
  for (size_t k = files.size(); k-- > 0;) {
    bool too_long = false;
    HUSK_TRY_ASSIGN(auto stop, scan_back(files[k], counter, too_long));
    if (too_long) return LogPosition{};
    if (stop) return LogPosition{k, *stop};
  }
  return LogPosition{};
}

}  // namespace husk::manage
