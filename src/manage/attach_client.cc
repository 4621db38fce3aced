// The client's side of attach.h: husk attach, husk start -a.
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "base/file.h"
#include "linux/console.h"
#include "manage/attach.h"
#include "sys/socket_msg.h"

namespace husk::manage {
namespace {

// Signals that end or are proxied by a session, and SIGWINCH.
constexpr int kSessionSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

Result<void> send_message(int sock, AttachMsg kind, std::string_view payload) {
  std::string m(1, static_cast<char>(kind));
  m.append(payload);
  for (;;) {
    ssize_t n = ::send(sock, m.data(), m.size(), MSG_NOSIGNAL);
    if (n >= 0) return ok();
    if (errno != EINTR) return fail_errno("attach socket");
  }
}

Result<void> send_window_size(int sock) {
  winsize ws{};
  if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0) return ok();
  char p[4];
  uint16_t rows = ws.ws_row, cols = ws.ws_col;
  std::memcpy(p, &rows, 2);
  std::memcpy(p + 2, &cols, 2);
  return send_message(sock, AttachMsg::kResize, {p, 4});
}

// The caller's signal mask, blocked for the session's signalfd and put back.
class BlockedSignals {
 public:
  BlockedSignals() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : kSessionSignals) sigaddset(&set, s);
    ::sigprocmask(SIG_BLOCK, &set, &saved_);
    fd_ = UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  }
  ~BlockedSignals() { ::sigprocmask(SIG_SETMASK, &saved_, nullptr); }
  BlockedSignals(const BlockedSignals&) = delete;
  BlockedSignals& operator=(const BlockedSignals&) = delete;
  int fd() const { return fd_.get(); }

 private:
  sigset_t saved_{};
  UniqueFd fd_;
};

}  // namespace

Result<std::string> parse_detach_keys(std::string_view spec) {
  std::string out;
  if (spec.empty()) return out;
  size_t start = 0;
  for (;;) {
    size_t comma = spec.find(',', start);
    std::string_view key = spec.substr(start, comma == std::string_view::npos ? spec.npos : comma - start);
    if (key.size() == 1) {
      out.push_back(key[0]);
    } else if (key.size() == 6 && key.starts_with("ctrl-")) {
      char c = key[5];
      if (c >= 'a' && c <= 'z') {
        out.push_back(static_cast<char>(c - 'a' + 1));
      } else if (c >= '@' && c <= '_' && !(c >= 'A' && c <= 'Z')) {
        out.push_back(static_cast<char>(c - '@'));  // ctrl-@ is 0, ctrl-[ 27 ... ctrl-_ 31
      } else {
        return fail_quiet(EINVAL, "--detach-keys {:?}: {:?} is not a key (a-z, @, [, \\, ], ^ or _ after ctrl-)",
                          spec, key);
      }
    } else {
      return fail_quiet(EINVAL, "--detach-keys {:?}: {:?} is not a key (a character, or ctrl-X)",
                        spec, key);
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string DetachMatcher::feed(std::string_view in, bool* detached) {
  *detached = false;
  std::string out;
  if (seq_.empty()) return std::string(in);
  for (char c : in) {
    if (c == seq_[matched_]) {
      if (++matched_ == seq_.size()) {
        *detached = true;
        matched_ = 0;
        return out;
      }
      continue;
    }
    // Broken: what was held back was typed for the container after all.
    out.append(seq_, 0, matched_);
    matched_ = c == seq_[0] ? 1 : 0;
    if (matched_ == 0) out.push_back(c);
  }
  return out;
}

Result<UniqueFd> connect_attach(const std::string& run_dir) {
  std::string path = attach_socket_path(run_dir);
  return sys::connect_unix(path, SOCK_SEQPACKET).context("attach socket {}", path);
}

Result<AttachEnd> attach_session(int sock, const AttachOptions& o) {
  BlockedSignals signals;
  if (signals.fd() < 0) return fail_errno("signalfd");
  std::optional<linux::RawTerminal> raw;
  if (o.tty && o.forward_stdin) raw.emplace(STDIN_FILENO);
  if (o.tty) HUSK_TRY(send_window_size(sock));
  DetachMatcher detach(o.detach_keys);
  bool reading_stdin = o.forward_stdin;
  std::vector<char> buf(65536 + 1);
  for (;;) {
    pollfd p[3] = {{sock, POLLIN, 0}, {signals.fd(), POLLIN, 0},
                   {reading_stdin ? STDIN_FILENO : -1, POLLIN, 0}};
    if (::poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return fail_errno("poll");
    }
    if (p[1].revents & POLLIN) {
      signalfd_siginfo si{};
      while (::read(signals.fd(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGWINCH) {
          if (o.tty) HUSK_TRY(send_window_size(sock));
        } else if (o.proxy_signal && !o.tty) {
          o.proxy_signal(sig);
        } else {
          return AttachEnd{.kind = AttachEnd::Kind::kDetached};
        }
      }
    }
    if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(STDIN_FILENO, buf.data(), kMaxInput);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
      } else if (n <= 0) {
        reading_stdin = false;  // the container's stdin stays open for others
      } else {
        bool detached = false;
        std::string pass = detach.feed({buf.data(), static_cast<size_t>(n)}, &detached);
        if (!pass.empty()) HUSK_TRY(send_message(sock, AttachMsg::kInput, pass));
        if (detached) return AttachEnd{.kind = AttachEnd::Kind::kDetached};
      }
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::recv(sock, buf.data(), buf.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return AttachEnd{.kind = AttachEnd::Kind::kLost};
      auto kind = static_cast<AttachMsg>(buf[0]);
      std::string_view payload(buf.data() + 1, static_cast<size_t>(n - 1));
      if (kind == AttachMsg::kStdout || kind == AttachMsg::kStderr) {
        int to = kind == AttachMsg::kStdout ? STDOUT_FILENO : STDERR_FILENO;
        HUSK_TRY(write_all(to, payload));
      } else if (kind == AttachMsg::kExit && payload.size() == sizeof(int32_t)) {
        int32_t code = 0;
        std::memcpy(&code, payload.data(), sizeof code);
        return AttachEnd{.kind = AttachEnd::Kind::kExited, .code = code};
      }
    }
  }
}

}  // namespace husk::manage
