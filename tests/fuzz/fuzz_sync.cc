// The sync message decoder (runtime/sync.cc), driven through a real
// SOCK_SEQPACKET socketpair as the init's end would feed it: the runtime
// decodes whatever a container process sends before it execs.
//
// Input: one control byte, then the bytes of one message as the peer sends it.
//   bits 0-1  how many fds ride along by SCM_RIGHTS (0..3, each /dev/null)
//   bit 2     receive with expect(kGo) instead of recv()
//   bit 3     receive with wait_for(kGo) (the init's final stretch)
// Checked: a message is accepted only when its header's length is the payload's,
// the decoded fields are the bytes sent, and no fd is left open afterwards.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "fuzz_util.h"
#include "runtime/sync.h"

namespace {

using namespace husk;

int lowest_free_fd() {
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ::close(fd);
  return fd;
}

bool send_raw(int sock, std::string_view bytes, int nfds) {
  int fds[3] = {-1, -1, -1};
  for (int i = 0; i < nfds; ++i) fds[i] = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof fds)] = {};
  if (nfds > 0) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    std::memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
  }
  bool sent = ::sendmsg(sock, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  for (int i = 0; i < nfds; ++i) ::close(fds[i]);
  return sent;
}

void check_decoded(std::string_view bytes, const Result<runtime::Message>& m) {
  if (!m) {
    if (m.error().what().empty()) fuzz::broken("a sync error that says nothing");
    return;
  }
  uint32_t type, len;
  int32_t err;
  if (bytes.size() < 12) fuzz::broken("a message shorter than its header was accepted");
  std::memcpy(&type, bytes.data(), 4);
  std::memcpy(&len, bytes.data() + 4, 4);
  std::memcpy(&err, bytes.data() + 8, 4);
  if (len != bytes.size() - 12) fuzz::broken("a length that is not the payload's was accepted");
  if (static_cast<uint32_t>(m->type) != type || m->err != err) fuzz::broken("header changed");
  if (m->payload != bytes.substr(12)) fuzz::broken("payload changed");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t control = data[0];
  std::string_view bytes = fuzz::as_text(data + 1, size - 1);
  const int before = lowest_free_fd();
  {
    auto pair = runtime::SyncSocket::pair();
    if (!pair) return 0;  // out of fds: not the decoder's fault
    auto& [ours, peer] = *pair;
    if (!send_raw(peer.fd(), bytes, control & 3)) return 0;
    peer.close();  // a second receive sees EOF, never blocks
    if (control & 8) {
      (void)ours.wait_for(runtime::MsgType::kGo);
    } else if (control & 4) {
      auto m = ours.expect(runtime::MsgType::kGo);
      if (m && m->type != runtime::MsgType::kGo) fuzz::broken("expect returned another type");
    } else {
      auto m = ours.recv();
      check_decoded(bytes, m);
      if (m && m->type == runtime::MsgType::kError) (void)runtime::error_from_message(*m);
    }
    auto eof = ours.recv();
    if (eof || eof.error().code != ECONNRESET) fuzz::broken("no EOF after the one message");
  }
  if (lowest_free_fd() != before) fuzz::broken("an fd was left open");
  return 0;
}
