#include <cstdio>
#include <memory>

#include "cli/oci/verbs.h"

namespace husk::oci {

void add_state(CLI::App& app, const GlobalArgs& g, Action& action) {
  auto* sub = app.add_subcommand("state", "print the state of a container");
  auto id = std::make_shared<std::string>();
  sub->add_option("id", *id, "container id")->required();
  sub->callback([&g, &action, id] {
    action = [&g, id]() -> Result<int> {
      HUSK_TRY_ASSIGN(std::string json, runtime::state_json(g.root, *id));
      std::fwrite(json.data(), 1, json.size(), stdout);
      std::fputc('\n', stdout);
      return 0;
    };
  });
}

}  // namespace husk::oci
