#include <memory>

#include "cli/oci/verbs.h"

namespace husk::oci {

void add_run(CLI::App& app, const GlobalArgs& g, Action& action) {
  auto* sub = app.add_subcommand("run", "create and run a container");
  auto f = std::make_shared<CreateFlags>();
  add_create_flags(*sub, *f);
  sub->add_flag("-d,--detach", f->opts.detach, "detach from the container's process");
  sub->add_flag("--keep", f->opts.keep, "do not delete the container after it exits");
  sub->callback([&g, &action, f] {
    action = [&g, f]() -> Result<int> {
      HUSK_TRY_ASSIGN(config::Container c, load_for_create(g, *f, f->opts.detach));
      return runtime::run(c, f->opts);
    };
  });
}

}  // namespace husk::oci
