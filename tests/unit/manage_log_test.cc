// The container log: its format (CRI), the monitor's writer with rotation, and the reader
// behind `husk logs` (tail, since/until, follow across rotations, damaged files).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/file.h"
#include "manage/log_files.h"
#include "manage/log_format.h"
#include "manage/log_reader.h"
#include "manage/log_writer.h"
#include "temp_dir_util.h"

namespace husk::manage {
namespace {

using test::TempDir;

constexpr int64_t kSec = 1'000'000'000;
// 2024-05-01T12:00:00Z
constexpr int64_t kBase = 1714564800 * kSec;

class StringSink : public LogSink {
 public:
  Result<void> write(LogStream s, std::string_view b) override {
    (s == LogStream::kStdout ? out : err).append(b);
    both.append(b);
    return ok();
  }
  std::string out, err, both;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> v;
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    v.push_back(text.substr(at, nl - at));
    at = nl + 1;
  }
  return v;
}

std::vector<LogRecord> records_of(const std::string& file_text, std::vector<std::string>& keep) {
  keep = lines_of(file_text);
  std::vector<LogRecord> v;
  for (const auto& l : keep) {
    auto r = parse_log_record(l);
    EXPECT_TRUE(r) << "not a record: " << l;
    if (r) v.push_back(*r);
  }
  return v;
}

std::string slurp(const std::string& path) {
  auto r = read_file(path);
  return r ? *r : std::string();
}

// A hand-made record at a chosen time.
std::string rec(int64_t t, const char* stream, const char* tag, std::string_view text) {
  char ts[kLogTimestampLen];
  format_log_timestamp(t, ts);
  return std::string(ts, kLogTimestampLen) + " " + stream + " " + tag + " " + std::string(text) +
         "\n";
}

Result<StringSink> read_all_logs(const std::string& path, LogQuery q) {
  StringSink sink;
  HUSK_TRY(read_logs(path, q, sink));
  return sink;
}

// --- the format ----------------------------------------------------------------------------

TEST(LogFormat, TimestampRoundTrips) {
  char ts[kLogTimestampLen];
  format_log_timestamp(kBase + 123456789, ts);
  EXPECT_EQ(std::string_view(ts, kLogTimestampLen), "2024-05-01T12:00:00.123456789Z");
  format_log_timestamp(951782400LL * kSec + 5, ts);  // 2000-02-29, a leap day
  EXPECT_EQ(std::string_view(ts, kLogTimestampLen), "2000-02-29T00:00:00.000000005Z");
  EXPECT_EQ(parse_rfc3339_ns("2000-02-29T00:00:00.000000005Z"), 951782400LL * kSec + 5);
  EXPECT_EQ(parse_rfc3339_ns("2024-05-01T14:00:00.5+02:00"), kBase + kSec / 2);
  EXPECT_EQ(parse_rfc3339_ns("2024-05-01t12:00:00z"), kBase);
  EXPECT_FALSE(parse_rfc3339_ns("2023-02-29T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339_ns("2024-05-01T12:00:00"));
  EXPECT_FALSE(parse_rfc3339_ns("2024-05-01T12:00:00.Z"));
  EXPECT_FALSE(parse_rfc3339_ns("2024-05-01T24:00:00Z"));
}

TEST(LogFormat, ParsesRecordsAsKubeletDoes) {
  auto r = parse_log_record("2024-05-01T12:00:00.000000001Z stderr P a b ");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->time_ns, kBase + 1);
  EXPECT_EQ(r->stream, LogStream::kStderr);
  EXPECT_TRUE(r->partial);
  EXPECT_EQ(r->text, "a b ");
  r = parse_log_record("2024-05-01T12:00:00Z stdout F:x ");  // more tags, empty text
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->partial);
  EXPECT_EQ(r->text, "");
  EXPECT_FALSE(parse_log_record("2024-05-01T12:00:00Z stdin F x"));
  EXPECT_FALSE(parse_log_record("2024-05-01T12:00:00Z stdout F"));
  EXPECT_FALSE(parse_log_record("2024-05-01T12:0"));
  EXPECT_FALSE(parse_log_record("hello world"));
}

// --- the writer ----------------------------------------------------------------------------

TEST(LogWriter, WritesWholeLinesAsFRecords) {
  TempDir dir;
  std::string path = dir.path() + "/ctr.log";
  {
    auto w = LogWriter::open(path, {});
    ASSERT_TRUE(w) << w.error().what();
    ASSERT_TRUE(w->write(LogStream::kStdout, "hello\n\nworld\n"));
  }
  std::string text = slurp(path);
  std::vector<std::string> keep;
  auto recs = records_of(text, keep);
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].text, "hello");
  EXPECT_EQ(recs[1].text, "");
  EXPECT_EQ(recs[2].text, "world");
  for (const auto& r : recs) EXPECT_FALSE(r.partial);
  // One chunk, one timestamp; and it is now.
  EXPECT_EQ(recs[0].time_ns, recs[2].time_ns);
  EXPECT_LT(std::llabs(recs[0].time_ns - log_now_ns()), 10 * kSec);
  EXPECT_EQ(keep[0].substr(kLogTimestampLen), " stdout F hello");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
}

