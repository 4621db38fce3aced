#include "manage/monitor.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/file.h"
#include "base/time.h"
#include "base/unique_fd.h"
#include "manage/attach.h"
#include "manage/containers.h"
#include "manage/log_writer.h"
#include "sys/process.h"
#include "sys/socket_msg.h"

namespace husk::manage {
namespace {

using namespace std::chrono_literals;

constexpr auto kMaxDelay = std::chrono::milliseconds(60s);
constexpr auto kStableRun = 10s;  // a run this long resets the back-off
// After the init is gone the pipes reach EOF as soon as the pid namespace's
// last process is; a process outside it holding them (--pid host) does not
// keep the monitor forever.
constexpr int kDrainMs = 2000;
// An unfinished line (a prompt) shows in the log after this quiet time.
constexpr int kFlushMs = 1000;
constexpr const char* kRunRoot = "/run/husk-monitor";

// The console socket of a container with a terminal: in a directory of the
// monitor's own, 0700, so that no one else can connect and hand it a master.
Result<UniqueFd> listen_console(const std::string& run_dir) {
  HUSK_TRY(make_monitor_run_dir(run_dir));
  std::string path = console_socket_path(run_dir);
  return sys::listen_unix(path, SOCK_STREAM | SOCK_NONBLOCK, 0600, 4)
      .context("console socket {}", path);
}

// The pty master the launcher's runtime sends (runtime::send_console, runc's
// protocol: the terminal's name as data, the master by SCM_RIGHTS); an
// invalid fd when none came.
UniqueFd receive_console(int listen_fd) {
  UniqueFd conn(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) return {};
  // Connected before it sends: wait for the message, not forever.
  pollfd p{conn.get(), POLLIN, 0};
  if (::poll(&p, 1, 2000) <= 0) return {};
  char name[256];
  iovec iov{name, sizeof name};
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl;
  msg.msg_controllen = sizeof ctl;
  ssize_t n;
  do {
    n = ::recvmsg(conn.get(), &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return {};
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int fd = -1;
    std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return UniqueFd(fd);
  }
  return {};
}

int status_code(int ws) {
  if (WIFEXITED(ws)) return WEXITSTATUS(ws);
  if (WIFSIGNALED(ws)) return 128 + WTERMSIG(ws);
  return 255;
}

int64_t now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

// Starts `husk VERB NAME` with the given stdio (-1: /dev/null).
pid_t spawn_husk(const MonitorOptions& o, const char* verb, int out, int err, int in = -1) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  int null = ::open("/dev/null", O_RDWR);
  ::dup2(in >= 0 ? in : null, STDIN_FILENO);
  ::dup2(out >= 0 ? out : null, STDOUT_FILENO);
  ::dup2(err >= 0 ? err : null, STDERR_FILENO);
  ::setenv("HUSK_ROOT", o.root.c_str(), 1);
  ::execl(o.husk.c_str(), "husk", verb, o.name.c_str(), static_cast<char*>(nullptr));
  ::_exit(127);
}

class Monitor {
 public:
  explicit Monitor(const MonitorOptions& o) : o_(o), store_(o.root) {}

