// run, start, kill, delete, state, list: the commands that act on a
// container after (or instead of) create.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/file.h"
#include "base/log.h"
#include "runtime/foreground.h"
#include "runtime/hooks.h"
#include "runtime/launch.h"
#include "runtime/notify.h"
#include "runtime/state.h"
#include "cgroup/manager.h"
#include "spec/default_spec.h"
#include "spec/state.h"
#include "sys/process.h"

namespace husk::runtime {
namespace {

// Thaws a paused container's cgroup.
Result<void> thaw(const ContainerState& st) {
  HUSK_TRY_ASSIGN(auto cg, cgroup::Manager::load(st.cgroup));
  return cg->thaw().context("thaw the paused container");
}

// Hooks of a container made earlier, from its saved config.json.
Result<void> run_saved_hooks(const StateDir& dir, const ContainerState& st, std::string_view phase,
                             std::vector<config::Hook> config::Hooks::*which,
                             std::string_view status) {
  HUSK_TRY_ASSIGN(config::Container c, load_saved_config(dir, st));
  return run_hooks(phase, c.hooks.*which, hook_state_json(st, status));
}

// Waits (bounded) for a process to be gone after SIGKILL.
Result<void> wait_gone(pid_t pid, uint64_t start_time) {
  auto pidfd = sys::pidfd_open(pid);
  if (!pidfd) return ok();  // already gone
  auto st = sys::process_start_time(pid);
  if (!st || *st != start_time) return ok();  // pid reused: ours is gone
  (void)sys::pidfd_send_signal(pidfd->get(), SIGKILL);
  pollfd p{pidfd->get(), POLLIN, 0};
  if (::poll(&p, 1, 10000) <= 0) return fail(ETIMEDOUT, "wait for pid {} to exit", pid);
  // Reap it if it is our child (run); otherwise its reaper will.
  ::waitpid(pid, nullptr, WNOHANG);
  return ok();
}

// Reads a non-blocking fd until its writers are gone (kept short).
Result<std::string> read_to_eof(int fd) {
  std::string out;
  for (;;) {
    char buf[512];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) return out;
    if (n > 0) {
      if (out.size() < 4096) out.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return fail_errno("read {}", kExecFifo);
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, -1) < 0 && errno != EINTR) return fail_errno("wait for container init");
  }
}

}  // namespace

Result<int> run(const config::Container& cfg, const CreateOptions& opts) {
  HUSK_TRY_ASSIGN(SignalForwarder signals, SignalForwarder::start());
  HUSK_TRY_ASSIGN(Launched l, launch(cfg, opts, /*run_mode=*/true, signals.original_mask()));
  // Bound before the program runs, so no READY= is missed (notify.h).
  std::optional<NotifyListener> notify;
  if (!opts.notify_socket.empty()) {
    HUSK_TRY_ASSIGN(notify, NotifyListener::open(l.dir, opts.notify_socket));
  }
  HUSK_TRY(l.sock.send(MsgType::kStart));
  // EOF means the exec happened (the socket is close-on-exec); an error
  // message means it failed.
  if (auto m = l.sock.recv(); m && m->type == MsgType::kError)
    return std::unexpected(error_from_message(*m));
  l.sock.close();
  if (!cfg.hooks.poststart.empty())
    HUSK_TRY(run_hooks("poststart", cfg.hooks.poststart, hook_state_json(l.state, "running")));
  if (opts.detach) {
    pid_t pid = l.child.release();
    l.cgroup.release();
    l.rootfs_bind.release();
    l.dir.disarm();
    if (notify) {
      // The container is up and ours no more: an error here leaves it running.
      l.dir.unlock();
      HUSK_TRY_ASSIGN(UniqueFd pidfd, sys::pidfd_open(pid));
      HUSK_TRY(notify->wait(pid, pidfd.get(), signals.fd()));
    }
    return 0;
  }
  // Other commands (kill, state, exec) must reach the container meanwhile.
  l.dir.unlock();
  // READY= is relayed while signals are forwarded and the pty proxied. We
  // stay for the container's whole life: MAINPID is us (as runc).
  ExtraWatch ready;
  if (notify) {
    ready.fd = notify->fd();
    ready.on_ready = [&notify] {
      auto relayed = notify->relay(::getpid());
      if (relayed && !*relayed) return true;  // not yet: keep watching
      if (!relayed) log::warn("{}", relayed.error().what());
      notify.reset();
      return false;
    };
  }
  auto code = signals.wait(l.child.pid(), std::move(l.pty_master), std::move(ready));
  if (notify) {
    // A READY= sent just before the exit still counts.
    if (auto relayed = notify->relay(::getpid()); !relayed) log::warn("{}", relayed.error().what());
    notify.reset();
  }
  l.child.forget();
  l.dir.lock();
  // A `delete --force` meanwhile removed everything and ran the poststop
  // hooks: nothing is left to do, and the id may already be someone else's.
  struct stat removed{};
  if (::fstat(l.dir.fd(), &removed) == 0 && removed.st_nlink == 0) {
    l.cgroup.release();
    l.rootfs_bind.release();
    l.dir.disarm();
    return code;
  }
  if (opts.keep) {
    // --keep: the stopped container stays, cgroup and all, for `delete`,
    // which runs the poststop hooks.
    l.rootfs_bind.release();
    l.cgroup.release();
    l.dir.disarm();
    return code;
  }
  HUSK_TRY(l.rootfs_bind.destroy());
  HUSK_TRY(l.cgroup.destroy().context("remove cgroups"));
  if (!cfg.hooks.poststop.empty()) {
    auto ran = run_hooks("poststop", cfg.hooks.poststop, hook_state_json(l.state, "stopped"));
    if (!ran) log::warn("{}", ran.error().what());
  }
  HUSK_TRY(l.dir.remove());
  return code;
}

