// `husk network create|ls|inspect|rm|prune` and `husk port`: flags -> net/.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace husk::cli {

struct NetworkCommands {
  CLI::App* network = nullptr;
  CLI::App *create = nullptr, *ls = nullptr, *inspect = nullptr, *rm = nullptr, *prune = nullptr;
  CLI::App* port = nullptr;
  // create
  std::string name;
  std::vector<std::string> subnets;  // --subnet (v4 and/or v6)
  std::vector<std::string> gateways; // --gateway
  bool ipv6 = false, internal = false;
  // ls / inspect / rm
  bool quiet = false;
  std::string format;
  std::vector<std::string> names;
  // prune
  bool force = false;
  // port
  std::string container;
};

void add_network_commands(CLI::App& app, NetworkCommands& c);
// The exit status of whichever of these verbs was parsed, or nullopt.
std::optional<int> run_network_commands(const NetworkCommands& c);

}  // namespace husk::cli
