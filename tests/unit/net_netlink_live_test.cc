// net::Netlink on real links, root only (skipped otherwise). Every test runs
// in a network namespace of its own (the fixture unshares one and returns to
// the original at the end) and makes any second one it needs; nothing here
// touches the host's interfaces, and the namespaces go away with their fds.
// Traffic: TCP between the test's own namespaces only.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if.h>
#include <linux/pkt_sched.h>
#include <linux/tc_act/tc_mirred.h>
#include <netinet/in.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/addr.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/tc.h>
#include <netlink/socket.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "base/file.h"
#include "net/netlink.h"

namespace husk::net {
namespace {

using Clock = std::chrono::steady_clock;

IpAddr ip(const char* text) { return *IpAddr::parse(text); }

UniqueFd own_netns() { return UniqueFd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)); }

// A fresh network namespace, held by its fd; the caller stays where it is.
UniqueFd make_netns() {
  UniqueFd back = own_netns();
  if (!back || ::unshare(CLONE_NEWNET) != 0) return UniqueFd();
  UniqueFd made = own_netns();
  if (::setns(back.get(), CLONE_NEWNET) != 0) std::abort();  // stranded: stop here
  return made;
}

// A libnl socket of the test's own, to read back what Netlink made.
struct TestSock {
  nl_sock* sock = nl_socket_alloc();
  TestSock() {
    if (sock != nullptr && nl_connect(sock, NETLINK_ROUTE) < 0) {
      nl_socket_free(sock);
      sock = nullptr;
    }
  }
  ~TestSock() {
    if (sock != nullptr) nl_socket_free(sock);
  }
  // The link, or nullptr; the caller puts it.
  rtnl_link* link(const std::string& name) {
    rtnl_link* l = nullptr;
    if (rtnl_link_get_kernel(sock, 0, name.c_str(), &l) < 0) return nullptr;
    return l;
  }
  bool has_link(const std::string& name) {
    rtnl_link* l = link(name);
    if (l != nullptr) rtnl_link_put(l);
    return l != nullptr;
  }
};

struct LinkRef {
  rtnl_link* l;
  ~LinkRef() {
    if (l != nullptr) rtnl_link_put(l);
  }
};

// Addresses of scope global (no link-local) on ifindex, by family.
int count_addresses(TestSock& ts, int ifindex, int family) {
  nl_cache* cache = nullptr;
  if (rtnl_addr_alloc_cache(ts.sock, &cache) < 0) return -1;
  int n = 0;
  for (nl_object* o = nl_cache_get_first(cache); o != nullptr; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    if (rtnl_addr_get_ifindex(a) == ifindex && rtnl_addr_get_family(a) == family &&
        rtnl_addr_get_scope(a) == RT_SCOPE_UNIVERSE)
      ++n;
  }
  nl_cache_free(cache);
  return n;
}

