#include "linux/path.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <deque>
#include <optional>
#include <vector>

#include "sys/mount_api.h"

namespace husk::linux {

namespace {

// Linux's own limit on symlinks followed in one lookup.
constexpr int kMaxSymlinks = 40;
constexpr uint64_t kInRoot = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
// For a single name just created under an fd we hold: no symlink at all.
constexpr uint64_t kBeneathNoLinks = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;

template <class Out>
void split_into(std::string_view path, Out& out) {
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
}

// "/a/b" from {"a", "b"}; "/" from none.
template <class Parts>
std::string join(const Parts& parts) {
  if (parts.empty()) return "/";
  std::string out;
  for (const auto& p : parts) {
    out += '/';
    out += p;
  }
  return out;
}

// Opens one component below a directory fd we already trust. No O_NOFOLLOW:
// with it O_PATH would return the symlink itself; RESOLVE_NO_SYMLINKS then
// refuses a symlink with ELOOP instead.
Result<UniqueFd> open_child_no_symlinks(int dir_fd, const std::string& name, int flags) {
  return sys::openat2(dir_fd, name.c_str(), flags, 0, kBeneathNoLinks);
}

// A procfs "magic link" (/proc/<pid>/fd/N, cwd, root, exe, ns/*): readlink
// gives text, but following it jumps to whatever the kernel object is, so it
// is never followed as a symlink. Procfs's plain symlinks ("self", "mounts")
// resolve with RESOLVE_NO_MAGICLINKS; a magic one gives ELOOP.
bool is_magic_link(int dir_fd, const std::string& name) {
  struct statfs sf {};
  if (::fstatfs(dir_fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC) return false;
  auto fd = sys::openat2(dir_fd, name.c_str(), O_PATH, 0, RESOLVE_NO_MAGICLINKS);
  return !fd && fd.error().code == ELOOP;
}

}  // namespace

std::string clean_path(std::string_view path) {
  std::vector<std::string_view> parts;
  split_into(path, parts);
  std::vector<std::string_view> kept;
  for (auto p : parts) {
    if (p == ".") continue;
    if (p == "..") {
      if (!kept.empty()) kept.pop_back();
      continue;
    }
    kept.push_back(p);
  }
  return join(kept);
}

std::string proc_fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

Result<UniqueFd> open_in_root(int root_fd, std::string_view path, int flags, mode_t mode) {
  std::string p(path);
  if (p.empty()) p = "/";
  auto r = sys::openat2(root_fd, p.c_str(), static_cast<uint64_t>(flags), mode, kInRoot);
  if (!r) return fail(r.error().code, "open \"{}\" in rootfs", p);
  return r;
}

Result<std::string> resolve_in_root(int root_fd, std::string_view path) {
  std::vector<std::string> done;  // resolved so far: existing, symlink-free
  std::deque<std::string> todo;
  split_into(path, todo);
  int links = 0;
  bool missing = false;  // below a missing directory nothing can be a symlink
  while (!todo.empty()) {
    std::string comp = std::move(todo.front());
    todo.pop_front();
    if (comp == ".") continue;
    if (comp == "..") {
      if (!done.empty()) done.pop_back();
      missing = false;
      continue;
    }
    if (!missing) {
      auto parent = open_in_root(root_fd, join(done), O_PATH | O_DIRECTORY);
      if (!parent) {
        if (parent.error().code != ENOENT) return std::unexpected(std::move(parent).error());
        missing = true;
      } else {
        char buf[PATH_MAX];
        ssize_t n = ::readlinkat(parent->get(), comp.c_str(), buf, sizeof buf);
        if (n >= 0 && is_magic_link(parent->get(), comp))
          return fail(ELOOP, "resolve \"{}\" in rootfs: \"{}\" is a magic link", path, comp);
        if (n >= 0) {
          if (++links > kMaxSymlinks) return fail(ELOOP, "resolve \"{}\" in rootfs", path);
          std::string_view target(buf, static_cast<size_t>(n));
          if (target.starts_with('/')) done.clear();
          std::deque<std::string> more;
          split_into(target, more);
          todo.insert(todo.begin(), more.begin(), more.end());
          continue;
        }
        if (errno == ENOENT) {
          missing = true;
        } else if (errno != EINVAL) {
          return fail_errno("resolve \"{}\" in rootfs", path);
        }
      }
    }
    done.push_back(std::move(comp));
  }
  return join(done);
}

namespace {

// The common miss in one step: only the last component is missing, below a
// directory that resolves (a mount point in a fresh tmpfs, e.g. each
// /sys/fs/cgroup/<controller>): mkdir it there and open it, no symlink
// allowed. Anything else (dots, a dangling symlink, a deeper miss) is left
// to the full walk: nullopt.
std::optional<Result<UniqueFd>> mkdir_last_in_root(int root_fd, std::string_view path,
                                                   mode_t mode) {
  std::vector<std::string_view> parts;
  split_into(path, parts);
  if (parts.empty()) return std::nullopt;
  for (auto p : parts)
    if (p == "." || p == "..") return std::nullopt;
  std::string name(parts.back());
  parts.pop_back();
  auto parent = open_in_root(root_fd, join(parts), O_PATH | O_DIRECTORY);
  if (!parent || ::mkdirat(parent->get(), name.c_str(), mode) < 0) return std::nullopt;
  auto fd = open_child_no_symlinks(parent->get(), name, O_PATH | O_DIRECTORY);
  if (!fd) return fail(fd.error().code, "mkdir \"{}\" in rootfs", path);
  return fd;
}

}  // namespace

Result<UniqueFd> mkdir_all_in_root(int root_fd, std::string_view path, mode_t mode) {
  if (auto fd = open_in_root(root_fd, path, O_PATH | O_DIRECTORY)) return fd;
  else if (fd.error().code != ENOENT)
    return fail(fd.error().code, "mkdir \"{}\" in rootfs", path);
  if (auto fd = mkdir_last_in_root(root_fd, path, mode)) return std::move(*fd);

  auto resolved = resolve_in_root(root_fd, path);
  if (!resolved) return fail(resolved.error().code, "mkdir \"{}\" in rootfs", path);
  std::vector<std::string> parts;
  split_into(*resolved, parts);

  HUSK_TRY_ASSIGN(UniqueFd cur, open_in_root(root_fd, "/", O_PATH | O_DIRECTORY));
  std::string made;
  for (const auto& comp : parts) {
    made += '/';
    made += comp;
    // mkdirat never follows a final symlink (EEXIST); the open below refuses
    // one, so a symlink swapped in meanwhile is an error, not an escape.
    if (::mkdirat(cur.get(), comp.c_str(), mode) < 0 && errno != EEXIST)
      return fail_errno("mkdir \"{}\" in rootfs", made);
    auto next = open_child_no_symlinks(cur.get(), comp, O_PATH | O_DIRECTORY);
    if (!next) return fail(next.error().code, "mkdir \"{}\" in rootfs", made);
    cur = std::move(*next);
  }
  return cur;
}

Result<UniqueFd> create_mountpoint(int root_fd, std::string_view path, bool directory) {
  if (directory) return mkdir_all_in_root(root_fd, path, 0755);
  if (auto fd = open_in_root(root_fd, path, O_PATH)) return fd;
  else if (fd.error().code != ENOENT)
    return fail(fd.error().code, "create \"{}\" in rootfs", path);

  auto resolved = resolve_in_root(root_fd, path);
  if (!resolved) return fail(resolved.error().code, "create \"{}\" in rootfs", path);
  if (*resolved == "/") return fail(EISDIR, "create \"{}\" in rootfs", path);
  size_t slash = resolved->rfind('/');
  std::string dir = slash == 0 ? "/" : resolved->substr(0, slash);
  std::string base = resolved->substr(slash + 1);

  HUSK_TRY_ASSIGN(UniqueFd parent, mkdir_all_in_root(root_fd, dir, 0755));
  UniqueFd file(::openat(parent.get(), base.c_str(),
                         O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!file && errno != EEXIST) return fail_errno("create \"{}\" in rootfs", path);
  // EEXIST: someone made it meanwhile; take it unless it is a symlink.
  auto fd = open_child_no_symlinks(parent.get(), base, O_PATH);
  if (!fd) return fail(fd.error().code, "create \"{}\" in rootfs", path);
  return fd;
}

}  // namespace husk::linux