  int run() {
    auto ctr = store_.load(o_.name);
    if (!ctr) return fail_start();
    record_ = ctr->record;
    auto log = LogWriter::open(store_.log_path(o_.name),
                               {.max_size = record_.log_max_size,
                                .max_files = static_cast<unsigned>(record_.log_max_files)});
    if (!log) return fail_start();
    log_.emplace(std::move(*log));
    if (!open_signals()) return fail_start();
    launcher_ = o_.launcher;
    fds_[0] = UniqueFd(o_.out_fd);
    fds_[1] = UniqueFd(o_.err_fd);
    console_ = UniqueFd(o_.console_fd);
    take_stdin(UniqueFd(o_.stdin_fd));
    // Listening before husk run -d returns, so that attach may follow at once.
    if (!o_.run_dir.empty() && make_monitor_run_dir(o_.run_dir)) (void)hub_.listen(o_.run_dir);
    if (o_.attach_fd >= 0) hub_.adopt(UniqueFd(o_.attach_fd));
    // Before the launcher is collected: a launcher that is already gone is
    // reported on it, else husk run -d would wait on the pipe forever.
    ready_ = UniqueFd(o_.ready_fd);
    // The launcher may have exited before SIGCHLD was blocked: collect it now.
    on_signals();
    for (;;) {
      int64_t started = now_ms();
      watch();
      if (launch_failed_) {
        save_exit(launch_code_, "the container did not start (its log has why)");
        hub_.finish(launch_code_);
        if (ready_) {
          // husk run -d reports the failure; a failed first start leaves nothing.
          cleanup(o_.remove_on_failure);
          ready_.reset();
          return 1;
        }
        cleanup(false);
        return 1;
      }
      save_exit(init_code_, "");
      hub_.finish(init_code_);
      cleanup(false);
      if (!should_restart()) return 0;
      consecutive_ = now_ms() - started >= std::chrono::milliseconds(kStableRun).count()
                         ? 0
                         : consecutive_ + 1;
      if (!wait_before_restart(restart_delay(consecutive_))) return 0;
      if (!relaunch()) return 1;
    }
  }

 private:
  int fail_start() {
    ready_.reset();
    return 1;
  }

  bool open_signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
    if (::sigprocmask(SIG_BLOCK, &set, nullptr) < 0) return false;
    ::signal(SIGPIPE, SIG_IGN);
    sigfd_ = UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    return static_cast<bool>(sigfd_);
  }

