// config::Resources -> OCI `linux.resources` JSON, the inverse of
// spec::parse_resources (resources.h): every field that is set is written
// under its runtime-spec name, absent ones are left out, so
// parse_resources_json(resources_to_json(r)) gives r back. `husk run` builds
// its limits from flags this way (config::Container keeps linux.resources as
// text for the cgroup layer).
#pragma once

#include <string>

#include "config/resources.h"

namespace husk::spec {

std::string resources_to_json(const config::Resources& r);

}  // namespace husk::spec
