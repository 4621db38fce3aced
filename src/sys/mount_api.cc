#include "sys/mount_api.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

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

}  // namespace husk::sys
