// Random bytes from the kernel (getrandom(2), the urandom pool).
#pragma once

#include <cstddef>

#include "base/error.h"

namespace husk {

// Fills out[0..n) (EINTR and short reads retried).
Result<void> random_bytes(void* out, size_t n);

}  // namespace husk