// A TCP socket made in the namespace netns_fd.
UniqueFd tcp_socket_in(int netns_fd, Family family) {
  UniqueFd s;
  auto r = in_netns(netns_fd, [&]() -> Result<void> {
    s.reset(::socket(family == Family::kV4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) return fail_errno("socket");
    return ok();
  });
  EXPECT_TRUE(r) << r.error().what();
  return s;
}

sockaddr_storage sockaddr_of(const IpAddr& a, uint16_t port, socklen_t* len) {
  sockaddr_storage ss{};
  if (a.family == Family::kV4) {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    std::memcpy(&s4->sin_addr, a.bytes.data(), 4);
    *len = sizeof(sockaddr_in);
  } else {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    std::memcpy(&s6->sin6_addr, a.bytes.data(), 16);
    *len = sizeof(sockaddr_in6);
  }
  return ss;
}

void set_timeouts(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// A connected TCP pair: the client made in client_ns, the server listening on
// server_ip in server_ns. {client, server}, both invalid on failure.
std::pair<UniqueFd, UniqueFd> tcp_pair(int client_ns, int server_ns, const IpAddr& server_ip) {
  UniqueFd lis = tcp_socket_in(server_ns, server_ip.family);
  UniqueFd cli = tcp_socket_in(client_ns, server_ip.family);
  if (!lis || !cli) return {};
  socklen_t len = 0;
  sockaddr_storage sa = sockaddr_of(server_ip, 0, &len);
  if (::bind(lis.get(), reinterpret_cast<sockaddr*>(&sa), len) != 0 ||
      ::listen(lis.get(), 1) != 0) {
    ADD_FAILURE() << "bind/listen on " << server_ip.str() << ": " << std::strerror(errno);
    return {};
  }
  ::getsockname(lis.get(), reinterpret_cast<sockaddr*>(&sa), &len);
  set_timeouts(lis.get(), 3000);
  set_timeouts(cli.get(), 3000);
  if (::connect(cli.get(), reinterpret_cast<sockaddr*>(&sa), len) != 0) {
    ADD_FAILURE() << "connect to " << server_ip.str() << ": " << std::strerror(errno);
    return {};
  }
  UniqueFd srv(::accept4(lis.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!srv) ADD_FAILURE() << "accept: " << std::strerror(errno);
  set_timeouts(srv.get(), 3000);
  return {std::move(cli), std::move(srv)};
}

// A byte from the client to the server and one back: the path works both ways.
bool ping_pong(int client_ns, int server_ns, const IpAddr& server_ip) {
  auto [cli, srv] = tcp_pair(client_ns, server_ns, server_ip);
  if (!cli || !srv) return false;
  char c = 'p';
  if (::write(cli.get(), &c, 1) != 1 || ::read(srv.get(), &c, 1) != 1 || c != 'p') return false;
  c = 'q';
  return ::write(srv.get(), &c, 1) == 1 && ::read(cli.get(), &c, 1) == 1 && c == 'q';
}

// Bytes/s the server receives from a client sending as fast as it can,
// counted from `warm` after the start to `total`.
double goodput(int client_ns, int server_ns, const IpAddr& server_ip,
               std::chrono::milliseconds warm, std::chrono::milliseconds total) {
  auto [cli, srv] = tcp_pair(client_ns, server_ns, server_ip);
  if (!cli || !srv) return -1;
  set_timeouts(cli.get(), 100);  // the sender wakes up to see the deadline
  Clock::time_point start = Clock::now();
  std::atomic<bool> stop{false};
  std::thread sender([&, fd = cli.get()] {
    std::vector<char> buf(64 << 10, 'x');
    while (!stop.load()) (void)::send(fd, buf.data(), buf.size(), MSG_NOSIGNAL);
  });
  std::vector<char> buf(64 << 10);
  uint64_t counted = 0;
  Clock::time_point from = start + warm, until = start + total;
  for (Clock::time_point now = start; now < until; now = Clock::now()) {
    ssize_t n = ::read(srv.get(), buf.data(), buf.size());
    if (n <= 0) break;
    if (Clock::now() >= from) counted += static_cast<uint64_t>(n);
  }
  stop = true;
  sender.join();
  std::chrono::duration<double> span = until - from;
  return static_cast<double>(counted) / span.count();
}

class LiveNetlink : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    home_ = own_netns();
    ASSERT_TRUE(home_);
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << std::strerror(errno);
    here_ = own_netns();
    ASSERT_TRUE(here_);
  }
  void TearDown() override {
    if (home_ && ::setns(home_.get(), CLONE_NEWNET) != 0) std::abort();
  }

  // A veth pair: `va` here with 10.98.0.1/24, `vb` in peer_ with
  // 10.98.0.2/24, both up.
  void veth_pair(Netlink& nl) {
    peer_ = make_netns();
    ASSERT_TRUE(peer_);
    auto r = nl.create_veth("va", "vb", peer_.get());
    ASSERT_TRUE(r) << r.error().what();
    ASSERT_TRUE(nl.add_address("va", ip("10.98.0.1"), 24));
    ASSERT_TRUE(nl.set_up("va"));
    auto pn = Netlink::open_in(peer_.get());
    ASSERT_TRUE(pn) << pn.error().what();
    ASSERT_TRUE(pn->add_address("vb", ip("10.98.0.2"), 24));
    ASSERT_TRUE(pn->set_up("vb"));
    ASSERT_TRUE(nl.wait_ready("va"));
    ASSERT_TRUE(pn->wait_ready("vb"));
  }

  UniqueFd home_, here_, peer_;
};

TEST_F(LiveNetlink, BridgeVethAddressesRoutesAndTraffic) {
  auto nl = Netlink::open();
  ASSERT_TRUE(nl) << nl.error().what();
  UniqueFd peer = make_netns();
  ASSERT_TRUE(peer);
  std::vector<std::pair<IpAddr, int>> addrs{{ip("10.99.0.1"), 24}, {ip("fd99::1"), 64}};
  auto br = nl->ensure_bridge("husk-t0", addrs);
  ASSERT_TRUE(br) << br.error().what();
  auto index = nl->link_index("husk-t0");
  ASSERT_TRUE(index && *index);
  EXPECT_EQ(**index, *br);

  TestSock ts;
  ASSERT_TRUE(ts.sock);
  {
    LinkRef l{ts.link("husk-t0")};
    ASSERT_TRUE(l.l);
    EXPECT_STREQ(rtnl_link_get_type(l.l), "bridge");
    EXPECT_TRUE(rtnl_link_get_flags(l.l) & IFF_UP);
    nl_addr* mac = rtnl_link_get_addr(l.l);
    ASSERT_TRUE(mac);
    EXPECT_EQ(static_cast<const uint8_t*>(nl_addr_get_binary_addr(mac))[0] & 0x03, 0x02)
        << "a unicast, locally administered MAC of its own";
  }
  EXPECT_EQ(count_addresses(ts, *br, AF_INET), 1);
  EXPECT_EQ(count_addresses(ts, *br, AF_INET6), 1);
  // A second call (another husk) changes nothing.
  auto again = nl->ensure_bridge("husk-t0", addrs);
  ASSERT_TRUE(again) << again.error().what();
  EXPECT_EQ(*again, *br);
  EXPECT_EQ(count_addresses(ts, *br, AF_INET), 1);
  EXPECT_EQ(count_addresses(ts, *br, AF_INET6), 1);

  auto made = nl->create_veth("hv-t1", "eth0", peer.get(), 1400);
  ASSERT_TRUE(made) << made.error().what();
  ASSERT_TRUE(nl->set_master("hv-t1", "husk-t0"));
  ASSERT_TRUE(nl->set_up("hv-t1"));
  {
    LinkRef l{ts.link("hv-t1")};
    ASSERT_TRUE(l.l);
    EXPECT_EQ(rtnl_link_get_master(l.l), *br);
    EXPECT_EQ(rtnl_link_get_mtu(l.l), 1400u);
  }
  EXPECT_EQ(*nl->link_index("eth0"), std::nullopt) << "the peer is in the other namespace";

  auto pn = Netlink::open_in(peer.get());
  ASSERT_TRUE(pn) << pn.error().what();
  auto peer_index = pn->link_index("eth0");
  ASSERT_TRUE(peer_index && *peer_index);
  ASSERT_TRUE(pn->set_up("eth0"));
  ASSERT_TRUE(pn->add_address("eth0", ip("10.99.0.2"), 24));
  ASSERT_TRUE(pn->add_address("eth0", ip("fd99::2"), 64));
  auto r4 = pn->add_default_route(ip("10.99.0.1"));
  ASSERT_TRUE(r4) << r4.error().what();
  auto r6 = pn->add_default_route(ip("fd99::1"));
  ASSERT_TRUE(r6) << r6.error().what();

  auto prefixes = pn->route_prefixes();
  ASSERT_TRUE(prefixes) << prefixes.error().what();
  std::vector<std::string> seen;
  for (const Prefix& p : *prefixes) seen.push_back(p.str());
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"10.99.0.0/24", "fd99::/64"}));
  auto host_prefixes = nl->route_prefixes();
  ASSERT_TRUE(host_prefixes);
  EXPECT_EQ(host_prefixes->size(), 2u);

  // Traffic from the peer to the bridge's addresses (the gateway).
  // Once the kernel has finished bringing the links up, the first packets go
  // through: no ARP/ND retry (1 s) on the way.
  ASSERT_TRUE(nl->wait_ready("hv-t1"));
  ASSERT_TRUE(pn->wait_ready("eth0"));
  ASSERT_TRUE(nl->wait_ready("husk-t0"));
  auto start = Clock::now();
  EXPECT_TRUE(ping_pong(peer.get(), here_.get(), ip("10.99.0.1")));
  EXPECT_TRUE(ping_pong(peer.get(), here_.get(), ip("fd99::1")));
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(500));
  // The default route at work: an address of the bridge's outside the subnet.
  ASSERT_TRUE(nl->add_address("husk-t0", ip("192.0.2.1"), 32));
  EXPECT_TRUE(ping_pong(peer.get(), here_.get(), ip("192.0.2.1")));

  ASSERT_TRUE(nl->delete_link("hv-t1"));
  EXPECT_FALSE(ts.has_link("hv-t1"));
  EXPECT_EQ(*pn->link_index("eth0"), std::nullopt) << "the peer goes with it";
  EXPECT_TRUE(nl->delete_link("hv-t1")) << "a missing link is not an error";
}

