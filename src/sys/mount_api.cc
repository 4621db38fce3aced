#include "sys/mount_api.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string_view>

namespace husk::sys {

namespace {
constexpr int kOpenat2Retries = 64;
}

Result<UniqueFd> openat2(int dirfd, const char* path, uint64_t flags, uint64_t mode,
                         uint64_t resolve) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.mode = mode;
  how.resolve = resolve;
  for (int i = 0; i < kOpenat2Retries; ++i) {
    long fd = ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    if (errno != EAGAIN && errno != EINTR) break;
  }
  return fail_errno("openat2");
}

Result<void> mount_setattr(int dirfd, const char* path, unsigned flags, uint64_t attr_set,
                           uint64_t attr_clr, uint64_t propagation) {
  mount_attr attr{};
  attr.attr_set = attr_set;
  attr.attr_clr = attr_clr;
  attr.propagation = propagation;
  if (::mount_setattr(dirfd, path, flags, &attr, sizeof attr) < 0)
    return fail_errno("mount_setattr");
  return ok();
}

Result<UniqueFd> open_tree(int dirfd, const char* path, unsigned flags) {
  int fd = ::open_tree(dirfd, path, flags | OPEN_TREE_CLOEXEC);
  if (fd < 0) return fail_errno("open_tree");
  return UniqueFd(fd);
}

Result<void> move_mount(int from_dirfd, const char* from_path, int to_dirfd,
                        const char* to_path, unsigned flags) {
  if (::move_mount(from_dirfd, from_path, to_dirfd, to_path, flags) < 0)
    return fail_errno("move_mount");
  return ok();
}

Result<UniqueFd> fsopen(const char* fs_type) {
  int fd = ::fsopen(fs_type, FSOPEN_CLOEXEC);
  if (fd < 0) return fail_errno("fsopen");
  return UniqueFd(fd);
}

Result<void> fsconfig(int fs_fd, unsigned cmd, const char* key, const char* value, int aux) {
  if (::fsconfig(fs_fd, cmd, key, value, aux) == 0) return ok();
  int err = errno;
  // The context queues its messages as "e tmpfs: Bad value for 'size'".
  char buf[256];
  ssize_t n = ::read(fs_fd, buf, sizeof buf);
  while (n > 0 && buf[n - 1] == '\n') --n;
  if (n > 2 && buf[1] == ' ') return fail(err, "{}", std::string_view(buf + 2, size_t(n - 2)));
  return fail(err, "fsconfig");
}

Result<UniqueFd> fsmount(int fs_fd, unsigned attr_flags) {
  int fd = ::fsmount(fs_fd, FSMOUNT_CLOEXEC, attr_flags);
  if (fd < 0) return fail_errno("fsmount");
  return UniqueFd(fd);
}

bool has_new_mount_api() {
  // 0: not probed yet, 1: present, 2: absent. A plain int: no static initializer.
  static int state = 0;
  if (state == 0) {
    // An invalid call: EBADF/EINVAL where the syscall exists, ENOSYS where not.
    long r = ::syscall(SYS_mount_setattr, -1, "", 0, nullptr, 0);
    state = r < 0 && errno == ENOSYS ? 2 : 1;
  }
  return state == 1;
}

}  // namespace husk::sys
