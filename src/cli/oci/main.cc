// husk-oci: an OCI runtime with runc's command line.
#include <array>
#include <cstdio>
#include <string_view>

#include <unistd.h>

#include "base/log.h"
#include "cli/oci/help.h"
#include "cli/oci/verbs.h"
#include "runtime/exe_seal.h"

namespace {

using AddVerb = void (*)(CLI::App&, const husk::oci::GlobalArgs&, husk::oci::Action&);
struct Verb {
  std::string_view name;
  AddVerb add;
  bool starts_processes = false;  // runs runtime code inside a container: sealed binary first
  int failure_status = 1;         // exit status of the runtime's own failures
};
// runc's order, which is the order --help lists them in.
constexpr std::array kVerbs{
    Verb{"run", husk::oci::add_run, true},   Verb{"create", husk::oci::add_create, true},
    // As runc: exec's own failures exit 255, apart from any status of the program.
    Verb{"exec", husk::oci::add_exec, true, 255}, Verb{"start", husk::oci::add_start},
    Verb{"kill", husk::oci::add_kill},       Verb{"delete", husk::oci::add_delete},
    Verb{"state", husk::oci::add_state},     Verb{"list", husk::oci::add_list},
    Verb{"spec", husk::oci::add_spec},       Verb{"pause", husk::oci::add_pause},
    Verb{"resume", husk::oci::add_resume},   Verb{"update", husk::oci::add_update},
    Verb{"ps", husk::oci::add_ps},           Verb{"events", husk::oci::add_events},
    Verb{"features", husk::oci::add_features},
    Verb{"checkpoint", husk::oci::add_checkpoint}, Verb{"restore", husk::oci::add_restore},
};

// The first word that is neither an option nor an option's value, found without parsing
// the command line: the verb's name when there is one.
std::string_view first_word(const CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") return {};
    if (!arg.starts_with('-')) return arg;
    // "--root DIR" takes the next word; "--root=DIR" and flags do not.
    const CLI::Option* opt = app.get_option_no_throw(std::string(arg));
    if (opt != nullptr && opt->get_expected_min() > 0) ++i;
  }
  return {};
}

// The verb named by word. Building one verb's CLI11 subcommand instead of all of them is
// most of the parser's share of a container start.
const Verb* find_verb(std::string_view word) {
  for (const Verb& v : kVerbs) {
    if (v.name == word) return &v;
  }
  return nullptr;
}

bool asks_for_help(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") return true;
  }
  return false;
}

// The name the program was started under (see cli/oci/help.h).
std::string program_name(const char* argv0) {
  std::string_view name = argv0 == nullptr ? "" : argv0;
  if (auto slash = name.rfind('/'); slash != std::string_view::npos) name.remove_prefix(slash + 1);
  return name.empty() ? "husk-oci" : std::string(name);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace husk;
  const std::string prog = program_name(argv[0]);
  CLI::App app{"an OCI container runtime (runc-compatible command line)", prog};
  oci::use_runc_help_layout(app, prog);
  app.set_version_flag("-v,--version", oci::version_text(prog));
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

  // One verb when the command line names one; all of them otherwise, so that --help lists
  // them and a misspelt verb gets the error below.
  oci::Action action;
  const std::string_view word = first_word(app, argc, argv);
  const Verb* verb = find_verb(word);
  if (verb != nullptr) {
    // CVE-2019-5736 (runtime/exe_seal.h): before any container exists.
    if (verb->starts_processes) {
      if (auto sealed = runtime::seal_own_executable(argv, environ); !sealed) {
        std::fprintf(stderr, "husk-oci: %s\n", sealed.error().what().c_str());
        return 1;
      }
    }
    verb->add(app, g, action);
  } else {
    if (!word.empty() && asks_for_help(argc, argv)) {
      std::fprintf(stderr, "No help topic for '%.*s'\n", static_cast<int>(word.size()),
                   word.data());
      return 3;
    }
    for (const Verb& v : kVerbs) v.add(app, g, action);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 says "A subcommand is required" for a misspelt verb: name it.
    if (app.get_subcommands().empty() && !app.remaining().empty() &&
        dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
      std::fprintf(stderr, "%s: unknown command \"%s\" (see %s --help)\n", prog.c_str(),
                   app.remaining().front().c_str(), prog.c_str());
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
    return verb != nullptr ? verb->failure_status : 1;
  }
  return *result;
}
