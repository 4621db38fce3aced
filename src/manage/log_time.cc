// --since/--until values (log_reader.h), as docker's GetTimestamp reads them.
#include <time.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>

#include "base/time.h"
#include "manage/log_format.h"
#include "manage/log_reader.h"

namespace husk::manage {

namespace {

constexpr int64_t kNsPerSec = 1'000'000'000;

// A duration ago (Go's syntax), bounded so that now minus it cannot overflow.
std::optional<int64_t> parse_duration_ns(std::string_view s) {
  auto d = parse_go_duration(s);
  if (!d || d->count() > std::numeric_limits<int64_t>::max() / 2 ||
      d->count() < -(std::numeric_limits<int64_t>::max() / 2))
    return std::nullopt;
  return d->count();
}

bool digits_at(std::string_view s, size_t i, size_t n, int& out) {
  if (s.size() < i + n) return false;
  int v = 0;
  for (size_t k = i; k < i + n; ++k) {
    if (s[k] < '0' || s[k] > '9') return false;
    v = v * 10 + (s[k] - '0');
  }
  out = v;
  return true;
}

// docker's layouts: 2006-01-02, then optionally T15, T15:04, T15:04:05 and .999999999 (only
// after seconds), then optionally Z07:00 (Z or an offset); no zone is the local one.
std::optional<int64_t> parse_date_time(std::string_view s) {
  int y, mo, d, h = 0, mi = 0, sec = 0;
  if (!digits_at(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits_at(s, 5, 2, mo) ||
      s[7] != '-' || !digits_at(s, 8, 2, d))
    return std::nullopt;
  size_t i = 10;
  int64_t frac = 0;
  if (i < s.size() && s[i] == 'T') {
    if (!digits_at(s, i + 1, 2, h)) return std::nullopt;
    i += 3;
    if (i < s.size() && s[i] == ':') {
      if (!digits_at(s, i + 1, 2, mi)) return std::nullopt;
      i += 3;
      if (i < s.size() && s[i] == ':') {
        if (!digits_at(s, i + 1, 2, sec)) return std::nullopt;
        i += 3;
        if (i < s.size() && s[i] == '.') {
          ++i;
          int64_t scale = kNsPerSec;
          size_t n = 0;
          for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++n)
            if (n < 9) frac += (s[i] - '0') * (scale /= 10);
          if (n == 0) return std::nullopt;
        }
      }
    }
  }
  std::string_view zone = s.substr(i);
  // Let the strict RFC 3339 parser check the ranges and the zone: rebuild the full form.
  char full[64];
  format_log_timestamp(0, full);  // a template of the right shape
  auto put2 = [&](size_t at, int v) {
    full[at] = static_cast<char>('0' + v / 10);
    full[at + 1] = static_cast<char>('0' + v % 10);
  };
  for (int k = 3, v = y; k >= 0; --k, v /= 10) full[k] = static_cast<char>('0' + v % 10);
  put2(5, mo);
  put2(8, d);
  put2(11, h);
  put2(14, mi);
  put2(17, sec);
  if (zone.empty()) {
    auto utc = parse_rfc3339_ns(std::string_view(full, kLogTimestampLen));
    if (!utc) return std::nullopt;
    tm t{};
    t.tm_year = y - 1900;
    t.tm_mon = mo - 1;
    t.tm_mday = d;
    t.tm_hour = h;
    t.tm_min = mi;
    t.tm_sec = sec;
    t.tm_isdst = -1;
    time_t local = ::mktime(&t);
    if (local == static_cast<time_t>(-1)) return std::nullopt;
    return static_cast<int64_t>(local) * kNsPerSec + frac;
  }
  if (zone.size() > 16) return std::nullopt;
  size_t n = 29;  // up to the fraction's dot, then the zone as given
  for (char ch : zone) full[n++] = ch;
  full[19] = '.';
  auto ns = parse_rfc3339_ns(std::string_view(full, n));
  if (!ns) return std::nullopt;
  return *ns + frac;  // the template's fraction is .000000000
}

// "1714564800" or "1714564800.5": seconds, and a fraction of one.
std::optional<int64_t> parse_unix_time(std::string_view s) {
  size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  if (whole.empty() || whole.size() > 12) return std::nullopt;
  int64_t secs = 0;
  for (char ch : whole) {
    if (ch < '0' || ch > '9') return std::nullopt;
    secs = secs * 10 + (ch - '0');
  }
  int64_t frac = 0;
  if (dot != std::string_view::npos) {
    std::string_view f = s.substr(dot + 1);
    if (f.empty()) return std::nullopt;
    int64_t scale = kNsPerSec;
    for (size_t k = 0; k < f.size(); ++k) {
      if (f[k] < '0' || f[k] > '9') return std::nullopt;
      if (k < 9) frac += (f[k] - '0') * (scale /= 10);
    }
  }
  return secs * kNsPerSec + frac;
}

}  // namespace

int64_t log_now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * kNsPerSec + ts.tv_nsec;
}

Result<int64_t> parse_log_time(std::string_view flag, std::string_view value, int64_t now_ns) {
  if (value != "0") {
    if (auto d = parse_duration_ns(value)) return now_ns - *d;
  }
  if (value.find('-') != std::string_view::npos) {
    if (auto t = parse_date_time(value)) return *t;
  } else if (auto t = parse_unix_time(value)) {
    return *t;
  }
  return fail_quiet(EINVAL,
                    "invalid {} \"{}\": want a time (2024-05-01T12:00:00Z), a unix time "
                    "(1714564800.5) or a duration (10m, 1h30m)",
                    flag, value);
}

}  // namespace husk::manage
