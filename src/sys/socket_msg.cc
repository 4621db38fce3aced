#include "sys/socket_msg.h"

#include <sys/socket.h>

#include <cstring>

namespace husk::sys {

int send_message_errno(int sock, const iovec* iov, size_t n, int pass_fd) {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = n;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (pass_fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
  }
  while (::sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

Result<void> send_message(int sock, const iovec* iov, size_t n, int pass_fd) {
  if (int err = send_message_errno(sock, iov, n, pass_fd); err != 0) return fail(err, "sendmsg");
  return ok();
}

}  // namespace husk::sys
