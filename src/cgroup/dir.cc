#include "cgroup/dir.h"

#include <fcntl.h>
#include <unistd.h>

#include "base/file.h"
#include "cgroup/text.h"

namespace husk::cgroup {

Result<UniqueFd> open_dir(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return fail_errno("open cgroup {}", path);
  return fd;
}

bool exists_at(int dirfd, std::string_view file) {
  return ::faccessat(dirfd, std::string(file).c_str(), F_OK, 0) == 0;
}

Result<std::string> read_at(int dirfd, std::string_view file) {
  return read_file_at(dirfd, std::string(file));
}

Result<uint64_t> read_u64_at(int dirfd, std::string_view file) {
  HUSK_TRY_ASSIGN(std::string text, read_at(dirfd, file));
  std::string_view t = trim(text);
  if (t == "max") return kMax;
  if (auto v = parse_u64(t)) return *v;
  // v1 reports "-1" for some unlimited values (cpu.cfs_quota_us).
  if (t == "-1") return kMax;
  return fail(EINVAL, "{}: {:?} is not a number", file, t);
}

Result<void> write_at(int dirfd, std::string_view file, std::string_view value) {
  UniqueFd fd(::openat(dirfd, std::string(file).c_str(), O_WRONLY | O_CLOEXEC | O_TRUNC));
  if (!fd) return fail_errno("open {}", file);
  ssize_t n = ::write(fd.get(), value.data(), value.size());
  if (n < 0) return fail_errno("write {:?} to {}", value, file);
  if (static_cast<size_t>(n) != value.size())
    return fail(EIO, "short write of {:?} to {}", value, file);
  return ok();
}

Result<std::vector<pid_t>> read_pids_at(int dirfd, std::string_view file) {
  HUSK_TRY_ASSIGN(std::string text, read_at(dirfd, file));
  std::vector<pid_t> out;
  for (auto f : split_fields(text))
    if (auto v = parse_i64(f)) out.push_back(static_cast<pid_t>(*v));
  return out;
}

}  // namespace husk::cgroup
