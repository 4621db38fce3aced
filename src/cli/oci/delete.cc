#include <memory>

#include "cli/oci/verbs.h"

namespace husk::oci {

namespace {
struct DeleteArgs {
  std::string id;
  bool force = false;
};
}  // namespace

void add_delete(CLI::App& app, const GlobalArgs& g, Action& action) {
  auto* sub = app.add_subcommand("delete", "delete a container and what it holds");
  auto a = std::make_shared<DeleteArgs>();
  sub->add_option("id", a->id, "container id")->required();
  sub->add_flag("-f,--force", a->force, "kill the container first if it is still running");
  sub->callback([&g, &action, a] {
    action = [&g, a]() -> Result<int> {
      HUSK_TRY(runtime::destroy(g.root, a->id, a->force));
      return 0;
    };
  });
}

}  // namespace husk::oci
