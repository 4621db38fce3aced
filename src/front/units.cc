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
