// Resource writers: one function per controller and hierarchy, each given the
// open directory of the container's cgroup in that controller's hierarchy.
// They write only the fields that are set, in an order the kernel accepts,
// and name the OCI field in every error:
//   linux.resources.memory.limit: write "1048576" to memory.limit_in_bytes: Device or resource busy
// A field this host cannot honour is an error unless its value is a no-op.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "config/resources.h"

namespace husk::cgroup::v1 {

Result<void> set_cpu(int dirfd, const config::CpuResources& cpu);     // cpu controller
Result<void> set_cpuset(int dirfd, const config::CpuResources& cpu);  // cpus, mems
Result<void> set_memory(int dirfd, const config::MemoryResources& mem);
Result<void> set_pids(int dirfd, const config::PidsResources& pids);
Result<void> set_blkio(int dirfd, const config::BlockIoResources& io);
Result<void> set_hugetlb(int dirfd, const std::vector<config::HugepageLimit>& limits);
Result<void> set_devices(int dirfd, const std::vector<config::DeviceRule>& rules);
Result<void> set_net_cls(int dirfd, const config::NetworkResources& net);
Result<void> set_net_prio(int dirfd, const config::NetworkResources& net);
// rdma.max has the same format in both hierarchies.
Result<void> set_rdma(int dirfd, const std::map<std::string, config::RdmaLimit>& rdma);

// v1 cpuset directories start empty; a task cannot join one until cpus and
// mems are set. Copies them from parent_fd when dirfd's are empty.
Result<void> init_cpuset(int parent_fd, int dirfd);

}  // namespace husk::cgroup::v1

namespace husk::cgroup::v2 {

Result<void> set_cpu(int dirfd, const config::CpuResources& cpu);
Result<void> set_cpuset(int dirfd, const config::CpuResources& cpu);
Result<void> set_memory(int dirfd, const config::MemoryResources& mem);
Result<void> set_pids(int dirfd, const config::PidsResources& pids);
Result<void> set_io(int dirfd, const config::BlockIoResources& io);
Result<void> set_hugetlb(int dirfd, const std::vector<config::HugepageLimit>& limits);
Result<void> set_unified(int dirfd, const std::map<std::string, std::string>& unified);

}  // namespace husk::cgroup::v2

namespace husk::cgroup {

// "Is anything to be done?" per group, with the no-op values of each field
// (absent, 0 where 0 means unset, -1 where it means unlimited) counting as
// nothing. The manager asks before requiring a controller.
bool wants_cpu(const config::CpuResources& cpu);     // the cpu controller
bool wants_cpuset(const config::CpuResources& cpu);  // cpus/mems
bool wants_memory(const config::MemoryResources& mem);
bool wants_pids(const config::PidsResources& pids);
bool wants_block_io(const config::BlockIoResources& io);
bool wants_class_id(const config::NetworkResources& net);
bool wants_priorities(const config::NetworkResources& net);

}  // namespace husk::cgroup
