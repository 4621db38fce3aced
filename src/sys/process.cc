#include "sys/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <utility>

#include "base/file.h"

namespace husk::sys {
namespace {

// clone3's arguments for a child that ends with SIGCHLD, born into the
// cgroup2 directory cgroup_fd when it is one.
clone_args child_args(uint64_t flags, int cgroup_fd) {
  clone_args args{};
  args.flags = flags;
  args.exit_signal = SIGCHLD;
  if (cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
  }
  return args;
}

}  // namespace

Result<pid_t> clone3(uint64_t flags, int* pidfd, int cgroup_fd) {
  clone_args args = child_args(flags, cgroup_fd);
  if (pidfd != nullptr) {
    args.flags |= CLONE_PIDFD;
    args.pidfd = reinterpret_cast<uint64_t>(pidfd);
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

Result<ChildStack> ChildStack::make(size_t size) {
  size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  size = (size + page - 1) / page * page;
  void* p = ::mmap(nullptr, size + page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (p == MAP_FAILED) return fail_errno("map a child stack of {} bytes", size);
  if (::mprotect(p, page, PROT_NONE) < 0) {
    int err = errno;
    ::munmap(p, size + page);
    return fail(err, "guard page of a child stack");
  }
  ChildStack s;
  s.base_ = p;
  s.total_ = size + page;
  return s;
}

ChildStack::ChildStack(ChildStack&& o) noexcept
    : base_(std::exchange(o.base_, nullptr)), total_(o.total_) {}

ChildStack& ChildStack::operator=(ChildStack&& o) noexcept {
  if (this != &o) {
    if (base_ != nullptr) ::munmap(base_, total_);
    base_ = std::exchange(o.base_, nullptr);
    total_ = o.total_;
  }
  return *this;
}

ChildStack::~ChildStack() {
  if (base_ != nullptr) ::munmap(base_, total_);
}

void* ChildStack::low() const {
  return static_cast<char*>(base_) + ::sysconf(_SC_PAGESIZE);
}

size_t ChildStack::size() const { return total_ - static_cast<size_t>(::sysconf(_SC_PAGESIZE)); }

Result<pid_t> clone3_shared_vm(uint64_t flags, int cgroup_fd, const ChildStack& stack,
                               void (*entry)(void*), void* arg) {
#if defined(__x86_64__)
  clone_args args = child_args(flags | CLONE_VM, cgroup_fd);
  args.stack = reinterpret_cast<uint64_t>(stack.low());
  args.stack_size = stack.size();
  // The child starts after the syscall instruction with the parent's
  // registers, rax = 0 and rsp at the top of the new stack (16-byte aligned,
  // as the ABI wants before a call). entry and arg ride in callee-saved
  // registers; the parent gets them back untouched.
  register long rax asm("rax") = SYS_clone3;
  register clone_args* rdi asm("rdi") = &args;
  register size_t rsi asm("rsi") = sizeof args;
  register void (*r12)(void*) asm("r12") = entry;
  register void* r13 asm("r13") = arg;
  asm volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      "xor %%ebp, %%ebp\n\t"  // the child: no frame above this one
      "mov %%r13, %%rdi\n\t"
      "call *%%r12\n\t"
      "xor %%edi, %%edi\n\t"
      "mov %[exit], %%eax\n\t"
      "syscall\n\t"
      "hlt\n\t"
      "1:\n\t"
      : "+r"(rax)
      : "r"(rdi), "r"(rsi), "r"(r12), "r"(r13), [exit] "i"(SYS_exit)
      : "rcx", "r11", "memory");
  if (rax < 0) return fail(static_cast<int>(-rax), "clone3");
  return static_cast<pid_t>(rax);
#else
  (void)flags, (void)cgroup_fd, (void)stack, (void)entry, (void)arg;
  return fail(ENOSYS, "clone3 with a shared address space");
#endif
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

Result<UniqueFd> pidfd_getfd(int pidfd, int target_fd) {
  long fd = ::syscall(SYS_pidfd_getfd, pidfd, target_fd, 0);
  if (fd < 0) return fail_errno("pidfd_getfd {}", target_fd);
  return UniqueFd(static_cast<int>(fd));
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

Result<ProcessRef> process_ref(pid_t pid) {
  HUSK_TRY_ASSIGN(ProcessStat st, process_stat(pid));
  return ProcessRef{pid, st.start_time};
}

std::string format_ref(const ProcessRef& ref) {
  return fmt::format("{} {}", ref.pid, ref.start_time);
}

std::optional<ProcessRef> parse_ref(std::string_view text) {
  std::string line(text.substr(0, text.find('\n')));
  long long pid = 0;
  unsigned long long start = 0;
  char extra = 0;
  if (std::sscanf(line.c_str(), "%lld %llu %c", &pid, &start, &extra) != 2 || pid <= 0 ||
      pid > INT_MAX)
    return std::nullopt;
  return ProcessRef{static_cast<pid_t>(pid), start};
}

bool is_alive(const ProcessRef& ref) {
  auto st = process_stat(ref.pid);
  return st && st->state != 'Z' && st->state != 'X' && st->start_time == ref.start_time;
}

Result<void> close_from_except(int first, std::span<const int> keep) {
  // Kept fds in ascending order, below the range dropped: the gaps between them close.
  int kept[16];
  size_t n = 0;
  for (int fd : keep) {
    if (fd < first) continue;
    if (n == std::size(kept)) return fail(EINVAL, "close fds: too many to keep");
    size_t i = n++;
    for (; i > 0 && kept[i - 1] > fd; --i) kept[i] = kept[i - 1];
    kept[i] = fd;
  }
  unsigned low = static_cast<unsigned>(first);
  for (size_t i = 0; i <= n; ++i) {
    unsigned high = i < n ? static_cast<unsigned>(kept[i]) : ~0U;
    if (high > low && ::syscall(SYS_close_range, low, high - 1, 0) < 0)
      return fail_errno("close_range {}..{}", low, high - 1);
    if (i < n) low = high + 1;
  }
  return ok();
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

namespace {

struct HoldArgs {
  int fd;
  pid_t parent;
};

// The child of hold_open_past_exit. It shares the parent's memory (and so
// its thread's TLS: errno), so only plain syscalls, none of which fails here.
int hold_child(void* p) {
  const HoldArgs a = *static_cast<HoldArgs*>(p);
  sigset_t all;
  ::sigfillset(&all);
  ::sigprocmask(SIG_BLOCK, &all, nullptr);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != a.parent) return 0;  // the parent is gone already
  // Nothing else is kept open: a pipe on stdout must see its end when the
  // parent exits, not when this child does.
  if (a.fd > 0) ::close_range(0, a.fd - 1, 0);
  ::close_range(a.fd + 1, ~0U, 0);
  for (;;) ::pause();
}

}  // namespace

void hold_open_past_exit(int fd) {
  if (fd < 0) return;
  // CLONE_VM: the child gets its own descriptor table but shares our memory,
  // so no page tables are copied and we take no copy-on-write faults after
  // it (a fork of husk costs ~0.2 ms). Its stack (and the arguments, at the
  // stack's far end) is never unmapped: it lives as long as we do.
  constexpr size_t kStack = 64 * 1024;
  void* mem = ::mmap(nullptr, kStack, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (mem == MAP_FAILED) return;
  auto* args = static_cast<HoldArgs*>(mem);
  *args = {fd, ::getpid()};
  char* top = static_cast<char*>(mem) + kStack;
  if (::clone(hold_child, top, CLONE_VM | SIGCHLD, args) < 0) ::munmap(mem, kStack);
}

}  // namespace husk::sys
