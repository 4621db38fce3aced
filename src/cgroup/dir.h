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

}  // namespace husk::cgroup
