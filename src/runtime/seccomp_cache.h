// Compiled seccomp programs, cached under the state root.
//
// libseccomp needs milliseconds to compile a profile (11 ms for docker's default profile
// with its three architectures, on the development VM), and every engine sends the same
// profile to every container. The program depends only on the profile, the libseccomp
// version and the kernel's seccomp API level (linux::seccomp_cache_key), so it is compiled
// once and kept in <root>/.seccomp/, one file per key. A file is used only when it belongs
// to us, nobody else may write it, and the full key stored in it equals the profile's:
// the file name (a 64-bit hash of the key) only finds it. Anything else, and a cache that
// cannot be written (a read-only root), means compiling as before: the cache never turns
// a start that would work into one that fails.
#pragma once

#include <string>

#include "base/error.h"
#include "config/container.h"
#include "linux/seccomp_filter.h"

namespace husk::runtime {

// The directory under the state root (list and state skip names that start with a dot).
inline constexpr const char* kSeccompCacheDir = ".seccomp";
// At most this many programs are kept: a store into a full cache empties it first.
inline constexpr size_t kSeccompCacheMax = 64;

// The program for cfg: from the cache, or compiled (and then stored).
Result<linux::CompiledSeccomp> cached_seccomp(const std::string& root, const config::Seccomp& cfg);

}  // namespace husk::runtime
