// What the network store (network.cc) and the lease files (ipam.cc) share:
// directories, random hex ids, FNV-1a hashes, and reading fields of
// hand-editable JSON with errors that name the field (lock files and random
// bytes are base/'s). Internal to src/net/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/unique_fd.h"

namespace husk::net::store_io {

using Json = nlohmann::json;

// mkdir -p: the last directory with `mode`, missing parents with 0711 (the
// state roots' mode). An existing directory is left as it is.
Result<void> make_dirs(const std::string& path, int mode);

// n bytes from getrandom() as 2n lowercase hex digits.
Result<std::string> random_hex(size_t n);

// 32- and 64-bit FNV-1a of s (seed: the offset basis, or another for a
// second, independent hash).
uint32_t fnv1a32(std::string_view s);
uint64_t fnv1a64(std::string_view s, uint64_t seed = 0xcbf29ce484222325ULL);

// Readers of one member of a JSON object. `at` is the path of the object
// ("" at the top, "leases[2]." inside), so errors read
// `leases[2].pid: expected an unsigned integer, got string`. A missing or
// null member is an error for req_*, nullopt (or the default) for opt_*.
// Errors are EINVAL with the code hidden (the text says it all).
Result<std::string> req_string(const Json& o, std::string_view at, const char* key);
Result<std::optional<std::string>> opt_string(const Json& o, std::string_view at, const char* key);
Result<uint64_t> req_uint(const Json& o, std::string_view at, const char* key, uint64_t max);
Result<bool> opt_bool(const Json& o, std::string_view at, const char* key, bool dflt);

// Marks an error as one whose text says it all (no ": Invalid argument"),
// prefixed with `outer`.
template <class T>
Result<T> reword(Result<T> r, std::string_view outer) {
  if (!r) {
    r.error().wrap(outer);
    r.error().hide_code = true;
  }
  return r;
}

}  // namespace husk::net::store_io
