#include "runtime/init.h"

#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "base/file.h"
#include "base/log.h"
#include "linux/capabilities.h"
#include "linux/console.h"
#include "linux/cwd.h"
#include "linux/exec_lookup.h"
#include "linux/process.h"
#include "linux/procfs.h"
#include "linux/rootfs.h"
#include "linux/scheduling.h"
#include "linux/sysctl.h"
#include "runtime/hooks.h"
#include "runtime/mount_sources.h"
#include "runtime/seccomp_agent.h"
#include "runtime/state.h"
#include "sys/mount_api.h"
#include "sys/process.h"

namespace husk::runtime {
namespace {

using config::NamespaceType;

// Joins every namespace given by path; the user namespace first so that
// the others are entered with its privileges.
Result<void> join_namespaces(const config::Container& c) {
  auto join = [](const config::Namespace& ns) -> Result<void> {
    UniqueFd fd(::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail_errno("open {} namespace {:?}", proc_name(ns.type), ns.path);
    return sys::setns(fd.get(), clone_flag(ns.type))
        .context("join {} namespace {:?}", proc_name(ns.type), ns.path);
  };
  if (const auto* user = c.find_namespace(NamespaceType::kUser); user && !user->path.empty())
    HUSK_TRY(join(*user));
  for (const auto& ns : c.namespaces) {
    if (ns.path.empty() || ns.type == NamespaceType::kUser || ns.type == NamespaceType::kMount)
      continue;
    HUSK_TRY(join(ns));
  }
  // The mount namespace last: entering it changes what paths mean.
  if (const auto* mnt = c.find_namespace(NamespaceType::kMount); mnt && !mnt->path.empty())
    HUSK_TRY(join(*mnt));
  return ok();
}

Result<void> request_id_maps(SyncSocket& sock) {
  HUSK_TRY(sock.ask(MsgType::kMapRequest, MsgType::kMapped));
  // Become the user namespace's root where it is mapped; a map without 0
  // leaves us as the overflow id, with full capabilities in the namespace.
  // Only the uid for now, as runc: namespaces made next carry our fsgid
  // (e.g. the mqueue group), and the gid is set with the user later.
  if (::setresuid(0, 0, 0) < 0 && errno != EINVAL) return fail_errno("setresuid 0");
  return ok();
}

// The staged path: join, unshare, and fork the real init when the pid
// namespace changes (setns/unshare of a pid namespace only affect children).
Result<void> staged_namespaces(const InitContext& ctx, SyncSocket& sock) {
  const auto& plan = ctx.plan;
  HUSK_TRY(join_namespaces(*ctx.cfg));
  if (plan.new_user) {
    HUSK_TRY(sys::unshare(CLONE_NEWUSER).context("create user namespace"));
    HUSK_TRY(request_id_maps(sock));
  }
  if (plan.unshare_flags != 0)
    HUSK_TRY(sys::unshare(plan.unshare_flags).context("create namespaces"));
  if (!plan.fork_for_pid) return ok();
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork init");
  if (pid > 0) {
    auto sent = sock.send(MsgType::kInitPid, std::to_string(pid));
    ::_exit(sent ? 0 : 1);
  }
  return ok();
}

// Offsets can be written only before any process is in the namespace:
// unshare makes it for our children, write, then move ourselves in.
Result<void> enter_time_namespace(const config::Container& c, const linux::Procfs& proc) {
  HUSK_TRY(sys::unshare(CLONE_NEWTIME).context("create time namespace"));
  std::string offsets;
  for (const auto& [clock, off] : c.time_offsets)
    offsets += fmt::format("{} {} {}\n", clock, off.secs, off.nanosecs);
  if (!offsets.empty())
    HUSK_TRY(proc.write("self/timens_offsets", offsets).context("set time offsets"));
  UniqueFd fd(::open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("open time namespace");
  return sys::setns(fd.get(), CLONE_NEWTIME).context("enter time namespace");
}

Result<void> bring_up_loopback() {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) return fail_errno("socket");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) < 0) return fail_errno("get lo flags");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) < 0) return fail_errno("set lo up");
  return ok();
}

