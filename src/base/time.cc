#include "base/time.h"

#include <time.h>

#include <limits>

#include <fmt/format.h>

namespace husk {

std::string now_rfc3339() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  ::gmtime_r(&ts.tv_sec, &t);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", t.tm_year + 1900, t.tm_mon + 1,
                     t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec);
}

std::optional<std::chrono::nanoseconds> parse_go_duration(std::string_view s) {
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds(0);
  if (s.empty()) return std::nullopt;
  long double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    long double value = 0, scale = 1;
    bool any = false, fraction = false;
    for (; i < s.size(); ++i) {
      char ch = s[i];
      if (ch == '.' && !fraction) {
        fraction = true;
        continue;
      }
      if (ch < '0' || ch > '9') break;
      any = true;
      if (fraction) {
        scale /= 10;
        value += (ch - '0') * scale;
      } else {
        value = value * 10 + (ch - '0');
      }
    }
    if (!any) return std::nullopt;
    s.remove_prefix(i);
    size_t u = 0;
    while (u < s.size() && !(s[u] == '.' || (s[u] >= '0' && s[u] <= '9'))) ++u;
    std::string_view unit = s.substr(0, u);
    s.remove_prefix(u);
    constexpr std::pair<std::string_view, long double> kUnits[] = {
        {"ns", 1},    {"us", 1e3L}, {"\xC2\xB5s", 1e3L}, {"\xCE\xBCs", 1e3L},
        {"ms", 1e6L}, {"s", 1e9L},  {"m", 60e9L},        {"h", 3600e9L}};
    long double ns = 0;
    for (const auto& [name, factor] : kUnits)
      if (unit == name) ns = factor;
    if (ns == 0) return std::nullopt;  // a missing or unknown unit, as in Go
    total += value * ns;
    if (total > static_cast<long double>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  }
  auto ns = std::chrono::nanoseconds(static_cast<int64_t>(total));
  return neg ? -ns : ns;
}

}  // namespace husk
