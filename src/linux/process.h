// The last steps of the container's init before it execve()s the user
// program: rlimits, oom score, LSM labels, then (finalize_process) user,
// groups, capabilities, no_new_privs and seccomp in runc's order. Called in
// the cloned child, inside its namespaces and after pivot_root: no throwing,
// no static state; the child is single-threaded.
#pragma once
#undef linux  // GNU mode predefines `linux` as 1, which breaks `namespace husk::linux`

#include <cstddef>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "config/container.h"
#include "linux/procfs.h"
#include "linux/seccomp_filter.h"

namespace husk::linux {

// "RLIMIT_NOFILE", or "resource 42" for a number the name table lacks.
std::string rlimit_label(int resource);

// setrlimit for each entry. Raising a hard limit needs CAP_SYS_RESOURCE;
// without it the EPERM is an error (`setrlimit RLIMIT_NOFILE: ...`).
Result<void> apply_rlimits(const std::vector<config::Rlimit>& rlimits);

// Writes oom_score_adj through proc (self/oom_score_adj).
Result<void> set_oom_score_adj(const Procfs& proc, int score);

// Whether the host runs AppArmor / SELinux, as apply_security_labels decides it.
bool host_apparmor_enabled();
bool host_selinux_enabled();

// Sets the AppArmor profile and SELinux label the next execve takes on. A
// label asked for on a host without that LSM is an error, never ignored.
// Written through proc (thread-self/attr/...).
Result<void> apply_security_labels(const Procfs& proc, const config::Process& p);

// Where the seccomp notify listener fd goes when a rule uses SCMP_ACT_NOTIFY
// (runtime/seccomp_agent.h sends it to linux.seccomp.listenerPath). Called
// with the fd right after the filter is loaded, before any other step: a
// syscall the filter hands to the agent would wait forever for an agent that
// has no fd yet. The fd is closed once send returns.
struct NotifyFdSink {
  Result<void> (*send)(int fd, void* arg) = nullptr;
  void* arg = nullptr;
};

// Switches to p.user and p.capabilities, sets no_new_privs and loads the
// seccomp filter (seccomp may be null), in runc's order:
//   no_new_privs (if asked) → seccomp now (only without no_new_privs: the load
//   then needs CAP_SYS_ADMIN, still held) → bounding set → keepcaps, setgroups,
//   setresgid, setresuid → capset + ambient → umask → seccomp (with no_new_privs,
//   as late as possible so the filter need not allow our own syscalls).
// Absent p.capabilities means every set empty. A filter with SCMP_ACT_NOTIFY
// rules hands its listener fd to `notify` as it is loaded; without a sink it
// is refused before any step.
Result<void> finalize_process(const config::Process& p, const CompiledSeccomp* seccomp,
                              NotifyFdSink notify = {});
// Same, compiling the filter first (before any step, so a bad profile
// changes nothing). Prefer compiling before clone: see CompiledSeccomp.
Result<void> finalize_process(const config::Process& p, const config::Seccomp* seccomp,
                              NotifyFdSink notify = {});
inline Result<void> finalize_process(const config::Process& p, std::nullptr_t) {
  return finalize_process(p, static_cast<const CompiledSeccomp*>(nullptr));
}

}  // namespace husk::linux