TEST(LogWriter, KeepsHalfLinesUntilTheyEnd) {
  TempDir dir;
  std::string path = dir.path() + "/ctr.log";
  auto w = LogWriter::open(path, {});
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->write(LogStream::kStdout, "hel"));
  EXPECT_EQ(slurp(path), "");  // nothing yet: the line has not ended
  EXPECT_TRUE(w->has_pending());
  ASSERT_TRUE(w->write(LogStream::kStdout, "lo\nwor"));
  ASSERT_TRUE(w->write(LogStream::kStdout, "ld\nbye"));
  ASSERT_TRUE(w->end_stream(LogStream::kStdout));
  EXPECT_FALSE(w->has_pending());
  std::vector<std::string> keep;
  auto recs = records_of(slurp(path), keep);
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].text, "hello");
  EXPECT_EQ(recs[1].text, "world");
  // What a stream ends with is a P record: kubelet gives it back without a newline.
  EXPECT_EQ(recs[2].text, "bye");
  EXPECT_TRUE(recs[2].partial);
  auto got = read_all_logs(path, {});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->out, "hello\nworld\nbye");
}

TEST(LogWriter, SplitsLongLinesAt16KiB) {
  TempDir dir;
  std::string path = dir.path() + "/ctr.log";
  auto w = LogWriter::open(path, {});
  ASSERT_TRUE(w);
  std::string longline(2 * kMaxLineBytes + 100, 'x');
  longline[kMaxLineBytes] = 'y';
  std::string exact(kMaxLineBytes, 'e');
  // The long line arrives in pieces; whole 16 KiB pieces are written before its end comes.
  ASSERT_TRUE(w->write(LogStream::kStderr, longline.substr(0, kMaxLineBytes + 10)));
  EXPECT_NE(slurp(path), "");
  ASSERT_TRUE(w->write(LogStream::kStderr, longline.substr(kMaxLineBytes + 10) + "\n"));
  ASSERT_TRUE(w->write(LogStream::kStderr, exact + "\n"));
  std::vector<std::string> keep;
  auto recs = records_of(slurp(path), keep);
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[0].text.size(), kMaxLineBytes);
  EXPECT_TRUE(recs[0].partial);
  EXPECT_EQ(recs[1].text.size(), kMaxLineBytes);
  EXPECT_EQ(recs[1].text[0], 'y');
  EXPECT_TRUE(recs[1].partial);
  EXPECT_EQ(recs[2].text.size(), 100u);
  EXPECT_FALSE(recs[2].partial);
  EXPECT_EQ(recs[3].text, exact);  // exactly the maximum is one F record
  EXPECT_FALSE(recs[3].partial);
  auto got = read_all_logs(path, {});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->err, longline + "\n" + exact + "\n");
}

