#include <memory>

#include "cli/oci/verbs.h"
#include "spec/names.h"

namespace husk::oci {

namespace {
struct KillArgs {
  std::string id;
  std::string signal = "SIGTERM";
  bool all = false;
};
}  // namespace

void add_kill(CLI::App& app, const GlobalArgs& g, Action& action) {
  auto* sub = app.add_subcommand("kill", "send a signal to the container's init process");
  auto a = std::make_shared<KillArgs>();
  sub->add_option("id", a->id, "container id")->required();
  sub->add_option("signal", a->signal, "signal name or number (default SIGTERM)");
  sub->add_flag("-a,--all", a->all, "send the signal to all processes in the container");
  sub->callback([&g, &action, a] {
    action = [&g, a]() -> Result<int> {
      auto sig = spec::signal_from_string(a->signal);
      if (!sig) return fail(0, "invalid signal {:?}", a->signal);
      HUSK_TRY(runtime::kill(g.root, a->id, *sig, a->all));
      return 0;
    };
  });
}

}  // namespace husk::oci
