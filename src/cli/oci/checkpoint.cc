// checkpoint and restore: runc's verbs, which need CRIU. husk-oci has no CRIU
// support; the verbs exist so that their help answers and their use fails in
// one clear line (an engine's checkpoint request must not look like a typo).
#include "cli/oci/verbs.h"

namespace husk::oci {

namespace {

void add_unsupported(CLI::App& app, Action& action, const char* name, const char* what) {
  auto* sub = app.add_subcommand(name, what);
  sub->allow_extras();  // CRIU's many options: the answer is the same for all
  sub->callback([&action, name] {
    action = [name]() -> Result<int> {
      return fail(0, "{}: not supported: husk-oci has no CRIU support", name);
    };
  });
}

}  // namespace

void add_checkpoint(CLI::App& app, const GlobalArgs&, Action& action) {
  add_unsupported(app, action, "checkpoint", "checkpoint a running container (needs CRIU)");
}

void add_restore(CLI::App& app, const GlobalArgs&, Action& action) {
  add_unsupported(app, action, "restore", "restore a container from a checkpoint (needs CRIU)");
}

}  // namespace husk::oci