TEST(LogWriter, InterleavedStreamsStayApart) {
  TempDir dir;
  std::string path = dir.path() + "/ctr.log";
  auto w = LogWriter::open(path, {});
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->write(LogStream::kStdout, "out-"));
  ASSERT_TRUE(w->write(LogStream::kStderr, "err-one\nerr-"));
  ASSERT_TRUE(w->flush_pending());  // both halves out as P records, as a quiet monitor does
  ASSERT_TRUE(w->write(LogStream::kStdout, "one\n"));
  ASSERT_TRUE(w->write(LogStream::kStderr, "two\n"));
  std::vector<std::string> keep;
  auto recs = records_of(slurp(path), keep);
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_EQ(keep[0].substr(kLogTimestampLen), " stderr F err-one");
  EXPECT_EQ(keep[1].substr(kLogTimestampLen), " stdout P out-");
  EXPECT_EQ(keep[2].substr(kLogTimestampLen), " stderr P err-");
  EXPECT_EQ(keep[3].substr(kLogTimestampLen), " stdout F one");
  EXPECT_EQ(keep[4].substr(kLogTimestampLen), " stderr F two");
  auto got = read_all_logs(path, {});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->out, "out-one\n");
  EXPECT_EQ(got->err, "err-one\nerr-two\n");
}

TEST(LogWriter, RotatesBySizeAndKeepsMaxFiles) {
  TempDir dir;
  std::string path = dir.path() + "/ctr.log";
  auto w = LogWriter::open(path, {.max_size = 1000, .max_files = 3});
  ASSERT_TRUE(w);
  std::vector<std::string> sent;
  for (int i = 0; i < 200; ++i) {
    sent.push_back("line " + std::to_string(i));
    ASSERT_TRUE(w->write(i % 3 ? LogStream::kStdout : LogStream::kStderr, sent.back() + "\n"));
  }
  for (const char* name : {"", ".1", ".2"}) {
    struct stat st {};
    ASSERT_EQ(::stat((path + name).c_str(), &st), 0) << name;
    EXPECT_LE(st.st_size, 1000) << name;
    if (*name) {
      EXPECT_GT(st.st_size, 1000 - 60) << name;  // a rotated file is full but for one record
    }
    EXPECT_EQ(st.st_mode & 07777, 0640u);
  }
  EXPECT_FALSE(std::filesystem::exists(path + ".3"));
  // The oldest lines are gone, the rest read back in order, across the three files.
  auto got = read_all_logs(path, {});
  ASSERT_TRUE(got);
  auto back = lines_of(got->both);
  ASSERT_GT(back.size(), 40u);
  ASSERT_LT(back.size(), 80u);
  std::vector<std::string> tail(sent.end() - static_cast<ptrdiff_t>(back.size()), sent.end());
  EXPECT_EQ(back, tail);

  // max_files 1: the one file starts afresh.
  std::string one = dir.path() + "/one.log";
  auto w1 = LogWriter::open(one, {.max_size = 500, .max_files = 1});
  ASSERT_TRUE(w1);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(w1->write(LogStream::kStdout, "0123456789\n"));
  EXPECT_FALSE(std::filesystem::exists(one + ".1"));
  EXPECT_LE(std::filesystem::file_size(one), 500u);
  EXPECT_EQ(w1->size(), std::filesystem::file_size(one));

  auto bad = LogWriter::open(dir.path() + "/bad.log", {.max_size = 1, .max_files = 0});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().what(), "log " + dir.path() + "/bad.log: max files must be at least 1: " +
                                    std::strerror(EINVAL));
}

TEST(LogWriter, ReopenTerminatesARecordACrashCutShort) {
  TempDir dir;
  std::string path = dir.path() + "/ctr.log";
  std::string before = rec(kBase, "stdout", "F", "whole") + "2024-05-01T12:00:01.0000";
  ASSERT_TRUE(write_file_atomic(path, before));
  {
    auto w = LogWriter::open(path, {});
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->write(LogStream::kStdout, "after\n"));
  }
  std::string text = slurp(path);
  ASSERT_TRUE(text.starts_with(before + "\n")) << text;
  auto got = read_all_logs(path, {});
  ASSERT_TRUE(got) << got.error().what();
  EXPECT_EQ(got->out, "whole\nafter\n");
}

