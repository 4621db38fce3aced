// /proc/self/mountinfo and /proc/self/cgroup text: the cgroup layout parser
// (cgroup/layout.h), the /proc/self/cgroup parser and linux::parse_mountinfo.
// The same text stands in for the cgroup2 root's cgroup.controllers.
#include "cgroup/layout.h"
#include "fuzz_util.h"
#include "linux/mounts.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace husk;
  std::string_view text = fuzz::as_text(data, size);

  auto layout = cgroup::parse_layout(
      text, [&](const std::string&) -> Result<std::string> { return std::string(text); });
  if (layout) {
    for (const auto& h : layout->v1) {
      if (h.controllers.empty()) fuzz::broken("a v1 hierarchy without controllers");
      for (const auto& c : h.controllers)
        if (layout->v1_for(c) == nullptr) fuzz::broken("v1_for misses a listed controller");
    }
    (void)cgroup::mode_name(layout->mode);
  }
  (void)cgroup::parse_proc_cgroup(text);
  if (cgroup::unescape_mountinfo(text).size() > text.size()) fuzz::broken("unescape grew");

  for (const auto& mi : linux::parse_mountinfo(text))
    if (mi.id < 0 || mi.parent < 0) fuzz::broken("a negative mount id");
  return 0;
}
