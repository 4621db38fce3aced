#include "base/random.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>

namespace husk {

Result<void> random_bytes(void* out, size_t n) {
  auto* p = static_cast<uint8_t*>(out);
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::getrandom(p + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return fail_errno("getrandom");
    got += static_cast<size_t>(r);
  }
  return ok();
}

}  // namespace husk
