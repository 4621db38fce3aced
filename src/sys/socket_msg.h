// Unix socket messages with a passed file descriptor (not named socket.h:
// -Isrc would let it shadow <sys/socket.h>): the sync channel, the
// console socket and sd_notify all send one message with at most one fd.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace husk::sys {

// One sendmsg() of iov[0..n) with MSG_NOSIGNAL (a closed peer is EPIPE, not
// SIGPIPE), retried on EINTR; pass_fd, when >= 0, rides along by
// SCM_RIGHTS. The error carries errno for the caller to describe.
Result<void> send_message(int sock, const iovec* iov, size_t n, int pass_fd = -1);
// The same returning 0 or the errno: it makes no error text and touches
// nothing but its own stack.
int send_message_errno(int sock, const iovec* iov, size_t n, int pass_fd = -1);

// A SOCK_STREAM unix socket connected to path (connect retried on EINTR);
// ENAMETOOLONG when path does not fit sun_path. The error carries only the
// errno: callers name the socket.
Result<UniqueFd> connect_unix_stream(const std::string& path);
// The same for another socket type (SOCK_SEQPACKET...); flags such as
// SOCK_NONBLOCK are or'ed into type. SOCK_CLOEXEC is always set.
Result<UniqueFd> connect_unix(const std::string& path, int type);

// A unix socket of that type bound to path (a stale file there is removed
// first: the caller owns the directory) with the file's mode set before any
// connect can happen, listening. Errors as connect_unix's.
Result<UniqueFd> listen_unix(const std::string& path, int type, mode_t mode, int backlog);

}  // namespace husk::sys
