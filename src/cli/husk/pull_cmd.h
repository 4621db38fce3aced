// `husk pull`, `husk login`, `husk logout`: flags -> image/pull.h, image/auth_file.h.
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "base/error.h"

namespace husk::cli {

struct PullCommands {
  CLI::App *pull = nullptr, *login = nullptr, *logout = nullptr;
  // shared
  bool tls_verify = true;
  std::string cert_dir, authfile;
  // pull
  bool quiet = false;
  std::string platform, creds, ref;
  // login / logout
  std::string username, password, registry;
  bool password_stdin = false, all = false;
};

void add_pull_commands(CLI::App& app, PullCommands& c);
// husk run --pull: REF pulled as `husk pull REF` pulls it (credentials from the auth files,
// TLS verified, plain HTTP for loopback registries), progress on stderr, nothing on stdout.
Result<void> pull_for_run(const std::string& ref);

// The exit status of whichever of these verbs was parsed, or nullopt.
std::optional<int> run_pull_commands(const PullCommands& c);

}  // namespace husk::cli
