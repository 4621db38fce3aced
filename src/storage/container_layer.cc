#include "storage/container_layer.h"

#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <optional>
#include <utility>

#include "base/file.h"
#include "base/log.h"
#include "sys/process.h"

namespace husk::storage {

namespace {

constexpr const char* kOwnerFile = "owner";
// How long a layer without an owner record is taken to be in the making.
constexpr time_t kOwnerGraceSeconds = 60;

Result<void> write_owner(const std::string& dir, const sys::ProcessRef& o) {
  return write_file_atomic(dir + "/" + kOwnerFile, sys::format_ref(o) + "\n", 0600,
                           Durability::kVolatile);
}

std::optional<sys::ProcessRef> read_owner(const std::string& dir) {
  auto text = read_file(dir + "/" + kOwnerFile);
  if (!text) return std::nullopt;
  return sys::parse_ref(*text);
}

Result<sys::ProcessRef> owner_of(pid_t pid) {
  auto ref = sys::process_ref(pid);
  if (!ref) return fail(ESRCH, "start time of pid {}", pid);
  return *ref;
}

// A container id is a single file name (runc's rule is stricter still).
Result<void> check_id(const std::string& id) {
  if (id.empty() || id == "." || id == ".." || id.find('/') != std::string::npos)
    return fail(EINVAL, "container layer {:?}: not a valid container id", id);
  return ok();
}

Result<void> remove_tree(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) return fail(ec.value(), "remove container layer {:?}", dir);
  return ok();
}

// mkdir with exactly `mode` (no umask).
Result<void> make_dir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) < 0) return fail_errno("create {:?}", path);
  if (::chmod(path.c_str(), mode) < 0) return fail_errno("chmod {:?}", path);
  return ok();
}

// The overlay's "/" shows the upper's root: give it the lower root's mode and owner.
Result<void> make_upper(const std::string& upper, const std::string& lower_root) {
  struct stat st {};
  if (::stat(lower_root.c_str(), &st) < 0) return fail_errno("{:?}", lower_root);
  HUSK_TRY(make_dir(upper, st.st_mode & 07777));
  if (::chown(upper.c_str(), st.st_uid, st.st_gid) < 0) return fail_errno("chown {:?}", upper);
  if (::chmod(upper.c_str(), st.st_mode & 07777) < 0) return fail_errno("chmod {:?}", upper);
  return ok();
}

// The id's directory, made fresh: a dead owner's is removed first, unless
// reused. Returns whether it existed (and was kept).
Result<bool> claim_dir(const std::string& dir, bool reuse) {
  if (::mkdir(dir.c_str(), 0700) == 0) return false;
  if (errno != EEXIST) return fail_errno("create {:?}", dir);
  if (layer_is_live(dir)) {
    auto o = read_owner(dir);
    return fail(EBUSY, "container layer {:?}: in use by pid {}", dir, o ? o->pid : 0);
  }
  if (reuse) return true;
  HUSK_TRY(remove_tree(dir));
  if (::mkdir(dir.c_str(), 0700) < 0) return fail_errno("create {:?}", dir);
  return false;
}

// mkdir unless it exists (a reused layer's directories).
Result<void> keep_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) < 0 && errno != EEXIST) return fail_errno("create {:?}", path);
  return ok();
}

}  // namespace

LayerPaths layer_paths(const std::string& root, const std::string& id) {
  std::string dir = root + "/" + id;
  return {dir, dir + "/upper", dir + "/work", dir + "/merged"};
}

Result<std::string> check_lower(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) < 0) return fail_errno("{:?}", path);
  if (!S_ISDIR(st.st_mode)) return fail(ENOTDIR, "{:?}", path);
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return fail_errno("{:?}", path);
  return std::string(buf);
}

Result<ContainerLayer> ContainerLayer::prepare(const LayerOptions& o) {
  HUSK_TRY(check_id(o.id));
  HUSK_TRY_ASSIGN(sys::ProcessRef self, owner_of(::getpid()));
  HUSK_TRY(make_dirs(o.root, 0700));
  ContainerLayer l;
  l.paths_ = layer_paths(o.root, o.id);
  HUSK_TRY_ASSIGN(bool kept, claim_dir(l.paths_.dir, o.reuse));
  if (kept) {
    // The container's own writes: never removed by a failed start.
    HUSK_TRY(write_owner(l.paths_.dir, self));
    HUSK_TRY(keep_dir(l.paths_.merged));
    if (!o.writable) {
      l.paths_.upper.clear();
      l.paths_.work.clear();
      return l;
    }
    struct stat st {};
    if (::stat(l.paths_.upper.c_str(), &st) < 0) HUSK_TRY(make_upper(l.paths_.upper, o.lower_root));
    HUSK_TRY(keep_dir(l.paths_.work));
    return l;
  }
  l.armed_ = true;  // from here on, the destructor removes what exists
  HUSK_TRY(write_owner(l.paths_.dir, self));
  HUSK_TRY(make_dir(l.paths_.merged, 0700));
  if (o.writable) {
    HUSK_TRY(make_upper(l.paths_.upper, o.lower_root));
    HUSK_TRY(make_dir(l.paths_.work, 0700));
  } else {
    l.paths_.upper.clear();
    l.paths_.work.clear();
  }
  return l;
}

ContainerLayer::ContainerLayer(ContainerLayer&& o) noexcept
    : paths_(std::move(o.paths_)), armed_(std::exchange(o.armed_, false)) {}

ContainerLayer::~ContainerLayer() {
  if (!armed_) return;
  if (auto r = remove(); !r) log::warn("{}", r.error().what());
}

Result<void> ContainerLayer::hand_to(pid_t pid) {
  HUSK_TRY_ASSIGN(sys::ProcessRef o, owner_of(pid));
  return write_owner(paths_.dir, o).context("container layer {:?}", paths_.dir);
}

Result<void> ContainerLayer::remove() {
  armed_ = false;
  return remove_tree(paths_.dir);
}

bool layer_is_live(const std::string& dir) {
  // A zombie has left its namespaces already: the overlay is gone with them.
  if (auto o = read_owner(dir)) return sys::is_alive(*o);
  struct stat st {};
  if (::lstat(dir.c_str(), &st) < 0) return false;
  return st.st_mtime + kOwnerGraceSeconds > ::time(nullptr);
}

std::vector<std::string> reclaim_stale(const std::string& root) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    if (!entry.is_directory(ec) || entry.is_symlink(ec)) continue;
    std::string dir = entry.path().string();
    if (layer_is_live(dir)) continue;
    if (auto r = remove_tree(dir); !r) {
      log::warn("{}", r.error().what());
      continue;
    }
    removed.push_back(entry.path().filename().string());
  }
  return removed;
}

}  // namespace husk::storage
