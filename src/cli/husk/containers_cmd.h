// The verbs on husk's containers (manage/containers.h): start, stop, kill,
// restart, pause, unpause, wait, rm, ps, inspect, exec, update, logs, stats,
// top, attach and container prune. Each takes names, ids or unique id prefixes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/husk/attach_cmd.h"
#include "front/resource_flags.h"

namespace husk::cli {

struct ContainerCommands {
  CLI::App *start = nullptr, *stop = nullptr, *kill = nullptr, *restart = nullptr,
           *pause = nullptr, *unpause = nullptr, *wait = nullptr, *rm = nullptr, *ps = nullptr,
           *inspect = nullptr, *exec = nullptr, *update = nullptr, *prune = nullptr,
           *logs = nullptr, *stats = nullptr, *top = nullptr, *attach_cmd = nullptr;
  std::vector<std::string> refs;
  std::string ref;
  bool attach = false;         // start -a
  AttachFlags start_attach;    // start -i, --detach-keys
  AttachFlags attach_flags;    // attach
  int timeout = -1;            // stop/restart -t (-1: the container's --stop-timeout)
  std::string signal = "KILL"; // kill -s
  bool force = false;          // rm -f, prune -f
  bool volumes = false;        // rm -v
  bool all = false, quiet = false, no_trunc = false;  // ps
  std::vector<std::string> filters;
  std::string format;
  // exec
  bool interactive = false, tty = false, detach = false;
  std::string user, workdir;
  std::vector<std::string> env;
  std::vector<std::string> command;
  // update
  ResourceFlags resources;
  // logs
  bool follow = false, timestamps = false;
  std::string tail = "all", since, until;
  // stats
  bool no_stream = false;
};

void add_container_commands(CLI::App& app, ContainerCommands& c);
// The exit status of whichever of these verbs was parsed, or nullopt.
std::optional<int> run_container_commands(ContainerCommands& c);

}  // namespace husk::cli
