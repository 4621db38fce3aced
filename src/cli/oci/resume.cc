#include <memory>

#include "cli/oci/verbs.h"

namespace husk::oci {

void add_resume(CLI::App& app, const GlobalArgs& g, Action& action) {
  auto* sub = app.add_subcommand("resume", "resume all processes that have been paused");
  auto id = std::make_shared<std::string>();
  sub->add_option("id", *id, "container id")->required();
  sub->callback([&g, &action, id] {
    action = [&g, id]() -> Result<int> {
      HUSK_TRY(runtime::resume(g.root, *id));
      return 0;
    };
  });
}

}  // namespace husk::oci
