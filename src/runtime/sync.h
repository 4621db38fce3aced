// The parent <-> init sync protocol over one SOCK_SEQPACKET socketpair.
//
// Each message is a header {u32 type; u32 len; i32 err} followed by len bytes
// of payload; at most one fd rides along by SCM_RIGHTS. SEQPACKET keeps
// message boundaries, so one recvmsg() is one message.
//
//   runtime (parent)                         init (child; "stage" = intermediate)
//   ----------------                         ------------------------------------
//   clone3(CLONE_NEW*)  ------------------>  starts in its new namespaces
//   join the cgroups (v1: write the pid; v2: CLONE_INTO_CGROUP did it)
//                        --- kGo --------->  goes on: nothing it runs is ever
//                                            outside the container's cgroups
//                        <-- kMapRequest --  needs uid/gid maps (new user ns)
//   write uid_map/gid_map
//                        --- kMapped ----->  setresuid(0), carries on
//                        <-- kInitPid -----  stage forked the real init (when a
//                                            pid ns had to be joined or made by
//                                            unshare); payload: the init's pid
//   reap the stage
//                        <-- kHooks -------  rootfs mounted, before pivot_root
//   (only with hooks)                         (runtime hooks; then the init runs
//   prestart, createRuntime hooks             createContainer, and startContainer
//                        --- kHooksDone -->   after start; hooks.h has the rest)
//                        <-- kMountSource -  in a user namespace: a bind mount's
//                                            source (payload: its index in mounts)
//   opened O_PATH in the init's mount namespace with our credentials
//   (a 0700 host dir its root cannot search; mount_sources.h)
//                        --- kMountSourceFd >  the fd (SCM_RIGHTS), or err = errno;
//                                            neither: open it yourself
//                        <-- kPty ---------  process.terminal: the pty master
//   to --console-socket, or kept to proxy the caller's terminal (run)
//                        --- kPtyDone ---->
//                        <-- kSeccomp -----  the filter it just loaded has
//                                            SCMP_ACT_NOTIFY rules; payload: the
//                                            listener fd's number, sent with
//                                            write(2) (seccomp_agent.h)
//   pidfd_getfd; connect to linux.seccomp.listenerPath and send the process
//   state JSON + the fd (SCM_RIGHTS); an agent not reached fails the create
//                        --- kSeccompDone ->  closes its copy, goes on
//                        <-- kReady -------  rootfs, process and security done;
//                                            the program was found
//   write state.json, --pid-file
//   (run)                --- kStart ----->  execve (the socket is CLOEXEC:
//                        <-- EOF ---------   EOF means the exec happened)
//   (create) exit; `start` later opens exec.fifo and the init execs
//
//   Any step in the child that fails sends kError {err = errno, payload =
//   the error's context chain} and exits; the parent kills and reaps it,
//   undoes its own steps and reports `container init: <message>`.
//
//   Every message but kReady, kError and kInitPid is answered, and the
//   sender waits for the answer: exactly one side runs at a time. That is
//   what lets the init share the runtime's memory until its execve
//   (init.h); recv() blocks before it allocates anything for the same reason.
//   Debug builds check the rule (Turn below).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"

