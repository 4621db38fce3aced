// cgroup v2 device control: a BPF_PROG_TYPE_CGROUP_DEVICE program built from
// the OCI device rules, loaded and attached to the container's cgroup (v2 has
// no devices.allow/deny files). The generator is pure and unit-tested by
// running its output on a small interpreter; the loader needs a kernel.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "config/resources.h"

namespace husk::cgroup {

// The program's decision follows v1's rule semantics: for each requested
// access bit (r, w, m) the last rule that matches the device and names the bit
// decides it; a request is allowed only when every bit is; no match denies.
//
// Layout: a prologue loads type (r2), access bits (r3), major (r4) and minor
// (r5) from struct bpf_cgroup_dev_ctx; then one block per rule, last rule
// first, each jumping to the next block when it does not decide; then "deny".
// Blocks after a rule that always decides are not emitted (the verifier
// rejects unreachable code).
std::vector<bpf_insn> device_filter_program(const std::vector<config::DeviceRule>& rules);

// bpf(BPF_PROG_LOAD); on failure the verifier's log is part of the error.
Result<UniqueFd> load_device_program(const std::vector<bpf_insn>& program);

// Attaches prog to the cgroup (BPF_F_ALLOW_MULTI), then detaches the device
// programs that were attached before, so an update replaces the filter
// without a window where neither applies.
Result<void> attach_device_program(int cgroup_fd, int prog_fd);

// Both steps: what the v2 writer calls for linux.resources.devices.
Result<void> apply_device_rules_v2(int cgroup_fd, const std::vector<config::DeviceRule>& rules);

}  // namespace husk::cgroup
