#include "runtime/seccomp_agent.h"

#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

#include "spec/default_spec.h"
#include "spec/state.h"
#include "sys/process.h"
#include "sys/socket_msg.h"

namespace husk::runtime {
namespace {

// In the process, right after the load: nothing but the stack (init.h).
Result<void> hand_off(int fd, void* arg) {
  auto* sock = static_cast<SyncSocket*>(arg);
  char number[16];
  auto [end, ec] = std::to_chars(number, number + sizeof number, fd);
  if (int e = sock->post_by_write(MsgType::kSeccomp, std::string_view(number, end - number));
      e != 0)
    return fail(e, "send {} message", msg_name(MsgType::kSeccomp));
  if (!sock->wait_for(MsgType::kSeccompDone))
    return fail(EPROTO, "sync: no {} answer", msg_name(MsgType::kSeccompDone));
  return ok();
}

Result<int> parse_fd_number(std::string_view s) {
  int fd = -1;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), fd);
  if (ec != std::errc() || end != s.data() + s.size() || fd < 0)
    return fail(EPROTO, "sync: bad {} message {:?}", msg_name(MsgType::kSeccomp), s);
  return fd;
}

// Only a seccomp listener goes to the agent, whatever number came.
Result<void> check_is_listener(int fd) {
  char link[64] = {};
  std::string proc = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = ::readlink(proc.c_str(), link, sizeof link - 1);
  if (n < 0) return fail_errno("readlink {}", proc);
  if (std::string_view(link, static_cast<size_t>(n)) != "anon_inode:seccomp notify")
    return fail(EPROTO, "sync: the fd sent is not a seccomp listener ({})", link);
  return ok();
}

// As runc's sendContainerProcessState: one message on a new SOCK_STREAM
// connection, the fd by SCM_RIGHTS with the JSON.
Result<void> send_to_agent(const std::string& path, std::string_view json, int fd) {
  auto s = sys::connect_unix_stream(path);
  if (!s)
    return fail(s.error().code, "failed to connect with seccomp agent at listenerPath {:?}", path);
  iovec iov{const_cast<char*>(json.data()), json.size()};
  auto sent = sys::send_message(s->get(), &iov, 1, fd);
  if (!sent) return fail(sent.error().code, "send the seccomp notify fd to {:?}", path);
  return ok();
}

}  // namespace

linux::NotifyFdSink notify_fd_sink(SyncSocket& sock) {
  return linux::NotifyFdSink{.send = hand_off, .arg = &sock};
}

Result<void> forward_notify_fd(SyncSocket& sock, const Message& m, pid_t pid,
                               const config::Seccomp* seccomp, std::string_view container_state) {
  // The parser refuses notify rules without a listener; this is the check
  // runc makes at this point (its message).
  if (seccomp == nullptr || seccomp->listener_path.empty())
    return fail(EINVAL, "seccomp notify: listenerPath is not set");
  HUSK_TRY_ASSIGN(int number, parse_fd_number(m.payload));
  HUSK_TRY_ASSIGN(UniqueFd pidfd, sys::pidfd_open(pid));
  HUSK_TRY_ASSIGN(UniqueFd fd, sys::pidfd_getfd(pidfd.get(), number)
                                   .context("take the seccomp notify fd of pid {}", pid));
  HUSK_TRY(check_is_listener(fd.get()));
  spec::ContainerProcessState state{.oci_version = spec::kOciVersion,
                                    .fds = {"seccompFd"},
                                    .pid = pid,
                                    .metadata = seccomp->listener_metadata,
                                    .state = std::string(container_state)};
  HUSK_TRY(send_to_agent(seccomp->listener_path, spec::to_json(state), fd.get())
               .context("seccomp notify"));
  return sock.send(MsgType::kSeccompDone);
}

}  // namespace husk::runtime