namespace husk::runtime {

enum class MsgType : uint32_t {
  kMapRequest = 1,
  kMapped = 2,
  kInitPid = 3,
  kReady = 4,
  kStart = 5,
  kError = 6,
  kGo = 7,
  kPty = 8,  // init -> runtime: the pty master (fd), payload its /dev/pts name
  kHooks = 9,      // init -> runtime: run prestart + createRuntime hooks now
  kHooksDone = 10, // runtime -> init: done; payload the state JSON for its hooks
  kPtyDone = 11,   // runtime -> init: the pty master was passed on or kept
  kSeccomp = 12,   // init -> runtime: payload the number of its seccomp notify fd
  kSeccompDone = 13,  // runtime -> init: the agent at listenerPath has the fd
  kMountSource = 14,  // init -> runtime: payload the index of a bind mount in c.mounts
  kMountSourceFd = 15,  // runtime -> init: an O_PATH fd of its source, or err (mount_sources.h)
};

std::string_view msg_name(MsgType t);

// Whose turn it is to touch the memory a CLONE_VM child shares with the
// runtime (init.h), held to more than convention in debug builds: one word
// in the shared memory names the side that may run. Each message a side
// sends hands the turn to the peer (a request to its answerer, an answer
// back to the asker; kGo gives the child its first turn), and kReady, kError
// and kInitPid hand it to the runtime for good: their sender leaves the
// protocol (the init's final stretch touches only its own memory). A side
// checks that it holds the turn before it sends and as soon as recv has a
// message (before it allocates anything), and aborts with a message naming
// both otherwise. The runtime calls begin() once the child really shares its
// memory; a child with a copy never sees that, so its checks stay off.
// Release builds (NDEBUG) compile all of it out.
class Turn {
 public:
  enum Side : int { kNobody = 0, kRuntime = 1, kChild = 2 };
#ifndef NDEBUG
  void begin() { holder.store(kRuntime); }
  std::atomic<int> holder{kNobody};
#else
  void begin() {}
#endif
};

struct Message {
  MsgType type{};
  int32_t err = 0;
  std::string payload;
  UniqueFd fd;  // SCM_RIGHTS, if any
};

class SyncSocket {
 public:
  SyncSocket() = default;
  explicit SyncSocket(UniqueFd fd) : fd_(std::move(fd)) {}

  // Both ends, close-on-exec.
  static Result<std::pair<SyncSocket, SyncSocket>> pair();

  Result<void> send(MsgType type, std::string_view payload = {}, int32_t err = 0,
                    int pass_fd = -1);
  // send() that touches nothing but its own stack (no error text is made):
  // 0, or the errno of a message that could not be sent.
  int post(MsgType type, std::string_view payload = {}, int32_t err = 0, int pass_fd = -1);
  // post() as one write(2) of a short message (payload at most 32 bytes)
  // built on the stack: the seccomp notify hand-off (seccomp_agent.h), where
  // write is the one syscall the filter may not give to the agent.
  int post_by_write(MsgType type, std::string_view payload);
  // Sends an Error so the other side can rebuild it.
  void send_error(const Error& e);
  // Receives one message; EOF is reported as an ECONNRESET error.
  Result<Message> recv();
  // Receives one message and insists on its type; a kError from the peer
  // becomes that error.
  Result<Message> expect(MsgType type);
  // A request and its answer: sends `type` and waits for `answer` (expect),
  // so the turn passes to the peer and back (the rule above).
  Result<Message> ask(MsgType type, MsgType answer, std::string_view payload = {},
                      int pass_fd = -1);
  // Receives one message: true if it is `type` without payload. Touches
  // nothing but its own stack (init.h: the final stretch before execve).
  bool wait_for(MsgType type);

  // Takes part in *turn as `self` (debug builds; a no-op under NDEBUG).
  // Until then, and after this side left the protocol, nothing is checked.
  void share_turn(Turn* turn, Turn::Side self) {
#ifndef NDEBUG
    turn_ = turn;
    self_ = self;
#else
    (void)turn, (void)self;
#endif
  }

  int fd() const { return fd_.get(); }
  void close() { fd_.reset(); }

 private:
  // The turn checks (sync.cc), inlined away under NDEBUG. They touch only
  // the stack, the turn word and this object, and abort on a violation.
#ifndef NDEBUG
  void turn_before_send(MsgType type);
  void turn_after_send(MsgType type, int err);
  void turn_on_receive(ssize_t n, uint32_t type);
#else
  void turn_before_send(MsgType) {}
  void turn_after_send(MsgType, int) {}
  void turn_on_receive(ssize_t, uint32_t) {}
#endif

  UniqueFd fd_;
#ifndef NDEBUG
  Turn* turn_ = nullptr;
  Turn::Side self_ = Turn::kNobody;
#endif
};

// Rebuilds an Error received in a kError message.
Error error_from_message(const Message& m);

}  // namespace husk::runtime
