#include "manage/attach.h"

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/file.h"
#include "sys/socket_msg.h"

namespace husk::manage {
namespace {

std::string message(AttachMsg kind, std::string_view payload) {
  std::string m(1, static_cast<char>(kind));
  m.append(payload);
  return m;
}

int64_t now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

std::string attach_socket_path(const std::string& run_dir) { return run_dir + "/attach.sock"; }

Result<void> AttachHub::listen(const std::string& run_dir) {
  std::string path = attach_socket_path(run_dir);
  // 0600: the directory is 0700 already, this is the second lock.
  HUSK_TRY_ASSIGN(listener_, sys::listen_unix(path, SOCK_SEQPACKET | SOCK_NONBLOCK, 0600, 8)
                                 .context("attach socket {}", path));
  return ok();
}

void AttachHub::adopt(UniqueFd client) {
  (void)set_nonblock(client.get());
  clients_.push_back(Client{.fd = std::move(client)});
}

void AttachHub::append(std::vector<pollfd>& p) {
  drop_closed();
  polled_input_ = false;
  if (listener_) p.push_back({listener_.get(), POLLIN, 0});
  // Input waits for the container's stdin to take what came before.
  bool want_input = input_off_ >= input_.size();
  for (const auto& c : clients_) {
    short events = want_input ? POLLIN : 0;
    if (!c.queued.empty()) events |= POLLOUT;
    p.push_back({c.fd.get(), events, 0});
  }
  polled_clients_ = clients_.size();
  if (!want_input && input_fd_ >= 0) {
    p.push_back({input_fd_, POLLOUT, 0});
    polled_input_ = true;
  }
}

void AttachHub::handle(const std::vector<pollfd>& p, size_t first) {
  size_t i = first;
  if (listener_) {
    if (p[i].revents & POLLIN) {
      for (;;) {
        UniqueFd c(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (!c) break;
        clients_.push_back(Client{.fd = std::move(c)});
      }
    }
    ++i;
  }
  for (size_t k = 0; k < polled_clients_; ++k, ++i) {
    Client& c = clients_[k];
    if (!c.fd) continue;  // cut off since append(); dropped by the next one
    short ev = p[i].revents;
    if (ev & POLLOUT) (void)flush(c);
    if (c.fd && (ev & (POLLIN | POLLHUP | POLLERR))) read_from(c);
  }
  if (polled_input_ && (p[i].revents & (POLLOUT | POLLERR | POLLHUP))) {
    while (input_off_ < input_.size()) {
      ssize_t n = ::write(input_fd_, input_.data() + input_off_, input_.size() - input_off_);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      if (n <= 0) {  // the container closed its stdin: what is left goes nowhere
        input_off_ = input_.size();
        break;
      }
      input_off_ += static_cast<size_t>(n);
    }
  }
}

void AttachHub::read_from(Client& c) {
  char buf[kMaxInput + 1];
  ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    c.fd.reset();
    return;
  }
  auto kind = static_cast<AttachMsg>(buf[0]);
  std::string_view payload(buf + 1, static_cast<size_t>(n - 1));
  if (kind == AttachMsg::kInput && !payload.empty()) {
    if (input_fd_ < 0) return;  // no stdin to give it to (-i was not asked for)
    input_.assign(payload);
    input_off_ = 0;
  } else if (kind == AttachMsg::kResize && payload.size() == 4 && terminal_fd_ >= 0) {
    uint16_t rows = 0, cols = 0;
    std::memcpy(&rows, payload.data(), 2);
    std::memcpy(&cols, payload.data() + 2, 2);
    winsize ws{};
    ws.ws_row = rows;
    ws.ws_col = cols;
    ::ioctl(terminal_fd_, TIOCSWINSZ, &ws);
  }
}

bool AttachHub::flush(Client& c) {
  while (!c.queued.empty()) {
    const std::string& m = c.queued.front();
    ssize_t n = ::send(c.fd.get(), m.data(), m.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return false;
    if (n < 0) {
      c.fd.reset();
      return false;
    }
    c.queued_bytes -= m.size();
    c.queued.pop_front();
  }
  return true;
}

void AttachHub::send(AttachMsg kind, std::string_view bytes) {
  if (clients_.empty()) return;
  std::string m = message(kind, bytes);
  for (auto& c : clients_) {
    if (!c.fd) continue;
    if (c.queued.empty() || flush(c)) {
      ssize_t n = ::send(c.fd.get(), m.data(), m.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n >= 0) continue;
      if (errno != EAGAIN) {
        c.fd.reset();
        continue;
      }
    }
    if (!c.fd) continue;
    c.queued_bytes += m.size();
    c.queued.push_back(m);
    if (c.queued_bytes > kMaxQueued) c.fd.reset();  // too far behind: the log has it all
  }
}

void AttachHub::finish(int exit_code) {
  int32_t code = exit_code;
  std::string_view payload(reinterpret_cast<const char*>(&code), sizeof code);
  std::string m = message(AttachMsg::kExit, payload);
  for (auto& c : clients_) c.queued_bytes += m.size(), c.queued.push_back(m);
  int64_t until = now_ms() + 1000;
  for (auto& c : clients_) {
    while (c.fd && !flush(c)) {
      if (!c.fd) break;
      int64_t left = until - now_ms();
      if (left <= 0) break;
      pollfd p{c.fd.get(), POLLOUT, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
    }
  }
  clients_.clear();
  input_.clear();
  input_off_ = 0;
}

void AttachHub::drop_closed() {
  std::erase_if(clients_, [](const Client& c) { return !c.fd; });
}

}  // namespace husk::manage
