#include "runtime/mount_sources.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <csignal>

#include "linux/path.h"
#include "sys/process.h"

namespace husk::runtime {
namespace {

bool is_bind(const config::Mount& m) { return m.bind() || m.type == "bind"; }

// The helper: enters the mount namespace of pidfd's process, then sends one
// message for the setns and one per bind mount of c (fd or errno), in order.
[[noreturn]] void helper_main(int pidfd, SyncSocket& out, const config::Container& c) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  auto in = sys::setns(pidfd, CLONE_NEWNS);
  if (out.send(MsgType::kMountSourceFd, {}, in ? 0 : in.error().code).has_value() && in) {
    for (const auto& m : c.mounts) {
      if (!is_bind(m)) continue;
      UniqueFd fd(::open(m.source.c_str(), O_PATH | O_CLOEXEC));
      int err = fd ? 0 : errno;
      if (!out.send(MsgType::kMountSourceFd, {}, err, fd.get())) break;
    }
  }
  ::_exit(0);
}

}  // namespace

bool wants_mount_sources(const config::Container& c) {
  if (c.find_namespace(config::NamespaceType::kUser) == nullptr) return false;
  const config::Namespace* mnt = c.find_namespace(config::NamespaceType::kMount);
  if (mnt == nullptr || !mnt->path.empty()) return false;
  for (const auto& m : c.mounts)
    if (is_bind(m)) return true;
  return false;
}

Result<void> MountSources::open_all(pid_t pid, const config::Container& c) {
  HUSK_TRY_ASSIGN(UniqueFd pidfd, sys::pidfd_open(pid));
  HUSK_TRY_ASSIGN(auto socks, SyncSocket::pair());
  pid_t helper = ::fork();
  if (helper < 0) return fail_errno("fork");
  if (helper == 0) {
    socks.first.close();
    helper_main(pidfd.get(), socks.second, c);
  }
  socks.second.close();
  std::vector<Source> out(c.mounts.size());
  auto collect = [&]() -> Result<void> {
    HUSK_TRY_ASSIGN(Message entered, socks.first.expect(MsgType::kMountSourceFd));
    if (entered.err == EPERM) return ok();  // rootless: the init opens them itself
    if (entered.err != 0) return fail(entered.err, "enter the init's mount namespace");
    for (size_t i = 0; i < c.mounts.size(); ++i) {
      if (!is_bind(c.mounts[i])) continue;
      HUSK_TRY_ASSIGN(Message m, socks.first.expect(MsgType::kMountSourceFd));
      out[i].fd = std::move(m.fd);
      out[i].err = out[i].fd ? 0 : m.err;
    }
    return ok();
  };
  auto r = collect();
  while (::waitpid(helper, nullptr, 0) < 0 && errno == EINTR) {
  }
  if (!r) return std::unexpected(std::move(r).error());
  sources_ = std::move(out);
  return ok();
}

Result<void> MountSources::answer(SyncSocket& sock, const Message& request, pid_t pid,
                                  const config::Container& c) {
  size_t i = 0;
  const std::string& p = request.payload;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), i);
  if (ec != std::errc() || end != p.data() + p.size() || i >= c.mounts.size() ||
      !is_bind(c.mounts[i]))
    return fail(EPROTO, "sync: bad mount-source request {:?}", p);
  if (!sources_) HUSK_TRY(open_all(pid, c).context("open bind mount sources"));
  Source& s = (*sources_)[i];
  HUSK_TRY(sock.send(MsgType::kMountSourceFd, {}, s.err, s.fd.get()));
  s.fd.reset();  // the init has its copy
  return ok();
}

Result<std::vector<UniqueFd>> request_mount_sources(SyncSocket& sock,
                                                    const config::Container& c) {
  std::vector<UniqueFd> fds(c.mounts.size());
  if (!wants_mount_sources(c)) return fds;
  for (size_t i = 0; i < c.mounts.size(); ++i) {
    const config::Mount& m = c.mounts[i];
    if (!is_bind(m)) continue;
    HUSK_TRY_ASSIGN(Message a,
                    sock.ask(MsgType::kMountSource, MsgType::kMountSourceFd, std::to_string(i)));
    if (a.err != 0)
      return fail(a.err, "mount \"{}\" on \"{}\"", m.source, linux::clean_path(m.destination));
    fds[i] = std::move(a.fd);
  }
  return fds;
}

}  // namespace husk::runtime