// Two husk processes making the same bridge at once: both succeed, with the
// same bridge and one copy of each address (threads stand in for them; each
// has a socket of its own, as each process would).
TEST_F(LiveNetlink, EnsureBridgeRacesWithItself) {
  std::vector<std::pair<IpAddr, int>> addrs{{ip("10.97.0.1"), 16}, {ip("fd97::1"), 64}};
  TestSock ts;
  ASSERT_TRUE(ts.sock);
  for (int round = 0; round < 10; ++round) {
    std::string name = "husk-r" + std::to_string(round);
    Result<int> got[2] = {fail(0, "not run"), fail(0, "not run")};
    std::atomic<int> ready{0};
    auto racer = [&](int i) {
      auto nl = Netlink::open();
      if (!nl) {
        got[i] = std::unexpected(nl.error());
        return;
      }
      ++ready;
      while (ready.load() < 2) {
      }
      got[i] = nl->ensure_bridge(name, addrs);
    };
    std::thread a(racer, 0), b(racer, 1);
    a.join();
    b.join();
    ASSERT_TRUE(got[0]) << got[0].error().what();
    ASSERT_TRUE(got[1]) << got[1].error().what();
    EXPECT_EQ(*got[0], *got[1]);
    EXPECT_EQ(count_addresses(ts, *got[0], AF_INET), 1);
    EXPECT_EQ(count_addresses(ts, *got[0], AF_INET6), 1);
  }
}

