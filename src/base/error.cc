#include "base/error.h"

#include <cstring>

namespace husk {

std::string Error::what() const {
  if (code == 0 || hide_code) return message;
  if (message.empty()) return std::strerror(code);
  return message + ": " + std::strerror(code);
}

void Error::wrap(std::string_view outer) {
  if (outer.empty()) return;
  if (message.empty()) {
    message = outer;
  } else {
    message = fmt::format("{}: {}", outer, message);
  }
}

}  // namespace husk
