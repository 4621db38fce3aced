#include "runtime/sync.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iterator>

#include "sys/socket_msg.h"

namespace husk::runtime {
namespace {

struct Header {
  uint32_t type;
  uint32_t len;
  int32_t err;
};

constexpr size_t kMaxPayload = 64 * 1024;

// The header of the next message (flags: MSG_PEEK to leave it queued),
// retried on EINTR: recv()'s byte count. Touches only the stack.
ssize_t recv_header(int fd, Header* h, int flags) {
  ssize_t n;
  do {
    n = ::recv(fd, h, sizeof *h, flags);
  } while (n < 0 && errno == EINTR);
  return n;
}

#ifndef NDEBUG
// The messages whose sender leaves the protocol: the turn is the runtime's
// for good (sync.h).
bool leaves_turn(uint32_t type) {
  return type == static_cast<uint32_t>(MsgType::kReady) ||
         type == static_cast<uint32_t>(MsgType::kError) ||
         type == static_cast<uint32_t>(MsgType::kInitPid);
}

const char* side_name(int side) {
  switch (side) {
    case Turn::kRuntime: return "runtime";
    case Turn::kChild: return "child";
  }
  return "nobody";
}

// One line on stderr, then abort: no allocation, no stdio (the peer may be
// anywhere in malloc when this runs).
[[noreturn]] void turn_broken(int self, const char* action, uint32_t type, int holder) {
  // msg_name's names are string literals: NUL-terminated.
  const char* parts[] = {"husk: sync turn broken: the ", side_name(self), " ", action, " ",
                         msg_name(static_cast<MsgType>(type)).data(), " while the ",
                         side_name(holder), " holds the turn (runtime/sync.h)\n"};
  iovec iov[std::size(parts)];
  for (size_t i = 0; i < std::size(parts); ++i)
    iov[i] = {const_cast<char*>(parts[i]), std::strlen(parts[i])};
  (void)!::writev(STDERR_FILENO, iov, static_cast<int>(std::size(iov)));
  std::abort();
}
#endif

}  // namespace

#ifndef NDEBUG
void SyncSocket::turn_before_send(MsgType type) {
  if (turn_ == nullptr) return;
  int holder = turn_->holder.load();
  if (holder == Turn::kNobody) {  // a child with a copy of our memory
    turn_ = nullptr;
    return;
  }
  if (holder != self_) turn_broken(self_, "sends", static_cast<uint32_t>(type), holder);
  // Handed over before the message goes: the peer may run the moment it is
  // sent, and checks at once.
  turn_->holder.store(self_ == Turn::kRuntime ? Turn::kChild : Turn::kRuntime);
}

void SyncSocket::turn_after_send(MsgType type, int err) {
  if (turn_ == nullptr) return;
  if (err != 0) {
    turn_->holder.store(self_);  // nothing was sent: the turn stays ours
  } else if (leaves_turn(static_cast<uint32_t>(type))) {
    turn_ = nullptr;  // gone for good: not a byte of the turn is ours to read
  }
}

void SyncSocket::turn_on_receive(ssize_t n, uint32_t type) {
  if (turn_ == nullptr) return;
  int holder = turn_->holder.load();
  if (holder == Turn::kNobody) {
    turn_ = nullptr;
    return;
  }
  if (n <= 0) {
    // EOF: the peer exec'd or exited (its end is close-on-exec). Whoever
    // closes its end while the other side might still run must have
    // stopped that side first (ChildProcess goes before the socket).
    if (n == 0) {
      turn_->holder.store(self_);
      turn_ = nullptr;
    }
    return;
  }
  if (holder != self_) turn_broken(self_, "received", type, holder);
  if (leaves_turn(type)) turn_ = nullptr;  // ours for good: nothing more to check
}
#endif

std::string_view msg_name(MsgType t) {
  switch (t) {
    case MsgType::kMapRequest: return "map-request";
    case MsgType::kMapped: return "mapped";
    case MsgType::kInitPid: return "init-pid";
    case MsgType::kReady: return "ready";
    case MsgType::kStart: return "start";
    case MsgType::kError: return "error";
    case MsgType::kGo: return "go";
    case MsgType::kPty: return "pty";
    case MsgType::kHooks: return "hooks";
    case MsgType::kHooksDone: return "hooks-done";
    case MsgType::kPtyDone: return "pty-done";
    case MsgType::kSeccomp: return "seccomp";
    case MsgType::kSeccompDone: return "seccomp-done";
    case MsgType::kMountSource: return "mount-source";
    case MsgType::kMountSourceFd: return "mount-source-fd";
  }
  return "unknown";
}

Result<std::pair<SyncSocket, SyncSocket>> SyncSocket::pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
    return fail_errno("socketpair");
  return std::pair{SyncSocket(UniqueFd(fds[0])), SyncSocket(UniqueFd(fds[1]))};
}

