#include "spec/validate.h"

#include <array>
#include <string_view>

namespace husk::spec {
namespace {

using config::NamespaceType;

Result<void> check_process(const config::Process& p) {
  if (p.args.empty()) return fail(0, "process.args: must not be empty");
  if (p.cwd.empty() || p.cwd.front() != '/')
    return fail(0, "process.cwd: must be an absolute path");
  return ok();
}

}  // namespace

Result<void> validate_process(const config::Process& p) { return check_process(p); }

namespace {

Result<void> check_uts(const config::Container& c) {
  if (c.has_namespace(NamespaceType::kUts)) return ok();
  if (!c.hostname.empty())
    return fail(0, "hostname: unable to set hostname without a new UTS namespace");
  if (!c.domainname.empty())
    return fail(0, "domainname: unable to set domainname without a new UTS namespace");
  return ok();
}

Result<void> check_user_namespace(const config::Container& c) {
  const config::Namespace* user = c.find_namespace(NamespaceType::kUser);
  bool mapped = !c.uid_mappings.empty() || !c.gid_mappings.empty();
  if (user == nullptr) {
    if (!mapped) return ok();
    const char* field = c.uid_mappings.empty() ? "gidMappings" : "uidMappings";
    return fail(0,
                "linux.{}: user namespace mappings specified, but the user namespace is "
                "not enabled",
                field);
  }
  // Joining an existing user namespace takes its mappings as they are.
  if (!user->path.empty()) return ok();
  if (c.uid_mappings.empty())
    return fail(0, "linux.uidMappings: a new user namespace needs uid mappings");
  if (c.gid_mappings.empty())
    return fail(0, "linux.gidMappings: a new user namespace needs gid mappings");
  return ok();
}

Result<void> check_time_namespace(const config::Container& c) {
  if (c.time_offsets.empty()) return ok();
  const config::Namespace* time = c.find_namespace(NamespaceType::kTime);
  if (time == nullptr)
    return fail(0,
                "linux.timeOffsets: time namespace offsets specified, but the time "
                "namespace is not enabled");
  if (!time->path.empty())
    return fail(0,
                "linux.timeOffsets: offsets cannot be set when joining an existing time "
                "namespace");
  return ok();
}

// IPC sysctls are namespaced by the IPC namespace (ipc/ipc_sysctl.c, ipc/mq_sysctl.c).
bool is_ipc_sysctl(std::string_view key) {
  constexpr std::array<std::string_view, 8> kIpc = {
      "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
      "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
  for (auto k : kIpc)
    if (k == key) return true;
  return key.starts_with("fs.mqueue.");
}

// Only sysctls the container's own namespaces isolate may be set; anything
// else would change the host (runc's validator has the same rules).
Result<void> check_sysctl(const config::Container& c) {
  for (const auto& [key, value] : c.sysctl) {
    if (is_ipc_sysctl(key)) {
      if (c.has_namespace(NamespaceType::kIpc)) continue;
      return fail(0, "linux.sysctl[{:?}]: not allowed in the host's IPC namespace", key);
    }
    if (key.starts_with("net.")) {
      if (c.has_namespace(NamespaceType::kNetwork)) continue;
      return fail(0, "linux.sysctl[{:?}]: not allowed in the host's network namespace", key);
    }
    if (c.has_namespace(NamespaceType::kUts)) {
      if (key == "kernel.domainname") continue;
      if (key == "kernel.hostname")
        return fail(0, "linux.sysctl[{:?}]: conflicts with the OCI \"hostname\" field", key);
    }
    return fail(0, "linux.sysctl[{:?}]: not in a separate kernel namespace", key);
  }
  return ok();
}

Result<void> check_paths(const config::Container& c) {
  bool mount_ns = c.has_namespace(NamespaceType::kMount);
  if (!mount_ns && !c.masked_paths.empty())
    return fail(0, "linux.maskedPaths: unable to restrict sys entries without a private MNT "
                   "namespace (masking paths needs a mount namespace)");
  if (!mount_ns && !c.readonly_paths.empty())
    return fail(0, "linux.readonlyPaths: unable to restrict sys entries without a private MNT "
                   "namespace (read-only paths need a mount namespace)");
  for (size_t i = 0; i < c.mounts.size(); ++i)
    if (c.mounts[i].destination.empty() || c.mounts[i].destination.front() != '/')
      return fail(0, "mounts[{}].destination: must be an absolute path", i);
  return ok();
}

}  // namespace

Result<void> validate(const config::Container& c) {
  if (c.root_path.empty() || c.root_path.front() != '/')
    return fail(0, "root.path: must be an absolute path");
  HUSK_TRY(check_process(c.process));
  HUSK_TRY(check_uts(c));
  HUSK_TRY(check_user_namespace(c));
  HUSK_TRY(check_time_namespace(c));
  HUSK_TRY(check_sysctl(c));
  HUSK_TRY(check_paths(c));
  return ok();
}

}  // namespace husk::spec
