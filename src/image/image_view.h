// How `husk images` and `husk image inspect` show an image: docker's size and age texts and
// docker's inspect JSON. Pure.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "base/error.h"
#include "image/store.h"

namespace husk::image {

// docker's units.HumanSize: decimal units, 4 significant digits: "1.24MB", "512B", "3.1GB".
std::string human_size(uint64_t bytes);

// docker's "CREATED" column: "Less than a second ago", "5 minutes ago", "2 years ago";
// "N/A" for an unparsable time.
std::string time_ago(std::string_view rfc3339, std::time_t now);

// One element of `husk image inspect`'s array, from the record and the config's bytes.
Result<std::string> inspect_json(const ImageRecord& r, std::string_view config);

}  // namespace husk::image
