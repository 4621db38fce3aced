// husk-oci: an OCI runtime with runc's command line.
#include <cstdio>

#include "base/log.h"
#include "cli/oci/verbs.h"

#ifndef HUSK_VERSION
#define HUSK_VERSION "0.0.0"
#endif

namespace {

constexpr const char* kVersion =
    "husk-oci version " HUSK_VERSION "\n"
    "commit: " HUSK_VERSION "\n"
    "spec: 1.2.0\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace husk;
  CLI::App app{"husk-oci: an OCI container runtime (runc-compatible command line)", "husk-oci"};
  app.set_version_flag("-v,--version", kVersion);
  app.require_subcommand(1);
  oci::GlobalArgs g;
  app.add_option("--root", g.root, "root directory for storage of container state");
  app.add_option("--log", g.log, "set the log file to write runtime logs to");
  app.add_option("--log-format", g.log_format, "log format: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--debug", g.debug, "enable debug logging");
  app.add_flag("--systemd-cgroup", g.systemd_cgroup, "use the systemd cgroup driver");
  app.add_option("--criu", g.criu, "path to criu (unused)");
  app.add_option("--rootless", g.rootless, "ignore cgroup permission errors (true, false, auto)");

  oci::Action action;
  oci::add_run(app, g, action);
  oci::add_create(app, g, action);
  oci::add_exec(app, g, action);
  oci::add_start(app, g, action);
  oci::add_kill(app, g, action);
  oci::add_delete(app, g, action);
  oci::add_state(app, g, action);
  oci::add_list(app, g, action);
  oci::add_spec(app, g, action);
  oci::add_pause(app, g, action);
  oci::add_resume(app, g, action);
  oci::add_update(app, g, action);
  oci::add_ps(app, g, action);
  oci::add_events(app, g, action);
  oci::add_features(app, g, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 says "A subcommand is required" for a misspelt verb: name it.
    if (app.get_subcommands().empty() && !app.remaining().empty() &&
        dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
      std::fprintf(stderr, "husk-oci: unknown command \"%s\" (see husk-oci --help)\n",
                   app.remaining().front().c_str());
      return 1;
    }
    return app.exit(e);
  }
  log::init(g.log, g.log_format == "json" ? log::Format::kJson : log::Format::kText, g.debug);
  auto result = action();
  if (!result) {
    std::string msg = result.error().what();
    if (!g.log.empty()) log::error("{}", msg);
    std::fprintf(stderr, "%s\n", msg.c_str());
    return 1;
  }
  return *result;
}