// Whether the init writes anything into /proc (linux/procfs.h).
bool needs_procfs(const config::Container& c) {
  return !c.time_offsets.empty() || !c.sysctl.empty() || c.process.oom_score_adj ||
         !c.process.apparmor_profile.empty() || !c.process.selinux_label.empty();
}

// Opens *proc (when needed) once the pid namespace exists and the mount
// namespace is ours, before any mount of the container.
Result<void> setup_namespaces(const InitContext& ctx, SyncSocket& sock, linux::Procfs* proc) {
  const auto& plan = ctx.plan;
  // Into the container's v1 cgroups by ourselves (cgroup::SelfJoin), with
  // system calls only: it is not our turn yet.
  int join_err = 0;
  int join_failed = ctx.self_join ? cgroup::move_self_into(*ctx.self_join, &join_err) : -1;
  // Not one step before the parent has put us in the rest of them.
  HUSK_TRY(sock.expect(MsgType::kGo));
  if (join_failed >= 0)
    return fail(join_err, "join cgroups: move into {}", ctx.self_join->dirs[join_failed]);
  // Our turn now (with a shared memory, the runtime waits): log::debug may allocate.
  log::debug("init: setting up the container (runc says: \"child process in init()\")");
  if (plan.staged) {
    HUSK_TRY(staged_namespaces(ctx, sock));
  } else if (plan.new_user) {
    HUSK_TRY(request_id_maps(sock));
    if (plan.unshare_after_maps != 0)
      HUSK_TRY(sys::unshare(plan.unshare_after_maps).context("create namespaces"));
  }
  if (plan.new_user && ::setresgid(0, 0, 0) < 0 && errno != EINVAL)
    return fail_errno("setresgid 0");
  if (needs_procfs(*ctx.cfg)) {
    HUSK_TRY_ASSIGN(*proc, linux::Procfs::open());
  }
  if (plan.new_time) HUSK_TRY(enter_time_namespace(*ctx.cfg, *proc));
  if (plan.new_cgroup)
    HUSK_TRY(sys::unshare(CLONE_NEWCGROUP).context("create cgroup namespace"));
  if (plan.new_net) HUSK_TRY(bring_up_loopback().context("network namespace"));
  return ok();
}

Result<void> set_names(const config::Container& c) {
  if (!c.hostname.empty() && ::sethostname(c.hostname.data(), c.hostname.size()) < 0)
    return fail_errno("set hostname {:?}", c.hostname);
  if (!c.domainname.empty() && ::setdomainname(c.domainname.data(), c.domainname.size()) < 0)
    return fail_errno("set domainname {:?}", c.domainname);
  return ok();
}

}  // namespace

// The home directory of uid in the container's /etc/passwd, "/" if none.
std::string home_of(uint32_t uid) {
  auto passwd = read_file("/etc/passwd");
  if (!passwd) return "/";
  std::string_view rest = *passwd;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    // name:password:uid:gid:gecos:home:shell
    std::string_view f[7];
    size_t n = 0;
    for (size_t start = 0; n < 7; ++n) {
      size_t colon = line.find(':', start);
      f[n] = line.substr(start, colon - start);
      if (colon == std::string_view::npos) { ++n; break; }
      start = colon + 1;
    }
    if (n >= 6 && f[2] == std::to_string(uid)) return f[5].empty() ? "/" : std::string(f[5]);
  }
  return "/";
}

// runc's environment rule: HOME comes from the user's passwd entry unless set.
std::vector<std::string> exec_env(const config::Process& p) {
  std::vector<std::string> env = p.env;
  for (const auto& e : env)
    if (e.starts_with("HOME=")) return env;
  env.push_back("HOME=" + home_of(p.user.uid));
  return env;
}

