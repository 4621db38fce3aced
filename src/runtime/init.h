// The container's init: the clone()d child of the runtime. It runs the
// container-side steps as one flat list, reports to the parent over the
// sync socket, waits to be started and execs the user's program. It never
// returns: success ends in execve(), failure in _exit() after the error
// has been sent, so no parent-side guard ever runs in the child.
#pragma once

#include <signal.h>

#include <string>

#include "config/container.h"
#include "linux/seccomp_filter.h"
#include "runtime/namespaces.h"
#include "runtime/runtime.h"
#include "runtime/sync.h"

namespace husk::runtime {

struct InitContext {
  const config::Container* cfg = nullptr;
  const CreateOptions* opts = nullptr;
  const linux::CompiledSeccomp* seccomp = nullptr;  // compiled by the parent before clone
  NamespacePlan plan;
  SyncSocket* sock = nullptr;   // the child's end
  int parent_sock_fd = -1;      // the parent's end: closed first thing
  int locked_dir_fd = -1;       // the parent's locked state dir: closed too
  int fifo_dir_fd = -1;         // unlocked O_PATH fd of the state dir
  std::string state_dir;        // its path (for the rootfs stage)
  bool run_mode = false;        // wait for kStart instead of exec.fifo
  sigset_t original_mask{};     // restored before execve
};

[[noreturn]] void init_main(const InitContext& ctx);

// Shared with exec's child, which runs in the container like the init.

// runc's environment rule: HOME comes from the user's passwd entry (read in
// the container's root) unless the env sets it.
std::vector<std::string> exec_env(const config::Process& p);
std::string home_of(uint32_t uid);
// argv/envp for execve; the strings must outlive the result.
std::vector<char*> c_strings(const std::vector<std::string>& v);
// The program starts with default dispositions (even for signals the caller
// ignored) and the caller's mask, as under runc.
void reset_signals(const sigset_t& mask);
// A fresh session keyring named after the container, so containers never
// share keys with the host or each other (runc does the same).
void join_session_keyring(const std::string& id);

}  // namespace husk::runtime