TEST_F(LiveNetlink, ErrorsNameTheDevice) {
  auto nl = Netlink::open();
  ASSERT_TRUE(nl);
  UniqueFd peer = make_netns();
  ASSERT_TRUE(peer);
  ASSERT_TRUE(nl->create_veth("hv-e1", "eth0", peer.get()));

  auto dup = nl->create_veth("hv-e1", "eth1", peer.get());
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, EEXIST);
  EXPECT_EQ(dup.error().what(), "create veth \"hv-e1\" (peer \"eth1\"): File exists");

  auto master = nl->set_master("hv-e1", "nosuch-br");
  ASSERT_FALSE(master);
  EXPECT_EQ(master.error().code, ENODEV);
  EXPECT_NE(master.error().what().find("\"nosuch-br\""), std::string::npos)
      << master.error().what();

  auto up = nl->set_up("nosuch0");
  ASSERT_FALSE(up);
  EXPECT_EQ(up.error().code, ENODEV);
  EXPECT_EQ(up.error().what(), "set \"nosuch0\" up: No such device");

  auto addr = nl->add_address("nosuch0", ip("10.1.2.3"), 24);
  ASSERT_FALSE(addr);
  EXPECT_EQ(addr.error().what(),
            "add address 10.1.2.3/24 to \"nosuch0\": \"nosuch0\": No such device");

  auto twice = nl->add_address("hv-e1", ip("10.1.2.3"), 24);
  ASSERT_TRUE(twice) << twice.error().what();
  twice = nl->add_address("hv-e1", ip("10.1.2.3"), 24);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, EEXIST);

  auto not_bridge = nl->ensure_bridge("hv-e1", {});
  ASSERT_FALSE(not_bridge);
  EXPECT_EQ(not_bridge.error().what(),
            "\"hv-e1\" exists and is not a bridge (type veth): File exists");

  auto long_name = nl->create_veth("a-name-too-long-for-linux", "eth2", peer.get());
  ASSERT_FALSE(long_name);
  EXPECT_EQ(long_name.error().code, EINVAL);
  EXPECT_NE(long_name.error().what().find("\"a-name-too-long-for-linux\""), std::string::npos);
  EXPECT_FALSE(nl->link_index("bad/name"));

  // The kernel's errno and its own reason come through: hv-e1 is down, so
  // 10.1.2.1 is reachable through no link.
  auto route = nl->add_default_route(ip("10.1.2.1"));
  ASSERT_FALSE(route);
  EXPECT_EQ(route.error().code, ENETUNREACH) << route.error().what();
  EXPECT_EQ(route.error().what(),
            "add default route via 10.1.2.1: Nexthop has invalid gateway: Network is unreachable");

  // hv-e1 is up but its peer is not: never operationally up.
  ASSERT_TRUE(nl->set_up("hv-e1"));
  auto start = Clock::now();
  auto wait = nl->wait_ready("hv-e1", 50);
  ASSERT_FALSE(wait);
  EXPECT_EQ(wait.error().what(),
            "\"hv-e1\" is not ready after 50 ms (operstate down): Connection timed out");
  // Well short of the default 2 s (a poll can wait for the rtnl lock while
  // the kernel tears down namespaces of earlier tests: no tight bound).
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1500));

  auto tbf = nl->set_tbf("hv-e1", 0, 1000);
  ASSERT_FALSE(tbf);
  EXPECT_EQ(tbf.error().code, EINVAL);
}

