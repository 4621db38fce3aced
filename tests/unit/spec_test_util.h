// Shared by the spec::parse_config tests: the smallest config that parses, and
// the one-line error of a config with one thing broken.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "spec/config.h"

namespace husk::spec::testing {

using Json = nlohmann::json;

// The smallest config that passes; each test breaks one thing.
inline Json minimal() {
  return Json::parse(R"({
    "ociVersion": "1.2.0",
    "root": {"path": "rootfs"},
    "process": {"args": ["sh"], "cwd": "/"},
    "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                             {"type": "uts"}, {"type": "mount"}]}
  })");
}

// minimal() with the value at the JSON pointer set, parsed.
inline Result<config::Container> parse_with(const std::string& pointer, const Json& value) {
  Json doc = minimal();
  doc[Json::json_pointer(pointer)] = value;
  return parse_config(doc.dump(), "/b");
}

// doc's error ("<parsed>" when it parses); config errors carry no errno.
inline std::string error_of(const Json& doc) {
  auto r = parse_config(doc.dump(), "/b");
  if (r) return "<parsed>";
  EXPECT_EQ(r.error().code, 0) << r.error().what();
  return r.error().what();
}

inline std::string error_with(const std::string& pointer, const Json& value) {
  Json doc = minimal();
  doc[Json::json_pointer(pointer)] = value;
  return error_of(doc);
}

}  // namespace husk::spec::testing
