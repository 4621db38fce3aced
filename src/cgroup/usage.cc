#include "cgroup/usage.h"

#include <fcntl.h>

#include "cgroup/dir.h"
#include "cgroup/stats.h"
#include "cgroup/text.h"

namespace husk::cgroup {
namespace {

// The file's number, 0 when the kernel lacks it.
Result<uint64_t> optional_u64(int dirfd, std::string_view file) {
  auto v = read_u64_at(dirfd, file);
  if (!v && v.error().code == ENOENT) return 0;
  return v;
}

// Read first, no access() before: a missing file costs one failed open, and
// a present one (the usual case) no extra syscall.
Result<std::map<std::string, uint64_t>> optional_keyed(int dirfd, std::string_view file) {
  auto text = read_at(dirfd, file);
  if (!text) {
    if (text.error().code == ENOENT) return std::map<std::string, uint64_t>();
    return std::unexpected(text.error());
  }
  return parse_flat_keyed(*text);
}

void add_bytes(const std::vector<BlkioEntry>& entries, Usage& u) {
  // docker's calculateBlockIO: every device, ops "Read" and "Write".
  for (const auto& e : entries) {
    if (e.op == "Read" || e.op == "read") u.io_read += e.value;
    if (e.op == "Write" || e.op == "write") u.io_write += e.value;
  }
}

Result<void> read_v1(std::string_view controller, int fd, Usage& u) {
  if (controller == "cpuacct") {
    HUSK_TRY_ASSIGN(u.cpu_ns, read_u64_at(fd, "cpuacct.usage"));
  } else if (controller == "memory") {
    HUSK_TRY_ASSIGN(u.memory, read_u64_at(fd, "memory.usage_in_bytes"));
    HUSK_TRY_ASSIGN(u.memory_limit, read_u64_at(fd, "memory.limit_in_bytes"));
    HUSK_TRY_ASSIGN(auto stat, optional_keyed(fd, "memory.stat"));
    u.inactive_file = stat["total_inactive_file"];
  } else if (controller == "blkio") {
    HUSK_TRY_ASSIGN(auto bytes, v1::read_blkio_bytes(fd));
    add_bytes(bytes, u);
  } else if (controller == "pids") {
    HUSK_TRY_ASSIGN(u.pids, read_u64_at(fd, "pids.current"));
  }
  return ok();
}

// The v1 controllers read, each from its own hierarchy when it has one.
constexpr std::string_view kControllers[] = {"cpuacct", "memory", "blkio", "pids"};

// What the v1 hierarchies did not give, from the cgroup2 directory.
Result<void> read_v2(const SavedState& saved, int fd, Usage& u) {
  if (!saved.paths.contains("cpuacct")) {
    // cpu.stat is a core file: usage is there even without the cpu controller.
    HUSK_TRY_ASSIGN(auto stat, optional_keyed(fd, "cpu.stat"));
    u.cpu_ns = stat["usage_usec"] * 1000;
  }
  if (!saved.paths.contains("memory")) {
    auto current = read_u64_at(fd, "memory.current");
    if (current) {
      u.memory = *current;
      HUSK_TRY_ASSIGN(u.memory_limit, optional_u64(fd, "memory.max"));
      HUSK_TRY_ASSIGN(auto stat, optional_keyed(fd, "memory.stat"));
      u.inactive_file = stat["inactive_file"];
    } else if (current.error().code != ENOENT) {  // ENOENT: no memory controller here
      return std::unexpected(current.error());
    }
  }
  if (!saved.paths.contains("blkio")) {
    auto text = read_at(fd, "io.stat");
    if (text) {
      BlkioStats io;
      parse_io_stat(*text, io);
      add_bytes(io.io_service_bytes_recursive, u);
    } else if (text.error().code != ENOENT) {
      return std::unexpected(text.error());
    }
  }
  if (!saved.paths.contains("pids")) {
    HUSK_TRY_ASSIGN(u.pids, optional_u64(fd, "pids.current"));
  }
  return ok();
}

}  // namespace

Result<Usage> read_usage(const SavedState& saved) {
  Usage u;
  bool all_v1 = true;
  for (std::string_view controller : kControllers) {
    auto it = saved.paths.find(std::string(controller));
    if (it == saved.paths.end()) {
      all_v1 = false;
      continue;
    }
    HUSK_TRY_ASSIGN(UniqueFd fd, open_dir(it->second));
    HUSK_TRY(read_v1(controller, fd.get(), u).context("read {} usage", controller));
  }
  // On a hybrid host the cgroup2 directory has nothing more to give.
  if (auto it = saved.paths.find(""); !all_v1 && it != saved.paths.end()) {
    HUSK_TRY_ASSIGN(UniqueFd fd, open_dir(it->second));
    HUSK_TRY(read_v2(saved, fd.get(), u).context("read the cgroup2 usage"));
  }
  return u;
}

Result<uint64_t> read_cpu_ns(const SavedState& saved) {
  if (auto it = saved.paths.find("cpuacct"); it != saved.paths.end())
    return read_u64_at(AT_FDCWD, it->second + "/cpuacct.usage");
  auto it = saved.paths.find("");
  if (it == saved.paths.end()) return 0;
  HUSK_TRY_ASSIGN(auto stat, optional_keyed(AT_FDCWD, it->second + "/cpu.stat"));
  return stat["usage_usec"] * 1000;
}

}  // namespace husk::cgroup
