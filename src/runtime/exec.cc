// exec: a new process inside a running container.
//
//   husk-oci exec (P)                          process (X)
//   -----------------                          -----------
//   lock the state dir, check the status, open a pidfd of the init and
//   check its start time; read the saved config.json; build the process
//   (--process, or the container's process with runc's exec flags);
//   compile its seccomp profile
//   PR_SET_DUMPABLE 0 (X inherits it: nothing in the container may open
//   /proc/X/exe or ptrace it while it runs runtime code)
//   setns(pidfd, CLONE_NEWPID): only our children are born in it
//   clone3 ---------------------------------->  born in the container's pid
//   (v2: CLONE_INTO_CGROUP; else write the      namespace and cgroup
//    pid into each hierarchy)
//                     --- kGo -------------->  setns(pidfd, every other ns
//                                              that differs from ours);
//                                              setsid; the terminal;
//                                              keyring, rlimits, labels, cwd,
//                                              PATH lookup, user, caps,
//                                              no_new_privs, seccomp
//                     <-- kPty (terminal) --
//                     --- kPtyDone --------->
//                     <-- kSeccomp ---------  (notify rules: the listener fd's
//   to the agent at listenerPath               number; seccomp_agent.h)
//                     --- kSeccompDone ----->
//                     <-- kReady -----------
//   --pid-file
//                     --- kStart ----------->  execve (EOF on the socket)
//   --detach: exit 0; else wait for X, forwarding signals (and the terminal)
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

#include "base/file.h"
#include "base/log.h"
#include "cgroup/manager.h"
#include "linux/console.h"
#include "linux/cwd.h"
#include "linux/exec_lookup.h"
#include "linux/process.h"
#include "linux/procfs.h"
#include "linux/scheduling.h"
#include "runtime/foreground.h"
#include "runtime/init.h"
#include "runtime/launch.h"
#include "runtime/seccomp_agent.h"
#include "runtime/seccomp_cache.h"
#include "runtime/state.h"
#include "runtime/sync.h"
#include "spec/config.h"
#include "spec/names.h"
#include "sys/process.h"