namespace {

void die_on_signal(int sig) { ::_exit(128 + sig); }

// Waits for start: `run` sends kStart; `create` leaves us blocked in
// opening exec.fifo until `start` opens it for reading. Returns the fifo's
// write end (-1 for run), which stays open (close-on-exec) until the
// execve, so that `start` sees EOF once the program runs, or reads why it
// did not. Part of the final stretch: only the stack, and _exit on failure.
int wait_for_start(SyncSocket& sock, bool run_mode, int fifo_dir_fd) {
  if (run_mode) {
    if (!sock.wait_for(MsgType::kStart)) ::_exit(1);
    return -1;
  }
  // A created container is still runtime code, not the user's program: the
  // signals that end a process end it (as runc's init), although as PID 1
  // of its namespace it would ignore them without a handler. The program
  // gets default dispositions back before execve.
  struct sigaction sa{};
  sa.sa_handler = die_on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGTERM}) ::sigaction(sig, &sa, nullptr);
  int fifo = ::openat(fifo_dir_fd, "exec.fifo", O_WRONLY | O_CLOEXEC);
  if (fifo < 0) {
    (void)sock.post(MsgType::kError, "open exec fifo", errno);
    ::_exit(1);
  }
  if (::write(fifo, "0", 1) != 1) {
    (void)sock.post(MsgType::kError, "write exec fifo", errno);
    ::_exit(1);
  }
  return fifo;
}

