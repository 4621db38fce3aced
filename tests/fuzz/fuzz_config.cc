// config.json text -> config::Container: the whole spec/ parser (every section,
// names -> numbers, mount options, seccomp) and validate(), then the
// linux.resources text the cgroup layer parses again at create and update.
#include "fuzz_util.h"
#include "spec/config.h"
#include "spec/resources.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  husk::fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace husk;
  auto c = spec::parse_config(fuzz::as_text(data, size), "/fuzz/bundle");
  if (!c) {
    if (c.error().message.empty()) fuzz::broken("a config error without a message");
    return 0;
  }
  if (c->bundle != "/fuzz/bundle") fuzz::broken("bundle not kept");
  if (c->root_path.empty() || c->root_path.front() != '/') fuzz::broken("root.path not absolute");
  for (const auto& m : c->mounts) {
    if (m.destination.empty() || m.destination.front() != '/')
      fuzz::broken("mount destination not absolute");
    if ((m.flags & m.clear_flags) != 0) fuzz::broken("a mount flag both set and cleared");
  }
  if (!c->resources_json.empty()) {
    auto r = spec::parse_resources_json(c->resources_json, "config.json", "linux.resources");
    (void)r;
  }
  return 0;
}
