// The sync socket between the runtime and the init: messages keep their
// boundaries, payloads and fds arrive whole, and the calls the init makes in
// its final stretch (post, wait_for) report failure without error text.
// Debug builds: the turn token (Turn) stays quiet on the protocol a CLONE_VM
// child follows and aborts when a side runs outside its turn.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "runtime/sync.h"
#include "sys/process.h"

namespace husk::runtime {
namespace {

std::pair<SyncSocket, SyncSocket> make_pair() {
  auto p = SyncSocket::pair();
  EXPECT_TRUE(p) << p.error().what();
  return std::move(*p);
}

TEST(SyncSocket, MessagesKeepTypePayloadErrAndBoundaries) {
  auto [a, b] = make_pair();
  ASSERT_TRUE(a.send(MsgType::kHooksDone, "first"));
  ASSERT_TRUE(a.send(MsgType::kError, std::string(5000, 'x'), EACCES));
  ASSERT_EQ(a.post(MsgType::kReady), 0);
  auto m1 = b.recv();
  ASSERT_TRUE(m1) << m1.error().what();
  EXPECT_EQ(m1->type, MsgType::kHooksDone);
  EXPECT_EQ(m1->payload, "first");
  auto m2 = b.recv();
  ASSERT_TRUE(m2);
  EXPECT_EQ(m2->type, MsgType::kError);
  EXPECT_EQ(m2->payload.size(), 5000u);
  EXPECT_EQ(m2->err, EACCES);
  Error e = error_from_message(*m2);
  EXPECT_EQ(e.code, EACCES);
  auto m3 = b.recv();
  ASSERT_TRUE(m3);
  EXPECT_EQ(m3->type, MsgType::kReady);
  EXPECT_TRUE(m3->payload.empty());
}

TEST(SyncSocket, PassesAFileDescriptor) {
  auto [a, b] = make_pair();
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_TRUE(a.send(MsgType::kPty, "/dev/pts/0", 0, fds[1]));
  ::close(fds[1]);
  auto m = b.recv();
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->fd.valid());
  ASSERT_EQ(::write(m->fd.get(), "z", 1), 1);
  char c = 0;
  ASSERT_EQ(::read(fds[0], &c, 1), 1);
  EXPECT_EQ(c, 'z');
  ::close(fds[0]);
}

TEST(SyncSocket, ExpectTurnsAPeerErrorIntoThatError) {
  auto [a, b] = make_pair();
  a.send_error(Error{ENOENT, "mount \"/proc\""});
  auto m = b.expect(MsgType::kReady);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, ENOENT);
  EXPECT_EQ(m.error().what(), "mount \"/proc\": No such file or directory");
  ASSERT_TRUE(a.send(MsgType::kGo));
  auto wrong = b.expect(MsgType::kReady);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, EPROTO);
}

TEST(SyncSocket, AskSendsTheRequestAndReturnsTheAnswer) {
  auto [a, b] = make_pair();
  ASSERT_TRUE(b.send(MsgType::kHooksDone, "state"));  // queued before the request
  auto answer = a.ask(MsgType::kHooks, MsgType::kHooksDone);
  ASSERT_TRUE(answer) << answer.error().what();
  EXPECT_EQ(answer->payload, "state");
  auto request = b.recv();
  ASSERT_TRUE(request);
  EXPECT_EQ(request->type, MsgType::kHooks);
  b.send_error(Error{EPERM, "write uid_map"});
  auto refused = a.ask(MsgType::kMapRequest, MsgType::kMapped);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().what(), "write uid_map: Operation not permitted");
}

TEST(SyncSocket, WaitForTakesOnlyTheRightEmptyMessage) {
  auto [a, b] = make_pair();
  ASSERT_EQ(a.post(MsgType::kStart), 0);
  EXPECT_TRUE(b.wait_for(MsgType::kStart));
  ASSERT_EQ(a.post(MsgType::kGo), 0);
  EXPECT_FALSE(b.wait_for(MsgType::kStart));
  ASSERT_EQ(a.post(MsgType::kStart, "payload"), 0);
  EXPECT_FALSE(b.wait_for(MsgType::kStart));
  a.close();
  EXPECT_FALSE(b.wait_for(MsgType::kStart));  // EOF
}

TEST(SyncSocket, ClosedPeerIsResetOnRecvAndEpipeOnPost) {
  auto [a, b] = make_pair();
  b.close();
  EXPECT_EQ(a.post(MsgType::kReady), EPIPE);
  auto sent = a.send(MsgType::kReady);
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, EPIPE);
  auto [c, d] = make_pair();
  c.close();
  auto m = d.recv();
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, ECONNRESET);
}

