// Small, non-throwing readers for the JSON documents of an image (manifests, indexes,
// configs). Everything read is hostile: the text is bounded in size and depth before it is
// parsed, and each reader checks the type of what it reads. `where` names the field in errors
// (`manifest: layers[2].size: not a non-negative integer`).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace husk::image::json {

using Json = nlohmann::json;

inline constexpr size_t kMaxDepth = 32;

// Parses `text` (at most max_bytes, nested at most kMaxDepth) into an object.
Result<Json> parse_object(std::string_view text, std::string_view doc, size_t max_bytes);

// The member `key` of object `obj`, or nullptr when absent or null.
const Json* member(const Json& obj, std::string_view key);

// Absent or null gives `fallback`; any other non-string is an error.
Result<std::string> string_at(const Json& obj, std::string_view key, std::string_view where,
                              std::string_view fallback = {});
// An integer in [min, max]; absent is an error unless `fallback` is given.
Result<int64_t> int_at(const Json& obj, std::string_view key, std::string_view where, int64_t min,
                       int64_t max, std::optional<int64_t> fallback = std::nullopt);
// An array of strings (a lone string is taken as a one-element array, as docker's StrSlice
// does). Absent or null gives nullopt. At most max_items.
Result<std::optional<std::vector<std::string>>> strings_at(const Json& obj, std::string_view key,
                                                           std::string_view where,
                                                           size_t max_items);

std::string join(std::string_view where, std::string_view key);

}  // namespace husk::image::json
