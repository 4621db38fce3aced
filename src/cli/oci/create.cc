#include <memory>

#include "cli/oci/verbs.h"

namespace husk::oci {

void add_create(CLI::App& app, const GlobalArgs& g, Action& action) {
  auto* sub = app.add_subcommand("create", "create a container");
  auto f = std::make_shared<CreateFlags>();
  add_create_flags(*sub, *f);
  sub->callback([&g, &action, f] {
    action = [&g, f]() -> Result<int> {
      HUSK_TRY_ASSIGN(config::Container c, load_for_create(g, *f, /*detached=*/true));
      HUSK_TRY(runtime::create(c, f->opts));
      return 0;
    };
  });
}

}  // namespace husk::oci