Result<void> start(const std::string& root, const std::string& id,
                   const std::string& notify_socket) {
  HUSK_TRY_ASSIGN(StateDir dir, StateDir::open(root, id));
  HUSK_TRY_ASSIGN(ContainerState st, dir.load());
  Status s = current_status(st, dir);
  if (s == Status::kStopped) return fail(0, "cannot start a container that has stopped");
  if (s == Status::kPaused) return fail(0, "cannot start a container in the paused state");
  if (s != Status::kCreated) return fail(0, "cannot start an already running container");
  // Bound (and the caller's socket reached) before the program runs: a bad
  // NOTIFY_SOCKET fails start with the container still created. A container
  // created without NOTIFY_SOCKET has no notify/ to bind in: nothing to relay.
  std::optional<NotifyListener> notify;
  if (!notify_socket.empty() && has_notify_dir(dir)) {
    HUSK_TRY_ASSIGN(notify, NotifyListener::open(dir, notify_socket));
  }
  UniqueFd fifo(::openat(dir.fd(), kExecFifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fifo) return fail_errno("open {}/{}", dir.path(), kExecFifo);
  HUSK_TRY_ASSIGN(UniqueFd pidfd, sys::pidfd_open(st.pid));
  pollfd fds[2] = {{fifo.get(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return fail_errno("wait for container init");
    }
    if (fds[0].revents & POLLIN) break;
    if (fds[1].revents & POLLIN) return fail(0, "container init exited before start");
  }
  char byte;
  if (::read(fifo.get(), &byte, 1) != 1) return fail_errno("read {}", kExecFifo);
  ::unlinkat(dir.fd(), kExecFifo, 0);
  // The init keeps its end open (close-on-exec) through the startContainer
  // hooks until it execs the program: EOF means the exec happened (poststart
  // must come after it), text is why the init failed instead.
  HUSK_TRY_ASSIGN(std::string failed, read_to_eof(fifo.get()));
  if (!failed.empty()) return fail(0, "container init: {}", failed);
  if (st.poststart_hooks) {
    auto ran = run_saved_hooks(dir, st, "poststart", &config::Hooks::poststart, "running");
    if (!ran) {
      // As runc: a failed poststart hook takes the container down.
      (void)sys::pidfd_send_signal(pidfd.get(), SIGKILL);
      return std::unexpected(ran.error());
    }
  }
  if (notify) {
    // kill, delete, exec must reach the container while it gets ready.
    dir.unlock();
    HUSK_TRY(notify->wait(st.pid, pidfd.get()));
  }
  return ok();
}

Result<void> kill(const std::string& root, const std::string& id, int signal, bool all) {
  HUSK_TRY_ASSIGN(StateDir dir, StateDir::open(root, id));
  HUSK_TRY_ASSIGN(ContainerState st, dir.load());
  Status status = current_status(st, dir);
  if (status == Status::kStopped) {
    // The init is gone, but with --all the processes it left in the cgroup (a
    // container without its own pid namespace) are still reached, as runc: the
    // containerd shim sends `kill --all` after the init exits.
    if (!all) return fail(0, "container not running");
    HUSK_TRY_ASSIGN(auto cg, cgroup::Manager::load(st.cgroup));
    return cg->signal_all(signal);
  }
  HUSK_TRY_ASSIGN(UniqueFd pidfd, sys::pidfd_open(st.pid));
  // The pidfd pins the process: check it is still the init we started.
  auto start = sys::process_start_time(st.pid);
  if (!start || *start != st.start_time) return fail(0, "container not running");
  if (all) {
    HUSK_TRY_ASSIGN(auto cg, cgroup::Manager::load(st.cgroup));
    HUSK_TRY(cg->signal_all(signal));
  } else {
    HUSK_TRY(sys::pidfd_send_signal(pidfd.get(), signal));
  }
  // A frozen task acts on SIGKILL only once thawed; runc thaws after it.
  if (status == Status::kPaused && signal == SIGKILL) HUSK_TRY(thaw(st));
  return ok();
}

Result<UniqueFd> open_container_root(const std::string& root, const std::string& id) {
  HUSK_TRY_ASSIGN(StateDir dir, StateDir::open(root, id));
  HUSK_TRY_ASSIGN(ContainerState st, dir.load());
  if (current_status(st, dir) == Status::kStopped) return fail(0, "container not running");
  std::string path = fmt::format("/proc/{}/root", st.pid);
  UniqueFd fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return fail_errno("open {:?}", path);
  // Opened by pid: while the init lives its pid is not reused, so a start
  // time that still matches means the fd is the init's root.
  auto start = sys::process_start_time(st.pid);
  if (!start || *start != st.start_time) return fail(0, "container not running");
  return fd;
}

Result<void> destroy(const std::string& root, const std::string& id, bool force) {
  auto opened = StateDir::open(root, id);
  if (!opened) {
    if (force && opened.error().code == ENOENT) return ok();
    return std::unexpected(opened.error());
  }
  StateDir dir = std::move(*opened);
  auto loaded = dir.load();
  if (!loaded && force) {
    // A create killed before its first save completed (no state.json), or a
    // file cut short by someone else: the intent record is saved before any
    // cgroup or process exists, so what is in the directory is all there is.
    log::debug("delete {}: {}; removing what exists", id, loaded.error().what());
    return dir.remove();
  }
  HUSK_TRY_ASSIGN(ContainerState st, std::move(loaded));
  Status s = current_status(st, dir);
  if ((s == Status::kRunning || s == Status::kPaused) && !force)
    return fail(0, "cannot delete container {} that is not stopped: {}", id, status_name(s));
  if (s == Status::kPaused) {
    // Killed first, then thawed (as runc): a frozen init would not die.
    if (auto pidfd = sys::pidfd_open(st.pid))
      (void)sys::pidfd_send_signal(pidfd->get(), SIGKILL);
    HUSK_TRY(thaw(st));
  }
  if (s != Status::kStopped) HUSK_TRY(wait_gone(st.pid, st.start_time));
  // Only the mount create made, checked by its id (linux/host_bind.h).
  if (st.rootfs_bind) HUSK_TRY(linux::detach_host_bind(*st.rootfs_bind));
  if (!st.cgroup.paths.empty()) {
    HUSK_TRY_ASSIGN(auto cg, cgroup::Manager::load(st.cgroup));
    HUSK_TRY(cg->destroy().context("remove cgroups"));
  }
  if (st.poststop_hooks) {
    // Logged, never fatal: the container is gone already.
    auto ran = run_saved_hooks(dir, st, "poststop", &config::Hooks::poststop, "stopped");
    if (!ran) log::warn("{}", ran.error().what());
  }
  return dir.remove();
}

namespace {

// A reader's view of the status: a container without an init pid is still
// being created while its creator holds the lock.
Status peeked_status(const ContainerState& st, const StateDir& dir) {
  if (st.pid <= 0 && dir.busy()) return Status::kCreating;
  return current_status(st, dir);
}

}  // namespace

Result<std::string> state_json(const std::string& root, const std::string& id) {
  HUSK_TRY_ASSIGN(StateDir dir, StateDir::peek(root, id));
  HUSK_TRY_ASSIGN(ContainerState st, dir.load());
  Status s = peeked_status(st, dir);
  spec::OciState o;
  o.oci_version = spec::kOciVersion;
  o.id = st.id;
  o.status = std::string(status_name(s));
  o.pid = s == Status::kStopped ? 0 : st.pid;
  o.bundle = st.bundle;
  o.rootfs = st.rootfs;
  o.created = st.created;
  o.owner = st.owner;
  o.annotations = st.annotations;
  return spec::to_json(o);
}

Result<std::vector<ListEntry>> list(const std::string& root) {
  std::vector<ListEntry> out;
  DIR* d = ::opendir(root.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return fail_errno("open {}", root);
  }
  std::vector<std::string> ids;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ids.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(ids.begin(), ids.end());
  for (const auto& id : ids) {
    auto dir = StateDir::peek(root, id);
    if (!dir) continue;  // deleted meanwhile
    auto st = dir->load();
    if (!st) continue;   // just made, no state yet
    Status s = peeked_status(*st, *dir);
    out.push_back(ListEntry{id, s == Status::kStopped ? 0 : st->pid, std::string(status_name(s)),
                            st->bundle, st->rootfs, st->created, st->owner});
  }
  return out;
}

}  // namespace husk::runtime