// --- reading -------------------------------------------------------------------------------

TEST(LogReader, SkipsDamagedLinesAndReadsACutLastRecord) {
  TempDir dir;
  std::string path = dir.path() + "/ctr.log";
  std::string text = rec(kBase, "stdout", "F", "one") + "garbage without a record\n" +
                     "2024-05-01T12:0\n" + rec(kBase + 1, "stderr", "F", "two") +
                     std::string(100, '\0') + "\n" + rec(kBase + 2, "stdout", "P", "thr") +
                     rec(kBase + 3, "stdout", "F", "ee") +
                     // the monitor was killed in the middle of this one
                     rec(kBase + 4, "stdout", "F", "four").substr(0, 41);
  ASSERT_TRUE(write_file_atomic(path, text));
  auto got = read_all_logs(path, {});
  ASSERT_TRUE(got) << got.error().what();
  EXPECT_EQ(got->out, "one\nthree\nf\n");
  EXPECT_EQ(got->err, "two\n");
  got = read_all_logs(path, {.tail = 2});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->both, "three\nf\n");
}

TEST(LogReader, TimestampsPrefixEachLineWithItsFirstRecordsTime) {
  TempDir dir;
  std::string path = dir.path() + "/ctr.log";
  ASSERT_TRUE(write_file_atomic(path, rec(kBase, "stdout", "P", "a") +
                                          rec(kBase + kSec, "stdout", "F", "b") +
                                          rec(kBase + 2 * kSec, "stderr", "F", "c")));
  auto got = read_all_logs(path, {.timestamps = true});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->out, "2024-05-01T12:00:00.000000000Z ab\n");
  EXPECT_EQ(got->err, "2024-05-01T12:00:02.000000000Z c\n");
}

TEST(LogReader, SinceAndUntilAreInclusive) {
  TempDir dir;
  std::string path = dir.path() + "/ctr.log";
  std::string text;
  for (int i = 0; i < 10; ++i) text += rec(kBase + i * kSec, "stdout", "F", std::to_string(i));
  ASSERT_TRUE(write_file_atomic(path, text));
  auto got = read_all_logs(path, {.since_ns = kBase + 3 * kSec, .until_ns = kBase + 6 * kSec});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->out, "3\n4\n5\n6\n");
  // tail counts among the lines kept
  got = read_all_logs(path, {.tail = 2, .until_ns = kBase + 6 * kSec});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->out, "5\n6\n");
  got = read_all_logs(path, {.tail = 3, .since_ns = kBase + 8 * kSec});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->out, "8\n9\n");
  got = read_all_logs(path, {.tail = 0});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->out, "");
}

