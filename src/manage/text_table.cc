#include "manage/text_table.h"

#include <algorithm>

namespace husk::manage {

size_t text_width(const std::string& s) {
  // UTF-8 continuation bytes (10xxxxxx) start no character.
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string align_columns(const std::vector<std::vector<std::string>>& lines, size_t min_width,
                          size_t padding) {
  std::vector<size_t> widths;
  for (const auto& cells : lines)
    for (size_t i = 0; i + 1 < cells.size(); ++i) {
      if (widths.size() <= i) widths.resize(i + 1, min_width);
      widths[i] = std::max(widths[i], text_width(cells[i]) + padding);
    }
  std::string out;
  for (const auto& cells : lines) {
    for (size_t i = 0; i < cells.size(); ++i) {
      out += cells[i];
      if (i + 1 < cells.size()) out.append(widths[i] - text_width(cells[i]), ' ');
    }
    out += '\n';
  }
  return out;
}

}  // namespace husk::manage
