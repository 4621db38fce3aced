// Cross-field checks runc makes before it creates anything, run on a typed
// config so the husk front end (which builds config::Container from flags)
// gets the same answers as a config.json. Messages name the OCI path:
//   hostname: unable to set hostname without a new UTS namespace
// (parse_config prefixes them with "config.json: ").
#pragma once

#include "base/error.h"
#include "config/container.h"

namespace husk::spec {

Result<void> validate(const config::Container& c);
// The process checks alone (exec): args present, cwd absolute.
Result<void> validate_process(const config::Process& p);

}  // namespace husk::spec
