// OCI `linux.resources` JSON -> config::Resources. Pure code. The runtime keeps
// linux.resources verbatim (config::Container::resources_json) and `update -r`
// reads the same object from a file or stdin; both come through here.
//
//   HUSK_TRY_ASSIGN(auto r, spec::parse_resources_json(c.resources_json,
//                                                       "config.json", "linux.resources"));
//
// Errors name the JSON path:
//   config.json: linux.resources.memory.limit: expected a number, got string
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string_view>

#include "base/error.h"
#include "config/resources.h"

namespace husk::spec {

// j is the resources object itself; path_prefix is its path in the document
// ("linux.resources" in config.json, "" for an `update -r` file) and doc the
// document's name in messages. doc must outlive the call only.
Result<config::Resources> parse_resources(const nlohmann::json& j, std::string_view path_prefix,
                                          std::string_view doc = "config.json");

// Parses the text first; empty text means "no resources".
Result<config::Resources> parse_resources_json(std::string_view json,
                                               std::string_view doc = "resources",
                                               std::string_view path_prefix = "");

}  // namespace husk::spec
