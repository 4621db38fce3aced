// `husk volume create|ls|inspect|rm|prune`: flags -> storage::VolumeStore.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace husk::cli {

struct VolumeCommands {
  CLI::App* volume = nullptr;
  CLI::App *create = nullptr, *ls = nullptr, *inspect = nullptr, *rm = nullptr, *prune = nullptr;
  std::string name;                 // create
  std::vector<std::string> labels;  // create --label K=V
  bool quiet = false;               // ls -q
  std::string format;               // ls --format json
  std::vector<std::string> names;   // inspect, rm
  bool force = false;               // rm -f, prune -f
  bool all = false;                 // prune -a
};

void add_volume_commands(CLI::App& app, VolumeCommands& c);
// The exit status of whichever of these verbs was parsed, or nullopt.
std::optional<int> run_volume_commands(const VolumeCommands& c);

}  // namespace husk::cli
