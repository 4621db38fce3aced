// The runtime-spec "features" document (features.md, features-linux.md) that
// `husk-oci features` prints, as `runc features` does. Pure: the name lists
// come from spec/'s own tables (hooks, mount options, namespaces,
// capabilities, seccomp actions and operators); what only the lower layers or
// the host know is handed in.
//
//   spec::FeatureFacts f;  // filled by the CLI from cgroup/ and linux/
//   std::string json = spec::features_json(f);
#pragma once

#include <string>
#include <vector>

namespace husk::spec {

struct FeatureFacts {
  struct Cgroup {
    bool v1 = false;
    bool v2 = false;
    bool systemd = false;
    bool systemd_user = false;
    bool rdma = false;
  } cgroup;
  bool seccomp = false;                          // seccomp support built in
  std::vector<std::string> seccomp_archs;        // SCMP_ARCH_* accepted in "architectures"
  std::vector<std::string> seccomp_known_flags;  // SECCOMP_FILTER_FLAG_* accepted in "flags"
  std::vector<std::string> seccomp_supported_flags;  // of those, what the kernel takes
  std::string libseccomp_version;                // "2.5.4"; empty: no annotation
  bool apparmor = false;
  bool selinux = false;
  bool intel_rdt = false;
  bool idmap_mounts = false;  // "idmap"/"ridmap" and mounts' uid/gidMappings work
  bool tmpcopyup = false;     // runc's "tmpcopyup" mount option works
};

// The oldest runtime-spec version husk takes in config.json.
inline constexpr const char* kOciVersionMin = "1.0.0";

// The document as runc prints it: four-space indent, keys in the spec's
// order, name lists sorted (capabilities in number order, hooks in lifecycle
// order, seccomp flags in table order), a final newline. Only keys of
// runtime-spec kOciVersion (ociVersionMax) appear. Mount options husk
// recognizes but does not implement (facts.idmap_mounts, facts.tmpcopyup)
// are left out. The seccomp object appears only when facts.seccomp.
std::string features_json(const FeatureFacts& facts);

}  // namespace husk::spec
