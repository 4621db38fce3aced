#include "sys/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>

#include "base/file.h"

namespace husk::sys {

Result<pid_t> clone3(uint64_t flags, int* pidfd, int cgroup_fd) {
  clone_args args{};
  args.flags = flags;
  args.exit_signal = SIGCHLD;
  if (pidfd != nullptr) {
    args.flags |= CLONE_PIDFD;
    args.pidfd = reinterpret_cast<uint64_t>(pidfd);
  }
  if (cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
  }
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid >= 0) return static_cast<pid_t>(pid);
  if (errno != ENOSYS || cgroup_fd >= 0) return fail_errno("clone3");
  // Pre-5.3 kernels: clone() with the same flags (the time namespace
  // cannot be asked for here; the init unshares it itself).
  unsigned long legacy = (flags & ~static_cast<uint64_t>(CLONE_PIDFD)) | SIGCHLD;
  if (pidfd != nullptr) legacy |= CLONE_PIDFD;
  pid = ::syscall(SYS_clone, legacy, 0, pidfd, nullptr, 0);
  if (pid < 0) return fail_errno("clone");
  return static_cast<pid_t>(pid);
}

Result<UniqueFd> pidfd_open(pid_t pid) {
  long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return fail_errno("pidfd_open {}", pid);
  return UniqueFd(static_cast<int>(fd));
}

Result<void> pidfd_send_signal(int pidfd, int sig) {
  if (::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) < 0)
    return fail_errno("send signal {}", sig);
  return ok();
}

Result<void> setns(int fd, int nstype) {
  if (::setns(fd, nstype) < 0) return fail_errno("setns");
  return ok();
}

Result<void> unshare(int flags) {
  if (::unshare(flags) < 0) return fail_errno("unshare");
  return ok();
}

Result<ProcessStat> process_stat(pid_t pid) {
  HUSK_TRY_ASSIGN(std::string stat, read_file(fmt::format("/proc/{}/stat", pid)));
  // comm (field 2) may hold spaces and parens: fields resume after the last ')'.
  size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size())
    return fail(EINVAL, "parse /proc/{}/stat", pid);
  const char* p = stat.c_str() + close + 2;  // at field 3
  ProcessStat out{.state = *p};
  for (int field = 3; field < 22; ++field) {
    p = std::strchr(p, ' ');
    if (p == nullptr) return fail(EINVAL, "parse /proc/{}/stat", pid);
    ++p;
  }
  out.start_time = std::strtoull(p, nullptr, 10);
  return out;
}

Result<uint64_t> process_start_time(pid_t pid) {
  HUSK_TRY_ASSIGN(ProcessStat st, process_stat(pid));
  return st.start_time;
}

Result<void> cloexec_from(int first) {
  if (::syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return ok();
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return fail_errno("open /proc/self/fd");
  int self = ::dirfd(dir);
  while (dirent* e = ::readdir(dir)) {
    int fd = std::atoi(e->d_name);
    if (e->d_name[0] == '.' || fd < first || fd == self) continue;
    int fl = ::fcntl(fd, F_GETFD);
    if (fl >= 0) ::fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
  }
  ::closedir(dir);
  return ok();
}

}  // namespace husk::sys