  // One run: until the launcher failed, or the init exited and its output
  // is in the log.
  void watch() {
    int64_t drain_until = 0;
    char buf[65536];
    std::vector<pollfd> p;
    for (;;) {
      // The runtime sent the master before the launcher exited: it waits in
      // the socket's queue however quick the program was.
      if (console_ && !master_ && (init_done_ || launch_failed_)) take_master();
      bool open = fds_[0] || fds_[1] || master_;
      if (init_done_ && (!open || now_ms() >= drain_until)) break;
      if (launch_failed_ && !open) break;
      p = {{sigfd_.get(), POLLIN, 0}, {fds_[0].get(), POLLIN, 0}, {fds_[1].get(), POLLIN, 0},
           {console_.get(), POLLIN, 0}, {master_.get(), POLLIN, 0}};
      hub_.append(p);
      int timeout = log_->has_pending() ? kFlushMs : -1;
      if (init_done_) timeout = static_cast<int>(std::max<int64_t>(0, drain_until - now_ms()));
      int n = ::poll(p.data(), p.size(), timeout);
      if (n < 0 && errno != EINTR) break;
      if (n == 0) {
        (void)log_->flush_pending();
        continue;
      }
      if (n < 0) continue;
      for (int i = 0; i < 2; ++i) {
        if (!fds_[i] || !(p[i + 1].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t got = ::read(fds_[i].get(), buf, sizeof buf);
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        auto stream = i == 0 ? LogStream::kStdout : LogStream::kStderr;
        if (got <= 0) {
          // With a terminal the launcher's stdout ends long before the
          // terminal's output, which is stdout too.
          if (i == 1 || !o_.tty) (void)log_->end_stream(stream);
          fds_[i].reset();
          continue;
        }
        std::string_view bytes(buf, static_cast<size_t>(got));
        (void)log_->write(stream, bytes);
        hub_.send(i == 0 ? AttachMsg::kStdout : AttachMsg::kStderr, bytes);
      }
      if (master_ && (p[4].revents & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t got = ::read(master_.get(), buf, sizeof buf);
        if (got > 0) {
          std::string_view bytes(buf, static_cast<size_t>(got));
          (void)log_->write(LogStream::kStdout, bytes);
          hub_.send(AttachMsg::kStdout, bytes);
        } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
          // EIO: no process holds the terminal any more.
          (void)log_->end_stream(LogStream::kStdout);
          drop_master();
        }
      }
      hub_.handle(p, 5);
      if (console_ && !master_ && (p[3].revents & POLLIN)) take_master();
      if (p[0].revents & POLLIN) {
        on_signals();
        if (init_done_ && drain_until == 0) drain_until = now_ms() + kDrainMs;
      }
    }
    for (int i = 0; i < 2; ++i) {
      if (!fds_[i]) continue;
      (void)log_->end_stream(i == 0 ? LogStream::kStdout : LogStream::kStderr);
      fds_[i].reset();
    }
    if (master_) {
      (void)log_->end_stream(LogStream::kStdout);
      drop_master();
    }
  }

  // -t: the pty master from the console socket, which attach writes to
  // (-i) and sizes.
  void take_master() {
    master_ = receive_console(console_.get());
    if (!master_) return;
    (void)set_nonblock(master_.get());
    hub_.set_terminal(master_.get());
    if (o_.interactive) hub_.set_input(master_.get());
  }

  // -i without -t: the write end of the container's stdin pipe (none: an
  // invalid fd), which attach writes to.
  void take_stdin(UniqueFd fd) {
    hub_.set_input(-1);
    stdin_ = std::move(fd);
    if (!stdin_) return;
    (void)set_nonblock(stdin_.get());
    hub_.set_input(stdin_.get());
  }

  void drop_master() {
    hub_.set_terminal(-1);
    hub_.set_input(-1);
    master_.reset();
  }

  void on_signals() {
    signalfd_siginfo si{};
    while (::read(sigfd_.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
      // SIGTERM, SIGINT, SIGHUP: whoever stops the monitor stops the restarts;
      // the container itself is husk stop's to end.
      if (si.ssi_signo != SIGCHLD) no_restart_ = true;
    }
    int ws = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &ws, WNOHANG)) > 0) {
      if (pid == launcher_) {
        launcher_ = 0;
        if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
          launch_failed_ = true;
          launch_code_ = status_code(ws);
          continue;
        }
        if (auto c = store_.load(o_.name)) init_pid_ = c->status.pid;
        if (ready_) {
          (void)::write(ready_.get(), "ok\n", 3);
          ready_.reset();
        }
      } else {
        // The init, or an orphan of the container this subreaper collected.
        exited_[pid] = status_code(ws);
      }
    }
    // Until the launcher is gone the init is not ours: what exits before is
    // kept (the init may be collected in the same round as the launcher).
    if (init_pid_ <= 0) return;
    if (auto it = exited_.find(init_pid_); it != exited_.end() && !init_done_) {
      init_done_ = true;
      init_code_ = it->second;
    }
    exited_.clear();
  }

  void save_exit(int code, const std::string& error) {
    Status st;
    if (auto c = store_.load(o_.name)) st = c->status;
    st.state = "exited";
    st.pid = 0;
    st.exit_code = code;
    st.finished_at = now_rfc3339();
    st.error = error;
    st.keeper = sys::process_ref(::getpid()).value_or(sys::ProcessRef{});
    st.stopped_by_user = stopped_by_user();
    (void)store_.save_status(o_.name, st);
  }

  bool stopped_by_user() const {
    return ::access((store_.container_dir(o_.name) + "/stopped").c_str(), F_OK) == 0;
  }

  // husk __cleanup: waited for, while collecting whatever else exits.
  void cleanup(bool remove) {
    pid_t pid = spawn_husk(o_, remove ? "__remove" : "__cleanup", -1, -1);
    if (pid < 0) return;
    int ws = 0;
    while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
  }

  bool should_restart() const {
    using K = RestartPolicy::Kind;
    if (no_restart_ || stopped_by_user()) return false;
    switch (record_.restart.kind) {
      case K::kNo: return false;
      case K::kAlways:
      case K::kUnlessStopped: return true;
      case K::kOnFailure:
        if (init_code_ == 0) return false;
        return record_.restart.max == 0 || restarts_done() < record_.restart.max;
    }
    return false;
  }

