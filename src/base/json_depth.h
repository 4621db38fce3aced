// How deeply arrays and objects nest in a JSON text, counted without parsing
// (brackets inside strings do not count). nlohmann parses any depth, but its
// copies, dump() and destruction recurse once per level: hostile input of a
// million "[" must be refused before it reaches the parser.
#pragma once

#include <cstddef>
#include <string_view>

namespace husk {

size_t json_nesting_depth(std::string_view text);

}  // namespace husk
