// `husk load|save|import|images|rmi` and `husk image load|save|import|ls|rm|inspect|prune`:
// flags -> image/archive.h and the store.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

namespace husk::cli {

struct ImageCommands {
  std::vector<CLI::App*> load, save, import, ls, rm, inspect, prune;
  std::string input, output, format = "table";
  std::vector<std::string> names;  // save / rmi / inspect, or import's FILE [NAME]
  bool quiet = false, all = false, no_trunc = false, force = false;
};

void add_image_commands(CLI::App& app, ImageCommands& c);
// The exit status of whichever of these verbs was parsed, or nullopt.
std::optional<int> run_image_commands(const ImageCommands& c);

}  // namespace husk::cli
