#include <cstdio>

#include "cgroup/manager.h"
#include "cli/oci/verbs.h"
#include "linux/mounts.h"
#include "linux/process.h"
#include "linux/seccomp_filter.h"
#include "spec/features.h"

namespace husk::oci {

namespace {

// What the layers below implement, plus the host facts the document reports:
// the seccomp flags the running kernel takes and the LSMs the host runs (a
// label for an LSM the host lacks fails create, so it is reported off).
spec::FeatureFacts gather_facts() {
  spec::FeatureFacts f;
  const auto& cg = cgroup::kDriverSupport;
  f.cgroup = {.v1 = cg.v1, .v2 = cg.v2, .systemd = cg.systemd,
              .systemd_user = cg.systemd_user, .rdma = cg.rdma};
  f.seccomp = true;  // libseccomp is linked in, always
  f.seccomp_archs = linux::seccomp_architecture_names();
  for (auto name : linux::seccomp_flag_names()) f.seccomp_known_flags.emplace_back(name);
  for (auto name : linux::supported_seccomp_flag_names())
    f.seccomp_supported_flags.emplace_back(name);
  f.libseccomp_version = linux::libseccomp_version();
  f.apparmor = linux::host_apparmor_enabled();
  f.selinux = linux::host_selinux_enabled();
  f.intel_rdt = false;  // linux.intelRdt is not implemented
  f.idmap_mounts = linux::kIdmappedMounts;
  f.tmpcopyup = linux::kTmpcopyup;
  return f;
}

}  // namespace

void add_features(CLI::App& app, const GlobalArgs&, Action& action) {
  auto* sub = app.add_subcommand(
      "features", "show the enabled features (a JSON document, runtime-spec features.md)");
  sub->callback([&action] {
    action = []() -> Result<int> {
      std::string json = spec::features_json(gather_facts());
      if (std::fwrite(json.data(), 1, json.size(), stdout) != json.size() ||
          std::fflush(stdout) != 0)
        return fail_errno("write features");
      return 0;
    };
  });
}

}  // namespace husk::oci
