// husk-oci: runc's command line over the husk runtime. Each verb lives in
// its own file: it declares its flags and calls one runtime function.
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "base/error.h"
#include "runtime/runtime.h"

namespace husk::oci {

struct GlobalArgs {
  std::string root = runtime::kDefaultRoot;
  std::string log;
  std::string log_format = "text";
  bool debug = false;
  bool systemd_cgroup = false;
  std::string criu;
  std::string rootless = "auto";
};

// The chosen verb's action; its value is the process exit status.
using Action = std::function<Result<int>()>;

void add_run(CLI::App& app, const GlobalArgs& g, Action& action);
void add_exec(CLI::App& app, const GlobalArgs& g, Action& action);
void add_create(CLI::App& app, const GlobalArgs& g, Action& action);
void add_start(CLI::App& app, const GlobalArgs& g, Action& action);
void add_kill(CLI::App& app, const GlobalArgs& g, Action& action);
void add_delete(CLI::App& app, const GlobalArgs& g, Action& action);
void add_state(CLI::App& app, const GlobalArgs& g, Action& action);
void add_list(CLI::App& app, const GlobalArgs& g, Action& action);
void add_spec(CLI::App& app, const GlobalArgs& g, Action& action);
void add_pause(CLI::App& app, const GlobalArgs& g, Action& action);
void add_resume(CLI::App& app, const GlobalArgs& g, Action& action);
void add_update(CLI::App& app, const GlobalArgs& g, Action& action);
void add_ps(CLI::App& app, const GlobalArgs& g, Action& action);
void add_events(CLI::App& app, const GlobalArgs& g, Action& action);
void add_features(CLI::App& app, const GlobalArgs& g, Action& action);
void add_checkpoint(CLI::App& app, const GlobalArgs& g, Action& action);
void add_restore(CLI::App& app, const GlobalArgs& g, Action& action);

// Shared by create and run: --bundle, --console-socket, --pid-file, ...
struct CreateFlags {
  std::string id;
  std::string bundle = ".";
  runtime::CreateOptions opts;
};
void add_create_flags(CLI::App& sub, CreateFlags& f);
// Loads the bundle's config and fills the options from the flags.
Result<config::Container> load_for_create(const GlobalArgs& g, CreateFlags& f, bool detached);

}  // namespace husk::oci
