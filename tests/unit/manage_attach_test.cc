// manage/attach.h: the detach keys, and the monitor's hub over real sockets.
#include "manage/attach.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace husk::manage {
namespace {

TEST(DetachKeys, ParsesDockersForms) {
  EXPECT_EQ(*parse_detach_keys("ctrl-p,ctrl-q"), std::string("\x10\x11"));
  EXPECT_EQ(*parse_detach_keys("a,ctrl-a,ctrl-z"), std::string("a\x01\x1a"));
  EXPECT_EQ(*parse_detach_keys("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_"),
            std::string("\x00\x1b\x1c\x1d\x1e\x1f", 6));
  EXPECT_EQ(*parse_detach_keys(""), "");  // detaching off
}

TEST(DetachKeys, RefusesWhatIsNoKey) {
  for (const char* bad : {"ctrl-1", "ctrl-P", "ctrl-", "ab", ",", "ctrl-p,", "ctrl-pq"}) {
    auto r = parse_detach_keys(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().what().find("--detach-keys"), std::string::npos) << r.error().what();
  }
}

TEST(DetachMatcher, HoldsAPrefixUntilItIsCompleteOrBroken) {
  DetachMatcher m("\x10\x11");
  bool detached = true;
  EXPECT_EQ(m.feed("ab", &detached), "ab");
  EXPECT_FALSE(detached);
  // ctrl-p alone is held back...
  EXPECT_EQ(m.feed("x\x10", &detached), "x");
  EXPECT_FALSE(detached);
  // ...and passed on when the next key breaks the sequence.
  EXPECT_EQ(m.feed("y", &detached), "\x10y");
  // ctrl-p ctrl-p ctrl-q: the first is passed on, the other two detach.
  EXPECT_EQ(m.feed("\x10\x10", &detached), "\x10");
  EXPECT_EQ(m.feed("\x11rest", &detached), "");
  EXPECT_TRUE(detached);
  // Off: everything passes.
  DetachMatcher off("");
  EXPECT_EQ(off.feed("\x10\x11", &detached), "\x10\x11");
  EXPECT_FALSE(detached);
}

// A connected SEQPACKET pair: [0] the hub's end, [1] the client's.
struct Pair {
  UniqueFd hub, client;
  Pair() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    hub = UniqueFd(sv[0]);
    client = UniqueFd(sv[1]);
  }
};

std::string recv_msg(int fd) {
  std::string buf(70000, '\0');
  ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
  if (n <= 0) return {};
  buf.resize(static_cast<size_t>(n));
  return buf;
}

// One poll round of the hub alone.
void round(AttachHub& hub, int timeout_ms = 100) {
  std::vector<pollfd> p;
  hub.append(p);
  ASSERT_GE(::poll(p.data(), p.size(), timeout_ms), 0);
  hub.handle(p, 0);
}

TEST(AttachHub, OutputReachesEveryClientAndTheExitCodeEndsIt) {
  AttachHub hub;
  Pair a, b;
  hub.adopt(std::move(a.hub));
  hub.adopt(std::move(b.hub));
  hub.send(AttachMsg::kStdout, "out");
  hub.send(AttachMsg::kStderr, "err");
  for (int fd : {a.client.get(), b.client.get()}) {
    EXPECT_EQ(recv_msg(fd), std::string("\x02") + "out");
    EXPECT_EQ(recv_msg(fd), std::string("\x03") + "err");
  }
  hub.finish(7);
  int32_t code = 7;
  std::string exit_msg = std::string("\x04") + std::string(reinterpret_cast<char*>(&code), 4);
  EXPECT_EQ(recv_msg(a.client.get()), exit_msg);
  EXPECT_EQ(recv_msg(b.client.get()), exit_msg);
  // Then closed: EOF.
  char c;
  EXPECT_EQ(::recv(a.client.get(), &c, 1, 0), 0);
  EXPECT_FALSE(hub.has_clients());
}

TEST(AttachHub, InputGoesToStdinAndWaitsForIt) {
  AttachHub hub;
  Pair a;
  hub.adopt(std::move(a.hub));
  int in[2];
  ASSERT_EQ(::pipe2(in, O_CLOEXEC | O_NONBLOCK), 0);
  UniqueFd rd(in[0]), wr(in[1]);
  hub.set_input(wr.get());
  std::string m = std::string("\x00", 1) + "typed";
  ASSERT_EQ(::send(a.client.get(), m.data(), m.size(), 0), static_cast<ssize_t>(m.size()));
  round(hub);  // read from the client
  round(hub);  // written to stdin
  char buf[16] = {};
  EXPECT_EQ(::read(rd.get(), buf, sizeof buf), 5);
  EXPECT_STREQ(buf, "typed");
  // Without a stdin (-i not asked for), input is read and dropped.
  hub.set_input(-1);
  ASSERT_EQ(::send(a.client.get(), m.data(), m.size(), 0), static_cast<ssize_t>(m.size()));
  round(hub);
  round(hub);
  EXPECT_EQ(::read(rd.get(), buf, sizeof buf), -1);
}

TEST(AttachHub, AClientThatDoesNotReadIsCutOffAndOthersGoOn) {
  AttachHub hub;
  Pair slow, fast;
  hub.adopt(std::move(slow.hub));
  hub.adopt(std::move(fast.hub));
  std::string chunk(60000, 'x');
  size_t got = 0;
  // Far more than kMaxQueued plus what the socket holds; the fast client reads as it goes.
  for (size_t sent = 0; sent < 3 * kMaxQueued; sent += chunk.size()) {
    hub.send(AttachMsg::kStdout, chunk);
    round(hub, 0);
    for (std::string msg; !(msg = recv_msg(fast.client.get())).empty();) got += msg.size() - 1;
  }
  for (int i = 0; i < 100 && got % chunk.size() != 0; ++i) {
    round(hub, 10);
    for (std::string msg; !(msg = recv_msg(fast.client.get())).empty();) got += msg.size() - 1;
  }
  // The slow one was closed: after what its socket had taken, EOF.
  size_t slow_got = 0;
  for (std::string msg; !(msg = recv_msg(slow.client.get())).empty();) slow_got += msg.size() - 1;
  char c;
  EXPECT_EQ(::recv(slow.client.get(), &c, 1, MSG_DONTWAIT), 0);
  EXPECT_LT(slow_got, 3 * kMaxQueued);
  // The fast one got every byte.
  size_t sent = ((3 * kMaxQueued + chunk.size() - 1) / chunk.size()) * chunk.size();
  EXPECT_EQ(got, sent);
}

}  // namespace
}  // namespace husk::manage
