// The value syntaxes of both CLIs (front/units.h): integers, go-units sizes, Go
// durations, cpuset lists. Each line of the input goes to every parser.
#include <charconv>

#include "base/time.h"
#include "front/units.h"
#include "fuzz_util.h"

namespace {

// Same answer as std::from_chars for what both accept: [-]digits.
void check_int64(std::string_view s) {
  auto v = husk::cli::parse_int64(s);
  if (s.empty() || s.front() == '+') return;
  int64_t ref = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), ref);
  bool ref_ok = ec == std::errc() && p == s.data() + s.size();
  if (ref_ok != v.has_value() || (ref_ok && ref != *v)) husk::fuzz::broken("parse_int64");
}

void check_uint64(std::string_view s) {
  auto v = husk::cli::parse_uint64(s);
  if (s.empty() || s.front() == '-') return;
  uint64_t ref = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), ref);
  bool ref_ok = ec == std::errc() && p == s.data() + s.size();
  if (ref_ok != v.has_value() || (ref_ok && ref != *v)) husk::fuzz::broken("parse_uint64");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace husk;
  std::string_view text = fuzz::as_text(data, size);
  for (size_t i = 0; i <= text.size();) {
    size_t j = text.find('\n', i);
    if (j == std::string_view::npos) j = text.size();
    std::string_view line = text.substr(i, j - i);
    i = j + 1;
    check_int64(line);
    check_uint64(line);
    if (auto b = cli::parse_ram_bytes(line); b && *b < 0) fuzz::broken("a negative size");
    (void)parse_go_duration(line);
    (void)cli::valid_id_list(line);
  }
  return 0;
}
