#include "front/units.h"

#include <cmath>
#include <limits>
#include <utility>

namespace husk::cli {

std::optional<int64_t> parse_int64(std::string_view s) {
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  // |INT64_MIN| is one more than INT64_MAX.
  const uint64_t limit = (uint64_t{1} << 63) - (neg ? 0 : 1);
  uint64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return std::nullopt;
    uint64_t d = static_cast<uint64_t>(ch - '0');
    if (v > (limit - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  if (neg) return static_cast<int64_t>(0 - v);  // two's complement: INT64_MIN fits
  return static_cast<int64_t>(v);
}

std::optional<uint64_t> parse_uint64(std::string_view s) {
  if (s.starts_with('+')) return std::nullopt;
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return std::nullopt;
    uint64_t d = static_cast<uint64_t>(ch - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

std::optional<int64_t> parse_ram_bytes(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (!digits()) return std::nullopt;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return std::nullopt;
  }
  std::string_view number = s.substr(0, i);
  if (i < s.size() && s[i] == ' ') ++i;
  long double mul = 1;
  constexpr std::string_view kUnits = "kmgtp";  // 1024^1 .. 1024^5
  if (size_t u = i < s.size() ? kUnits.find(static_cast<char>(s[i] | 0x20)) : kUnits.npos;
      u != kUnits.npos) {
    mul = std::pow(1024.0L, static_cast<int>(u) + 1);
    ++i;
  }
  if (i < s.size() && (s[i] | 0x20) == 'i') ++i;
  if (i < s.size() && (s[i] | 0x20) == 'b') ++i;
  if (i != s.size()) return std::nullopt;
  long double value = 0, scale = 1;
  bool fraction = false;
  for (char ch : number) {
    if (ch == '.') {
      fraction = true;
      continue;
    }
    if (fraction) {
      scale /= 10;
      value += (ch - '0') * scale;
    } else {
      value = value * 10 + (ch - '0');
    }
  }
  long double bytes = std::floor(value * mul);  // Go truncates the product
  if (bytes > static_cast<long double>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  return static_cast<int64_t>(bytes);
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

bool valid_id_list(std::string_view s) {
  if (s.empty()) return false;
  size_t i = 0;
  auto number = [&] {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  for (;;) {
    if (!number()) return false;
    if (i < s.size() && s[i] == '-') {
      ++i;
      if (!number()) return false;
    }
    if (i == s.size()) return true;
    if (s[i++] != ',') return false;
  }
}

}  // namespace husk::cli
