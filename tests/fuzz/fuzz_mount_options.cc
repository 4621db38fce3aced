// OCI mount options: the input is a mount, one line each: its type, then one
// option word per line (an option word may hold commas, as in a config.json).
#include <sys/mount.h>

#include <algorithm>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "spec/mount_options.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace husk;
  std::string_view text = fuzz::as_text(data, size);
  std::vector<std::string> lines;
  for (size_t i = 0; i <= text.size();) {
    size_t j = text.find('\n', i);
    if (j == std::string_view::npos) j = text.size();
    lines.emplace_back(text.substr(i, j - i));
    i = j + 1;
  }
  config::Mount m;
  m.type = lines.front();
  m.options.assign(lines.begin() + 1, lines.end());

  spec::MountOptions o = spec::parse_mount_options(m.options);
  if ((o.flags & o.clear_flags) != 0) fuzz::broken("a flag both set and cleared");
  if ((o.recursive_set & o.recursive_clear & ~uint64_t{MOUNT_ATTR__ATIME}) != 0)
    fuzz::broken("a recursive attribute both set and cleared");
  if ((o.recursive_set & MOUNT_ATTR__ATIME) == (MOUNT_ATTR_NOATIME | MOUNT_ATTR_STRICTATIME))
    fuzz::broken("two atime modes at once");
  // data is every other (non-empty, unknown) word, in order: a known word
  // never reaches the filesystem.
  auto known = spec::known_mount_options();
  std::string expect;
  for (const auto& w : m.options) {
    if (w.empty() || std::find(known.begin(), known.end(), w) != known.end()) continue;
    if (!expect.empty()) expect += ',';
    expect += w;
  }
  if (o.data != expect) fuzz::broken("data is not the unknown words in order");

  spec::apply_mount_options(m);
  if (m.bind() && m.type != "bind") fuzz::broken("a bind mount whose type is not bind");
  return 0;
}
