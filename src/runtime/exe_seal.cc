#include "runtime/exe_seal.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <string>
#include <string_view>

#include "base/log.h"
#include "base/unique_fd.h"

namespace husk::runtime {
namespace {

constexpr int kWriteSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

// The binary's path as the kernel knows it; "" when it was deleted or
// replaced on disk since we started (the overlay would show the new file).
std::string own_path() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  std::string_view p(buf, static_cast<size_t>(n));
  if (p.front() != '/' || p.ends_with(" (deleted)")) return {};
  return std::string(p);
}

// overlayfs separates lower layers with ':' and takes '\' as an escape.
std::string escape_layer(std::string_view dir) {
  std::string out;
  for (char c : dir) {
    if (c == ':' || c == '\\' || c == ',') out += '\\';
    out += c;
  }
  return out;
}

Result<void> set_string(int fs, const char* key, const std::string& value) {
  if (::fsconfig(fs, FSCONFIG_SET_STRING, key, value.c_str(), 0) < 0)
    return fail_errno("overlay {}", key);
  return ok();
}

// A detached, read-only overlay of two lower layers and no upper one: dir on
// top of the root of an empty detached tmpfs (overlayfs needs two lower layers
// to go without an upper layer, and they may not overlap). With no upper layer
// the overlay cannot be written at all, even if its mount were made writable
// again. Returns the overlay's mount fd.
Result<UniqueFd> sealed_overlay(const std::string& dir) {
  UniqueFd tmpfs_ctx(::fsopen("tmpfs", FSOPEN_CLOEXEC));
  if (!tmpfs_ctx) return fail_errno("fsopen tmpfs");
  if (::fsconfig(tmpfs_ctx.get(), FSCONFIG_SET_STRING, "size", "4k", 0) < 0 ||
      ::fsconfig(tmpfs_ctx.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
    return fail_errno("create tmpfs");
  UniqueFd empty(::fsmount(tmpfs_ctx.get(), FSMOUNT_CLOEXEC,
                           MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID |
                               MOUNT_ATTR_NOEXEC));
  if (!empty) return fail_errno("fsmount tmpfs");

  UniqueFd ovl_ctx(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (!ovl_ctx) return fail_errno("fsopen overlay");
  // The bottom layer by the runtime's own fd, on the host's /proc, before any
  // container exists.
  HUSK_TRY(set_string(ovl_ctx.get(), "lowerdir",
                      escape_layer(dir) + ":/proc/self/fd/" + std::to_string(empty.get())));
  if (::fsconfig(ovl_ctx.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
    return fail_errno("create overlay");
  UniqueFd ovl(::fsmount(ovl_ctx.get(), FSMOUNT_CLOEXEC,
                         MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID));
  if (!ovl) return fail_errno("fsmount overlay");
  return ovl;
}

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_ino == b.st_ino && a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
         a.st_mtim.tv_nsec == b.st_mtim.tv_nsec && S_ISREG(b.st_mode);
}

// Re-executes from the overlay; returns only when that could not be done.
Result<void> exec_from_overlay(int self, char** argv, char** envp) {
  std::string path = own_path();
  if (path.empty()) return fail(ENOENT, "the binary was replaced on disk");
  size_t slash = path.rfind('/');
  std::string dir = slash == 0 ? "/" : path.substr(0, slash);
  std::string name = path.substr(slash + 1);
  HUSK_TRY_ASSIGN(UniqueFd ovl, sealed_overlay(dir));
  // The file the overlay shows must be the one we run: not one mounted over
  // it, not a newer one.
  struct stat want {}, got {};
  if (::fstat(self, &want) < 0 ||
      ::fstatat(ovl.get(), name.c_str(), &got, AT_SYMLINK_NOFOLLOW) < 0 || !same_file(want, got))
    return fail(ESTALE, "the overlay does not show the running binary");
  // By name relative to the mount: the new comm is the binary's name.
  ::syscall(SYS_execveat, ovl.get(), name.c_str(), argv, envp, 0);
  return fail_errno("execveat overlay");
}

Result<void> exec_from_memfd(int self, char** argv, char** envp) {
  struct stat st {};
  if (::fstat(self, &st) < 0) return fail_errno("stat");
  UniqueFd copy(::memfd_create("husk", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!copy) return fail_errno("memfd_create");
  if (::ftruncate(copy.get(), st.st_size) < 0) return fail_errno("size the copy");
  off_t offset = 0;
  while (offset < st.st_size) {
    ssize_t n = ::sendfile(copy.get(), self, &offset, static_cast<size_t>(st.st_size - offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail_errno("copy the binary");
  }
  if (::fcntl(copy.get(), F_ADD_SEALS, kWriteSeals) < 0) return fail_errno("seal the copy");
  ::syscall(SYS_execveat, copy.get(), "", argv, envp, AT_EMPTY_PATH);
  return fail_errno("execveat memfd");
}

}  // namespace

bool executable_is_sealed(int fd) {
  int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals >= 0 && (seals & F_SEAL_WRITE) != 0) return true;
  struct statvfs sv {};
  return ::fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_RDONLY) != 0;
}

Result<void> seal_own_executable(char** argv, char** envp) {
  UniqueFd self(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self) return fail_errno("seal the runtime binary: open /proc/self/exe");
  if (executable_is_sealed(self.get())) return ok();
  auto overlay = exec_from_overlay(self.get(), argv, envp);
  log::debug("runtime binary: no overlay seal ({}), copying it to a sealed memfd",
             overlay.error().what());
  return exec_from_memfd(self.get(), argv, envp).context("seal the runtime binary");
}

}  // namespace husk::runtime
