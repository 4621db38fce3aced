// husk: the friendly front end. Each verb is a thin file of cli/husk: run
// and create (run_cmd.h), the verbs on containers (containers_cmd.h),
// networks, images and volumes.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/husk/containers_cmd.h"
#include "cli/husk/image_cmd.h"
#include "cli/husk/network_cmd.h"
#include "cli/husk/pull_cmd.h"
#include "cli/husk/run_cmd.h"
#include "cli/husk/volume_cmd.h"
#include "front/exit_code.h"
#include "runtime/exe_seal.h"

namespace {

// The words after the verb (global flags such as --root come before it).
std::vector<std::string> verb_words(int argc, char** argv) {
  int i = 1;
  while (i < argc) {
    std::string_view a = argv[i];
    if (a == "--root") {
      i += 2;
      continue;
    }
    if (a.starts_with("--root=")) {
      ++i;
      continue;
    }
    break;
  }
  return std::vector<std::string>(argv + std::min(i + 1, argc), argv + argc);
}

std::string_view verb_of(int argc, char** argv) {
  auto words = verb_words(argc, argv);
  size_t at = static_cast<size_t>(argc) - words.size() - 1;
  return at >= 1 && at < static_cast<size_t>(argc) ? std::string_view(argv[at]) : "";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace husk::cli;
  remember_own_path();  // before the sealed re-execution hides it
  std::string_view verb = verb_of(argc, argv);
  // The monitor's callbacks (run_cmd.h): not verbs for people.
  if ((verb == "__launch" || verb == "__cleanup" || verb == "__remove") && argc >= 3) {
    if (verb == "__launch") {
      if (auto sealed = husk::runtime::seal_own_executable(argv, environ); !sealed) {
        std::fprintf(stderr, "husk: %s\n", sealed.error().what().c_str());
        return kExitHuskError;
      }
      return launch_command(argv[argc - 1]);
    }
    return cleanup_command(argv[argc - 1], verb == "__remove", verb == "__remove");
  }
  // CVE-2019-5736 (runtime/exe_seal.h): every verb that starts a container
  // process runs from a sealed view of this binary. Sealed first, so the
  // command line is taken apart once, by the sealed process.
  if (verb == "run" || verb == "start" || verb == "restart" || verb == "exec") {
    if (auto sealed = husk::runtime::seal_own_executable(argv, environ); !sealed) {
      std::fprintf(stderr, "husk: %s\n", sealed.error().what().c_str());
      return kExitHuskError;
    }
  }
  CLI::App app{"husk: containers from images or from any directory, with no daemon", "husk"};
  app.set_version_flag("--version", "husk version " HUSK_VERSION);
  app.require_subcommand(1);
  std::string store_root;
  app.add_option("--root", store_root,
                 "Where images, layers, volumes and containers are kept (default: $HUSK_ROOT, "
                 "else /var/lib/husk)");
  app.fallthrough();  // `husk run --root DIR ...` too
  // The verbs people wait for, `husk run` and `husk create`, build only their own flags: the
  // other verbs' CLI11 objects cost 0.4 ms a start (docs/benchmarks.md).
  const bool every_verb = verb != "run" && verb != "create";
  RunCommand run_cmd, create_cmd;
  CLI::App* run = nullptr;
  CLI::App* create = nullptr;
  if (every_verb || verb == "run") {
    run = app.add_subcommand("run", "Run a command in a new container");
    add_run_flags(*run, run_cmd, false);
  }
  if (every_verb || verb == "create") {
    create = app.add_subcommand("create", "Create a container to start later");
    add_run_flags(*create, create_cmd, true);
  }
  ContainerCommands containers;
  NetworkCommands network;
  PullCommands pull;  // husk pull, login, logout
  ImageCommands images;
  VolumeCommands volume;
  if (every_verb) {
    add_container_commands(app, containers);
    add_network_commands(app, network);
    add_pull_commands(app, pull);
    add_image_commands(app, images);
    add_volume_commands(app, volume);
  }

  if (argc <= 1) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    print_error(e.what());
    return kExitHuskError;
  }
  if (!store_root.empty()) ::setenv("HUSK_ROOT", store_root.c_str(), 1);
  if (run != nullptr && run->parsed()) return run_command(run_cmd, verb_words(argc, argv));
  if (create != nullptr && create->parsed())
    return create_command(create_cmd, verb_words(argc, argv));
  if (!every_verb) return kExitHuskError;
  if (auto status = run_container_commands(containers)) return *status;
  if (auto status = run_network_commands(network)) return *status;
  if (auto status = run_pull_commands(pull)) return *status;
  if (auto status = run_image_commands(images)) return *status;
  if (auto status = run_volume_commands(volume)) return *status;
  return kExitHuskError;
}
