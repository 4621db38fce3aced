#include "runtime/sync.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

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

}  // namespace

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
  return sys::send_message_errno(fd_.get(), iov, payload.empty() ? 1 : 2, pass_fd);
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
