// The few numbers `husk stats` shows for a container, read from as few files
// as it can: the table samples every running container twice, and 1000 of
// them must take well under a second. Manager::stats() reads every file of
// every controller (about fifty on a v1 host); this reads six, with the same
// parsers, straight from the saved paths (no Manager to build, whatever
// driver made the cgroup).
#pragma once

#include <cstdint>

#include "base/error.h"
#include "cgroup/dir.h"
#include "cgroup/manager.h"

namespace husk::cgroup {

struct Usage {
  uint64_t cpu_ns = 0;  // v1 cpuacct.usage, v2 cpu.stat usage_usec
  uint64_t memory = 0;  // v1 memory.usage_in_bytes, v2 memory.current (page cache included)
  // memory.stat's inactive file pages (v1 total_inactive_file, hierarchical;
  // v2 inactive_file): what docker takes off the usage it shows.
  uint64_t inactive_file = 0;
  uint64_t memory_limit = kMax;  // kMax: none (v1's unlimited value is ~2^63 instead)
  uint64_t io_read = 0;          // bytes, every device
  uint64_t io_write = 0;
  uint64_t pids = 0;
};

// From the container's saved paths: each controller's v1 directory when it has
// one, else the cgroup2 directory (key ""). A controller the host lacks, or a
// file the kernel lacks, reads as 0. ENOENT when the cgroup is gone.
Result<Usage> read_usage(const SavedState& saved);

// The CPU time alone (Usage::cpu_ns), from one file: what a first sample
// needs, since a rate is a difference and the other numbers are shown as
// they are at the last sample.
Result<uint64_t> read_cpu_ns(const SavedState& saved);

}  // namespace husk::cgroup
