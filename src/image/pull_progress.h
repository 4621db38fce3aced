// The text of husk pull's progress display (image/pull.h's events), kept apart from the
// terminal so it can be tested:
//
//   3f4b1c2d9a0e: downloading      1.5 MiB / 3.0 MiB   750.0 KiB/s
//   9c0d1e2f3a4b: already exists
//   5e6f7a8b9c0d: done             3.0 MiB
#pragma once

#include <cstdint>
#include <string>

#include "image/pull.h"

namespace husk::image {

// 0 B, 512 B, 1.5 KiB, 12.3 MiB, 1.0 GiB (binary units, one decimal above bytes).
std::string progress_size(uint64_t bytes);
// bytes over seconds as "750.0 KiB/s"; "" when seconds is not positive.
std::string progress_rate(uint64_t bytes, double seconds);
// One layer's line. seconds: how long it has been downloading (for the rate; <= 0: none).
std::string progress_line(const LayerProgress& p, double seconds);

}  // namespace husk::image