TEST(SyncSocket, PostByWriteIsOneWholeMessage) {
  auto [a, b] = make_pair();
  ASSERT_EQ(a.post_by_write(MsgType::kSeccomp, "17"), 0);
  ASSERT_EQ(a.post_by_write(MsgType::kSeccompDone, ""), 0);
  EXPECT_EQ(a.post_by_write(MsgType::kSeccomp, std::string(33, '1')), EMSGSIZE);
  auto m = b.recv();
  ASSERT_TRUE(m) << m.error().what();
  EXPECT_EQ(m->type, MsgType::kSeccomp);
  EXPECT_EQ(m->payload, "17");
  EXPECT_FALSE(m->fd.valid());
  EXPECT_TRUE(b.wait_for(MsgType::kSeccompDone));
  EXPECT_EQ(msg_name(MsgType::kSeccomp), "seccomp");
  EXPECT_EQ(msg_name(MsgType::kSeccompDone), "seccomp-done");
}

TEST(SyncSocket, ShortMessageIsMalformed) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
  SyncSocket b{UniqueFd(fds[1])};
  ASSERT_EQ(::send(fds[0], "abc", 3, 0), 3);
  auto m = b.recv();
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, EPROTO);
  ::close(fds[0]);
}

// ---------------------------------------------------------------------------
// The turn token (debug builds)

// What a child sharing our memory gets: its end of the socket, the turn
// word, where its stderr goes, and whether it takes part in the turns.
struct Peer {
  int fd = -1;
  Turn* turn = nullptr;
  int stderr_fd = -1;
  bool takes_part = true;
};

// The init's side of a create with hooks and a terminal, in order.
void follows_the_protocol(void* arg) {
  auto* p = static_cast<Peer*>(arg);
  SyncSocket sock{UniqueFd(p->fd)};
  sock.share_turn(p->turn, Turn::kChild);
  if (!sock.expect(MsgType::kGo)) ::_exit(10);
  auto done = sock.ask(MsgType::kHooks, MsgType::kHooksDone);
  if (!done || done->payload != "state") ::_exit(11);
  if (!sock.ask(MsgType::kPty, MsgType::kPtyDone, "/dev/pts/9")) ::_exit(12);
  if (sock.post(MsgType::kReady) != 0) ::_exit(13);
  // The final stretch: out of the protocol, the runtime runs on.
  if (!sock.wait_for(MsgType::kStart)) ::_exit(14);
  ::_exit(0);
}

// Sends a request and, instead of waiting for its answer, a second one.
void does_not_wait_for_the_answer(void* arg) {
  auto* p = static_cast<Peer*>(arg);
  ::dup2(p->stderr_fd, STDERR_FILENO);
  SyncSocket sock{UniqueFd(p->fd)};
  sock.share_turn(p->turn, Turn::kChild);
  if (!sock.expect(MsgType::kGo)) ::_exit(10);
  (void)sock.send(MsgType::kHooks);
  (void)sock.send(MsgType::kPty);
  ::_exit(0);
}

// Sends without taking part in the turns (a child that forgot share_turn).
void sends_out_of_turn(void* arg) {
  auto* p = static_cast<Peer*>(arg);
  SyncSocket sock{UniqueFd(p->fd)};
  if (!sock.wait_for(MsgType::kGo)) ::_exit(10);
  (void)sock.post(MsgType::kHooks);
  ::_exit(0);
}

// A child of `entry` in our memory; the runtime's end takes part in `turn`.
struct SharedChild {
  pid_t pid = -1;
  sys::ChildStack stack;
};
SharedChild spawn_shared(void (*entry)(void*), Peer& peer, SyncSocket& runtime_end, Turn& turn) {
  SharedChild c;
  auto stack = sys::ChildStack::make(256 * 1024);
  EXPECT_TRUE(stack);
  c.stack = std::move(*stack);
  auto pid = sys::clone3_shared_vm(0, -1, c.stack, entry, &peer);
  if (!pid) return c;
  c.pid = *pid;
  turn.begin();
  runtime_end.share_turn(&turn, Turn::kRuntime);
  return c;
}

#define SKIP_WITHOUT_TURN_CHECKS()                                      \
  do {                                                                  \
    if (kTurnChecks == 0) GTEST_SKIP() << "NDEBUG: no turn checks";     \
  } while (0)
#ifndef NDEBUG
constexpr int kTurnChecks = 1;
#else
constexpr int kTurnChecks = 0;
#endif

int wait_status(pid_t pid) {
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return status;
}

TEST(SyncTurn, QuietOnTheProtocolOfAChildSharingOurMemory) {
  auto [runtime, child] = make_pair();
  Turn turn;
  Peer peer{.fd = child.fd(), .turn = &turn};
  SharedChild c = spawn_shared(follows_the_protocol, peer, runtime, turn);
  if (c.pid < 0) GTEST_SKIP() << "no clone3 with a shared memory here";
  child.close();
  ASSERT_TRUE(runtime.send(MsgType::kGo));
  ASSERT_TRUE(runtime.expect(MsgType::kHooks));
  ASSERT_TRUE(runtime.send(MsgType::kHooksDone, "state"));
  auto pty = runtime.expect(MsgType::kPty);
  ASSERT_TRUE(pty);
  EXPECT_EQ(pty->payload, "/dev/pts/9");
  ASSERT_TRUE(runtime.send(MsgType::kPtyDone));
  ASSERT_TRUE(runtime.expect(MsgType::kReady));
  // The runtime's for good: it may allocate while the child waits, and
  // sends kStart without a turn to hand over.
  std::string busy(1 << 16, 'x');
  ASSERT_TRUE(runtime.send(MsgType::kStart));
  int status = wait_status(c.pid);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
#ifndef NDEBUG
  EXPECT_EQ(turn.holder.load(), Turn::kRuntime);
#endif
}

