// Small text helpers for cgroup and /proc files (internal to cgroup/).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace husk::cgroup {

// Splits on sep, keeping empty pieces ("a,,b" -> a, "", b); "" -> {""}.
std::vector<std::string_view> split(std::string_view s, char sep);
// Splits on runs of blanks (space, tab, newline); no empty pieces.
std::vector<std::string_view> split_fields(std::string_view s);
std::string_view trim(std::string_view s);

std::optional<uint64_t> parse_u64(std::string_view s);
std::optional<int64_t> parse_i64(std::string_view s);

// "key value" lines (memory.stat, cpu.stat, memory.events, cgroup.events).
std::map<std::string, uint64_t> parse_flat_keyed(std::string_view text);

// A cpuset list "0-3,6" -> {0,1,2,3,6}; nullopt when malformed.
std::optional<std::vector<uint16_t>> parse_cpu_list(std::string_view s);

}  // namespace husk::cgroup
