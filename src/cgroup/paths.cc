#include "cgroup/paths.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "cgroup/manager.h"
#include "cgroup/text.h"

namespace husk::cgroup {

bool is_systemd_form(std::string_view p) {
  return !p.empty() && p.front() != '/' && std::count(p.begin(), p.end(), ':') == 2;
}

bool systemd_running() { return ::access("/run/systemd/system", F_OK) == 0; }

Result<bool> use_systemd_driver(std::string_view cgroups_path, bool systemd_flag,
                                bool systemd_up) {
  if (!systemd_flag) {
    if (is_systemd_form(cgroups_path))
      return fail_quiet(EINVAL,
                  "cgroupsPath {:?} is systemd's \"slice:prefix:name\" form: it needs "
                  "--systemd-cgroup",
                  cgroups_path);
    return false;
  }
  if (!systemd_up) return fail(0, "systemd cgroup driver requested but systemd is not running");
  if (!cgroups_path.empty() && !is_systemd_form(cgroups_path))
    return fail_quiet(EINVAL,
                "cgroupsPath {:?}: the systemd cgroup driver expects \"slice:prefix:name\"",
                cgroups_path);
  return true;
}

std::string clean_cgroup_path(std::string_view path) {
  bool rooted = !path.empty() && path.front() == '/';
  std::vector<std::string_view> parts;
  for (auto part : split(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..")
        parts.pop_back();
      else if (!rooted)
        parts.push_back(part);
      continue;
    }
    parts.push_back(part);
  }
  std::string out = rooted ? "/" : "";
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += '/';
    out += parts[i];
  }
  return out.empty() ? "." : out;
}

Result<std::string> container_cgroup_path(std::string_view cgroups_path, std::string_view id,
                                          std::string_view own) {
  if (!cgroups_path.empty() && cgroups_path.front() == '/') {
    std::string p = clean_cgroup_path(cgroups_path);
    if (p == "/") return fail(EINVAL, "cgroupsPath {:?} names the root cgroup", cgroups_path);
    return p;
  }
  std::string_view rel = cgroups_path.empty() ? id : cgroups_path;
  if (rel.empty()) return fail(EINVAL, "no cgroupsPath and no container id to name the cgroup");
  std::string clean = clean_cgroup_path(rel);
  if (clean == "." || clean == ".." || clean.starts_with("../"))
    return fail(EINVAL, "cgroupsPath {:?} leaves the runtime's own cgroup", rel);
  return clean_cgroup_path(fmt::format("/{}/{}", own, clean));
}

Result<std::string> cgroup_dir(std::string_view mount_point, std::string_view mount_root,
                               std::string_view cgroup_path) {
  std::string root = clean_cgroup_path(mount_root.empty() ? "/" : mount_root);
  std::string path = clean_cgroup_path(cgroup_path);
  std::string_view below = path;
  if (root != "/") {
    // A mount of a subtree (a cgroup namespace, a bind mount) shows only that subtree.
    if (path != root && !path.starts_with(root + "/"))
      return fail(ENOENT, "cgroup {} is outside the subtree {} mounted at {}", path, root,
                  mount_point);
    below = std::string_view(path).substr(root.size());
  }
  if (below == "/") below = "";
  return fmt::format("{}{}", mount_point, below);
}

namespace {

// base + sub, or an error when sub climbs out of base.
Result<std::string> join_sub(const std::string& base, std::string_view sub) {
  std::string clean = clean_cgroup_path(sub);
  while (clean.starts_with('/')) clean.erase(0, 1);
  if (clean == ".." || clean.starts_with("../"))
    return fail(0, "--cgroup: {} is not a sub cgroup path", sub);
  if (clean.empty() || clean == ".") return base;
  return base + "/" + clean;
}

}  // namespace

Result<SavedState> sub_cgroup_state(const SavedState& saved,
                                    const std::vector<std::string>& args) {
  SavedState out = saved;
  out.created.clear();  // nothing of exec's is ever removed by it
  if (args.empty()) return out;
  std::map<std::string, std::string> moved;  // container dir -> sub-cgroup dir
  for (const auto& arg : args) {
    auto parts = split(arg, ':');
    if (parts.size() > 2) return fail(0, "--cgroup: invalid argument {:?}", arg);
    if (parts.size() == 1) {
      if (args.size() != 1)
        return fail(0, "--cgroup: {:?} lacks its CONTROLLER: prefix (needed with several)", arg);
      for (auto& [key, dir] : out.paths) {
        HUSK_TRY_ASSIGN(dir, join_sub(saved.paths.at(key), arg));
      }
      return out;
    }
    for (auto ctrl : split(parts[0], ',')) {
      auto it = saved.paths.find(std::string(ctrl));
      if (ctrl.empty() || it == saved.paths.end())
        return fail(0, "--cgroup: unknown controller {:?}", ctrl);
      HUSK_TRY_ASSIGN(std::string dir, join_sub(it->second, parts[1]));
      auto [m, fresh] = moved.emplace(it->second, dir);
      if (!fresh && m->second != dir)
        return fail(0, "--cgroup: two sub-cgroups for the hierarchy of {}", ctrl);
    }
  }
  // Every controller of a moved hierarchy moves with it.
  for (auto& [key, dir] : out.paths)
    if (auto m = moved.find(saved.paths.at(key)); m != moved.end()) dir = m->second;
  return out;
}

}  // namespace husk::cgroup
