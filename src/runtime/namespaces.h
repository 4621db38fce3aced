// Namespace kinds as the kernel names them, and the clone/unshare plan for a
// config: which namespaces clone3() can make at once and which the init
// must join or make itself.
#pragma once

#include <string_view>

#include "config/container.h"

namespace husk::runtime {

int clone_flag(config::NamespaceType t);
std::string_view proc_name(config::NamespaceType t);  // /proc/<pid>/ns/<name>

struct NamespacePlan {
  // clone3() makes these at once (the fast path: nothing to join first).
  int clone_flags = 0;
  // With a new user namespace, the init unshares these once it is root in
  // it, as runc does: a namespace made at clone time would be made by the
  // still-unmapped creator (an ipc namespace's mqueue would be owned by
  // "nobody").
  int unshare_after_maps = 0;
  // Otherwise the init's first stage joins path namespaces, then unshares
  // these, then forks the real init if the pid namespace changes.
  bool staged = false;
  int unshare_flags = 0;
  bool fork_for_pid = false;
  bool new_user = false;
  bool new_cgroup = false;  // unshared by the init itself, late
  bool new_time = false;    // unshared by the init, offsets written, then joined
  bool new_net = false;     // bring up lo
};

NamespacePlan plan_namespaces(const config::Container& c);

}  // namespace husk::runtime
