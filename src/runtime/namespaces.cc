#include "runtime/namespaces.h"

#include <sched.h>

namespace husk::runtime {

using config::NamespaceType;

int clone_flag(NamespaceType t) {
  switch (t) {
    case NamespaceType::kPid: return CLONE_NEWPID;
    case NamespaceType::kNetwork: return CLONE_NEWNET;
    case NamespaceType::kMount: return CLONE_NEWNS;
    case NamespaceType::kIpc: return CLONE_NEWIPC;
    case NamespaceType::kUts: return CLONE_NEWUTS;
    case NamespaceType::kUser: return CLONE_NEWUSER;
    case NamespaceType::kCgroup: return CLONE_NEWCGROUP;
    case NamespaceType::kTime: return CLONE_NEWTIME;
  }
  return 0;
}

std::string_view proc_name(NamespaceType t) {
  switch (t) {
    case NamespaceType::kPid: return "pid";
    case NamespaceType::kNetwork: return "net";
    case NamespaceType::kMount: return "mnt";
    case NamespaceType::kIpc: return "ipc";
    case NamespaceType::kUts: return "uts";
    case NamespaceType::kUser: return "user";
    case NamespaceType::kCgroup: return "cgroup";
    case NamespaceType::kTime: return "time";
  }
  return "";
}

NamespacePlan plan_namespaces(const config::Container& c) {
  NamespacePlan p;
  int fresh = 0;
  for (const auto& ns : c.namespaces) {
    if (!ns.path.empty()) {
      p.staged = true;
      if (ns.type == NamespaceType::kPid) p.fork_for_pid = true;
      continue;
    }
    switch (ns.type) {
      case NamespaceType::kCgroup: p.new_cgroup = true; break;
      case NamespaceType::kTime: p.new_time = true; break;
      default: fresh |= clone_flag(ns.type);
    }
    if (ns.type == NamespaceType::kUser) p.new_user = true;
    if (ns.type == NamespaceType::kNetwork) p.new_net = true;
  }
  if (!p.staged) {
    p.clone_flags = fresh;
    if (p.new_user) {
      p.clone_flags = fresh & (CLONE_NEWUSER | CLONE_NEWPID);
      p.unshare_after_maps = fresh & ~(CLONE_NEWUSER | CLONE_NEWPID);
    }
    return p;
  }
  // Joined namespaces must be entered before new ones are made, so that the
  // new ones belong to the right user namespace: unshare them in the stage.
  p.unshare_flags = fresh & ~CLONE_NEWUSER;
  if (fresh & CLONE_NEWPID) p.fork_for_pid = true;
  return p;
}

}  // namespace husk::runtime