// The root qdisc of ifindex as libnl reads it back (nullptr if none); the
// caller puts it.
rtnl_qdisc* root_qdisc(TestSock& ts, int ifindex) {
  nl_cache* cache = nullptr;
  if (rtnl_qdisc_alloc_cache(ts.sock, &cache) < 0) return nullptr;
  rtnl_qdisc* q = rtnl_qdisc_get_by_parent(cache, ifindex, TC_H_ROOT);
  nl_cache_free(cache);
  return q;
}

TEST_F(LiveNetlink, TbfAndIngressRedirectReadBack) {
  auto nl = Netlink::open();
  ASSERT_TRUE(nl);
  ASSERT_NO_FATAL_FAILURE(veth_pair(*nl));
  TestSock ts;
  ASSERT_TRUE(ts.sock);
  int va = **nl->link_index("va");

  auto set = nl->set_tbf("va", 1'000'000, 32768);
  ASSERT_TRUE(set) << set.error().what();
  rtnl_qdisc* q = root_qdisc(ts, va);
  ASSERT_TRUE(q);
  EXPECT_STREQ(rtnl_tc_get_kind(TC_CAST(q)), "tbf");
  EXPECT_EQ(rtnl_qdisc_tbf_get_rate(q), 1'000'000);
  EXPECT_EQ(rtnl_qdisc_tbf_get_limit(q), 1'000'000 / 40 + 32768);  // 25 ms + the burst
  EXPECT_NEAR(rtnl_qdisc_tbf_get_rate_bucket(q), 32768, 64);
  rtnl_qdisc_put(q);
  // Again with another rate: the same root, new parameters.
  set = nl->set_tbf("va", 2'000'000, 65536);
  ASSERT_TRUE(set) << set.error().what();
  q = root_qdisc(ts, va);
  ASSERT_TRUE(q);
  EXPECT_EQ(rtnl_qdisc_tbf_get_rate(q), 2'000'000);
  rtnl_qdisc_put(q);

  auto red = nl->redirect_ingress("va", "ifb-t0");
  ASSERT_TRUE(red) << red.error().what();
  LinkRef ifb{ts.link("ifb-t0")};
  ASSERT_TRUE(ifb.l);
  EXPECT_STREQ(rtnl_link_get_type(ifb.l), "ifb");
  EXPECT_TRUE(rtnl_link_get_flags(ifb.l) & IFF_UP);
  int ifb_index = rtnl_link_get_ifindex(ifb.l);

  nl_cache* qdiscs = nullptr;
  ASSERT_GE(rtnl_qdisc_alloc_cache(ts.sock, &qdiscs), 0);
  rtnl_qdisc* ingress = rtnl_qdisc_get_by_parent(qdiscs, va, TC_H_INGRESS);
  ASSERT_TRUE(ingress);
  EXPECT_STREQ(rtnl_tc_get_kind(TC_CAST(ingress)), "ingress");
  EXPECT_EQ(rtnl_tc_get_handle(TC_CAST(ingress)), TC_HANDLE(0xffff, 0));
  rtnl_qdisc_put(ingress);
  nl_cache_free(qdiscs);

  nl_cache* filters = nullptr;
  ASSERT_GE(rtnl_cls_alloc_cache(ts.sock, va, TC_HANDLE(0xffff, 0), &filters), 0);
  int redirects = 0;
  for (nl_object* o = nl_cache_get_first(filters); o != nullptr; o = nl_cache_get_next(o)) {
    auto* cls = reinterpret_cast<rtnl_cls*>(o);
    if (std::strcmp(rtnl_tc_get_kind(TC_CAST(cls)), "u32") != 0) continue;
    rtnl_act* act = rtnl_u32_get_action(cls);
    if (act == nullptr) continue;  // u32's hash table nodes carry none
    EXPECT_STREQ(rtnl_tc_get_kind(TC_CAST(act)), "mirred");
    EXPECT_EQ(rtnl_mirred_get_action(act), TCA_EGRESS_REDIR);
    EXPECT_EQ(rtnl_mirred_get_policy(act), TC_ACT_STOLEN);
    EXPECT_EQ(static_cast<int>(rtnl_mirred_get_ifindex(act)), ifb_index);
    ++redirects;
  }
  nl_cache_free(filters);
  EXPECT_EQ(redirects, 1);

  auto dup = nl->redirect_ingress("va", "ifb-t0");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().what(), "create ifb \"ifb-t0\": File exists");

  ASSERT_TRUE(nl->delete_link("ifb-t0"));
  EXPECT_FALSE(ts.has_link("ifb-t0"));
  ASSERT_TRUE(nl->delete_link("va"));
  EXPECT_FALSE(ts.has_link("va"));
}

