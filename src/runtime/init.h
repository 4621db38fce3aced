// The container's init: the clone()d child of the runtime. It runs the
// container-side steps as one flat list, reports to the parent over the
// sync socket, waits to be started and execs the user's program. It never
// returns: success ends in execve(), failure in _exit() after the error
// has been sent, so no parent-side guard ever runs in the child.
//
// Shared memory. Where it can (init_can_share_memory), the runtime clones
// the init with CLONE_VM (sys::clone3_shared_vm): until its execve the init
// runs on a stack of its own inside the runtime's address space, with the
// same heap and the same glibc thread-local state (errno, malloc's caches),
// and no locks between them. That is safe because they take turns:
//   - until kGo the init only waits (close, prctl, then recv of kGo);
//   - every request the init sends is answered, and the sender waits for
//     the answer before it touches memory again (sync.h), so one side runs
//     while the other is blocked in recv;
//   - after kReady the runtime runs on (create returns, frees its objects
//     and exits; a library caller may go on with anything), so from kReady
//     to execve the init touches nothing but what it made before kReady, on
//     its own stack and in heap blocks of its own that nobody else frees:
//     no malloc, no free, no InitContext, no error text (the final stretch,
//     start_program).
// Debug builds check these turns (Turn in sync.h) and abort on a violation.
// HUSK_SHARED_VM=0, and any ASan build, give the init a copy instead
// (spawn_child), so CI can run the suite both ways.
// The init's user pages before execve are charged to the runtime's memory
// cgroup (the mm's owner), as posix_spawn's child; kernel memory for its
// mounts and namespaces goes to the container's cgroups, where it runs.
#pragma once

#include <signal.h>

#include <string>
#include <vector>

#include "cgroup/manager.h"
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
  int sock_fd = -1;             // the child's end of the sync socket
  int parent_sock_fd = -1;      // the parent's end: closed first thing
  int locked_dir_fd = -1;       // the parent's locked state dir: closed too
  int fifo_dir_fd = -1;         // unlocked O_PATH fd of the state dir
  std::string state_dir;        // its path (for the rootfs stage)
  bool run_mode = false;        // wait for kStart instead of exec.fifo
  Turn* turn = nullptr;         // whose turn it is, with a shared memory (sync.h)
  sigset_t original_mask{};     // restored before execve
  // The v1 cgroups the init moves itself into first thing (cgroup::SelfJoin).
  const cgroup::SelfJoin* self_join = nullptr;
};

[[noreturn]] void init_main(const InitContext& ctx);
// init_main with the signature clone3_shared_vm wants (arg: the InitContext).
void init_entry(void* ctx);

// Whether the init may share the runtime's memory until execve. Not when the
// kernel forbids it with a shared mm (joining or making a user namespace,
// entering a time namespace), when a stage forks the real init, when
// startContainer hooks run between start and execve (they need the heap), or
// when process.oomScoreAdj differs from the runtime's own (the kernel keeps
// it equal across processes that share an mm, so it would change ours).
bool init_can_share_memory(const config::Container& c, const NamespacePlan& plan);
// The oomScoreAdj part of that, for exec's process too.
bool oom_score_adj_is_ours(const config::Process& p);

// Shared with exec's child, which runs in the container like the init.

// runc's environment rule: HOME comes from the user's passwd entry (read in
// the container's root) unless the env sets it.
std::vector<std::string> exec_env(const config::Process& p);
std::string home_of(uint32_t uid);
// argv/envp for execve; the strings must outlive the result.
std::vector<char*> c_strings(const std::vector<std::string>& v);
// The program starts with default dispositions (even for signals the caller
// ignored) and the caller's mask, as under runc. Touches only its stack.
void reset_signals(const sigset_t& mask);

// The final stretch of the init and of exec's process, from start to
// execve: all of it prepared before kReady, in memory the process owns.
struct ProgramStart {
  const char* path = nullptr;  // found by the PATH lookup
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* what = nullptr;  // `exec "<args[0]>"`, the context of a failed exec
  SyncSocket* sock = nullptr;  // a failed exec is reported here
  int fifo_fd = -1;            // and, for a created init, into exec.fifo too
  sigset_t mask{};             // the caller's signal mask
};
// Resets the signals and execs; a failed execve is reported and ends in
// _exit(127). No allocation, no error text but the one prepared.
[[noreturn]] void start_program(const ProgramStart& p);

// The strings a ProgramStart points into, copied before kReady into blocks
// of the process's own: argv, the environment (with runc's HOME rule), the
// found path and the text of a failed exec. Neither copied nor moved: argv
// and envp point into its strings.
class PreparedExec {
 public:
  PreparedExec(const config::Process& p, std::string path);
  PreparedExec(const PreparedExec&) = delete;
  PreparedExec& operator=(const PreparedExec&) = delete;
  ProgramStart start(SyncSocket& sock, const sigset_t& mask) const;

 private:
  std::string path_;
  std::vector<std::string> args_;
  std::vector<std::string> env_;
  std::vector<char*> argv_;
  std::vector<char*> envp_;
  std::string what_;
};
// A fresh session keyring named after the container, so containers never
// share keys with the host or each other (runc does the same).
void join_session_keyring(const std::string& id);

}  // namespace husk::runtime
