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
#include "runtime/launch.h"
#include "runtime/state.h"
#include "cgroup/manager.h"
#include "spec/default_spec.h"
#include "spec/state.h"
#include "sys/process.h"

namespace husk::runtime {
namespace {

// Signals `run` passes on to the container instead of dying of them.
constexpr int kForwarded[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGTERM, SIGUSR1,
                              SIGUSR2, SIGPIPE, SIGALRM, SIGWINCH, SIGCONT};

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

// Reaps children until the init exits, forwarding signals to it.
Result<int> wait_forwarding(pid_t init, int sigfd) {
  HUSK_TRY_ASSIGN(UniqueFd pidfd, sys::pidfd_open(init));
  for (;;) {
    int status = 0;
    pid_t got;
    while ((got = ::waitpid(-1, &status, WNOHANG)) > 0) {
      if (got == init) return exit_code(status);
    }
    if (got < 0 && errno == ECHILD) return fail(ECHILD, "wait for container init");
    signalfd_siginfo si{};
    ssize_t n = ::read(sigfd, &si, sizeof si);
    if (n != sizeof si) {
      if (n < 0 && errno == EINTR) continue;
      return fail_errno("read signalfd");
    }
    if (si.ssi_signo == SIGCHLD) continue;
    log::debug("forwarding signal {} to container init {}", si.ssi_signo, init);
    (void)sys::pidfd_send_signal(pidfd.get(), static_cast<int>(si.ssi_signo));
  }
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

}  // namespace

Result<int> run(const config::Container& cfg, const CreateOptions& opts) {
  sigset_t original, forwarded;
  sigemptyset(&forwarded);
  for (int s : kForwarded) sigaddset(&forwarded, s);
  sigaddset(&forwarded, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &forwarded, &original);
  // An ignored signal is dropped even while blocked: undo SIG_IGN that a
  // shell gives background jobs (SIGINT, SIGQUIT) so signalfd sees them.
  for (int s : kForwarded) ::signal(s, SIG_DFL);
  UniqueFd sigfd(::signalfd(-1, &forwarded, SFD_CLOEXEC));
  if (!sigfd) return fail_errno("signalfd");

  HUSK_TRY_ASSIGN(Launched l, launch(cfg, opts, /*run_mode=*/true, original));
  HUSK_TRY(l.sock.send(MsgType::kStart));
  // EOF means the exec happened (the socket is close-on-exec); an error
  // message means it failed.
  if (auto m = l.sock.recv(); m && m->type == MsgType::kError)
    return std::unexpected(error_from_message(*m));
  l.sock.close();
  if (opts.detach) {
    l.child.release();
    l.cgroup.release();
    l.dir.disarm();
    return 0;
  }
  auto code = wait_forwarding(l.child.pid(), sigfd.get());
  l.child.forget();
  HUSK_TRY(l.cgroup.destroy().context("remove cgroups"));
  HUSK_TRY(l.dir.remove());
  return code;
}

Result<void> start(const std::string& root, const std::string& id) {
  HUSK_TRY_ASSIGN(StateDir dir, StateDir::open(root, id));
  HUSK_TRY_ASSIGN(ContainerState st, dir.load());
  Status s = current_status(st, dir);
  if (s == Status::kStopped) return fail(0, "cannot start a container that has stopped");
  if (s != Status::kCreated) return fail(0, "cannot start an already running container");
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
  return ok();
}

Result<void> kill(const std::string& root, const std::string& id, int signal, bool all) {
  HUSK_TRY_ASSIGN(StateDir dir, StateDir::open(root, id));
  HUSK_TRY_ASSIGN(ContainerState st, dir.load());
  if (current_status(st, dir) == Status::kStopped) return fail(0, "container not running");
  HUSK_TRY_ASSIGN(UniqueFd pidfd, sys::pidfd_open(st.pid));
  // The pidfd pins the process: check it is still the init we started.
  auto start = sys::process_start_time(st.pid);
  if (!start || *start != st.start_time) return fail(0, "container not running");
  if (all) {
    HUSK_TRY_ASSIGN(auto cg, cgroup::Manager::load(st.cgroup));
    return cg->signal_all(signal);
  }
  return sys::pidfd_send_signal(pidfd.get(), signal);
}

Result<void> destroy(const std::string& root, const std::string& id, bool force) {
  auto opened = StateDir::open(root, id);
  if (!opened) {
    if (force && opened.error().code == ENOENT) return ok();
    return std::unexpected(opened.error());
  }
  StateDir dir = std::move(*opened);
  HUSK_TRY_ASSIGN(ContainerState st, dir.load());
  Status s = current_status(st, dir);
  if ((s == Status::kRunning || s == Status::kPaused) && !force)
    return fail(0, "cannot delete container {} that is not stopped: {}", id, status_name(s));
  if (s != Status::kStopped) HUSK_TRY(wait_gone(st.pid, st.start_time));
  if (!st.cgroup.paths.empty()) {
    HUSK_TRY_ASSIGN(auto cg, cgroup::Manager::load(st.cgroup));
    HUSK_TRY(cg->destroy().context("remove cgroups"));
  }
  return dir.remove();
}

Result<std::string> state_json(const std::string& root, const std::string& id) {
  HUSK_TRY_ASSIGN(StateDir dir, StateDir::open(root, id));
  HUSK_TRY_ASSIGN(ContainerState st, dir.load());
  Status s = current_status(st, dir);
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
    auto dir = StateDir::open(root, id);
    if (!dir) continue;  // deleted meanwhile
    auto st = dir->load();
    if (!st) continue;   // still being created
    Status s = current_status(*st, *dir);
    out.push_back(ListEntry{id, s == Status::kStopped ? 0 : st->pid, std::string(status_name(s)),
                            st->bundle, st->created, st->owner});
  }
  return out;
}

}  // namespace husk::runtime