namespace husk::runtime {
namespace {

struct NsFile {
  const char* name;
  int flag;
};
// The pid namespace is joined by the parent (it applies to children only).
constexpr NsFile kJoined[] = {{"user", CLONE_NEWUSER},     {"mnt", CLONE_NEWNS},
                              {"net", CLONE_NEWNET},       {"ipc", CLONE_NEWIPC},
                              {"uts", CLONE_NEWUTS},       {"cgroup", CLONE_NEWCGROUP},
                              {"time", CLONE_NEWTIME},     {"pid", CLONE_NEWPID}};

bool same_namespace(pid_t pid, const char* name) {
  struct stat ours{}, theirs{};
  std::string mine = fmt::format("/proc/self/ns/{}", name);
  std::string other = fmt::format("/proc/{}/ns/{}", pid, name);
  if (::stat(mine.c_str(), &ours) < 0 || ::stat(other.c_str(), &theirs) < 0) return true;
  return ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev;
}

// The namespaces of the init that this process is not in.
int namespaces_to_join(pid_t init) {
  int flags = 0;
  for (const auto& ns : kJoined)
    if (!same_namespace(init, ns.name)) flags |= ns.flag;
  return flags;
}

Result<uint32_t> parse_id(std::string_view s, std::string_view what) {
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty())
    return fail(0, "--user: invalid {} {:?}", what, s);
  return v;
}

// exec --cgroup: the sub-cgroups are the container's to make; a missing one
// fails before any process exists (in runc's words, which its tests match).
Result<void> check_sub_cgroups(const cgroup::SavedState& target) {
  for (const auto& [key, dir] : target.paths) {
    std::string procs = dir + "/cgroup.procs";
    if (::access(procs.c_str(), F_OK) == 0) continue;
    int code = errno;
    return fail_quiet(code, "--cgroup: adding pid to cgroups: {}: {}", procs,
                      code == ENOENT ? "no such file or directory" : std::strerror(code));
  }
  return ok();
}

// The process into the container's cgroup (or the --cgroup sub-cgroups). On
// cgroup v2 the container's own directory refuses it (EBUSY) once the init has
// moved to a sub-cgroup and a domain controller is on: without --cgroup it
// then joins the init's cgroup, as runc does.
Result<void> join_cgroups(cgroup::Manager& cg, pid_t pid, bool placed_in_v2, bool joined_v1,
                          pid_t init, const ExecOptions& o) {
  auto joined = cg.apply(pid, placed_in_v2, joined_v1);
  if (joined || joined.error().code != EBUSY || !o.cgroups.empty() || cg.path("").empty())
    return std::move(joined).context("join cgroups");
  HUSK_TRY_ASSIGN(std::string text, read_file(fmt::format("/proc/{}/cgroup", init)));
  log::debug("exec: {}; joining the init's cgroup", joined.error().what());
  return cg.apply_beside_init(pid, text).context("join the init's cgroup");
}

void set_env(std::vector<std::string>& env, const std::string& kv) {
  std::string_view key = std::string_view(kv).substr(0, kv.find('='));
  for (auto& e : env) {
    if (std::string_view(e).substr(0, e.find('=')) == key) {
      e = kv;
      return;
    }
  }
  env.push_back(kv);
}

struct ExecChild {
  const config::Process* process = nullptr;
  const linux::CompiledSeccomp* seccomp = nullptr;
  const ExecOptions* opts = nullptr;
  int sock_fd = -1;  // the child's end of the sync socket
  int parent_sock_fd = -1;
  int locked_dir_fd = -1;
  int init_pidfd = -1;
  int join_flags = 0;  // without CLONE_NEWPID
  // No mount namespace of its own: the container's root (its rootfs bind in
  // the host's namespace), for chroot; -1 otherwise (setns gives the root).
  int root_fd = -1;
  std::optional<unsigned long> personality;  // the container's linux.personality
  sigset_t original_mask{};
  Turn* turn = nullptr;  // whose turn it is, with a shared memory (sync.h)
  const cgroup::SelfJoin* self_join = nullptr;  // the v1 cgroups it moves itself into
};

Result<std::string> exec_steps(const ExecChild& x, SyncSocket& sock) {
  // Into the container's v1 cgroups by ourselves (cgroup::SelfJoin), with
  // system calls only: it is not our turn yet.
  int join_err = 0;
  int join_failed = x.self_join ? cgroup::move_self_into(*x.self_join, &join_err) : -1;
  HUSK_TRY(sock.expect(MsgType::kGo));
  if (join_failed >= 0)
    return fail(join_err, "join cgroups: move into {}", x.self_join->dirs[join_failed]);
  // Our turn now (with a shared memory, the runtime waits): log::debug may allocate.
  log::debug("process: joining the container (runc says: \"child process in init()\")");
  const config::Process& p = *x.process;
  // A procfs of the container's pid namespace (we were born in it), made
  // before we join its mount namespace: nothing the container mounted at
  // its /proc takes our writes.
  linux::Procfs proc;
  if (p.oom_score_adj || !p.apparmor_profile.empty() || !p.selinux_label.empty()) {
    HUSK_TRY_ASSIGN(proc, linux::Procfs::open());
  }
  if (x.join_flags != 0)
    HUSK_TRY(sys::setns(x.init_pidfd, x.join_flags).context("join the container's namespaces"));
  ::close(x.init_pidfd);
  if (x.root_fd >= 0) {
    if (::fchdir(x.root_fd) < 0 || ::chroot(".") < 0)
      return fail_errno("enter the container's root");
    ::close(x.root_fd);
  }
  if (::setsid() < 0) return fail_errno("setsid");
  if (p.terminal) {
    HUSK_TRY_ASSIGN(linux::Pty pty,
                    linux::open_container_tty(p.user.uid, p.console_size));
    HUSK_TRY(sock.ask(MsgType::kPty, MsgType::kPtyDone, pty.slave_path, pty.master.get()));
  }
  join_session_keyring(x.opts->id);
  HUSK_TRY(linux::apply_rlimits(p.rlimits));
  if (p.oom_score_adj) HUSK_TRY(linux::set_oom_score_adj(proc, *p.oom_score_adj));
  HUSK_TRY(linux::apply_sched_attrs(p, x.personality, linux::ProcessKind::kExec));
  HUSK_TRY(linux::apply_security_labels(proc, p));
  proc.close();
  // CVE-2024-21626: no fd of the runtime's is left for the cwd to name.
  const int keep[] = {sock.fd(), log::sink_fd()};
  HUSK_TRY(sys::close_from_except(3 + x.opts->preserve_fds, keep).context("close fds"));
  HUSK_TRY(linux::enter_cwd(p.cwd, /*create=*/false));
  HUSK_TRY_ASSIGN(std::string path, linux::find_executable(p.env, p.args[0]));
  HUSK_TRY(linux::finalize_process(p, x.seccomp, notify_fd_sink(sock)));
  HUSK_TRY(sys::cloexec_from(3 + x.opts->preserve_fds));
  return path;
}

// Like the init (init.h), the process may share our memory until its execve.
[[noreturn]] void exec_main(const ExecChild& x) {
  SyncSocket sock{UniqueFd(x.sock_fd)};
  sock.share_turn(x.turn, Turn::kChild);
  ::close(x.parent_sock_fd);
  ::close(x.locked_dir_fd);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  auto path = exec_steps(x, sock);
  if (!path) {
    sock.send_error(path.error());
    ::_exit(1);
  }
  const PreparedExec prepared(*x.process, std::move(*path));
  const ProgramStart program = prepared.start(sock, x.original_mask);
  if (!x.opts->detach) ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  if (sock.post(MsgType::kReady) != 0) ::_exit(1);
  if (!sock.wait_for(MsgType::kStart)) ::_exit(1);
  ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  start_program(program);
}

void exec_entry(void* x) { exec_main(*static_cast<const ExecChild*>(x)); }

}  // namespace