  int restarts_done() const {
    auto c = store_.load(o_.name);
    return c ? c->status.restarts : 0;
  }

  // Sleeps the back-off, still reaping; false when told to stop meanwhile.
  bool wait_before_restart(std::chrono::milliseconds delay) {
    Status st;
    if (auto c = store_.load(o_.name)) st = c->status;
    st.state = "restarting";
    st.restarts += 1;
    (void)store_.save_status(o_.name, st);
    int64_t until = now_ms() + delay.count();
    for (;;) {
      int64_t left = until - now_ms();
      if (left <= 0) break;
      pollfd p{sigfd_.get(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 200))) > 0) on_signals();
      if (no_restart_ || stopped_by_user()) break;
    }
    if (no_restart_ || stopped_by_user()) {
      st.state = "exited";
      (void)store_.save_status(o_.name, st);
      return false;
    }
    return true;
  }

  bool relaunch() {
    int out[2], err[2], in[2] = {-1, -1};
    if (::pipe2(out, O_CLOEXEC) < 0) return false;
    if (::pipe2(err, O_CLOEXEC) < 0) {
      ::close(out[0]);
      ::close(out[1]);
      return false;
    }
    // A new run: what the last one ended with is in status.json already.
    init_pid_ = 0;
    init_done_ = false;
    launch_failed_ = false;
    // -i: a new run reads a new pipe (the last one's reader is gone).
    UniqueFd next;
    if (o_.interactive && !o_.tty && ::pipe2(in, O_CLOEXEC) == 0) next = UniqueFd(in[1]);
    take_stdin(std::move(next));
    launcher_ = spawn_husk(o_, "__launch", out[1], err[1], in[0]);
    ::close(out[1]);
    ::close(err[1]);
    if (in[0] >= 0) ::close(in[0]);
    fds_[0] = UniqueFd(out[0]);
    fds_[1] = UniqueFd(err[0]);
    return launcher_ > 0;
  }

  const MonitorOptions& o_;
  Store store_;
  Record record_;
  std::optional<LogWriter> log_;
  UniqueFd sigfd_, ready_;
  UniqueFd fds_[2];
  UniqueFd console_, master_;  // -t: the console socket, and the pty master it brought
  UniqueFd stdin_;             // -i without -t: the container's stdin, held open
  AttachHub hub_;
  pid_t launcher_ = 0;
  pid_t init_pid_ = 0;
  bool init_done_ = false;
  int init_code_ = 0;
  bool launch_failed_ = false;
  int launch_code_ = 0;
  bool no_restart_ = false;
  int consecutive_ = 0;
  std::map<pid_t, int> exited_;
};

}  // namespace

std::chrono::milliseconds restart_delay(int consecutive_restarts) {
  if (consecutive_restarts <= 0) return 100ms;
  int shift = std::min(consecutive_restarts, 20);
  auto d = std::chrono::milliseconds(100) * (int64_t{1} << shift);
  return std::min<std::chrono::milliseconds>(d, kMaxDelay);
}

int run_monitor(const MonitorOptions& o) {
  int rc = Monitor(o).run();
  if (!o.run_dir.empty()) remove_monitor_run_dir(o.run_dir);
  return rc;
}

std::string monitor_run_dir(const std::string& id) { return std::string(kRunRoot) + "/" + id; }

std::string console_socket_path(const std::string& run_dir) { return run_dir + "/console.sock"; }

Result<void> make_monitor_run_dir(const std::string& run_dir) {
  for (const std::string& dir : {std::string(kRunRoot), run_dir}) {
    if (::mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST) return fail_errno("mkdir {}", dir);
    if (::chmod(dir.c_str(), 0700) < 0) return fail_errno("chmod {}", dir);
  }
  return ok();
}

void remove_monitor_run_dir(const std::string& run_dir) {
  ::unlink(console_socket_path(run_dir).c_str());
  ::unlink(attach_socket_path(run_dir).c_str());
  ::rmdir(run_dir.c_str());
}