TEST(SyncTurn, ChildThatSendsAgainBeforeTheAnswerAborts) {
  SKIP_WITHOUT_TURN_CHECKS();
  auto [runtime, child] = make_pair();
  int err[2];
  ASSERT_EQ(::pipe2(err, O_CLOEXEC), 0);
  Turn turn;
  Peer peer{.fd = child.fd(), .turn = &turn, .stderr_fd = err[1]};
  SharedChild c = spawn_shared(does_not_wait_for_the_answer, peer, runtime, turn);
  if (c.pid < 0) GTEST_SKIP() << "no clone3 with a shared memory here";
  child.close();
  ::close(err[1]);
  ASSERT_TRUE(runtime.send(MsgType::kGo));
  int status = wait_status(c.pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
  EXPECT_EQ(WTERMSIG(status), SIGABRT);
  char buf[512] = {};
  ASSERT_GT(::read(err[0], buf, sizeof buf - 1), 0);
  ::close(err[0]);
  EXPECT_STREQ(buf,
               "husk: sync turn broken: the child sends pty while the runtime holds the turn "
               "(runtime/sync.h)\n");
}

// The runtime hands the turn over with kGo, then sends again.
void runtime_sends_twice() {
  auto [runtime, child] = make_pair();
  Turn turn;
  turn.begin();
  runtime.share_turn(&turn, Turn::kRuntime);
  child.share_turn(&turn, Turn::kChild);
  (void)runtime.send(MsgType::kGo);
  (void)runtime.send(MsgType::kMapped);
}

// A child in our memory that sends without the turn: the runtime's recv.
void runtime_receives_out_of_turn() {
  auto [runtime, child] = make_pair();
  Turn turn;
  Peer peer{.fd = child.fd(), .turn = &turn};
  SharedChild c = spawn_shared(sends_out_of_turn, peer, runtime, turn);
  if (c.pid < 0) ::_exit(3);
  (void)runtime.send(MsgType::kGo);
  (void)runtime.recv();  // kHooks, sent without the turn
}

TEST(SyncTurnDeathTest, RuntimeThatSendsTwiceWithoutAnAnswerAborts) {
  SKIP_WITHOUT_TURN_CHECKS();
  EXPECT_DEATH(runtime_sends_twice(),
               "the runtime sends mapped while the child holds the turn");
}

TEST(SyncTurnDeathTest, MessageFromAChildOutOfTurnAbortsTheRuntime) {
  SKIP_WITHOUT_TURN_CHECKS();
  EXPECT_DEATH(runtime_receives_out_of_turn(),
               "the runtime received hooks while the child holds the turn");
}

TEST(SyncTurn, ChildWithACopyOfOurMemoryIsNotChecked) {
  auto [runtime, child] = make_pair();
  Turn turn;
  child.share_turn(&turn, Turn::kChild);  // never begun: a copy sees kNobody
  ASSERT_TRUE(child.send(MsgType::kHooks));
  ASSERT_TRUE(child.send(MsgType::kPty));
  ASSERT_TRUE(runtime.expect(MsgType::kHooks));
  ASSERT_TRUE(runtime.expect(MsgType::kPty));
}

// Found by tests/fuzz (fuzz_sync): a header that claims less payload than
// the message holds was accepted, its tail silently dropped.
TEST(SyncSocket, MessageLongerThanItsHeaderSaysIsMalformed) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
  SyncSocket b{UniqueFd(fds[1])};
  // {type = kError, len = 2, err = 0} then 5 bytes.
  const char msg[] = "\x06\0\0\0\x02\0\0\0\0\0\0\0hello";
  ASSERT_EQ(::send(fds[0], msg, sizeof msg - 1, 0), static_cast<ssize_t>(sizeof msg - 1));
  auto m = b.recv();
  ASSERT_FALSE(m) << "accepted payload " << m->payload;
  EXPECT_EQ(m.error().code, EPROTO);
  ::close(fds[0]);
}

// Only one fd rides along a message; a second would be dropped unseen.
TEST(SyncSocket, MessageWithTwoFdsIsMalformed) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
  SyncSocket b{UniqueFd(fds[1])};
  const char hdr[12] = {7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};  // kGo, no payload
  int pass[2] = {fds[0], fds[0]};
  iovec iov{const_cast<char*>(hdr), sizeof hdr};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof pass)] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof pass);
  std::memcpy(CMSG_DATA(c), pass, sizeof pass);
  ASSERT_EQ(::sendmsg(fds[0], &msg, 0), static_cast<ssize_t>(sizeof hdr));
  auto m = b.recv();
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, EPROTO);
  ::close(fds[0]);
}

}  // namespace
}  // namespace husk::runtime
