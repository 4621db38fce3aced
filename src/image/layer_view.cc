#include "image/layer_view.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <vector>

#include "base/file.h"
#include "base/unique_fd.h"
#include "sys/mount_api.h"

namespace husk::image {

namespace {

constexpr uint64_t kResolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;

enum class Verdict { kFound, kAbsent, kBelow };  // what one layer says about the path

bool is_whiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0); }

bool is_opaque(int dirfd) {
  char v[2] = {};
  return ::fgetxattr(dirfd, "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y';
}

struct LayerLookup {
  Verdict verdict = Verdict::kBelow;
  UniqueFd file;
};

Result<LayerLookup> look_up(const std::string& diff, const std::vector<std::string>& parts) {
  auto root = sys::openat2(AT_FDCWD, diff.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, 0);
  if (!root) return fail(root.error().code, "layer {:?}", diff);
  UniqueFd dir = std::move(*root);
  bool opaque = false;  // a directory on the way hides the layers below
  for (size_t i = 0; i < parts.size(); ++i) {
    struct stat st {};
    if (::fstatat(dir.get(), parts[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno != ENOENT) return fail_errno("layer {:?}: {}", diff, parts[i]);
      return LayerLookup{opaque ? Verdict::kAbsent : Verdict::kBelow, {}};
    }
    if (is_whiteout(st) || S_ISLNK(st.st_mode)) return LayerLookup{Verdict::kAbsent, {}};
    bool last = i + 1 == parts.size();
    if (last) {
      if (!S_ISREG(st.st_mode)) return LayerLookup{Verdict::kAbsent, {}};
      auto f = sys::openat2(dir.get(), parts[i].c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0,
                            kResolve);
      if (!f) return fail(f.error().code, "layer {:?}: {}", diff, parts[i]);
      return LayerLookup{Verdict::kFound, std::move(*f)};
    }
    if (!S_ISDIR(st.st_mode)) return LayerLookup{Verdict::kAbsent, {}};
    auto next = sys::openat2(dir.get(), parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
                             kResolve);
    if (!next) return fail(next.error().code, "layer {:?}: {}", diff, parts[i]);
    dir = std::move(*next);
    opaque = opaque || is_opaque(dir.get());
  }
  return LayerLookup{Verdict::kAbsent, {}};  // the path named the layer's root
}

}  // namespace

Result<std::optional<std::string>> read_layered_file(std::span<const std::string> diffs,
                                                     std::string_view path, size_t max_bytes) {
  std::vector<std::string> parts;
  for (size_t at = 0; at <= path.size();) {
    size_t end = path.find('/', at);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(at, end - at);
    if (part == "..") return fail_quiet(EINVAL, "{:?}: \"..\" in an image path", path);
    if (!part.empty() && part != ".") parts.emplace_back(part);
    at = end + 1;
  }
  if (parts.empty()) return std::optional<std::string>();
  for (const std::string& diff : diffs) {
    HUSK_TRY_ASSIGN(LayerLookup l, look_up(diff, parts));
    if (l.verdict == Verdict::kBelow) continue;
    if (l.verdict == Verdict::kAbsent) return std::optional<std::string>();
    struct stat st {};
    if (::fstat(l.file.get(), &st) < 0) return fail_errno("image file {}", path);
    if (static_cast<uint64_t>(st.st_size) > max_bytes)
      return fail_quiet(EFBIG, "image file {}: larger than {} bytes", path, max_bytes);
    std::string text(static_cast<size_t>(st.st_size), '\0');
    size_t got = 0;
    while (got < text.size()) {
      ssize_t n = ::read(l.file.get(), text.data() + got, text.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail_errno("read image file {}", path);
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    text.resize(got);
    return std::optional<std::string>(std::move(text));
  }
  return std::optional<std::string>();
}

}  // namespace husk::image
