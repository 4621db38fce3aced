#include "fixtures.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "spec/default_spec.h"

namespace husk::bench {
namespace {

// Allowed unconditionally. The x86_64 table minus what container engines
// refuse by default (module loading, mount, reboot, kexec, bpf, keyrings,
// namespaces, clock setting, ...), plus the i386-only names a 32-bit process
// needs; a name unknown on an architecture is skipped by the compiler.
constexpr const char* kAllowed[] = {
    "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "capget", "capset",
    "chdir", "chmod", "chown", "chown32", "clock_getres", "clock_getres_time64",
    "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close",
    "close_range", "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create",
    "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
    "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group",
    "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark",
    "fchdir", "fchmod", "fchmodat", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64",
    "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr",
    "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
    "ftruncate64", "futex", "futex_time64", "futex_waitv", "futimesat", "getcpu", "getcwd",
    "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid",
    "getgid32", "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp",
    "getpid", "getppid", "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid",
    "getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid", "getsockname",
    "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32",
    "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
    "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents",
    "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit",
    "io_uring_enter", "io_uring_register", "io_uring_setup", "ipc", "kill",
    "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
    "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "_llseek",
    "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "membarrier",
    "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock",
    "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
    "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
    "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
    "munlockall", "munmap", "nanosleep", "newfstatat", "_newselect", "open", "openat",
    "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc",
    "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64",
    "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6", "pselect6_time64",
    "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv",
    "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages",
    "removexattr", "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq",
    "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
    "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
    "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max",
    "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval",
    "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
    "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop",
    "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg",
    "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
    "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid",
    "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid",
    "setreuid32", "setrlimit", "set_robust_list", "setsid", "setsockopt", "set_thread_area",
    "set_tid_address", "setuid", "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget",
    "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn",
    "socketcall", "socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statx",
    "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill",
    "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
    "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
    "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate",
    "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat",
    "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write",
    "writev", "arch_prctl", "modify_ldt", "clone3",
};

nlohmann::json arg(unsigned index, uint64_t value, const char* op, uint64_t value_two = 0) {
  nlohmann::json a{{"index", index}, {"value", value}, {"op", op}};
  if (value_two != 0) a["valueTwo"] = value_two;
  return a;
}

nlohmann::json seccomp_profile(const std::vector<std::string>& arches) {
  nlohmann::json names = nlohmann::json::array();
  for (const char* n : kAllowed) names.push_back(n);
  nlohmann::json rules = nlohmann::json::array();
  rules.push_back({{"names", names}, {"action", "SCMP_ACT_ALLOW"}});
  // personality(2): only the harmless personas, one rule per value.
  for (uint64_t persona : {0x0ULL, 0x8ULL, 0x20000ULL, 0x20008ULL, 0xffffffffULL})
    rules.push_back({{"names", {"personality"}},
                     {"action", "SCMP_ACT_ALLOW"},
                     {"args", {arg(0, persona, "SCMP_CMP_EQ")}}});
  // clone(2) without any CLONE_NEW* flag (0x7E020000).
  rules.push_back({{"names", {"clone"}},
                   {"action", "SCMP_ACT_ALLOW"},
                   {"args", {arg(0, 0, "SCMP_CMP_MASKED_EQ", 0x7E020000)}}});
  // socket(2) for every family but AF_VSOCK (40).
  rules.push_back({{"names", {"socket"}},
                   {"action", "SCMP_ACT_ALLOW"},
                   {"args", {arg(0, 40, "SCMP_CMP_NE")}}});
  // A few names the default action would refuse with EPERM get ENOSYS, so
  // callers fall back (clone3 is listed above for the allow case).
  rules.push_back({{"names", {"open_tree", "move_mount", "fsopen", "fsconfig", "fsmount"}},
                   {"action", "SCMP_ACT_ERRNO"},
                   {"errnoRet", 38}});
  return {{"defaultAction", "SCMP_ACT_ERRNO"},
          {"defaultErrnoRet", 1},
          {"architectures", arches},
          {"syscalls", rules}};
}

}  // namespace

std::string runc_default_config() {
  auto j = nlohmann::json::parse(spec::default_config_json(false));
  j["process"]["terminal"] = false;
  j["process"]["args"] = {"true"};
  return j.dump(1, '\t');
}

std::string docker_like_config(const std::vector<std::string>& arches) {
  auto j = nlohmann::json::parse(runc_default_config());
  j["linux"]["seccomp"] = seccomp_profile(arches);
  return j.dump(1, '\t');
}

ScratchDir::ScratchDir() {
  char shm[] = "/dev/shm/husk-bench.XXXXXX";
  char tmp[] = "/tmp/husk-bench.XXXXXX";
  const char* made = ::mkdtemp(shm);
  if (made == nullptr) made = ::mkdtemp(tmp);
  path_ = made != nullptr ? made : "";
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

void ScratchDir::write(const std::string& rel, const std::string& content) const {
  std::filesystem::path p(path_ + "/" + rel);
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::trunc) << content;
}

void ScratchDir::mkdir(const std::string& rel) const {
  std::filesystem::create_directories(path_ + "/" + rel);
}

int ScratchDir::open(const std::string& rel) const {
  return ::open((path_ + "/" + rel).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace husk::bench
