#include "linux/cwd.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>

#include "linux/path.h"

namespace husk::linux {
namespace {

Result<UniqueFd> open_cwd(int root_fd, std::string_view cwd, bool create,
                          std::optional<std::pair<uint32_t, uint32_t>> owner) {
  auto dir = open_in_root(root_fd, cwd, O_PATH | O_DIRECTORY);
  if (dir || !create || dir.error().code != ENOENT) return dir;
  HUSK_TRY_ASSIGN(UniqueFd made, mkdir_all_in_root(root_fd, cwd, 0755));
  if (owner && ::fchownat(made.get(), "", owner->first, owner->second, AT_EMPTY_PATH) < 0)
    return fail_errno("chown");
  return made;
}

}  // namespace

Result<void> enter_cwd(std::string_view cwd, bool create,
                       std::optional<std::pair<uint32_t, uint32_t>> owner) {
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return fail_errno("open \"/\"");
  auto dir = open_cwd(root.get(), cwd, create, owner);
  if (!dir && dir.error().code == ELOOP)
    return fail(ELOOP, "cwd {:?}: resolves through a magic link or too many symlinks", cwd);
  if (!dir) return fail(dir.error().code, "cwd {:?}", cwd);
  if (::fchdir(dir->get()) < 0) return fail_errno("chdir to cwd {:?}", cwd);
  // The kernel's own answer: a directory outside our root has no path from
  // it, and getcwd(2) says so (ENOENT, or a path not starting with "/").
  char buf[PATH_MAX];
  if (::syscall(SYS_getcwd, buf, sizeof buf) < 0 || buf[0] != '/')
    return fail(EPERM, "cwd {:?}: outside the container's root", cwd);
  return ok();
}

}  // namespace husk::linux
