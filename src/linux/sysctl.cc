#include "linux/sysctl.h"

#include <linux/openat2.h>

namespace husk::linux {

Result<std::string> sysctl_path(std::string_view key) {
  bool slashes = key.find('/') != std::string_view::npos;
  char sep = slashes ? '/' : '.';
  std::string out;
  size_t i = 0;
  while (i <= key.size()) {
    size_t j = key.find(sep, i);
    if (j == std::string_view::npos) j = key.size();
    std::string_view part = key.substr(i, j - i);
    if (part.empty() || part == "." || part == "..")
      return fail(EINVAL, "sysctl \"{}\": invalid key", key);
    if (!out.empty()) out += '/';
    out += part;
    i = j + 1;
  }
  return out;
}

Result<void> apply_sysctl(const Procfs& proc, const std::map<std::string, std::string>& sysctl) {
  for (const auto& [key, value] : sysctl) {
    HUSK_TRY_ASSIGN(std::string rel, sysctl_path(key));
    // Validated above; beneath a procfs of our own, with no symlink, magic
    // link or mount crossing on the way (proc.open_file).
    auto r = proc.write("sys/" + rel, value, RESOLVE_NO_SYMLINKS);
    if (!r) return std::move(r).context("sysctl \"{}\"", key);
  }
  return ok();
}

}  // namespace husk::linux
