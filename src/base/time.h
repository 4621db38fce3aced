// Wall-clock time as text, and durations as Go writes them.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace husk {

// Now, as RFC 3339 in UTC with all nine digits of nanoseconds:
// 2024-05-01T12:00:00.123456789Z (the stores' "created" fields).
std::string now_rfc3339();

// Go's time.ParseDuration, as docker's and runc's flags take durations: "5s",
// "250ms", "1m30s", "1.5h", "-2s"; units ns, us (µs), ms, s, m, h. "0" alone
// is zero; any other number needs a unit. nullopt when malformed or beyond
// int64 nanoseconds.
std::optional<std::chrono::nanoseconds> parse_go_duration(std::string_view s);

}  // namespace husk