// The tail's backwards scan against the plain answer (read everything, keep the last n), on
// random logs: two streams, lines cut into P records, rotated files, lines that span files.
TEST(LogReader, TailMatchesTheLastLinesOfAFullRead) {
  TempDir dir;
  std::mt19937 rng(14);
  for (int round = 0; round < 20; ++round) {
    std::string path = dir.path() + "/r" + std::to_string(round) + ".log";
    auto w = LogWriter::open(path, {.max_size = 300 + rng() % 3000, .max_files = 50});
    ASSERT_TRUE(w);
    int chunks = 1 + static_cast<int>(rng() % 60);
    for (int c = 0; c < chunks; ++c) {
      auto stream = rng() % 2 ? LogStream::kStdout : LogStream::kStderr;
      std::string chunk;
      int len = static_cast<int>(rng() % 120);
      for (int k = 0; k < len; ++k) chunk.push_back(rng() % 8 == 0 ? '\n' : 'a' + rng() % 26);
      ASSERT_TRUE(w->write(stream, chunk));
      if (rng() % 4 == 0) {
        ASSERT_TRUE(w->flush_pending());
      }
    }
    if (rng() % 2) {
      ASSERT_TRUE(w->end_stream(LogStream::kStdout));
    }
    if (rng() % 2) {
      ASSERT_TRUE(w->end_stream(LogStream::kStderr));
    }
    // What a full read gives, split into the lines as written (a last one may lack '\n').
    struct Piece {
      bool err;
      std::string text;
    };
    struct PieceSink : LogSink {
      std::vector<Piece> pieces;
      Result<void> write(LogStream s, std::string_view b) override {
        pieces.push_back({s == LogStream::kStderr, std::string(b)});
        return ok();
      }
    };
    PieceSink all;
    ASSERT_TRUE(read_logs(path, {}, all));
    for (uint64_t n : {0, 1, 2, 3, 5, 8, 13, 1000}) {
      PieceSink got;
      ASSERT_TRUE(read_logs(path, {.tail = n}, got));
      size_t keep = std::min<size_t>(n, all.pieces.size());
      ASSERT_EQ(got.pieces.size(), keep) << "round " << round << " tail " << n;
      for (size_t k = 0; k < keep; ++k) {
        const Piece& want = all.pieces[all.pieces.size() - keep + k];
        EXPECT_EQ(got.pieces[k].err, want.err);
        EXPECT_EQ(got.pieces[k].text, want.text) << "round " << round << " tail " << n;
      }
    }
  }
}

TEST(LogReader, TailReadsOnlyTheEndOfABigFile) {
  TempDir dir;
  std::string path = dir.path() + "/ctr.log";
  {
    auto w = LogWriter::open(path, {});
    ASSERT_TRUE(w);
    std::string chunk;
    for (int i = 0; i < 1000; ++i) chunk += "a line of about forty bytes of text, no more\n";
    for (int i = 0; i < 200; ++i) ASSERT_TRUE(w->write(LogStream::kStdout, chunk));
    ASSERT_TRUE(w->write(LogStream::kStdout, "last\n"));
  }
  ASSERT_GT(std::filesystem::file_size(path), 15u << 20);
  auto files = open_log_set(path);
  ASSERT_TRUE(files);
  auto start = find_tail_start(*files, 2);
  ASSERT_TRUE(start);
  EXPECT_EQ(start->file, 0u);
  EXPECT_GT(start->offset, std::filesystem::file_size(path) - 200);
  auto got = read_all_logs(path, {.tail = 2});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->out, "a line of about forty bytes of text, no more\nlast\n");
}

TEST(LogReader, AMissingLogIsAnError) {
  TempDir dir;
  auto got = read_all_logs(dir.path() + "/none.log", {});
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ENOENT);
  EXPECT_EQ(got.error().what(), "open log " + dir.path() + "/none.log: " + std::strerror(ENOENT));
}

// --- --since / --until values --------------------------------------------------------------

TEST(LogTime, TakesWhatDockerTakes) {
  const int64_t now = kBase + 3600 * kSec;
  auto t = [&](std::string_view v) {
    auto r = parse_log_time("--since", v, now);
    EXPECT_TRUE(r) << v << ": " << (r ? "" : r.error().what());
    return r ? *r : -1;
  };
  EXPECT_EQ(t("10m"), now - 600 * kSec);
  EXPECT_EQ(t("1h30m"), now - 5400 * kSec);
  EXPECT_EQ(t("2s"), now - 2 * kSec);
  EXPECT_EQ(t("1.5h"), now - 5400 * kSec);
  EXPECT_EQ(t("300ms"), now - 300'000'000);
  EXPECT_EQ(t("2024-05-01T12:00:00Z"), kBase);
  EXPECT_EQ(t("2024-05-01T12:00:00.25Z"), kBase + kSec / 4);
  EXPECT_EQ(t("2024-05-01T14:00:00+02:00"), kBase);
  EXPECT_EQ(t("2024-05-01T12:30Z"), kBase + 1800 * kSec);
  EXPECT_EQ(t("2024-05-01T12Z"), kBase);
  EXPECT_EQ(t("2024-05-01Z"), kBase - 12 * 3600 * kSec);
  EXPECT_EQ(t("1714564800"), kBase);
  EXPECT_EQ(t("1714564800.5"), kBase + kSec / 2);
  EXPECT_EQ(t("1714564800.000000001"), kBase + 1);
  EXPECT_EQ(t("0"), 0);
  // No zone: the local one, as mktime sees it.
  tm local{};
  local.tm_year = 124;
  local.tm_mon = 4;
  local.tm_mday = 1;
  local.tm_hour = 12;
  local.tm_isdst = -1;
  int64_t want = static_cast<int64_t>(::mktime(&local)) * kSec;
  EXPECT_EQ(t("2024-05-01T12:00:00"), want);
  EXPECT_EQ(t("2024-05-01T12"), want);
  EXPECT_EQ(t("2024-05-01T12:00:00.5"), want + kSec / 2);
}

