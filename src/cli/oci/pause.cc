#include <memory>

#include "cli/oci/verbs.h"

namespace husk::oci {

void add_pause(CLI::App& app, const GlobalArgs& g, Action& action) {
  auto* sub = app.add_subcommand("pause", "suspend all processes inside the container");
  auto id = std::make_shared<std::string>();
  sub->add_option("id", *id, "container id")->required();
  sub->callback([&g, &action, id] {
    action = [&g, id]() -> Result<int> {
      HUSK_TRY(runtime::pause(g.root, *id));
      return 0;
    };
  });
}

}  // namespace husk::oci
