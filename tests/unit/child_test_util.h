// Runs a test step in a forked child, for steps that change the process for good
// (credentials, limits, filters, namespaces). Header-only: each test file that
// includes it gets its own copy in an anonymous namespace.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

#include <fmt/format.h>

#include "base/file.h"

namespace husk::testing {
namespace {

// Runs fn in a forked child and returns what it returned, with "[status N]"
// appended when the child did not exit 0 (a crash, an abort).
inline std::string run_in_child(const std::function<std::string()>& fn) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    (void)write_all(fds[1], fn());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, n);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) out += fmt::format("[status {}]", status);
  return out;
}

}  // namespace
}  // namespace husk::testing
