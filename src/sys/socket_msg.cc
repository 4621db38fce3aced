#include "sys/socket_msg.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

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

namespace {

Result<sockaddr_un> unix_address(const std::string& path, const char* what) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return fail(ENAMETOOLONG, "{}", what);
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

}  // namespace

Result<UniqueFd> connect_unix_stream(const std::string& path) {
  return connect_unix(path, SOCK_STREAM);
}

Result<UniqueFd> connect_unix(const std::string& path, int type) {
  HUSK_TRY_ASSIGN(sockaddr_un addr, unix_address(path, "connect"));
  UniqueFd s(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  if (!s) return fail_errno("socket");
  int rc;
  do {
    rc = ::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return fail_errno("connect");
  return s;
}

Result<UniqueFd> listen_unix(const std::string& path, int type, mode_t mode, int backlog) {
  HUSK_TRY_ASSIGN(sockaddr_un addr, unix_address(path, "bind"));
  UniqueFd s(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  if (!s) return fail_errno("socket");
  ::unlink(path.c_str());
  // The mode from the start, not a chmod after: no moment where it is wider.
  mode_t old = ::umask(static_cast<mode_t>(~mode & 0777));
  int bound = ::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (bound < 0) return fail_errno("bind");
  if (::listen(s.get(), backlog) < 0) return fail_errno("listen");
  return s;
}

}  // namespace husk::sys
