#include "cli/husk/volume_cmd.h"

#include <cstdio>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "cli/husk/run_cmd.h"
#include "front/exit_code.h"
#include "image/store.h"
#include "manage/containers.h"
#include "storage/volume.h"

namespace husk::cli {
namespace {

constexpr const char* kVolumeFooter = R"(
Volumes live under $HUSK_ROOT/volumes (default /var/lib/husk/volumes).

Examples:
  husk volume create --label app=web data
  husk run --rootfs ./rootfs:O -v data:/var/lib/app -- sh
  husk volume ls --format json
  husk volume inspect data
  husk volume rm data
  husk volume prune -a)";

int report(const Error& e) {
  std::fprintf(stderr, "husk: %s\n", e.what().c_str());
  return kExitHuskError;
}

storage::VolumeStore store() { return storage::VolumeStore(image::Store::default_root()); }

// The volumes containers' records name (their anonymous volumes, and the named
// ones their flags mount), to the container: a stopped container mounts them
// again at its next start, so they are in use as docker counts it (rm refuses
// them, prune keeps them) until it is removed.
struct KeptVolume {
  std::string container;
  bool anonymous = false;
};
std::map<std::string, KeptVolume> kept_by_containers() {
  std::map<std::string, KeptVolume> out;
  auto all = manage::Store(manage::Store::default_root()).list();
  if (!all) return out;
  for (const auto& c : *all) {
    for (const auto& [target, name] : c.record.anonymous_volumes)
      out.emplace(name, KeptVolume{c.record.name, true});
    for (const auto& name : named_volumes_of(c.record))
      out.emplace(name, KeptVolume{c.record.name, false});
  }
  return out;
}

// docker's volume inspect object.
nlohmann::ordered_json to_json(const storage::Volume& v) {
  nlohmann::ordered_json labels = nlohmann::ordered_json::object();
  for (const auto& [k, val] : v.labels) labels[k] = val;
  return {{"CreatedAt", v.created}, {"Driver", v.driver},
          {"Labels", labels},       {"Mountpoint", v.mountpoint},
          {"Name", v.name},         {"Options", nlohmann::ordered_json::object()},
          {"Scope", "local"}};
}

int create(const VolumeCommands& c) {
  std::map<std::string, std::string> labels;
  for (const auto& l : c.labels) {
    size_t eq = l.find('=');
    if (eq == 0 || l.empty())
      return report(fail(EINVAL, "--label {:?}: want KEY=VALUE", l).error());
    labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
  }
  auto v = store().create(c.name, labels);
  if (!v) return report(v.error());
  std::printf("%s\n", v->name.c_str());
  return 0;
}

int ls(const VolumeCommands& c) {
  if (!c.format.empty() && c.format != "json")
    return report(fail(EINVAL, "--format {:?}: only \"json\" is known", c.format).error());
  auto vols = store().list();
  if (!vols) return report(vols.error());
  if (c.quiet) {
    for (const auto& v : *vols) std::printf("%s\n", v.name.c_str());
  } else if (c.format == "json") {
    for (const auto& v : *vols) std::printf("%s\n", to_json(v).dump().c_str());
  } else {
    std::printf("%-10s %s\n", "DRIVER", "VOLUME NAME");
    for (const auto& v : *vols) std::printf("%-10s %s\n", v.driver.c_str(), v.name.c_str());
  }
  return 0;
}

int inspect(const VolumeCommands& c) {
  auto s = store();
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  int status = 0;
  for (const auto& name : c.names) {
    auto v = s.get(name);
    if (!v) {
      status = report(v.error());
      continue;
    }
    out.push_back(to_json(*v));
  }
  std::printf("%s\n", out.dump(4).c_str());
  return status;
}

int rm(const VolumeCommands& c) {
  reclaim_autoremoved();  // a killed `run --rm` still names its volumes until then
  auto s = store();
  auto kept = kept_by_containers();
  int status = 0;
  for (const auto& name : c.names) {
    if (auto it = kept.find(name); it != kept.end()) {
      const KeptVolume& k = it->second;
      status = report(fail_quiet(EBUSY, "volume {:?} is in use by container {}{}", name,
                                 k.container,
                                 k.anonymous ? " (its anonymous volume: husk rm -v removes both)"
                                             : "")
                          .error());
      continue;
    }
    if (auto r = s.remove(name); !r) {
      status = report(r.error());
      continue;
    }
    std::printf("%s\n", name.c_str());
  }
  return status;
}

int prune(const VolumeCommands& c) {
  reclaim_autoremoved();
  std::set<std::string> keep;
  for (const auto& [name, kept] : kept_by_containers()) keep.insert(name);
  auto removed = store().prune(c.all, keep);
  if (!removed) return report(removed.error());
  if (!removed->empty()) std::printf("Deleted Volumes:\n");
  for (const auto& n : *removed) std::printf("%s\n", n.c_str());
  return 0;
}

}  // namespace

void add_volume_commands(CLI::App& app, VolumeCommands& c) {
  c.volume = app.add_subcommand("volume", "Manage volumes (directories containers mount by name)");
  c.volume->require_subcommand(1);
  c.volume->footer(kVolumeFooter);
  c.create = c.volume->add_subcommand("create", "Create a volume; prints its name");
  c.create->add_option("name", c.name, "Volume name (default: a random one)");
  c.create->add_option("--label", c.labels, "Set a label KEY=VALUE")->allow_extra_args(false);
  c.create->add_option("-d,--driver", "Volume driver (only \"local\")")
      ->check(CLI::IsMember({"local"}));
  c.ls = c.volume->add_subcommand("ls", "List volumes");
  c.ls->alias("list");
  c.ls->add_flag("-q,--quiet", c.quiet, "Only the names");
  c.ls->add_option("--format", c.format, "json: one JSON object a line");
  c.inspect = c.volume->add_subcommand("inspect", "Show volumes as a JSON array");
  c.inspect->add_option("names", c.names, "Volume names")->required();
  c.rm = c.volume->add_subcommand("rm", "Remove volumes no running container uses");
  c.rm->alias("remove");
  c.rm->add_option("names", c.names, "Volume names")->required();
  c.rm->add_flag("-f,--force", c.force,
                 "Accepted for docker; a volume in use is still not removed");
  c.prune = c.volume->add_subcommand("prune",
                                     "Remove unused anonymous volumes (all unused ones with -a)");
  c.prune->add_flag("-a,--all", c.all, "Named volumes too");
  c.prune->add_flag("-f,--force", c.force, "Do not ask (husk never asks)");
}

std::optional<int> run_volume_commands(const VolumeCommands& c) {
  if (c.create && c.create->parsed()) return create(c);
  if (c.ls && c.ls->parsed()) return ls(c);
  if (c.inspect && c.inspect->parsed()) return inspect(c);
  if (c.rm && c.rm->parsed()) return rm(c);
  if (c.prune && c.prune->parsed()) return prune(c);
  return std::nullopt;
}

}  // namespace husk::cli