// 8 mbit through tbf, each way, measured with TCP: within 15% (payload over
// wire bytes is ~0.96 with a 1500 MTU, so goodput sits a little under).
constexpr double kRate = 1'000'000;  // bytes/s: 8 mbit
constexpr auto kWarm = std::chrono::milliseconds(300);
constexpr auto kTotal = std::chrono::milliseconds(1800);

TEST_F(LiveNetlink, TbfShapesWhatLeaves) {
  auto nl = Netlink::open();
  ASSERT_TRUE(nl);
  ASSERT_NO_FATAL_FAILURE(veth_pair(*nl));
  ASSERT_TRUE(nl->set_tbf("va", static_cast<uint64_t>(kRate), 32768));
  double rate = goodput(here_.get(), peer_.get(), ip("10.98.0.2"), kWarm, kTotal);
  EXPECT_NEAR(rate, kRate, kRate * 0.15);
}

TEST_F(LiveNetlink, IfbTbfShapesWhatArrives) {
  auto nl = Netlink::open();
  ASSERT_TRUE(nl);
  ASSERT_NO_FATAL_FAILURE(veth_pair(*nl));
  auto red = nl->redirect_ingress("va", "ifb-t1");
  ASSERT_TRUE(red) << red.error().what();
  ASSERT_TRUE(nl->set_tbf("ifb-t1", static_cast<uint64_t>(kRate), 32768));
  double rate = goodput(peer_.get(), here_.get(), ip("10.98.0.1"), kWarm, kTotal);
  EXPECT_NEAR(rate, kRate, kRate * 0.15);
  // With a limit 100 times higher the same path runs far faster: the tbf on
  // the ifb was the limit.
  ASSERT_TRUE(nl->set_tbf("ifb-t1", static_cast<uint64_t>(kRate * 100), 1 << 20));
  double fast = goodput(peer_.get(), here_.get(), ip("10.98.0.1"), kWarm / 3, kTotal / 4);
  EXPECT_GT(fast, kRate * 5);
}

