// The "cgroup" mount type. On a pure cgroup v2 host it is one cgroup2 mount.
// On a v1 or hybrid host runc builds a tree, and so do we: a tmpfs at the
// destination, one directory per hierarchy found in /proc/self/mountinfo
// (named like the host's: "cpu", "memory", "systemd", "unified", or
// "cpu,cpuacct" plus "cpu"/"cpuacct" symlinks), each holding either a fresh
// mount of that hierarchy (inside a new cgroup namespace, whose root is the
// container's cgroup) or a bind of the container's own cgroup directory.
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <set>

#include "base/file.h"
#include "linux/mounts.h"
#include "linux/path.h"

namespace husk::linux {

namespace {

constexpr unsigned long kCgroupFlags = MS_NOEXEC | MS_NOSUID | MS_NODEV;
constexpr unsigned long kPropagationTypes = MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE;
constexpr const char* kCgroupRoot = "/sys/fs/cgroup";

// One line of /proc/self/cgroup: "4:memory:/a/b", "0::/a/b".
struct OwnCgroup {
  std::string controllers;  // "memory", "cpu,cpuacct", "name=systemd"; "" for v2
  std::string path;
};

struct Hierarchy {
  std::string name;         // directory under the destination
  bool v2 = false;
  std::string controllers;  // mount data for a fresh v1 mount
  std::string host_dir;     // our own cgroup's directory on the host
};

std::vector<OwnCgroup> parse_proc_cgroup(std::string_view text) {
  std::vector<OwnCgroup> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find('\n', i);
    if (j == std::string_view::npos) j = text.size();
    std::string_view line = text.substr(i, j - i);
    size_t a = line.find(':');
    size_t b = a == std::string_view::npos ? a : line.find(':', a + 1);
    if (b != std::string_view::npos)
      out.push_back({std::string(line.substr(a + 1, b - a - 1)), std::string(line.substr(b + 1))});
    i = j + 1;
  }
  return out;
}

std::set<std::string_view> split_commas(std::string_view s) {
  std::set<std::string_view> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) out.insert(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

const OwnCgroup* match_own(const MountInfo& mi, const std::vector<OwnCgroup>& own) {
  bool v2 = mi.fs_type == "cgroup2";
  auto super = split_commas(mi.super_options);
  for (const auto& o : own) {
    if (v2 != o.controllers.empty()) continue;
    if (v2) return &o;
    bool all = true;
    for (auto c : split_commas(o.controllers)) all = all && super.contains(c);
    if (all) return &o;
  }
  return nullptr;
}

// The host directory of cgroup path `path` in a mount of the hierarchy whose
// root is `root`; empty when that mount does not show it.
std::string host_dir_of(const MountInfo& mi, const std::string& path) {
  if (!path_has_prefix(path, mi.root)) return "";
  std::string rest = mi.root == "/" ? path : path.substr(mi.root.size());
  return rest == "/" || rest.empty() ? mi.mount_point : mi.mount_point + rest;
}

Result<std::vector<Hierarchy>> find_hierarchies(const MountContext& ctx) {
  HUSK_TRY_ASSIGN(auto infos, read_mountinfo());
  HUSK_TRY_ASSIGN(std::string cg_text, read_file("/proc/self/cgroup"));
  auto own = parse_proc_cgroup(cg_text);
  std::vector<Hierarchy> out;
  std::set<std::string> seen_controllers, seen_names;
  for (const auto& mi : infos) {
    if (mi.fs_type != "cgroup" && mi.fs_type != "cgroup2") continue;
    // Mounts made into this rootfs already (a rbind of /sys) are not the host's.
    if (path_has_prefix(mi.mount_point, ctx.root_path)) continue;
    const OwnCgroup* o = match_own(mi, own);
    if (o == nullptr) continue;
    Hierarchy h;
    h.v2 = mi.fs_type == "cgroup2";
    h.controllers = o->controllers;
    h.name = mi.mount_point.substr(mi.mount_point.rfind('/') + 1);
    if (!ctx.new_cgroup_namespace) {
      h.host_dir = host_dir_of(mi, o->path);
      if (h.host_dir.empty()) continue;  // our cgroup is outside this mount's view
    }
    if (h.name.empty() || seen_names.contains(h.name)) continue;
    if (!seen_controllers.insert(h.v2 ? std::string("\n") : h.controllers).second) continue;
    seen_names.insert(h.name);
    out.push_back(std::move(h));
  }
  return out;
}

Result<void> mount_hierarchy(const MountContext& ctx, const config::Mount& m, const Hierarchy& h,
                             const std::string& dest) {
  config::Mount sub;
  sub.destination = dest + "/" + h.name;
  if (ctx.new_cgroup_namespace) {
    sub.type = h.v2 ? "cgroup2" : "cgroup";
    sub.source = h.controllers.starts_with("name=") ? h.controllers.substr(5) : sub.type;
    sub.flags = kCgroupFlags | (m.flags & MS_RDONLY);
    if (!h.v2) sub.data = h.controllers;
    return mount_filesystem(ctx, sub);
  }
  sub.type = "bind";
  sub.source = h.host_dir;
  sub.flags = MS_BIND | MS_REC | (m.flags & ~(kPropagationTypes | MS_BIND | MS_REC));
  sub.clear_flags = m.clear_flags;
  sub.propagation = m.propagation;
  sub.recursive_set = m.recursive_set;
  sub.recursive_clear = m.recursive_clear;
  return mount_bind(ctx, sub);
}

Result<void> link_merged(const MountContext& ctx, const std::vector<Hierarchy>& hs,
                         const std::string& dest) {
  HUSK_TRY_ASSIGN(UniqueFd dir, open_in_root(ctx.root_fd, dest, O_PATH | O_DIRECTORY));
  for (const auto& h : hs) {
    if (h.name.find(',') == std::string::npos) continue;
    for (auto part : split_commas(h.name)) {
      std::string link(part);
      if (::symlinkat(h.name.c_str(), dir.get(), link.c_str()) < 0 && errno != EEXIST)
        return fail_errno("symlink \"{}/{}\"", dest, link);
    }
  }
  return ok();
}

Result<void> mount_cgroup_v1(const MountContext& ctx, const config::Mount& m) {
  std::string dest = clean_path(m.destination);
  HUSK_TRY_ASSIGN(auto hierarchies,
                  find_hierarchies(ctx).context("mount \"cgroup\" on \"{}\"", dest));
  config::Mount tmpfs;
  tmpfs.destination = dest;
  tmpfs.type = "tmpfs";
  tmpfs.source = "tmpfs";
  tmpfs.flags = kCgroupFlags;
  tmpfs.data = "mode=755";
  tmpfs.propagation = m.propagation;
  HUSK_TRY(mount_filesystem(ctx, tmpfs));
  for (const auto& h : hierarchies) HUSK_TRY(mount_hierarchy(ctx, m, h, dest));
  // As runc: each hierarchy is read-only when the mount says ro; the tmpfs
  // holding them stays writable (it holds only mount points).
  return link_merged(ctx, hierarchies, dest);
}

Result<void> mount_cgroup_v2(const MountContext& ctx, const config::Mount& m) {
  config::Mount c2 = m;
  c2.type = "cgroup2";
  if (c2.source.empty() || c2.source == "cgroup") c2.source = "cgroup2";
  auto r = mount_filesystem(ctx, c2);
  if (r || (r.error().code != EPERM && r.error().code != EBUSY)) return r;
  // A user namespace without its own cgroup namespace may not mount cgroup2:
  // bind the container's own cgroup instead, as runc does.
  HUSK_TRY_ASSIGN(std::string cg_text, read_file("/proc/self/cgroup"));
  std::string path = "/";
  for (const auto& o : parse_proc_cgroup(cg_text))
    if (o.controllers.empty()) path = o.path;
  config::Mount b = m;
  b.type = "bind";
  b.source = path == "/" ? std::string(kCgroupRoot) : kCgroupRoot + path;
  b.flags = MS_BIND | MS_REC | (m.flags & ~kPropagationTypes);
  b.data.clear();
  return mount_bind(ctx, b);
}

bool unified_host() {
  struct statfs sf {};
  return ::statfs(kCgroupRoot, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

}  // namespace

Result<void> mount_cgroup(const MountContext& ctx, const config::Mount& m) {
  return unified_host() ? mount_cgroup_v2(ctx, m) : mount_cgroup_v1(ctx, m);
}

}  // namespace husk::linux