int SyncSocket::post(MsgType type, std::string_view payload, int32_t err, int pass_fd) {
  if (payload.size() > kMaxPayload) payload = payload.substr(0, kMaxPayload);
  Header h{static_cast<uint32_t>(type), static_cast<uint32_t>(payload.size()), err};
  iovec iov[2] = {{&h, sizeof h}, {const_cast<char*>(payload.data()), payload.size()}};
  turn_before_send(type);
  int e = sys::send_message_errno(fd_.get(), iov, payload.empty() ? 1 : 2, pass_fd);
  turn_after_send(type, e);
  return e;
}

int SyncSocket::post_by_write(MsgType type, std::string_view payload) {
  constexpr size_t kMaxShort = 32;
  char buf[sizeof(Header) + kMaxShort];
  if (payload.size() > kMaxShort) return EMSGSIZE;
  Header h{static_cast<uint32_t>(type), static_cast<uint32_t>(payload.size()), 0};
  std::memcpy(buf, &h, sizeof h);
  std::memcpy(buf + sizeof h, payload.data(), payload.size());
  const size_t len = sizeof h + payload.size();
  ssize_t n;
  do {
    n = ::write(fd_.get(), buf, len);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno;
  return static_cast<size_t>(n) == len ? 0 : EPROTO;
}

Result<void> SyncSocket::send(MsgType type, std::string_view payload, int32_t err, int pass_fd) {
  if (int e = post(type, payload, err, pass_fd); e != 0)
    return fail(e, "send {} message", msg_name(type));
  return ok();
}

void SyncSocket::send_error(const Error& e) {
  (void)send(MsgType::kError, e.message, e.code);
}

Result<Message> SyncSocket::recv() {
  // Wait for the header alone first: nothing is allocated before the peer
  // has sent, so a peer that shares our memory (init.h) is already waiting
  // by the time this side touches the heap.
  Header h{};
  ssize_t n = recv_header(fd_.get(), &h, MSG_PEEK);
  turn_on_receive(n, h.type);
  if (n < 0) return fail_errno("receive sync message");
  if (n == 0) return fail(ECONNRESET, "sync socket closed");
  std::string payload(std::min<size_t>(h.len, kMaxPayload), '\0');
  iovec iov[2] = {{&h, sizeof h}, {payload.data(), payload.size()}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = payload.empty() ? 1 : 2;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  do {
    n = ::recvmsg(fd_.get(), &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail_errno("receive sync message");
  Message m;
  bool extra_fd = false;  // a message carries at most one; any other is closed here
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); ++i) {
      int raw;
      std::memcpy(&raw, CMSG_DATA(c) + i * sizeof raw, sizeof raw);
      UniqueFd fd(raw);
      if (m.fd.valid()) {
        extra_fd = true;
      } else {
        m.fd = std::move(fd);
      }
    }
  }
  // MSG_TRUNC: the message was longer than its header said (its tail was
  // dropped); MSG_CTRUNC: more fds came than fit (the kernel closed them).
  if (static_cast<size_t>(n) < sizeof h || h.len != static_cast<size_t>(n) - sizeof h ||
      extra_fd || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0)
    return fail(EPROTO, "malformed sync message");
  m.type = static_cast<MsgType>(h.type);
  m.err = h.err;
  m.payload = std::move(payload);
  return m;
}

bool SyncSocket::wait_for(MsgType type) {
  Header h{};
  ssize_t n = recv_header(fd_.get(), &h, 0);
  turn_on_receive(n, h.type);
  return n == static_cast<ssize_t>(sizeof h) && h.type == static_cast<uint32_t>(type) && h.len == 0;
}

Error error_from_message(const Message& m) { return Error{m.err, m.payload}; }

Result<Message> SyncSocket::ask(MsgType type, MsgType answer, std::string_view payload,
                                int pass_fd) {
  HUSK_TRY(send(type, payload, 0, pass_fd));
  return expect(answer);
}

Result<Message> SyncSocket::expect(MsgType type) {
  HUSK_TRY_ASSIGN(Message m, recv());
  if (m.type == MsgType::kError) return std::unexpected(error_from_message(m));
  if (m.type != type)
    return fail(EPROTO, "sync: expected {} message, got {}", msg_name(type), msg_name(m.type));
  return m;
}

}  // namespace husk::runtime
