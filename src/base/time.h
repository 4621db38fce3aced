// Wall-clock time as text.
#pragma once

#include <string>

namespace husk {

// Now, as RFC 3339 in UTC with all nine digits of nanoseconds:
// 2024-05-01T12:00:00.123456789Z (the stores' "created" fields).
std::string now_rfc3339();

}  // namespace husk