Result<UniqueFd> spawn_monitor(const std::string& monitor_path, const MonitorOptions& o,
                               const std::function<int(int err_fd)>& launch) {
  if (::access(monitor_path.c_str(), X_OK) < 0) return fail_errno("{}", monitor_path);
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) < 0) return fail_errno("pipe");
  UniqueFd ready_read(ready[0]);
  std::fflush(nullptr);
  pid_t m = ::fork();
  if (m < 0) {
    ::close(ready[1]);
    return fail_errno("fork the monitor");
  }
  if (m > 0) {
    // The monitor goes on alone: once we exit it is init's child, in a
    // session of its own.
    ::close(ready[1]);
    return ready_read;
  }
  // The monitor: a session of its own (no terminal's signals reach it), and
  // the subreaper of the container's init once the launcher exits. The
  // attribute survives the exec below.
  ::setsid();
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  int out[2], err[2], in[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) < 0 || ::pipe2(err, O_CLOEXEC) < 0) ::_exit(125);
  // -t: listening before the launcher starts, so its runtime finds the socket.
  UniqueFd console;
  if (o.tty) {
    auto listening = listen_console(o.run_dir);
    if (!listening) {
      std::fprintf(stderr, "husk: %s\n", listening.error().what().c_str());
      ::_exit(125);
    }
    console = std::move(*listening);
  } else if (o.interactive && ::pipe2(in, O_CLOEXEC) < 0) {
    ::_exit(125);
  }
  pid_t l = ::fork();
  if (l < 0) ::_exit(125);
  if (l == 0) {
    if (o.attach_fd >= 0) ::close(o.attach_fd);
    int err_fd = ::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (err_fd < 0 || null < 0 || ::dup2(in[0] >= 0 ? in[0] : null, STDIN_FILENO) < 0 ||
        ::dup2(out[1], STDOUT_FILENO) < 0 || ::dup2(err[1], STDERR_FILENO) < 0)
      ::_exit(125);
    std::fflush(nullptr);
    ::_exit(launch(err_fd));
  }
  // Nothing of the caller's stays open here (a caller reading our stdout to
  // its end would wait for the monitor's): only the pipes, at known numbers.
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0 || ::dup2(null, STDIN_FILENO) < 0 || ::dup2(null, STDOUT_FILENO) < 0 ||
      ::dup2(null, STDERR_FILENO) < 0)
    ::_exit(125);
  ::close(out[1]);
  ::close(err[1]);
  if (in[0] >= 0) ::close(in[0]);
  std::vector<int> keep = {out[0], err[0], ready[1]};
  if (console) keep.push_back(console.get());
  if (in[1] >= 0) keep.push_back(in[1]);
  if (o.attach_fd >= 0) keep.push_back(o.attach_fd);
  std::sort(keep.begin(), keep.end());
  if (!sys::close_from_except(3, keep)) ::_exit(125);
  for (int fd : keep) ::fcntl(fd, F_SETFD, 0);
  (void)::chdir("/");
  std::vector<std::string> args = {"husk-monitor", "--root", o.root, "--name", o.name,
                                   "--husk", o.husk, "--launcher", std::to_string(l),
                                   "--out-fd", std::to_string(out[0]),
                                   "--err-fd", std::to_string(err[0]),
                                   "--ready-fd", std::to_string(ready[1])};
  if (o.remove_on_failure) args.push_back("--remove-on-failure");
  if (!o.run_dir.empty()) args.insert(args.end(), {"--run-dir", o.run_dir});
  if (o.tty) args.insert(args.end(), {"--tty", "--console-fd", std::to_string(console.get())});
  if (o.interactive) args.push_back("--interactive");
  if (in[1] >= 0) args.insert(args.end(), {"--stdin-fd", std::to_string(in[1])});
  if (o.attach_fd >= 0) args.insert(args.end(), {"--attach-fd", std::to_string(o.attach_fd)});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(monitor_path.c_str(), argv.data());
  ::kill(l, SIGKILL);
  ::_exit(125);
}

}  // namespace husk::manage
