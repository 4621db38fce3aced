// husk attach, and the session husk start -a shares with it: the terminal
// (or stdin, stdout and stderr) joined to a detached container's through its
// monitor (manage/attach.h) until it exits or the detach keys are typed.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "base/error.h"
#include "base/unique_fd.h"
#include "manage/containers.h"

namespace husk::cli {

struct AttachFlags {
  bool start = false;        // husk start -a: stdin only with -i
  bool interactive = false;  // start -i
  bool no_stdin = false;     // attach --no-stdin
  std::string detach_keys = "ctrl-p,ctrl-q";
  bool sig_proxy = true;  // without a terminal, signals go on to the container
  bool wants_stdin() const { return start ? interactive : !no_stdin; }
};

void add_attach_flags(CLI::App& cmd, AttachFlags& f, bool start);

// One session with one container.
class AttachSession {
 public:
  // Checks the flags (the detach keys) and, for a start, makes the socket
  // pair whose other end the monitor adopts.
  static Result<AttachSession> prepare(const manage::Container& c, const AttachFlags& f);
  // The monitor's end, for manage::MonitorOptions::attach_fd.
  int monitor_end() const { return theirs_.get(); }
  // The monitor has its copy: ours goes, so that its exit is seen.
  void started() { theirs_.reset(); }
  // Runs the session; returns the container's exit code, 0 on a detach, or
  // husk's error status.
  int run();

 private:
  friend int attach_command(const std::string& ref, const AttachFlags& f);
  AttachSession() = default;
  manage::Container ctr_;
  AttachFlags flags_;
  std::string keys_;
  UniqueFd ours_, theirs_;
};

// husk attach REF.
int attach_command(const std::string& ref, const AttachFlags& f);

}  // namespace husk::cli
