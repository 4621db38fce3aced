// dirfd-based access to cgroup files (internal to cgroup/). Every writer works
// on an open directory, so tests point them at a fixture tree in a tmpdir.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace husk::cgroup {

inline constexpr uint64_t kMax = UINT64_MAX;  // what "max" reads as

Result<UniqueFd> open_dir(const std::string& path);
bool exists_at(int dirfd, std::string_view file);
Result<std::string> read_at(int dirfd, std::string_view file);
// A single number; "max" reads as kMax.
Result<uint64_t> read_u64_at(int dirfd, std::string_view file);
// One write(2) of value, as the kernel expects: `write "50000 100000" to cpu.max: <errno>`.
Result<void> write_at(int dirfd, std::string_view file, std::string_view value);
// cgroup.procs (or tasks) as numbers.
Result<std::vector<pid_t>> read_pids_at(int dirfd, std::string_view file = "cgroup.procs");

// Shared by the v1 and v2 resource writers: every error names the OCI field.
namespace writer {

inline constexpr std::string_view kField = "linux.resources.";

// Writes value to file, naming the OCI field on failure.
inline Result<void> put(int dirfd, std::string_view field, std::string_view file,
                        std::string_view value) {
  return write_at(dirfd, file, value).context("{}{}", kField, field);
}

// A field that needs a file this kernel lacks: a clear error.
inline std::unexpected<Error> unsupported(std::string_view field, std::string_view why) {
  return std::unexpected(Error{0, fmt::format("{}{}: {}", kField, field, why)});
}

inline Result<void> put_optional_file(int dirfd, std::string_view field, std::string_view file,
                                      std::string_view value, std::string_view why) {
  if (!exists_at(dirfd, file)) return unsupported(field, why);
  return put(dirfd, field, file, value);
}

}  // namespace writer

}  // namespace husk::cgroup
