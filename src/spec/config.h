// OCI runtime-spec v1.2 config.json -> config::Container. Pure code: the only
// system calls are resolving the bundle and reading its config.json.
//
//   HUSK_TRY_ASSIGN(config::Container c, spec::load_bundle(args.bundle));
//
// Errors name the JSON path and carry code 0:
//   config.json: linux.namespaces[2].type: unknown namespace "foo"
// Unknown fields are ignored, as runc ignores them; known fields husk cannot
// honour are errors (`config.json: linux.intelRdt: not supported by husk`).
// Names are resolved to numbers (capabilities, rlimits, mount options,
// propagation); relative paths that runc resolves against the bundle
// (root.path, bind sources) are made absolute; nothing on the host is
// checked for existence.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "config/container.h"

namespace husk::spec {

// Reads <bundle_dir>/config.json; the bundle is made absolute with realpath
// (empty means the current directory).
Result<config::Container> load_bundle(const std::string& bundle_dir);

// Parses and validates a config.json text. bundle_dir should be absolute: it is
// stored as Container::bundle and relative paths are resolved against it.
Result<config::Container> parse_config(std::string_view json, const std::string& bundle_dir);

// Parses a process.json (runc's `exec --process FILE`): the "process" object
// of a config.json on its own. Errors name doc: `process.json: args: ...`.
Result<config::Process> parse_process_json(std::string_view json, std::string_view doc = "process.json");

}  // namespace husk::spec
