// Image records and tags.json as the store writes them. Internal to src/image/ (store*.cc).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "image/digest.h"
#include "image/store.h"

namespace husk::image::store_records {

using Tags = std::map<std::string, Digest>;  // canonical name:tag -> image id

std::string record_json(const ImageRecord& r);
Result<ImageRecord> parse_record(std::string_view text, const std::string& what);

// A missing tags.json is an empty map.
Result<Tags> read_tags(const std::string& path);
Result<void> write_tags(const std::string& path, const Tags& tags);
std::vector<std::string> tags_of(const Tags& tags, const Digest& id);

// [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128 characters: it names a file under holds/.
Result<void> check_container_name(std::string_view container);

}  // namespace husk::image::store_records
