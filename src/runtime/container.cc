// Parent side of create/run: make the state dir, clone the init into its
// namespaces, answer its requests, record the state. Each step's undo is an
// RAII guard disarmed only once the whole create has succeeded.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "base/file.h"
#include "base/log.h"
#include "linux/procfs.h"
#include "runtime/foreground.h"
#include "runtime/hooks.h"
#include "runtime/init.h"
#include "runtime/launch.h"
#include "runtime/mount_sources.h"
#include "runtime/seccomp_agent.h"
#include "runtime/seccomp_cache.h"
#include "runtime/state.h"
#include "cgroup/convert.h"
#include "spec/default_spec.h"
#include "spec/resources.h"
#include "spec/state.h"
#include "sys/process.h"

namespace husk::runtime {
namespace {

std::string format_id_map(const std::vector<config::IdMapping>& maps) {
  std::string out;
  for (const auto& m : maps) out += fmt::format("{} {} {}\n", m.container_id, m.host_id, m.size);
  return out;
}

// Through a procfs of our own (linux/procfs.h), not whatever /proc holds.
Result<void> write_id_maps(pid_t pid, const config::Container& c) {
  HUSK_TRY_ASSIGN(linux::Procfs proc, linux::Procfs::open().context("write id maps"));
  if (!c.gid_mappings.empty()) {
    HUSK_TRY(proc.write(fmt::format("{}/gid_map", pid), format_id_map(c.gid_mappings))
                 .context("write gid_map"));
  }
  if (!c.uid_mappings.empty()) {
    HUSK_TRY(proc.write(fmt::format("{}/uid_map", pid), format_id_map(c.uid_mappings))
                 .context("write uid_map"));
  }
  return ok();
}

Result<void> check_config(const config::Container& c) {
  struct stat st{};
  if (::stat(c.root_path.c_str(), &st) < 0) return fail_errno("rootfs {:?}", c.root_path);
  if (!S_ISDIR(st.st_mode)) return fail(ENOTDIR, "rootfs {:?}", c.root_path);
  if (c.root_overlay && (c.root_path == "/" || !c.has_namespace(config::NamespaceType::kMount)))
    return fail(0, "an overlay root needs a mount namespace and a directory to mount on");
  if (!c.has_namespace(config::NamespaceType::kMount)) {
    // The mounts go into the host's namespace (linux/host_bind.h): only what
    // can be undone there. (spec/ refuses masked and read-only paths.)
    if (c.root_path == "/")
      return fail(0, "root.path \"/\" needs a mount namespace (linux.namespaces has no \"mount\")");
    if (c.find_namespace(config::NamespaceType::kUser) != nullptr)
      return fail(0, "a user namespace needs a mount namespace of its own too "
                     "(linux.namespaces has no \"mount\")");
  }
  if (c.process.args.empty()) return fail(0, "process.args must not be empty");
  return ok();
}

bool made_parents(const cgroup::SavedState& saved) {
  for (const auto& d : saved.created) {
    bool own = false;
    for (const auto& [controller, path] : saved.paths) own = own || path == d;
    if (!own) return true;
  }
  return false;
}

Result<void> save_config(const StateDir& dir, std::string_view text) {
  UniqueFd fd(::openat(dir.fd(), kConfigFile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return fail_errno("create {}/{}", dir.path(), kConfigFile);
  return write_all(fd.get(), text).context("write {}/{}", dir.path(), kConfigFile);
}

// Answers the init's requests until it reports ready (or fails).
Result<void> serve_init(Launched& l, const config::Container& c, const CreateOptions& opts) {
  MountSources sources;
  for (;;) {
    auto m = l.sock.recv();
    if (!m) {
      int status = 0;
      if (::waitpid(l.child.pid(), &status, WNOHANG) == l.child.pid()) l.child.forget();
      return fail(0, "container init exited before it was ready");
    }
    switch (m->type) {
      case MsgType::kMapRequest:
        HUSK_TRY(write_id_maps(l.child.pid(), c));
        HUSK_TRY(l.sock.send(MsgType::kMapped));
        break;
      case MsgType::kInitPid: {
        // The stage forked the real init and exits: reap it, adopt the init.
        pid_t init = static_cast<pid_t>(std::stol(m->payload));
        int status = 0;
        ::waitpid(l.child.pid(), &status, 0);
        l.child.forget();
        l.child = ChildProcess(init, /*reap=*/true);
        break;
      }
      case MsgType::kMountSource:
        HUSK_TRY(sources.answer(l.sock, *m, l.child.pid(), c));
        break;
      case MsgType::kPty:
        HUSK_TRY(take_pty(*m, opts.console_socket, &l.pty_master));
        HUSK_TRY(l.sock.send(MsgType::kPtyDone));
        break;
      case MsgType::kHooks: {
        spec::OciState s = hook_state(c, opts, l.child.pid(), "creating");
        std::string creating = spec::to_hook_json(s);
        HUSK_TRY(run_hooks("prestart", c.hooks.prestart, creating));
        HUSK_TRY(run_hooks("createRuntime", c.hooks.create_runtime, creating));
        s.status = "created";
        HUSK_TRY(l.sock.send(MsgType::kHooksDone, creating + "\n" + spec::to_hook_json(s)));
        break;
      }
      case MsgType::kSeccomp: {
        std::string creating = spec::to_hook_json(hook_state(c, opts, l.child.pid(), "creating"));
        HUSK_TRY(forward_notify_fd(l.sock, *m, l.child.pid(), c.seccomp ? &*c.seccomp : nullptr,
                                   creating));
        break;
      }
      case MsgType::kReady:
        log::debug("init {}: set up, waiting for start (runc says: \"init: closing the pipe to "
                   "signal completion\")",
                   l.child.pid());
        return ok();
      case MsgType::kError: return std::unexpected(error_from_message(*m));
      default:
        return fail(EPROTO, "sync: unexpected {} message from init", msg_name(m->type));
    }
  }
}

}  // namespace

spec::OciState hook_state(const config::Container& c, const CreateOptions& opts, pid_t pid,
                          std::string_view status) {
  spec::OciState s;
  s.oci_version = spec::kOciVersion;
  s.id = opts.id;
  s.status = std::string(status);
  s.pid = pid;
  s.bundle = c.bundle;
  s.annotations = c.annotations;
  return s;
}

HostBindGuard::~HostBindGuard() {
  if (b_) {
    if (auto r = destroy(); !r) log::warn("{}", r.error().what());
  }
}

Result<void> HostBindGuard::destroy() {
  if (!b_) return ok();
  linux::HostBind b = std::move(*b_);
  b_.reset();
  HUSK_TRY(linux::detach_host_bind(b));
  return ok();
}

CgroupGuard::~CgroupGuard() {
  if (m_) {
    if (auto r = m_->destroy(); !r) log::warn("remove cgroups: {}", r.error().what());
  }
}

Result<void> CgroupGuard::destroy() {
  if (!m_) return ok();
  auto m = std::move(m_);
  return m->destroy();
}

// linux.resources, with runc's device rules: the config's own, then the
// devices every container may use. A linux.devices entry gets a node, not a
// rule (runc 1.1): access to it is what linux.resources.devices says, so a
// "deny all" there keeps it closed.
Result<config::Resources> container_resources(const config::Container& c) {
  config::Resources r;
  if (!c.resources_json.empty()) {
    HUSK_TRY_ASSIGN(r, spec::parse_resources_json(c.resources_json, "config.json",
                                                  "linux.resources"));
  }
  std::vector<std::string> listed;
  for (const auto& d : c.devices) listed.push_back(d.path);
  for (auto& rule : cgroup::default_device_rules(listed)) r.devices.push_back(rule);
  return r;
}

bool shared_vm_allowed() {
#if defined(__SANITIZE_ADDRESS__)
  return false;
#else
  const char* v = ::getenv("HUSK_SHARED_VM");
  return v == nullptr || std::string_view(v) != "0";
#endif
}

Result<pid_t> spawn_child(uint64_t flags, UniqueFd& cgroup_fd, sys::ChildStack& stack,
                          void (*entry)(void*), void* arg) {
  if (stack.valid() && !shared_vm_allowed()) {
    log::debug("memory sharing is off (HUSK_SHARED_VM=0 or an ASan build)");
    stack = sys::ChildStack();
  }
  auto clone = [&]() -> Result<pid_t> {
    if (stack.valid()) {
      auto pid = sys::clone3_shared_vm(flags, cgroup_fd.get(), stack, entry, arg);
      if (pid || pid.error().code != ENOSYS) return pid;
      log::debug("{}: the child gets a copy of our memory", pid.error().what());
      stack = sys::ChildStack();
    }
    auto pid = sys::clone3(flags, nullptr, cgroup_fd.get());
    if (pid && *pid == 0) {
      entry(arg);
      ::_exit(0);
    }
    return pid;
  };
  auto pid = clone();
  if (pid || !cgroup_fd) return pid;
  log::debug("clone3 into the cgroup: {}; placing the child afterwards", pid.error().what());
  cgroup_fd.reset();
  return clone();
}

ChildProcess::~ChildProcess() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  if (reap_) ::waitpid(pid_, nullptr, 0);
}

Result<Launched> launch(const config::Container& cfg, const CreateOptions& opts, bool run_mode,
                        const sigset_t& original_mask) {
  HUSK_TRY(check_config(cfg));
  // Compiling a profile costs milliseconds: do it once, before anything
  // exists to undo, so a bad profile fails early and the init only loads.
  std::optional<linux::CompiledSeccomp> seccomp;
  if (cfg.seccomp) {
    HUSK_TRY_ASSIGN(seccomp, cached_seccomp(opts.root, *cfg.seccomp).context("seccomp"));
  }
  HUSK_TRY_ASSIGN(config::Resources resources, container_resources(cfg));
  HUSK_TRY_ASSIGN(auto manager, cgroup::Manager::make({.cgroups_path = cfg.cgroups_path,
                                                       .id = opts.id,
                                                       .systemd = opts.systemd_cgroup}));
  // As runc: a frozen cgroup is refused before anything exists; processes
  // already in it are only warned about (they share its limits, and what
  // kills the container's cgroup kills them too).
  HUSK_TRY_ASSIGN(size_t present, manager->check_preexisting().context("create cgroups"));
  if (present != 0)
    log::warn("container's cgroup is not empty: {} process(es) found", present);
  HUSK_TRY_ASSIGN(StateDir dir, StateDir::create(opts.root, opts.id));
  ContainerState st;
  st.id = opts.id;
  st.bundle = cfg.bundle;
  st.rootfs = cfg.root_path;
  st.annotations = cfg.annotations;
  st.cgroup = manager->saved_state();
  st.poststart_hooks = !cfg.hooks.poststart.empty();
  st.poststop_hooks = !cfg.hooks.poststop.empty();
  HUSK_TRY(dir.save(st));  // the intent record
  if (!cfg.spec_json.empty()) HUSK_TRY(save_config(dir, cfg.spec_json));
  HUSK_TRY(manager->create().context("create cgroups"));
  CgroupGuard cgroup(std::move(manager));
  // The intent record names the container's own directories already, and
  // delete removes those whoever made them: it must be written again only
  // when create() made parents on the way (an absolute or deep cgroupsPath).
  st.cgroup = cgroup.get()->saved_state();
  if (made_parents(st.cgroup)) HUSK_TRY(dir.save(st));
  HUSK_TRY(cgroup.get()->set(resources).context("set cgroup resources"));
  // No mount namespace: the rootfs bind in the host's, recorded first.
  HostBindGuard rootfs_bind;
  if (!cfg.has_namespace(config::NamespaceType::kMount)) {
    HUSK_TRY_ASSIGN(linux::HostBind b,
                    linux::bind_rootfs_on_itself(cfg.root_path, [&](const linux::HostBind& b) {
                      st.rootfs_bind = b;
                      return dir.save(st);
                    }));
    rootfs_bind = HostBindGuard(std::move(b));
  }
  // The init opens exec.fifo once it runs as the container's user, which may
  // be anyone on the host (a non-root user, a mapped uid of a user namespace):
  // 0622 as runc, set past the umask. The state dir (0711) is only searchable.
  if (!run_mode && (::mkfifoat(dir.fd(), kExecFifo, 0622) < 0 ||
                    ::fchmodat(dir.fd(), kExecFifo, 0622, 0) < 0))
    return fail_errno("create {}/{}", dir.path(), kExecFifo);
  UniqueFd fifo_dir(::open(dir.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fifo_dir) return fail_errno("open {}", dir.path());
  HUSK_TRY_ASSIGN(auto socks, SyncSocket::pair());

  InitContext ctx;
  ctx.cfg = &cfg;
  ctx.opts = &opts;
  ctx.seccomp = seccomp ? &*seccomp : nullptr;
  ctx.plan = plan_namespaces(cfg);
  ctx.sock_fd = socks.second.fd();
  ctx.parent_sock_fd = socks.first.fd();
  ctx.locked_dir_fd = dir.fd();
  ctx.fifo_dir_fd = fifo_dir.get();
  ctx.state_dir = dir.path();
  if (cfg.root_path == "/" && ::mkdirat(dir.fd(), kRootfsStage, 0700) < 0)
    return fail_errno("create {}/{}", dir.path(), kRootfsStage);
  // Under NOTIFY_SOCKET: the source of the /run/notify bind (notify.h).
  if (!opts.notify_socket.empty() && ::mkdirat(dir.fd(), kNotifyDir, 0755) < 0)
    return fail_errno("create {}/{}", dir.path(), kNotifyDir);
  ctx.run_mode = run_mode;
  ctx.original_mask = original_mask;
  Turn turn;  // outlives the init's part in the protocol: it leaves at kReady
  ctx.turn = &turn;

  // An init in a staged pid namespace is our grandchild: be its reaper.
  if (run_mode && ctx.plan.fork_for_pid) ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  // The kernel places the child in the cgroup2 hierarchy at birth; in v1
  // hierarchies it moves itself before it goes on.
  UniqueFd cgroup_fd = cgroup.get()->open_for_clone().value_or(UniqueFd());
  // v1 hierarchies: the init moves itself in, which spares the wait a pid
  // written to cgroup.procs has (cgroup::SelfJoin). Kept open, and untouched,
  // until we return: the init reads it in our memory.
  HUSK_TRY_ASSIGN(const cgroup::SelfJoin self_join, cgroup.get()->open_self_join());
  ctx.self_join = &self_join;
  sys::ChildStack stack;
  if (init_can_share_memory(cfg, ctx.plan)) {
    HUSK_TRY_ASSIGN(stack, sys::ChildStack::make(kChildStackSize));
  }
  HUSK_TRY_ASSIGN(pid_t pid, spawn_child(static_cast<uint64_t>(ctx.plan.clone_flags), cgroup_fd,
                                         stack, init_entry, &ctx));
  // Each step of --debug also names runc's message for it: the logs of both
  // read alike, and runc's own tests look for them.
  log::debug("init {} {} (cloned into its namespaces; runc says: \"nsexec container setup\")", pid,
             stack.valid() ? "shares our memory until its execve" : "runs in a copy of our memory");

  Launched l{.stack = std::move(stack),
             .dir = std::move(dir),
             .cgroup = std::move(cgroup),
             .rootfs_bind = std::move(rootfs_bind),
             .sock = std::move(socks.first),
             .child = ChildProcess(pid, true)};
  socks.second.close();
  if (l.stack.valid()) {  // debug builds: the turns are checked (sync.h)
    turn.begin();
    l.sock.share_turn(&turn, Turn::kRuntime);
  }
  HUSK_TRY(l.cgroup.get()->apply(pid, cgroup_fd.valid(), !self_join.empty()).context("join cgroups"));
  HUSK_TRY(l.sock.send(MsgType::kGo));
  HUSK_TRY(serve_init(l, cfg, opts).context("container init"));
  if (opts.on_ready) HUSK_TRY(opts.on_ready(l.child.pid()));

  st.pid = l.child.pid();
  HUSK_TRY_ASSIGN(st.start_time, sys::process_start_time(st.pid));
  st.created = now_rfc3339();
  HUSK_TRY(l.dir.save(st));
  if (!opts.pid_file.empty())
    HUSK_TRY(write_file_atomic(opts.pid_file, std::to_string(st.pid)).context("write pid file"));
  l.state = std::move(st);
  return l;
}

Result<void> create(const config::Container& cfg, const CreateOptions& opts) {
  sigset_t mask;
  ::sigprocmask(SIG_SETMASK, nullptr, &mask);
  HUSK_TRY_ASSIGN(Launched l, launch(cfg, opts, /*run_mode=*/false, mask));
  // The init now waits on exec.fifo and belongs to whoever reaps orphans.
  l.child.release();
  l.cgroup.release();
  l.rootfs_bind.release();
  l.dir.disarm();
  l.stack.release();  // the init runs on it until its execve
  return ok();
}

}  // namespace husk::runtime
