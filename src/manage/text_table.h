// Columns aligned as Go's text/tabwriter aligns docker's tables: every cell
// but a line's last is padded to its column's width (the widest cell plus
// `padding`, at least `min_width`), the last cell is written as it is.
// docker stats uses (10, 3), docker top (20, 3).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace husk::manage {

std::string align_columns(const std::vector<std::vector<std::string>>& lines, size_t min_width,
                          size_t padding);

// Characters, not bytes (tabwriter counts UTF-8 runes).
size_t text_width(const std::string& s);

}  // namespace husk::manage
