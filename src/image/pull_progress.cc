// husk pull's progress lines (image/pull_progress.h).
#include "image/pull_progress.h"

#include <fmt/format.h>

namespace husk::image {

std::string progress_size(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double v = static_cast<double>(bytes) / 1024;
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(kUnits)) v /= 1024, ++u;
  return fmt::format("{:.1f} {}", v, kUnits[u]);
}

std::string progress_rate(uint64_t bytes, double seconds) {
  if (!(seconds > 0)) return "";
  return progress_size(static_cast<uint64_t>(static_cast<double>(bytes) / seconds)) + "/s";
}

std::string progress_line(const LayerProgress& p, double seconds) {
  std::string head = fmt::format("{}: {:<15}", p.id, layer_state_name(p.state));
  switch (p.state) {
    case LayerState::kWaiting:
    case LayerState::kAlreadyExists:
      break;
    case LayerState::kDownloading: {
      std::string line = fmt::format("{}{:>10} / {}", head, progress_size(p.bytes), progress_size(p.total));
      std::string rate = progress_rate(p.bytes, seconds);
      if (!rate.empty()) line += "  " + rate;
      return line;
    }
    case LayerState::kVerifying:
    case LayerState::kExtracting:
    case LayerState::kDone:
      return fmt::format("{}{:>10}", head, progress_size(p.total));
  }
  while (!head.empty() && head.back() == ' ') head.pop_back();
  return head;
}

}  // namespace husk::image
