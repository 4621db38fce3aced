#include "linux/procfs.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "base/file.h"
#include "base/log.h"
#include "sys/mount_api.h"

namespace husk::linux {
namespace {

constexpr ino_t kProcRootIno = 1;  // PROC_ROOT_INO
constexpr uint64_t kResolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;

bool on_procfs(int fd) {
  struct statfs fs{};
  return ::fstatfs(fd, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC;
}

// The root of a procfs, not a directory of one bound somewhere (a bind of
// /proc/1 or /proc/sys would pass the magic check alone).
Result<UniqueFd> verified_root(UniqueFd fd, std::string_view how) {
  struct stat st{};
  if (!on_procfs(fd.get())) return fail(EXDEV, "{}: not a procfs", how);
  if (::fstat(fd.get(), &st) < 0) return fail_errno("{}: stat", how);
  if (!S_ISDIR(st.st_mode) || st.st_ino != kProcRootIno)
    return fail(EXDEV, "{}: not the root of a procfs", how);
  return fd;
}

// A new proc instance of our pid namespace, mounted nowhere.
Result<UniqueFd> new_instance() {
  UniqueFd fs(::fsopen("proc", FSOPEN_CLOEXEC));
  if (!fs) return fail_errno("fsopen proc");
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
    return fail_errno("create proc instance");
  UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC,
                         MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC));
  if (!mnt) return fail_errno("fsmount proc");
  return verified_root(std::move(mnt), "new proc instance");
}

// The proc mount at /proc alone, copied and detached: mounts on top of it or
// beneath it are not part of the copy.
Result<UniqueFd> clone_of_proc() {
  auto fd = sys::open_tree(AT_FDCWD, "/proc", OPEN_TREE_CLONE);
  if (!fd) return fail(fd.error().code, "clone /proc");
  return verified_root(std::move(*fd), "clone of /proc");
}

}  // namespace

bool valid_proc_path(std::string_view path) {
  if (path.empty() || path.front() == '/') return false;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view part = path.substr(i, j - i);
    if (part.empty() || part == "." || part == "..") return false;
    i = j + 1;
  }
  return true;
}

Result<Procfs> Procfs::open() {
  auto fresh = new_instance();
  if (fresh) return Procfs(std::move(*fresh));
  auto copy = clone_of_proc();
  if (copy) {
    log::debug("private procfs refused ({}); using a detached clone of /proc",
               fresh.error().what());
    return Procfs(std::move(*copy));
  }
  return fail(copy.error().code, "open a private procfs: {}; {}", fresh.error().what(),
              copy.error().what());
}

Result<UniqueFd> Procfs::open_file(std::string_view path, int flags, uint64_t resolve) const {
  if (!valid_proc_path(path)) return fail(EINVAL, "/proc/{}: invalid path", path);
  if (!root_) return fail(EBADF, "/proc/{}: no procfs handle", path);
  std::string rel(path);
  auto fd = sys::openat2(root_.get(), rel.c_str(), static_cast<uint64_t>(flags) | O_NOCTTY, 0,
                         kResolve | resolve);
  if (!fd) return fail(fd.error().code, "open /proc/{}", path);
  if (!on_procfs(fd->get())) return fail(EXDEV, "/proc/{}: not on procfs", path);
  return std::move(*fd);
}

Result<void> Procfs::write(std::string_view path, std::string_view data, uint64_t resolve) const {
  HUSK_TRY_ASSIGN(UniqueFd fd, open_file(path, O_WRONLY, resolve));
  ssize_t n = ::write(fd.get(), data.data(), data.size());
  if (n < 0) return fail_errno("write /proc/{}", path);
  if (static_cast<size_t>(n) != data.size()) return fail(EIO, "short write to /proc/{}", path);
  return ok();
}

Result<std::string> Procfs::read(std::string_view path) const {
  HUSK_TRY_ASSIGN(UniqueFd fd, open_file(path, O_RDONLY));
  auto text = read_all(fd.get());
  if (!text) return fail(text.error().code, "read /proc/{}", path);
  return text;
}

}  // namespace husk::linux
