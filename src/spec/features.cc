#include "spec/features.h"

#include <algorithm>
#include <string_view>

#include <nlohmann/json.hpp>

#include "spec/config_parts.h"
#include "spec/default_spec.h"
#include "spec/mount_options.h"
#include "spec/names.h"

namespace husk::spec {
namespace {

using Json = nlohmann::ordered_json;

template <typename Names>
Json string_array(const Names& names, bool sorted) {
  std::vector<std::string> out(names.begin(), names.end());
  if (sorted) std::ranges::sort(out);
  return Json(out);
}

// Every option word of the parser's table, except those whose effect the
// lower layers do not implement: listing one would promise a mount that fails
// (idmap) or silently does less than asked (tmpcopyup).
std::vector<std::string_view> implemented_mount_options(const FeatureFacts& f) {
  std::vector<std::string_view> out;
  for (std::string_view word : known_mount_options()) {
    MountOptions o = parse_mount_options({std::string(word)});
    if (o.idmap && !f.idmap_mounts) continue;
    if (o.tmpcopyup && !f.tmpcopyup) continue;
    out.push_back(word);
  }
  return out;
}

Json seccomp_object(const FeatureFacts& f) {
  return {
      {"enabled", true},
      {"actions", string_array(detail::seccomp_action_names(), true)},
      {"operators", string_array(detail::seccomp_operator_names(), true)},
      {"archs", string_array(f.seccomp_archs, true)},
      {"knownFlags", string_array(f.seccomp_known_flags, false)},
      {"supportedFlags", string_array(f.seccomp_supported_flags, false)},
  };
}

Json linux_object(const FeatureFacts& f) {
  Json out = {
      {"namespaces", string_array(detail::namespace_names(), true)},
      {"capabilities", string_array(all_capability_names(), false)},
      {"cgroup",
       {
           {"v1", f.cgroup.v1},
           {"v2", f.cgroup.v2},
           {"systemd", f.cgroup.systemd},
           {"systemdUser", f.cgroup.systemd_user},
           {"rdma", f.cgroup.rdma},
       }},
  };
  if (f.seccomp) out["seccomp"] = seccomp_object(f);
  out["apparmor"] = {{"enabled", f.apparmor}};
  out["selinux"] = {{"enabled", f.selinux}};
  out["intelRdt"] = {{"enabled", f.intel_rdt}};
  out["mountExtensions"] = {{"idmap", {{"enabled", f.idmap_mounts}}}};
  return out;
}

}  // namespace

std::string features_json(const FeatureFacts& facts) {
  Json doc = {
      {"ociVersionMin", kOciVersionMin},
      {"ociVersionMax", kOciVersion},
      {"hooks", string_array(detail::hook_names(), false)},
      {"mountOptions", string_array(implemented_mount_options(facts), true)},
      {"linux", linux_object(facts)},
  };
  // runc's key for the libseccomp version; husk has none of runc's others
  // (no checkpoint, and its version is not runc's).
  if (facts.seccomp && !facts.libseccomp_version.empty())
    doc["annotations"] = {{"io.github.seccomp.libseccomp.version", facts.libseccomp_version}};
  return doc.dump(4) + "\n";
}

}  // namespace husk::spec