TEST(LogTime, BadValuesNameTheFlagAndTheValue) {
  for (const char* v : {"", "yesterday", "10x", "1h30", "2024-13-01", "2024-05-01T12:00:00.Z",
                        "2024-05-01T25:00Z", "-5", "1714564800.", "12:00", "1.2.3"}) {
    auto r = parse_log_time("--until", v, kBase);
    ASSERT_FALSE(r) << v;
    EXPECT_EQ(r.error().code, EINVAL);
    EXPECT_EQ(r.error().what(), std::string("invalid --until \"") + v +
                                    "\": want a time (2024-05-01T12:00:00Z), a unix time "
                                    "(1714564800.5) or a duration (10m, 1h30m)");
  }
}

// --- follow --------------------------------------------------------------------------------

// A writer thread rotates the log many times while the reader follows it: every line
// arrives once, in order, and the follow ends once the writer is done and all is read.
TEST(LogFollow, FollowsRotationsWithoutLossOrRepeat) {
  TempDir dir;
  std::string path = dir.path() + "/ctr.log";
  auto w = LogWriter::open(path, {.max_size = 2048, .max_files = 1000});
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->write(LogStream::kStdout, "before\n"));
  constexpr int kLines = 5000;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    std::string chunk;
    for (int i = 0; i < kLines; ++i) {
      chunk += "line " + std::to_string(i) + "\n";
      if (i % 7 == 6 || i == kLines - 1) {
        // half a line now, the rest in the next chunk: P records across rotations
        size_t cut = chunk.size() - 3;
        (void)w->write(LogStream::kStdout, std::string_view(chunk).substr(0, cut));
        if (i % 21 == 20) (void)w->flush_pending();
        chunk.erase(0, cut);
      }
      if (i % 1000 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    (void)w->write(LogStream::kStdout, chunk);
    done = true;
  });
  StringSink sink;
  auto r = read_logs(path, {.follow = true}, sink, [&] { return !done.load(); });
  writer.join();
  ASSERT_TRUE(r) << r.error().what();
  auto got = lines_of(sink.out);
  ASSERT_EQ(got.size(), static_cast<size_t>(kLines + 1));
  EXPECT_EQ(got[0], "before");
  for (int i = 0; i < kLines; ++i) ASSERT_EQ(got[i + 1], "line " + std::to_string(i));
  EXPECT_TRUE(std::filesystem::exists(path + ".50"));  // it did rotate, many times
}

