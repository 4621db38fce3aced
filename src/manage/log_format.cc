#include "manage/log_format.h"

namespace husk::manage {

namespace {

constexpr int64_t kNsPerSec = 1'000'000'000;

// Reads exactly n decimal digits at s[i..]; advances i.
bool take_digits(std::string_view s, size_t& i, size_t n, int64_t& out) {
  if (s.size() - i < n) return false;
  int64_t v = 0;
  for (size_t k = 0; k < n; ++k) {
    char ch = s[i + k];
    if (ch < '0' || ch > '9') return false;
    v = v * 10 + (ch - '0');
  }
  i += n;
  out = v;
  return true;
}

bool take_char(std::string_view s, size_t& i, char want) {
  if (i >= s.size() || s[i] != want) return false;
  ++i;
  return true;
}

void put_digits(char* out, int64_t v, int n) {
  for (int k = n - 1; k >= 0; --k) {
    out[k] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

}  // namespace

std::string_view stream_name(LogStream s) { return s == LogStream::kStderr ? "stderr" : "stdout"; }

// The era arithmetic of the proleptic Gregorian calendar: 400-year eras of 146097 days, years
// counted from March so that the leap day falls at the end.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t days, int64_t& y, unsigned& m, unsigned& d) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
}

void format_log_timestamp(int64_t ns, char* out) {
  int64_t secs = ns / kNsPerSec, frac = ns % kNsPerSec;
  if (frac < 0) {
    frac += kNsPerSec;
    --secs;
  }
  int64_t days = secs / 86400, sod = secs % 86400;
  if (sod < 0) {
    sod += 86400;
    --days;
  }
  int64_t y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(days, y, m, d);
  put_digits(out, y, 4);
  out[4] = '-';
  put_digits(out + 5, m, 2);
  out[7] = '-';
  put_digits(out + 8, d, 2);
  out[10] = 'T';
  put_digits(out + 11, sod / 3600, 2);
  out[13] = ':';
  put_digits(out + 14, sod / 60 % 60, 2);
  out[16] = ':';
  put_digits(out + 17, sod % 60, 2);
  out[19] = '.';
  put_digits(out + 20, frac, 9);
  out[29] = 'Z';
}

std::optional<int64_t> parse_rfc3339_ns(std::string_view s) {
  size_t i = 0;
  int64_t y, mo, d, h, mi, sec;
  if (!take_digits(s, i, 4, y) || !take_char(s, i, '-') || !take_digits(s, i, 2, mo) ||
      !take_char(s, i, '-') || !take_digits(s, i, 2, d))
    return std::nullopt;
  if (i >= s.size() || (s[i] != 'T' && s[i] != 't')) return std::nullopt;
  ++i;
  if (!take_digits(s, i, 2, h) || !take_char(s, i, ':') || !take_digits(s, i, 2, mi) ||
      !take_char(s, i, ':') || !take_digits(s, i, 2, sec))
    return std::nullopt;
  int64_t frac = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int64_t scale = kNsPerSec;
    size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (digits < 9) {
        scale /= 10;
        frac += (s[i] - '0') * scale;
      }
      ++digits;
      ++i;
    }
    if (digits == 0) return std::nullopt;
  }
  int64_t offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int sign = s[i] == '-' ? -1 : 1;
    ++i;
    int64_t oh, om;
    if (!take_digits(s, i, 2, oh) || !take_char(s, i, ':') || !take_digits(s, i, 2, om) ||
        oh > 23 || om > 59)
      return std::nullopt;
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  // Go's time.Parse range checks (a leap second's :60 is refused there too).
  static constexpr unsigned kMonthDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > kMonthDays[mo - 1] || h > 23 || mi > 59 || sec > 59)
    return std::nullopt;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo == 2 && d == 29 && !leap) return std::nullopt;
  int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset;
  return secs * kNsPerSec + frac;
}

std::optional<LogRecord> parse_log_record(std::string_view line) {
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return std::nullopt;
  LogRecord r;
  auto ts = parse_rfc3339_ns(line.substr(0, sp1));
  if (!ts) return std::nullopt;
  r.time_ns = *ts;
  std::string_view rest = line.substr(sp1 + 1);
  if (rest.starts_with("stdout ")) {
    r.stream = LogStream::kStdout;
  } else if (rest.starts_with("stderr ")) {
    r.stream = LogStream::kStderr;
  } else {
    return std::nullopt;
  }
  rest.remove_prefix(7);
  size_t sp = rest.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  std::string_view tags = rest.substr(0, sp);
  std::string_view tag = tags.substr(0, tags.find(':'));
  if (tag.empty()) return std::nullopt;
  // Anything but P ends a line, as in kubelet: tags a later writer adds stay readable.
  r.partial = tag == "P";
  r.text = rest.substr(sp + 1);
  return r;
}

}  // namespace husk::manage
