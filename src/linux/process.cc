#include "linux/process.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

#include "base/file.h"
#include "linux/capabilities.h"
#include "linux/procfs.h"
#include "spec/names.h"

namespace husk::linux {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  return s;
}

bool apparmor_enabled() {
  auto v = read_file("/sys/module/apparmor/parameters/enabled");
  return v && trim(*v) == "Y";
}

// selinuxfs registers itself only when SELinux was enabled at boot, and
// /proc/filesystems reads the same from inside any mount namespace.
bool selinux_enabled() {
  auto v = read_file("/proc/filesystems");
  if (!v) return false;
  std::string_view all = *v;
  for (size_t pos = 0; (pos = all.find("\tselinuxfs", pos)) != std::string_view::npos; ++pos) {
    size_t end = pos + std::string_view("\tselinuxfs").size();
    if (end == all.size() || all[end] == '\n') return true;
  }
  return false;
}

Result<void> apply_apparmor(const Procfs& proc, const std::string& profile) {
  if (!apparmor_enabled())
    return fail(0, "apparmor profile \"{}\" requested but apparmor is not enabled on this host",
                profile);
  std::string cmd = "exec " + profile;
  // Kernels with LSM stacking have a per-LSM directory; older ones only attr/exec.
  // The attr files are per thread: thread-self, as runc.
  auto r = proc.write("thread-self/attr/apparmor/exec", cmd);
  if (!r && r.error().code == ENOENT) r = proc.write("thread-self/attr/exec", cmd);
  return std::move(r).context("set apparmor profile \"{}\"", profile);
}

Result<void> apply_selinux(const Procfs& proc, const std::string& label) {
  if (!selinux_enabled())
    return fail(0, "selinux label \"{}\" requested but selinux is not enabled on this host", label);
  return proc.write("thread-self/attr/exec", label).context("set selinux label \"{}\"", label);
}

bool has_effective_cap(unsigned cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &header, data) < 0) return false;
  return (data[cap / 32].effective & (1u << (cap % 32))) != 0;
}

// In a user namespace whose gid map was written with setgroups "deny", the
// kernel refuses setgroups(2) even with CAP_SETGID: then there is nothing to
// drop, and only an empty list is fine. Told by trying, not by reading
// /proc/self/setgroups (whatever is mounted there could say "deny" and keep
// the runtime's groups in the container).
Result<void> set_groups(const std::vector<uint32_t>& ids) {
  std::vector<gid_t> gids(ids.begin(), ids.end());
  if (::syscall(SYS_setgroups, gids.size(), gids.data()) == 0) return ok();
  int err = errno;
  if (err == EPERM && has_effective_cap(CAP_SETGID)) {
    if (ids.empty()) return ok();
    return fail(EPERM, "setgroups {}: setgroups is denied in this user namespace",
                fmt::join(ids, ","));
  }
  errno = err;
  return fail_errno("setgroups {}", fmt::join(ids, ","));
}

// Raw syscalls: glibc's set*id wrappers broadcast to threads it believes
// exist, which in a cloned child is the parent's view, not ours.
Result<void> switch_user(const config::User& u) {
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return fail_errno("set keepcaps");
  HUSK_TRY(set_groups(u.additional_gids));
  if (::syscall(SYS_setresgid, u.gid, u.gid, u.gid) < 0) return fail_errno("setresgid {}", u.gid);
  if (::syscall(SYS_setresuid, u.uid, u.uid, u.uid) < 0) return fail_errno("setresuid {}", u.uid);
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return fail_errno("clear keepcaps");
  return ok();
}

}  // namespace

bool host_apparmor_enabled() { return apparmor_enabled(); }

bool host_selinux_enabled() { return selinux_enabled(); }

std::string rlimit_label(int resource) {
  std::string_view name = spec::rlimit_name(resource);
  return name.empty() ? fmt::format("resource {}", resource) : std::string(name);
}

Result<void> apply_rlimits(const std::vector<config::Rlimit>& rlimits) {
  for (const auto& r : rlimits) {
    rlimit lim{static_cast<rlim_t>(r.soft), static_cast<rlim_t>(r.hard)};
    if (::setrlimit(static_cast<__rlimit_resource_t>(r.resource), &lim) < 0)
      return fail_errno("setrlimit {}", rlimit_label(r.resource));
  }
  return ok();
}

Result<void> set_oom_score_adj(const Procfs& proc, int score) {
  return proc.write("self/oom_score_adj", std::to_string(score))
      .context("set oom_score_adj {}", score);
}

Result<void> apply_security_labels(const Procfs& proc, const config::Process& p) {
  if (!p.apparmor_profile.empty()) HUSK_TRY(apply_apparmor(proc, p.apparmor_profile));
  if (!p.selinux_label.empty()) HUSK_TRY(apply_selinux(proc, p.selinux_label));
  return ok();
}

namespace {

// Loads the filter and, with notify rules, hands the listener fd on at once.
Result<void> load_filter(const CompiledSeccomp& seccomp, const NotifyFdSink& notify) {
  HUSK_TRY_ASSIGN(UniqueFd fd, load_seccomp(seccomp));
  if (!fd) return ok();
  return notify.send(fd.get(), notify.arg).context("seccomp notify listener");
}

}  // namespace

Result<void> finalize_process(const config::Process& p, const CompiledSeccomp* seccomp,
                              NotifyFdSink notify) {
  if (seccomp != nullptr && seccomp->uses_notify && notify.send == nullptr)
    return fail(EINVAL, "seccomp: SCMP_ACT_NOTIFY rules need a listener for the notify fd");
  // Probed before any filter is in place: the filter may deny prctl().
  HUSK_TRY_ASSIGN(unsigned last_cap, probe_last_cap().context("set capabilities"));
  const config::Capabilities caps = p.capabilities.value_or(config::Capabilities{});
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return fail_errno("set no_new_privs");
  // Without no_new_privs the kernel wants CAP_SYS_ADMIN to load a filter,
  // so it goes in now, while we still have it.
  if (seccomp != nullptr && !p.no_new_privileges) HUSK_TRY(load_filter(*seccomp, notify));
  HUSK_TRY(drop_bounding_set(caps.bounding, last_cap).context("set capabilities"));
  HUSK_TRY(switch_user(p.user));
  HUSK_TRY(apply_capabilities(caps, last_cap).context("set capabilities"));
  if (p.user.umask) ::umask(static_cast<mode_t>(*p.user.umask));
  if (seccomp != nullptr && p.no_new_privileges) HUSK_TRY(load_filter(*seccomp, notify));
  return ok();
}

Result<void> finalize_process(const config::Process& p, const config::Seccomp* seccomp,
                              NotifyFdSink notify) {
  if (seccomp == nullptr) return finalize_process(p, nullptr);
  HUSK_TRY_ASSIGN(CompiledSeccomp compiled, compile_seccomp(*seccomp));
  return finalize_process(p, &compiled, notify);
}

}  // namespace husk::linux