// pivot_root cannot make the current root the new root of itself. A
// container whose rootfs is the host's "/" (husk's default) gets a
// recursive bind of it on an empty directory of its state dir, made in its
// own mount namespace after "/" became a slave, so nothing reaches the host.
Result<std::optional<config::Container>> stage_host_root(const InitContext& ctx) {
  const config::Container& c = *ctx.cfg;
  if (c.root_path != "/") return std::nullopt;
  if (::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
    return fail_errno("make / a slave mount");
  std::string stage = ctx.state_dir + "/" + kRootfsStage;
  if (::mount("/", stage.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
    return fail_errno("bind / on {}", stage);
  // Read-only all the way down: the host's other mounts (/home, /var...)
  // must not stay writable under a read-only "/".
  constexpr unsigned kAtRecursive = 0x8000;     // AT_RECURSIVE
  constexpr uint64_t kMountAttrRdonly = 0x1;    // MOUNT_ATTR_RDONLY
  if (c.root_readonly) {
    HUSK_TRY(sys::mount_setattr(AT_FDCWD, stage.c_str(), kAtRecursive, kMountAttrRdonly, 0)
                 .context("make {} read-only", stage));
  }
  config::Container staged = c;
  staged.root_path = stage;
  return staged;
}

// Everything the init does, in order. Each step names itself in its errors.
// The runtime's hooks (prestart, createRuntime) run while we wait, then the
// createContainer ones here, in our mount namespace, before pivot_root.
// Returns the state for startContainer hooks.
Result<std::string> container_hooks(SyncSocket& sock, const config::Container& c) {
  const auto& h = c.hooks;
  if (h.prestart.empty() && h.create_runtime.empty() && h.create_container.empty() &&
      h.start_container.empty())
    return std::string();
  HUSK_TRY_ASSIGN(Message m, sock.ask(MsgType::kHooks, MsgType::kHooksDone));
  size_t nl = m.payload.find('\n');
  // As under runc, createContainer hooks run in the rootfs (its self bind,
  // with the config's mounts): hooks written for runc use "./lib/...".
  // startContainer hooks run later in process.cwd, inside the new root.
  if (!h.create_container.empty() && ::chdir(c.root_path.c_str()) < 0)
    return fail_errno("chdir to rootfs {:?} for createContainer hooks", c.root_path);
  HUSK_TRY(run_hooks("createContainer", h.create_container, m.payload.substr(0, nl)));
  return nl == std::string::npos ? std::string() : m.payload.substr(nl + 1);
}

Result<std::string> init_steps(const InitContext& ctx, SyncSocket& sock,
                               std::string* start_state) {
  linux::Procfs proc;
  HUSK_TRY(setup_namespaces(ctx, sock, &proc));
  HUSK_TRY_ASSIGN(std::optional<config::Container> staged, stage_host_root(ctx));
  const config::Container& c = staged ? *staged : *ctx.cfg;
  // Nothing in the container may open /proc/<us>/exe (the runtime binary)
  // or ptrace us while we still run runtime code (CVE-2019-5736). Set after
  // the namespaces: a non-dumpable process cannot write its own timens file.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (::setsid() < 0 && errno != EPERM) return fail_errno("setsid");
  // Bind sources our root in a user namespace may not reach, opened for us.
  HUSK_TRY_ASSIGN(std::vector<UniqueFd> bind_sources, request_mount_sources(sock, c));
  linux::RootfsOptions ro{.in_user_namespace = ctx.plan.new_user ||
                                               c.find_namespace(NamespaceType::kUser) != nullptr,
                          .bind_sources = &bind_sources,
                          .new_cgroup_namespace = ctx.plan.new_cgroup,
                          .no_pivot = ctx.opts->no_pivot};
  HUSK_TRY(linux::prepare_rootfs(c, ro));
  HUSK_TRY_ASSIGN(*start_state, container_hooks(sock, c));
  HUSK_TRY(linux::enter_rootfs(c, ctx.opts->no_pivot));
  HUSK_TRY(set_names(c));
  if (c.process.terminal) {
    HUSK_TRY_ASSIGN(linux::Pty pty, linux::open_container_tty(c.process.user.uid,
                                                               c.process.console_size));
    HUSK_TRY(sock.ask(MsgType::kPty, MsgType::kPtyDone, pty.slave_path, pty.master.get()));
  }
  HUSK_TRY(linux::apply_sysctl(proc, c.sysctl));
  HUSK_TRY(linux::finalize_rootfs(c));
  HUSK_TRY(linux::apply_rlimits(c.process.rlimits));
  if (c.process.oom_score_adj)
    HUSK_TRY(linux::set_oom_score_adj(proc, *c.process.oom_score_adj));
  HUSK_TRY(linux::apply_sched_attrs(c.process, c.personality, linux::ProcessKind::kInit));
  HUSK_TRY(linux::apply_security_labels(proc, c.process));
  proc.close();  // the last write into /proc

  if (!ctx.opts->no_new_keyring) join_session_keyring(ctx.opts->id);
  // CVE-2024-21626: no fd of the runtime's is left for the cwd to name.
  const int keep[] = {sock.fd(), ctx.fifo_dir_fd, log::sink_fd()};
  HUSK_TRY(sys::close_from_except(3 + ctx.opts->preserve_fds, keep).context("close fds"));
  std::optional<std::pair<uint32_t, uint32_t>> cwd_owner;
  if (c.process.cwd_owned_by_user) cwd_owner.emplace(c.process.user.uid, c.process.user.gid);
  HUSK_TRY(linux::enter_cwd(c.process.cwd, /*create=*/true, cwd_owner));
  HUSK_TRY_ASSIGN(std::string path, linux::find_executable(c.process.env, c.process.args[0]));
  // A notify listener fd goes to the runtime, and on to the agent (seccomp_agent.h).
  HUSK_TRY(linux::finalize_process(c.process, ctx.seccomp, notify_fd_sink(sock)));
  HUSK_TRY(sys::cloexec_from(3 + ctx.opts->preserve_fds));
  return path;
}

}  // namespace

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

void reset_signals(const sigset_t& mask) {
  struct sigaction dfl{};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    // glibc keeps 32 and 33 for itself and refuses them (errno, which a
    // process sharing our memory would see change).
    if (sig == SIGKILL || sig == SIGSTOP || (sig > SIGSYS && sig < SIGRTMIN)) continue;
    ::sigaction(sig, &dfl, nullptr);
  }
  ::sigprocmask(SIG_SETMASK, &mask, nullptr);
}

void join_session_keyring(const std::string& id) {
  constexpr long kKeyctlJoinSessionKeyring = 1;
  std::string name = "_ses." + id;
  (void)::syscall(SYS_keyctl, kKeyctlJoinSessionKeyring, name.c_str());
}

bool oom_score_adj_is_ours(const config::Process& p) {
  if (!p.oom_score_adj) return true;
  auto own = read_file("/proc/self/oom_score_adj");
  return own && std::atoi(own->c_str()) == *p.oom_score_adj;
}

bool init_can_share_memory(const config::Container& c, const NamespacePlan& plan) {
  if (plan.staged || plan.fork_for_pid || plan.new_user || plan.new_time) return false;
  if (c.find_namespace(NamespaceType::kUser) != nullptr) return false;
  return c.hooks.start_container.empty() && oom_score_adj_is_ours(c.process);
}

PreparedExec::PreparedExec(const config::Process& p, std::string path)
    : path_(std::move(path)),
      args_(p.args),
      env_(exec_env(p)),
      argv_(c_strings(args_)),
      envp_(c_strings(env_)),
      what_(fmt::format("exec {:?}", args_.empty() ? std::string() : args_[0])) {}

ProgramStart PreparedExec::start(SyncSocket& sock, const sigset_t& mask) const {
  return ProgramStart{.path = path_.c_str(),
                      .argv = argv_.data(),
                      .envp = envp_.data(),
                      .what = what_.c_str(),
                      .sock = &sock,
                      .mask = mask};
}

void start_program(const ProgramStart& p) {
  reset_signals(p.mask);
  ::execve(p.path, p.argv, p.envp);
  int err = errno;
  (void)p.sock->post(MsgType::kError, p.what, err);
  if (p.fifo_fd >= 0) {
    // `start` reads the reason from the fifo, and the init's stderr has it.
    const char* desc = ::strerrordesc_np(err);
    if (desc == nullptr) desc = "unknown error";
    const char* prefix = "husk: ";
    iovec line[] = {{const_cast<char*>(prefix), std::strlen(prefix)},
                    {const_cast<char*>(p.what), std::strlen(p.what)},
                    {const_cast<char*>(": "), 2},
                    {const_cast<char*>(desc), std::strlen(desc)},
                    {const_cast<char*>("\n"), 1}};
    (void)!::writev(STDERR_FILENO, line, 5);
    (void)!::writev(p.fifo_fd, line + 1, 3);
  }
  ::_exit(127);
}

void init_main(const InitContext& ctx) {
  // A socket object of our own: the runtime closes its copy of this fd, and
  // with a shared memory (init.h) its objects are not ours to use.
  SyncSocket sock{UniqueFd(ctx.sock_fd)};
  sock.share_turn(ctx.turn, Turn::kChild);
  ::close(ctx.parent_sock_fd);
  ::close(ctx.locked_dir_fd);
  // Die with the runtime while it sets us up; from kReady on, `create` may
  // exit and the init must outlive it.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  std::string start_state;
  auto path = init_steps(ctx, sock, &start_state);
  if (!path) {
    sock.send_error(path.error());
    ::_exit(1);
  }
  // What the final stretch needs, made now, in blocks of our own: after
  // kReady the runtime may free everything ctx points to.
  const PreparedExec prepared(ctx.cfg->process, std::move(*path));
  ProgramStart program = prepared.start(sock, ctx.original_mask);
  std::vector<config::Hook> start_hooks = ctx.cfg->hooks.start_container;
  const bool run_mode = ctx.run_mode;
  const int fifo_dir_fd = ctx.fifo_dir_fd;
  ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  if (sock.post(MsgType::kReady) != 0) ::_exit(1);
  // The final stretch (init.h): from `start` (or kStart) to execve.
  program.fifo_fd = wait_for_start(sock, run_mode, fifo_dir_fd);
  if (!start_hooks.empty()) {  // never with a shared memory
    if (auto r = run_hooks("startContainer", start_hooks, start_state); !r) {
      sock.send_error(r.error());
      if (!run_mode) {
        fmt::print(stderr, "husk: {}\n", r.error().what());
        (void)write_all(program.fifo_fd, r.error().what());
      }
      ::_exit(1);
    }
  }
  start_program(program);
}

void init_entry(void* ctx) { init_main(*static_cast<const InitContext*>(ctx)); }

}  // namespace husk::runtime
