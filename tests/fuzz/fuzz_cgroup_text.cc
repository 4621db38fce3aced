// The cgroup value parsers and converters (cgroup/text.h, convert.h, stats.h):
// the whole input goes to every text parser; its first bytes, read as numbers,
// go to the converters from OCI values to cgroup file contents.
#include <cstring>

#include "cgroup/convert.h"
#include "cgroup/stats.h"
#include "cgroup/text.h"
#include "fuzz_util.h"

namespace {

using namespace husk;

template <class T>
T number_at(const uint8_t* data, size_t size, size_t offset) {
  T v{};
  if (offset < size) std::memcpy(&v, data + offset, std::min(sizeof v, size - offset));
  return v;
}

void text_parsers(std::string_view text) {
  for (auto piece : cgroup::split(text, ','))
    if (piece.data() < text.data() || piece.end() > text.end()) fuzz::broken("split out of range");
  for (auto f : cgroup::split_fields(text))
    if (f.empty()) fuzz::broken("an empty field");
  (void)cgroup::trim(text);
  auto u = cgroup::parse_u64(text);
  auto i = cgroup::parse_i64(text);
  if (u && i && *i >= 0 && static_cast<uint64_t>(*i) != *u) fuzz::broken("u64 and i64 disagree");
  (void)cgroup::parse_flat_keyed(text);
  if (auto cpus = cgroup::parse_cpu_list(text)) {
    if (cpus->size() > 65536 * (text.size() + 1)) fuzz::broken("cpu list larger than its input");
  }
  if (auto m = cgroup::parse_cpu_max(text); !m && m.error().message.empty())
    fuzz::broken("cpu.max error without a message");
  for (const auto& e : cgroup::parse_blkio_lines(text))
    if (e.op.size() > text.size()) fuzz::broken("blkio op longer than its input");
}

void converters(const uint8_t* data, size_t size) {
  auto u1 = number_at<uint64_t>(data, size, 0);
  auto s1 = number_at<int64_t>(data, size, 0);
  auto s2 = number_at<int64_t>(data, size, 8);
  auto u2 = number_at<uint64_t>(data, size, 8);
  uint64_t w = cgroup::shares_to_weight(u1);
  if (u1 != 0 && (w < 1 || w > 10000)) fuzz::broken("cpu.weight out of 1..10000");
  uint64_t iow = cgroup::blkio_weight_to_io_weight(u1);
  if (u1 != 0 && (iow < 1 || iow > 10000)) fuzz::broken("io.weight out of 1..10000");
  if (auto v = cgroup::cpu_max_value(s1, u2)) {
    auto back = cgroup::parse_cpu_max(*v);
    if (!back) fuzz::broken("cpu.max we write does not parse back");
  }
  if (auto sw = cgroup::swap_max_v2(s1, s2); sw && *sw && **sw < -1)
    fuzz::broken("swap.max below -1");
  (void)cgroup::memory_limit_v1(s1);
  (void)cgroup::memory_limit_v2(s1);
  (void)cgroup::pids_max_value(s1);
  (void)cgroup::io_max_line(s1, s2, "rbps", u2);
  (void)cgroup::device_value_line(s1, s2, u2);
  (void)cgroup::hugetlb_size_name(u1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  text_parsers(husk::fuzz::as_text(data, size));
  converters(data, size);
  return 0;
}
