// husk-oci's --help and --version, in runc's layout. The program names itself
// by the name it was started under: installed as `runc` (a drop-in for engines
// that only pass --log-format to runtimes they know by name), it says "runc",
// and adds "(husk-oci)" so no one mistakes what runs.
#pragma once

#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

namespace husk::oci {

// Sets app's formatter (before its subcommands are added: they inherit it).
void use_runc_help_layout(CLI::App& app, std::string prog);

// "<prog> version X", "commit: ...", "spec: ..." (docker parses the first two).
std::string version_text(std::string_view prog);

}  // namespace husk::oci
