#include <cstdlib>
#include <memory>

#include "cli/oci/verbs.h"

namespace husk::oci {

void add_start(CLI::App& app, const GlobalArgs& g, Action& action) {
  auto* sub = app.add_subcommand("start", "execute the user's program in a created container");
  auto id = std::make_shared<std::string>();
  sub->add_option("id", *id, "container id")->required();
  sub->callback([&g, &action, id] {
    action = [&g, id]() -> Result<int> {
      // Under systemd: relay the container's READY= (runtime/notify.h).
      const char* notify = std::getenv("NOTIFY_SOCKET");
      HUSK_TRY(runtime::start(g.root, *id, notify != nullptr ? notify : ""));
      return 0;
    };
  });
}

}  // namespace husk::oci