Result<config::Process> exec_process(const config::Process& base, const ExecOptions& o) {
  if (!o.process_json.empty()) return spec::parse_process_json(o.process_json, o.process_doc);
  config::Process p = base;
  if (o.args.empty()) return fail(0, "exec: no command given (args must not be empty)");
  p.args = o.args;
  for (const auto& kv : o.env) {
    if (kv.find('=') == std::string::npos || kv.front() == '=')
      return fail(0, "--env: {:?} is not KEY=VALUE", kv);
    set_env(p.env, kv);
  }
  if (!o.cwd.empty()) {
    if (o.cwd.front() != '/') return fail(0, "--cwd: {:?} is not an absolute path", o.cwd);
    p.cwd = o.cwd;
  }
  if (!o.user.empty()) {
    std::string_view u = o.user;
    size_t colon = u.find(':');
    HUSK_TRY_ASSIGN(p.user.uid, parse_id(u.substr(0, colon), "uid"));
    if (colon != std::string_view::npos) {
      HUSK_TRY_ASSIGN(p.user.gid, parse_id(u.substr(colon + 1), "gid"));
    }
  }
  if (!o.additional_gids.empty()) p.user.additional_gids = o.additional_gids;
  if (!o.caps.empty()) {
    if (!p.capabilities) p.capabilities = config::Capabilities{};
    for (const auto& name : o.caps) {
      auto cap = spec::capability_from_name(name);
      if (!cap) return fail(0, "--cap: unknown capability {:?}", name);
      uint64_t bit = uint64_t{1} << *cap;
      p.capabilities->bounding |= bit;
      p.capabilities->effective |= bit;
      p.capabilities->permitted |= bit;
    }
  }
  if (o.no_new_privs) p.no_new_privileges = true;
  p.terminal = o.tty;
  if (!o.apparmor.empty()) p.apparmor_profile = o.apparmor;
  if (!o.process_label.empty()) p.selinux_label = o.process_label;
  return p;
}