// An unfinished line (a prompt) shows while the follow waits; its end comes later, once.
TEST(LogFollow, ShowsAPromptBeforeItsLineEnds) {
  TempDir dir;
  std::string path = dir.path() + "/ctr.log";
  auto w = LogWriter::open(path, {});
  ASSERT_TRUE(w);
  std::atomic<bool> done{false};
  struct WatchSink : StringSink {
    std::atomic<bool> saw_prompt{false};
    Result<void> write(LogStream s, std::string_view b) override {
      HUSK_TRY(StringSink::write(s, b));
      if (out.ends_with("name? ")) saw_prompt = true;
      return ok();
    }
  } sink;
  std::thread writer([&] {
    (void)w->write(LogStream::kStdout, "name? ");
    (void)w->flush_pending();
    for (int i = 0; i < 500 && !sink.saw_prompt; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    (void)w->write(LogStream::kStdout, "bob\n");
    done = true;
  });
  auto r =
      read_logs(path, {.follow = true, .timestamps = true}, sink, [&] { return !done.load(); });
  writer.join();
  ASSERT_TRUE(r);
  EXPECT_TRUE(sink.saw_prompt);
  ASSERT_EQ(sink.out.size(), kLogTimestampLen + 1 + 10) << sink.out;
  EXPECT_EQ(sink.out.substr(kLogTimestampLen), " name? bob\n");
}

TEST(LogFollow, TailThenFollowAndAnUntilInThePastEndsIt) {
  TempDir dir;
  std::string path = dir.path() + "/ctr.log";
  std::string text;
  for (int i = 0; i < 5; ++i) text += rec(kBase + i * kSec, "stdout", "F", std::to_string(i));
  ASSERT_TRUE(write_file_atomic(path, text));
  StringSink sink;
  auto start = std::chrono::steady_clock::now();
  auto r = read_logs(path, {.follow = true, .tail = 2, .until_ns = kBase + 10 * kSec}, sink,
                     [] { return true; });
  ASSERT_TRUE(r);
  EXPECT_EQ(sink.out, "3\n4\n");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

// --- cost ----------------------------------------------------------------------------------

// By hand: build-XXX/bin/husk_unit_tests --gtest_also_run_disabled_tests
//   --gtest_filter='LogBench.*'   (HUSK_LOG_BENCH_DIR: where to write; default /tmp)
TEST(LogBench, DISABLED_Throughput) {
  const char* where = std::getenv("HUSK_LOG_BENCH_DIR");
  TempDir dir;
  std::string base = where ? std::string(where) + "/husk-log-bench" : dir.path() + "/bench";
  std::string chunk;  // 4 KiB reads of 80-byte lines, as a pipe gives a chatty program's
  while (chunk.size() < 4096) chunk += std::string(79, 'x') + "\n";
  chunk.resize(4096);
  for (auto [name, limits] :
       {std::pair{"unlimited", LogLimits{}}, std::pair{"10MiB x 3", LogLimits{10 << 20, 3}}}) {
    for (const char* suffix : {"", ".1", ".2"}) std::filesystem::remove(base + suffix);
    auto w = LogWriter::open(base, limits);
    ASSERT_TRUE(w);
    constexpr size_t kBytes = 512u << 20;
    auto t0 = std::chrono::steady_clock::now();
    for (size_t done = 0; done < kBytes; done += chunk.size())
      ASSERT_TRUE(w->write(LogStream::kStdout, chunk));
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("LogWriter %-10s %4.0f MB of 80-byte lines in 4 KiB chunks: %.0f MB/s\n", name,
                kBytes / 1e6, kBytes / 1e6 / secs);
    // Reading it back (a sink that only counts), all of it and a tail.
    struct CountSink : LogSink {
      size_t bytes = 0;
      Result<void> write(LogStream, std::string_view b) override {
        bytes += b.size();
        return ok();
      }
    };
    for (std::optional<uint64_t> tail : {std::optional<uint64_t>(), std::optional<uint64_t>(10)}) {
      CountSink sink;
      t0 = std::chrono::steady_clock::now();
      ASSERT_TRUE(read_logs(base, {.tail = tail}, sink));
      secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("read_logs %-10s %-8s %4.0f MB of lines out in %.3f s\n", name,
                  tail ? "tail 10" : "all", sink.bytes / 1e6, secs);
    }
    for (const char* suffix : {"", ".1", ".2"}) std::filesystem::remove(base + suffix);
  }
}

}  // namespace
}  // namespace husk::manage
