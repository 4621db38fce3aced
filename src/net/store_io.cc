#include "net/store_io.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include "base/random.h"

namespace husk::net::store_io {

Result<void> make_dirs(const std::string& path, int mode) {
  if (::mkdir(path.c_str(), static_cast<mode_t>(mode)) == 0 || errno == EEXIST) return ok();
  if (errno != ENOENT) return fail_errno("create {}", path);
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    std::string parent = path.substr(0, slash);
    if (::mkdir(parent.c_str(), 0711) < 0 && errno != EEXIST)
      return fail_errno("create {}", parent);
  }
  if (::mkdir(path.c_str(), static_cast<mode_t>(mode)) < 0 && errno != EEXIST)
    return fail_errno("create {}", path);
  return ok();
}

Result<std::string> random_hex(size_t n) {
  std::string bytes(n, '\0');
  HUSK_TRY(random_bytes(bytes.data(), n));
  std::string hex;
  hex.reserve(2 * n);
  for (char c : bytes) hex += fmt::format("{:02x}", static_cast<uint8_t>(c));
  return hex;
}

uint32_t fnv1a32(std::string_view s) {
  uint32_t h = 0x811c9dc5u;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x01000193u;
  }
  return h;
}

uint64_t fnv1a64(std::string_view s, uint64_t seed) {
  uint64_t h = seed;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

namespace {

// The member `key`, or nullptr when it is missing or null.
const Json* member(const Json& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return nullptr;
  return &*it;
}

// (type_name, not dump: a hostile value could be huge or nest deeply.)
std::unexpected<Error> wrong_type(std::string_view at, const char* key, const char* want,
                                  const Json& got) {
  return fail_quiet(EINVAL, "{}{}: expected {}, got {}", at, key, want, got.type_name());
}

}  // namespace

Result<std::string> req_string(const Json& o, std::string_view at, const char* key) {
  const Json* v = member(o, key);
  if (v == nullptr) return fail_quiet(EINVAL, "{}{}: missing", at, key);
  if (!v->is_string()) return wrong_type(at, key, "a string", *v);
  return v->get<std::string>();
}

Result<std::optional<std::string>> opt_string(const Json& o, std::string_view at, const char* key) {
  const Json* v = member(o, key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return wrong_type(at, key, "a string", *v);
  return std::optional<std::string>(v->get<std::string>());
}

Result<uint64_t> req_uint(const Json& o, std::string_view at, const char* key, uint64_t max) {
  const Json* v = member(o, key);
  if (v == nullptr) return fail_quiet(EINVAL, "{}{}: missing", at, key);
  uint64_t n = 0;
  if (v->is_number_unsigned()) {
    n = v->get<uint64_t>();
  } else if (v->is_number_integer() && v->get<int64_t>() >= 0) {
    n = static_cast<uint64_t>(v->get<int64_t>());
  } else {
    return wrong_type(at, key, "an unsigned integer", *v);
  }
  if (n > max) return fail_quiet(EINVAL, "{}{}: {} is out of range (at most {})", at, key, n, max);
  return n;
}

Result<bool> opt_bool(const Json& o, std::string_view at, const char* key, bool dflt) {
  const Json* v = member(o, key);
  if (v == nullptr) return dflt;
  if (!v->is_boolean()) return wrong_type(at, key, "true or false", *v);
  return v->get<bool>();
}

}  // namespace husk::net::store_io
