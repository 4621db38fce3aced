#include "linux/sysctl.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <unistd.h>

#include "sys/mount_api.h"

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

Result<void> apply_sysctl(const std::map<std::string, std::string>& sysctl) {
  if (sysctl.empty()) return ok();
  UniqueFd dir(::open("/proc/sys", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return fail_errno("open \"/proc/sys\"");
  for (const auto& [key, value] : sysctl) {
    HUSK_TRY_ASSIGN(std::string rel, sysctl_path(key));
    // Validated above; RESOLVE_BENEATH|NO_XDEV also keeps any symlink or
    // mount inside /proc/sys from taking the write elsewhere.
    auto fd = sys::openat2(dir.get(), rel.c_str(), O_WRONLY, 0,
                           RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV);
    if (!fd) return fail(fd.error().code, "sysctl \"{}\"", key);
    ssize_t n = ::write(fd->get(), value.data(), value.size());
    if (n < 0) return fail_errno("sysctl \"{}\": write \"{}\"", key, value);
    if (static_cast<size_t>(n) != value.size())
      return fail(EIO, "sysctl \"{}\": short write", key);
  }
  return ok();
}

}  // namespace husk::linux
