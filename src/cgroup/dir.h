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
#include "config/resources.h"

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

// cpu.burst must never exceed the quota: it is written before the quota
// (which works when lowering it) and, if that was refused, again after.
template <class SetQuota>
Result<void> put_quota_and_burst(int dirfd, const config::CpuResources& cpu,
                                 std::string_view burst_file, SetQuota set_quota) {
  bool burst_late = false;
  if (cpu.burst) {
    if (!exists_at(dirfd, burst_file)) {
      if (*cpu.burst != 0)
        return unsupported("cpu.burst", fmt::format("this kernel has no {}", burst_file));
    } else if (!write_at(dirfd, burst_file, std::to_string(*cpu.burst))) {
      burst_late = true;
    }
  }
  HUSK_TRY(set_quota());
  if (burst_late) HUSK_TRY(put(dirfd, "cpu.burst", burst_file, std::to_string(*cpu.burst)));
  return ok();
}

// cpu.idle (same file on v1 and v2); 0 is a no-op where the kernel lacks it.
inline Result<void> put_idle(int dirfd, const config::CpuResources& cpu) {
  if (!cpu.idle || (*cpu.idle == 0 && !exists_at(dirfd, "cpu.idle"))) return ok();
  return put_optional_file(dirfd, "cpu.idle", "cpu.idle", std::to_string(*cpu.idle),
                           "this kernel has no cpu.idle");
}

// cpuset.cpus and cpuset.mems have the same names and syntax on v1 and v2.
inline Result<void> put_cpuset(int dirfd, const config::CpuResources& cpu) {
  if (cpu.cpus && !cpu.cpus->empty()) HUSK_TRY(put(dirfd, "cpu.cpus", "cpuset.cpus", *cpu.cpus));
  if (cpu.mems && !cpu.mems->empty()) HUSK_TRY(put(dirfd, "cpu.mems", "cpuset.mems", *cpu.mems));
  return ok();
}

}  // namespace writer

}  // namespace husk::cgroup
