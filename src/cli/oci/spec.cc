#include <fcntl.h>
#include <unistd.h>

#include <memory>

#include "base/file.h"
#include "cli/oci/verbs.h"
#include "spec/default_spec.h"

namespace husk::oci {

namespace {
struct SpecArgs {
  std::string bundle = ".";
  bool rootless = false;
};
}  // namespace

void add_spec(CLI::App& app, const GlobalArgs&, Action& action) {
  auto* sub = app.add_subcommand("spec", "write a new config.json template to the bundle");
  auto a = std::make_shared<SpecArgs>();
  sub->add_option("-b,--bundle", a->bundle, "path to the root of the bundle directory");
  sub->add_flag("--rootless", a->rootless, "generate a configuration for a rootless container");
  sub->callback([&action, a] {
    action = [a]() -> Result<int> {
      std::string path = a->bundle + "/config.json";
      if (::access(path.c_str(), F_OK) == 0)
        return fail(EEXIST, "File {} exists. Remove it first", path);
      std::string json = spec::default_config_json(a->rootless);
      UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
      if (!fd) return fail_errno("create {}", path);
      HUSK_TRY(write_all(fd.get(), json).context("write {}", path));
      return 0;
    };
  });
}

}  // namespace husk::oci
