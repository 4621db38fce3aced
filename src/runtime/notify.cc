#include "runtime/notify.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <optional>

#include "base/log.h"
#include "spec/mount_options.h"
#include "spec/names.h"
#include "sys/process.h"
#include "sys/socket_msg.h"

namespace husk::runtime {
namespace {

// How long the host gets to acknowledge BARRIER=1 (runc: 30 s, then a warning).
constexpr int kBarrierTimeoutMs = 30000;
// sd_notify messages are short; systemd itself reads at most a page or so.
constexpr size_t kMaxDatagram = 64 * 1024;

struct UnixAddress {
  sockaddr_un addr{};
  socklen_t len = 0;
};

// A path, or "@name" for the abstract namespace (as systemd and Go spell it).
Result<UnixAddress> unix_address(std::string_view path) {
  UnixAddress a;
  a.addr.sun_family = AF_UNIX;
  if (path.empty()) return fail(EINVAL, "empty socket path");
  if (path.size() >= sizeof a.addr.sun_path) return fail(ENAMETOOLONG, "socket path {:?}", path);
  std::memcpy(a.addr.sun_path, path.data(), path.size());
  if (path[0] == '@') {
    a.addr.sun_path[0] = '\0';
    a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  } else {
    a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  }
  return a;
}

Result<void> send_datagram(int fd, std::string_view data, int pass_fd = -1) {
  iovec iov{const_cast<char*>(data.data()), data.size()};
  auto sent = sys::send_message(fd, &iov, 1, pass_fd);
  if (!sent) return fail(sent.error().code, "send {:?}", data.substr(0, data.find('\n')));
  return ok();
}

// sd_notify_barrier(3): BARRIER=1 with the write end of a pipe; the host
// closes it once it has processed every message sent before.
Result<void> barrier(int host) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return fail_errno("pipe");
  UniqueFd r(p[0]), w(p[1]);
  HUSK_TRY(send_datagram(host, "BARRIER=1", w.get()));
  w.reset();
  int64_t deadline = sys::monotonic_ms() + kBarrierTimeoutMs;
  for (;;) {
    pollfd pf{r.get(), POLLIN, 0};
    int64_t left = deadline - sys::monotonic_ms();
    int n = left > 0 ? ::poll(&pf, 1, static_cast<int>(left)) : 0;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("wait for the barrier");
    if (n == 0) {
      log::warn("no answer to BARRIER=1 after {}s: ignored", kBarrierTimeoutMs / 1000);
      return ok();
    }
    char byte;
    ssize_t got = ::read(r.get(), &byte, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return fail_errno("read the barrier pipe");
    if (got > 0) return fail(EPROTO, "unexpected data on the barrier pipe");
    return ok();
  }
}

// The first line starting with READY= in one datagram, if any.
std::optional<std::string_view> ready_line(std::string_view msg) {
  while (!msg.empty()) {
    size_t nl = msg.find('\n');
    std::string_view line = msg.substr(0, nl);
    if (line.starts_with("READY=")) return line;
    if (nl == std::string_view::npos) break;
    msg.remove_prefix(nl + 1);
  }
  return std::nullopt;
}

}  // namespace

void set_env(std::vector<std::string>& env, std::string_view key, std::string_view value) {
  std::string entry = fmt::format("{}={}", key, value);
  auto is_key = [&](const std::string& e) {
    return e.size() > key.size() && e.starts_with(key) && e[key.size()] == '=';
  };
  auto it = std::find_if(env.begin(), env.end(), is_key);
  if (it == env.end()) {
    env.push_back(std::move(entry));
    return;
  }
  *it = std::move(entry);
  env.erase(std::remove_if(it + 1, env.end(), is_key), env.end());
}

Result<void> add_notify_socket(config::Container& c, CreateOptions& opts,
                               const std::string& host_socket) {
  if (host_socket.empty()) return ok();
  std::error_code ec;
  std::filesystem::path root = std::filesystem::absolute(opts.root, ec);
  if (ec) return fail(ec.value(), "state root {:?}", opts.root);
  opts.notify_socket = host_socket;
  config::Mount m;
  m.destination = kNotifyDirInContainer;
  m.type = "bind";
  m.source = (root.lexically_normal() / opts.id / kNotifyDir).string();
  m.options = {"bind", "nosuid", "noexec", "nodev", "ro"};
  spec::apply_mount_options(m);
  c.mounts.push_back(std::move(m));
  set_env(c.process.env, "NOTIFY_SOCKET", kNotifySocketInContainer);
  return ok();
}

int listen_fds_count(const char* listen_fds, const char* listen_pid, pid_t pid) {
  auto parse = [](const char* s, long long& out) {
    if (s == nullptr || *s == '\0') return false;
    const char* end = s + std::strlen(s);
    auto [p, err] = std::from_chars(s, end, out);
    return err == std::errc() && p == end;
  };
  long long fds = 0, owner = 0;
  if (!parse(listen_pid, owner) || owner != pid) return 0;
  // Bounded so that 3 + fds + --preserve-fds cannot overflow.
  if (!parse(listen_fds, fds) || fds <= 0 || fds > (1 << 20)) return 0;
  return static_cast<int>(fds);
}

void add_listen_fds(config::Container& c, CreateOptions& opts, int n) {
  if (n <= 0) return;
  // husk passes fds by number, unmoved: the activation fds are 3..3+n-1 and
  // the --preserve-fds ones follow them, the layout runc builds.
  opts.preserve_fds += n;
  set_env(c.process.env, "LISTEN_FDS", std::to_string(n));
  set_env(c.process.env, "LISTEN_PID", "1");
}

bool has_notify_dir(const StateDir& dir) {
  struct stat st{};
  return ::fstatat(dir.fd(), kNotifyDir, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

Result<NotifyListener> NotifyListener::open(const StateDir& dir, const std::string& host_socket) {
  NotifyListener l;
  l.host_ = host_socket;
  HUSK_TRY_ASSIGN(UnixAddress host, unix_address(host_socket).context("NOTIFY_SOCKET"));
  l.host_sock_ = UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!l.host_sock_) return fail_errno("socket");
  if (::connect(l.host_sock_.get(), reinterpret_cast<sockaddr*>(&host.addr), host.len) < 0)
    return fail_errno("connect to NOTIFY_SOCKET {:?}", host_socket);

  // The full path when it fits in sun_path, else through our dir fd.
  std::string path = dir.path() + "/" + kNotifySocket;
  l.dir_fd_ = UniqueFd(::fcntl(dir.fd(), F_DUPFD_CLOEXEC, 3));
  if (!l.dir_fd_) return fail_errno("dup {}", dir.path());
  std::string bind_path = path;
  if (bind_path.size() >= sizeof(sockaddr_un::sun_path))
    bind_path = fmt::format("/proc/self/fd/{}/{}", l.dir_fd_.get(), kNotifySocket);
  HUSK_TRY_ASSIGN(UnixAddress self, unix_address(bind_path));
  l.sock_ = UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!l.sock_) return fail_errno("socket");
  // Left by a start that was killed: we hold the container's lock.
  if (::unlinkat(l.dir_fd_.get(), kNotifySocket, 0) < 0 && errno != ENOENT)
    return fail_errno("remove {}", path);
  if (::bind(l.sock_.get(), reinterpret_cast<sockaddr*>(&self.addr), self.len) < 0) {
    auto e = fail_errno("bind {}", path);
    l.dir_fd_.reset();  // nothing of ours to remove
    return e;
  }
  if (::fchmodat(l.dir_fd_.get(), kNotifySocket, 0777, 0) < 0) return fail_errno("chmod {}", path);
  return l;
}

NotifyListener& NotifyListener::operator=(NotifyListener&& o) noexcept {
  if (this != &o) {
    remove_socket();
    host_ = std::move(o.host_);
    dir_fd_ = std::move(o.dir_fd_);
    sock_ = std::move(o.sock_);
    host_sock_ = std::move(o.host_sock_);
  }
  return *this;
}

void NotifyListener::remove_socket() {
  if (!dir_fd_) return;
  // ENOENT: `delete` removed the state dir meanwhile.
  if (::unlinkat(dir_fd_.get(), kNotifySocket, 0) < 0 && errno != ENOENT)
    log::warn("remove notify socket: {}", std::strerror(errno));
  dir_fd_.reset();
}

Result<void> NotifyListener::forward(std::string_view ready_line, pid_t main_pid) {
  auto sent = [&]() -> Result<void> {
    HUSK_TRY(send_datagram(host_sock_.get(), fmt::format("{}\n", ready_line)));
    HUSK_TRY(send_datagram(host_sock_.get(), fmt::format("MAINPID={}\n", main_pid)));
    return barrier(host_sock_.get());
  }();
  return std::move(sent).context("NOTIFY_SOCKET {:?}", host_);
}

Result<bool> NotifyListener::relay(pid_t main_pid) {
  std::string buf(kMaxDatagram, '\0');
  for (;;) {
    // recv without a control buffer: fds the container sent (FDSTORE=1) are
    // closed by the kernel, never installed here.
    ssize_t n = ::recv(sock_.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
      return fail_errno("receive on the notify socket");
    }
    std::string_view msg(buf.data(), static_cast<size_t>(n));
    if (auto line = ready_line(msg)) {
      log::debug("container sent {:?}: passing it on to {:?}", *line, host_);
      HUSK_TRY(forward(*line, main_pid));
      return true;
    }
    log::debug("notify message before READY= dropped: {:?}", msg);
  }
}

Result<void> NotifyListener::wait(pid_t main_pid, int pidfd, int signal_fd) {
  for (;;) {
    pollfd fds[3] = {{sock_.get(), POLLIN, 0}, {pidfd, POLLIN, 0}, {signal_fd, POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return fail_errno("wait for READY= from the container");
    }
    if (fds[0].revents & POLLIN) {
      HUSK_TRY_ASSIGN(bool done, relay(main_pid));
      if (done) return ok();
    }
    if (fds[1].revents & POLLIN) {
      // A READY= sent just before the end still counts.
      HUSK_TRY_ASSIGN(bool done, relay(main_pid));
      if (!done) log::debug("container init exited before it sent READY=");
      return ok();
    }
    if (fds[2].revents & POLLIN) {
      signalfd_siginfo si{};
      while (::read(signal_fd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGCHLD) continue;
        return fail_quiet(EINTR, "wait for READY= from the container: interrupted by {}",
                          spec::signal_name(static_cast<int>(si.ssi_signo)));
      }
    }
  }
}

}  // namespace husk::runtime
