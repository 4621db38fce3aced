#include "cgroup/text.h"

#include <charconv>

namespace husk::cgroup {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  for (;;) {
    size_t next = s.find(sep, pos);
    if (next == std::string_view::npos) {
      out.push_back(s.substr(pos));
      return out;
    }
    out.push_back(s.substr(pos, next - pos));
    pos = next + 1;
  }
}

std::vector<std::string_view> split_fields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t start = s.find_first_not_of(" \t\n", pos);
    if (start == std::string_view::npos) break;
    size_t end = s.find_first_of(" \t\n", start);
    if (end == std::string_view::npos) end = s.size();
    out.push_back(s.substr(start, end - start));
    pos = end;
  }
  return out;
}

std::string_view trim(std::string_view s) {
  size_t start = s.find_first_not_of(" \t\n");
  if (start == std::string_view::npos) return {};
  size_t end = s.find_last_not_of(" \t\n");
  return s.substr(start, end - start + 1);
}

std::optional<uint64_t> parse_u64(std::string_view s) {
  s = trim(s);
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<int64_t> parse_i64(std::string_view s) {
  s = trim(s);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::map<std::string, uint64_t> parse_flat_keyed(std::string_view text) {
  std::map<std::string, uint64_t> out;
  for (auto line : split(text, '\n')) {
    auto f = split_fields(line);
    if (f.size() != 2) continue;
    if (auto v = parse_u64(f[1])) out[std::string(f[0])] = *v;
  }
  return out;
}

std::optional<std::vector<uint16_t>> parse_cpu_list(std::string_view s) {
  std::vector<uint16_t> out;
  s = trim(s);
  if (s.empty()) return out;
  for (auto part : split(s, ',')) {
    auto dash = part.find('-');
    auto lo = parse_u64(part.substr(0, dash));
    auto hi = dash == std::string_view::npos ? lo : parse_u64(part.substr(dash + 1));
    if (!lo || !hi || *lo > *hi || *hi > 65535) return std::nullopt;
    for (uint64_t v = *lo; v <= *hi; ++v) out.push_back(static_cast<uint16_t>(v));
  }
  return out;
}

}  // namespace husk::cgroup