Result<int> exec(const ExecOptions& o) {
  HUSK_TRY_ASSIGN(SignalForwarder signals, SignalForwarder::start());
  HUSK_TRY_ASSIGN(StateDir dir, StateDir::open(o.root, o.id));
  HUSK_TRY_ASSIGN(ContainerState st, dir.load());
  Status status = current_status(st, dir);
  if (status == Status::kStopped) return fail(0, "cannot exec in a stopped container");
  if (status == Status::kPaused && !o.ignore_paused)
    return fail(0, "cannot exec in a paused container (use --ignore-paused to override)");
  HUSK_TRY_ASSIGN(UniqueFd init_pidfd, sys::pidfd_open(st.pid));
  // The pidfd pins the pid: make sure it still names our init.
  if (auto start = sys::process_start_time(st.pid); !start || *start != st.start_time)
    return fail(0, "cannot exec in a stopped container");

  config::Container cfg;
  if (o.container) {
    cfg = *o.container;
  } else {
    HUSK_TRY_ASSIGN(cfg, load_saved_config(dir, st).context("exec"));
  }
  HUSK_TRY_ASSIGN(config::Process process, exec_process(cfg.process, o));
  if (process.terminal && o.detach && o.console_socket.empty())
    return fail(0, "cannot allocate tty if husk-oci will detach without setting console socket");
  if (!process.terminal && !o.console_socket.empty())
    return fail(0, "cannot use console socket if husk-oci will not allocate tty");
  std::optional<linux::CompiledSeccomp> seccomp;
  if (cfg.seccomp) {
    HUSK_TRY_ASSIGN(seccomp, cached_seccomp(o.root, *cfg.seccomp).context("seccomp"));
  }

  std::unique_ptr<cgroup::Manager> cgroup;
  if (!st.cgroup.paths.empty()) {
    HUSK_TRY_ASSIGN(cgroup::SavedState target, cgroup::sub_cgroup_state(st.cgroup, o.cgroups));
    if (!o.cgroups.empty()) HUSK_TRY(check_sub_cgroups(target));
    HUSK_TRY_ASSIGN(cgroup, cgroup::Manager::load(target));
  } else if (!o.cgroups.empty()) {
    return fail(0, "--cgroup: the container has no cgroup");
  }
  UniqueFd cgroup_fd;
  if (cgroup) cgroup_fd = cgroup->open_for_clone().value_or(UniqueFd());
  // Read by the child in our memory: untouched until we return.
  cgroup::SelfJoin self_join;
  if (cgroup) {
    HUSK_TRY_ASSIGN(self_join, cgroup->open_self_join());
  }

  // Without a mount namespace the root is the rootfs bind create made, if
  // it is still that mount (runc 1.1 leaves such a process in the host's /).
  UniqueFd root_fd;
  if (st.rootfs_bind) {
    HUSK_TRY_ASSIGN(root_fd, linux::open_host_bind(*st.rootfs_bind).context("exec"));
  }
  int flags = namespaces_to_join(st.pid);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (flags & CLONE_NEWPID)
    HUSK_TRY(sys::setns(init_pidfd.get(), CLONE_NEWPID).context("join the container's pid namespace"));
  HUSK_TRY_ASSIGN(auto socks, SyncSocket::pair());
  Turn turn;
  ExecChild x{.process = &process,
              .seccomp = seccomp ? &*seccomp : nullptr,
              .opts = &o,
              .sock_fd = socks.second.fd(),
              .parent_sock_fd = socks.first.fd(),
              .locked_dir_fd = dir.fd(),
              .init_pidfd = init_pidfd.get(),
              .join_flags = flags & ~CLONE_NEWPID,
              .root_fd = root_fd.get(),
              .personality = cfg.personality,
              .original_mask = signals.original_mask(),
              .turn = &turn,
              .self_join = &self_join};
  // Joining a user or time namespace needs a memory of one's own.
  sys::ChildStack stack;
  if ((x.join_flags & (CLONE_NEWUSER | CLONE_NEWTIME)) == 0 && oom_score_adj_is_ours(process)) {
    HUSK_TRY_ASSIGN(stack, sys::ChildStack::make(kChildStackSize));
  }
  // The child inherits it; we go back to our own CPUs once it is cloned.
  HUSK_TRY_ASSIGN(auto initial_cpus, linux::InitialCpuAffinity::apply(process));
  HUSK_TRY_ASSIGN(pid_t pid, spawn_child(0, cgroup_fd, stack, exec_entry, &x));
  initial_cpus.restore();
  log::debug("process {} {} (cloned into the container; runc says: \"nsexec container setup\")",
             pid, stack.valid() ? "shares our memory until its execve" : "runs in a copy of our memory");

  // The socket before the child: on failure the child is killed before its
  // socket closes, so it never wakes to EOF and runs in our memory (init.h).
  SyncSocket sock = std::move(socks.first);
  ChildProcess child(pid, /*reap=*/true);
  socks.second.close();
  if (stack.valid()) {  // debug builds: the turns are checked (sync.h)
    turn.begin();
    sock.share_turn(&turn, Turn::kRuntime);
  }
  if (cgroup) HUSK_TRY(join_cgroups(*cgroup, pid, cgroup_fd.valid(), !self_join.empty(), st.pid, o));
  // --ignore-paused: the process is frozen with the container from here on and
  // goes on at `resume`, which needs the lock. It is in the container's cgroup
  // already, so a `delete` meanwhile kills it with the rest.
  if (status == Status::kPaused) dir.unlock();
  HUSK_TRY(sock.send(MsgType::kGo));
  UniqueFd master;
  for (bool ready = false; !ready;) {
    auto m = sock.recv();
    if (!m) return fail(0, "exec: process exited before it was ready");
    switch (m->type) {
      case MsgType::kPty:
        HUSK_TRY(take_pty(*m, o.console_socket, &master));
        HUSK_TRY(sock.send(MsgType::kPtyDone));
        break;
      case MsgType::kSeccomp:
        HUSK_TRY(forward_notify_fd(sock, *m, pid, cfg.seccomp ? &*cfg.seccomp : nullptr,
                                   hook_state_json(st, "running")));
        break;
      case MsgType::kReady:
        log::debug("process {}: set up (runc says: \"setns_init: about to exec\")", pid);
        ready = true;
        break;
      case MsgType::kError:
        return std::unexpected(error_from_message(*m));
      default:
        return fail(EPROTO, "sync: unexpected {} message from exec", msg_name(m->type));
    }
  }
  if (!o.pid_file.empty())
    HUSK_TRY(write_file_atomic(o.pid_file, std::to_string(pid)).context("write pid file"));
  HUSK_TRY(sock.send(MsgType::kStart));
  if (auto m = sock.recv(); m && m->type == MsgType::kError)
    return std::unexpected(error_from_message(*m));
  dir.unlock();
  if (o.detach) {
    child.release();
    return 0;
  }
  auto code = signals.wait(pid, std::move(master));
  child.forget();
  return code;
}

}  // namespace husk::runtime