TEST_F(LiveNetlink, InNetnsAndSysctl) {
  UniqueFd other = make_netns();
  ASSERT_TRUE(other);
  // A sysctl set in the other namespace lands there only.
  Result<std::string> before;
  auto r = in_netns(other.get(), [&]() -> Result<void> {
    HUSK_TRY_ASSIGN(before, sysctl_net("ipv4/ip_default_ttl", "42"));
    return ok();
  });
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_TRUE(before);
  EXPECT_EQ(*before, "64");  // a new namespace starts at the default
  EXPECT_EQ(*read_file("/proc/sys/net/ipv4/ip_default_ttl"), "64\n") << "this namespace is untouched";
  r = in_netns(other.get(), [&]() -> Result<void> {
    HUSK_TRY_ASSIGN(std::string now, read_file("/proc/sys/net/ipv4/ip_default_ttl"));
    if (now != "42\n") return fail(0, "ip_default_ttl there is {}", now);
    HUSK_TRY_ASSIGN(std::string prev, sysctl_net("ipv4/ip_default_ttl", "42"));
    if (prev != "42") return fail(0, "second call saw {}", prev);
    return ok();
  });
  EXPECT_TRUE(r) << r.error().what();

  // f's error comes back, and the thread is home again either way.
  r = in_netns(other.get(), [] { return Result<void>(fail(EPERM, "inside")); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "inside: Operation not permitted");
  struct stat a {
  }, b{};
  ::stat("/proc/thread-self/ns/net", &a);
  ::fstat(here_.get(), &b);
  EXPECT_EQ(a.st_ino, b.st_ino);

  EXPECT_FALSE(sysctl_net("../../etc/passwd", "x"));
  EXPECT_FALSE(sysctl_net("/etc/passwd", "x"));
  EXPECT_FALSE(sysctl_net("", "x"));
  auto missing = sysctl_net("ipv4/no_such_knob", "1");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENOENT);

  auto self = open_netns_of(::getpid());
  ASSERT_TRUE(self) << self.error().what();
  auto none = open_netns_of(0x7ffffff0);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().what().find("pid 2147483632"), std::string::npos) << none.error().what();
}

}  // namespace
}  // namespace husk::net
