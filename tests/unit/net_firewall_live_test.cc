// net/firewall.h against the kernel: rulesets and real traffic. Needs root.
//
// nftables rulesets, sysctls and links are per network namespace, so each
// test runs in a forked child that first unshares one of its own: that is
// the test's "host", and nothing here touches the real host's interfaces or
// ruleset. Inside it, more namespaces stand for containers and for an
// "uplink" (the outside world), joined to the host by veth pairs:
//
//   c1 10.89.0.2 ─┐                                 uplink 192.168.77.2 (fd77::2)
//   c2 10.89.0.3 ─┼─ husk0 10.89.0.1 (fd00:89::1)   │
//                 │  [host]  up0 192.168.77.1 (fd77::1) ──┘
//
// The uplink has no route to the containers' subnets: what reaches it from a
// container is masqueraded or nothing. `ip` sets up the lab (tests may);
// sockets are made in a namespace by entering it, which they keep.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "base/file.h"
#include "base/unique_fd.h"
#include "child_test_util.h"
#include "net/firewall.h"
#include "net/firewall_impl.h"

namespace husk::net {
namespace {

using husk::testing::run_in_child;

#define REQUIRE(cond, ...)                                                              \
  do {                                                                                  \
    if (!(cond)) return fmt::format("line {}: {}", __LINE__, fmt::format(__VA_ARGS__)); \
  } while (0)
#define REQUIRE_OK(expr)                                                                \
  do {                                                                                  \
    auto&& r_ = (expr);                                                                 \
    if (!r_) return fmt::format("line {}: {}: {}", __LINE__, #expr, r_.error().what()); \
  } while (0)
#define STEP(expr)                                                                             \
  do {                                                                                         \
    if (std::string e_ = (expr); !e_.empty()) return fmt::format("line {}: {}", __LINE__, e_); \
  } while (0)

// Each test's own table. Its lock file (on the real host's /run) is removed
// at the end, and the directories too if the test made them.
struct LabTable {
  std::string name = fmt::format("husk_t{}", ::getpid());
  bool had_dirs[2] = {std::filesystem::exists(kNetRunRoot),
                      std::filesystem::exists(std::filesystem::path(kNetRunRoot).parent_path())};
  ~LabTable() {
    std::error_code ec;
    std::filesystem::remove(fmt::format("{}/.firewall-{}.lock", kNetRunRoot, name), ec);
    if (!had_dirs[0]) std::filesystem::remove(kNetRunRoot, ec);  // only if empty
    if (!had_dirs[1]) std::filesystem::remove(std::filesystem::path(kNetRunRoot).parent_path(), ec);
  }
};

// lo up; and no duplicate address detection, which holds IPv6 addresses
// (link-local ones too) back for a second or more after they are added.
constexpr const char* kNsSetup =
    "ip link set lo up && sysctl -qw net.ipv6.conf.default.accept_dad=0 "
    "net.ipv6.conf.all.accept_dad=0";

class Lab {
 public:
  // Moves the calling (forked) process into a new network namespace.
  std::string enter() {
    if (::unshare(CLONE_NEWNET) != 0) return fmt::format("unshare: {}", std::strerror(errno));
    host_ = UniqueFd(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
    return sh(kNsSetup);
  }
  // Runs a shell command (ip, sysctl) in namespace ns ("" = the host).
  std::string sh(const std::string& cmd, const std::string& ns = "") {
    if (!ns.empty() && ::setns(ns_.at(ns).get(), CLONE_NEWNET) != 0) return "setns " + ns;
    int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
    if (!ns.empty() && ::setns(host_.get(), CLONE_NEWNET) != 0) return "setns back";
    return rc == 0 ? "" : fmt::format("`{}` in {} failed ({})", cmd, ns.empty() ? "host" : ns, rc);
  }
  // The output of a shell command run on the host (nothing if it fails).
  static std::string output(const std::string& cmd) {
    std::string out;
    if (FILE* f = ::popen((cmd + " 2>/dev/null").c_str(), "r")) {
      char buf[512];
      for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
      if (::pclose(f) != 0) out.clear();
    }
    return out;
  }
  std::string add_ns(const std::string& name) {
    if (::unshare(CLONE_NEWNET) != 0) return "unshare";
    ns_[name] = UniqueFd(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
    if (::setns(host_.get(), CLONE_NEWNET) != 0) return "setns back";
    return sh(kNsSetup, name);
  }
  // A veth pair: host_if here, eth0 in ns (up, with the addresses and routes).
  std::string plug(const std::string& ns, const std::string& host_if,
                   const std::vector<std::string>& setup) {
    STEP(add_ns(ns));
    STEP(sh(fmt::format("ip link add {} type veth peer name eth0 netns /proc/{}/fd/{}", host_if,
                        ::getpid(), ns_.at(ns).get())));
    STEP(sh(fmt::format("ip link set {} up", host_if)));
    STEP(sh("ip link set eth0 up", ns));
    for (const std::string& cmd : setup) STEP(sh(cmd, ns));
    return "";
  }
  // husk0 with c1 (and c2), and the uplink.
  std::string standard(bool ipv6, bool c2 = true) {
    STEP(enter());
    STEP(
        sh("ip link add husk0 type bridge && ip addr add 10.89.0.1/16 dev husk0 && "
           "ip link set husk0 up"));
    if (ipv6) STEP(sh("ip addr add fd00:89::1/64 dev husk0 nodad"));
    for (int i = 1; i <= (c2 ? 2 : 1); ++i) {
      std::vector<std::string> setup{fmt::format("ip addr add 10.89.0.{}/16 dev eth0", i + 1),
                                     "ip route add default via 10.89.0.1"};
      if (ipv6) {
        setup.push_back(fmt::format("ip addr add fd00:89::{}/64 dev eth0 nodad", i + 1));
        setup.push_back("ip -6 route add default via fd00:89::1");
      }
      STEP(plug(fmt::format("c{}", i), fmt::format("vc{}", i), setup));
      STEP(sh(fmt::format("ip link set vc{} master husk0", i)));
    }
    std::vector<std::string> up{"ip addr add 192.168.77.2/24 dev eth0"};
    if (ipv6) up.push_back("ip addr add fd77::2/64 dev eth0 nodad");
    STEP(plug("uplink", "up0", up));
    STEP(sh("ip addr add 192.168.77.1/24 dev up0"));
    if (ipv6) STEP(sh("ip addr add fd77::1/64 dev up0 nodad"));
    return "";
  }

  // A dual-stack socket of `type` bound to port in ns.
  UniqueFd bound(const std::string& ns, int type, uint16_t port) {
    UniqueFd fd = socket_in(ns, AF_INET6, type);
    int zero = 0, one = 1;
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return UniqueFd();
    if (type == SOCK_STREAM && ::listen(fd.get(), 8) != 0) return UniqueFd();
    return fd;
  }
  // Connects from ns to addr:port and returns the peer address the listener
  // accepted, or "no answer" / "refused".
  std::string tcp_peer(const std::string& from, const std::string& addr, uint16_t port,
                       int listener, int timeout_ms = 2000) {
    sockaddr_storage ss{};
    socklen_t len = to_sockaddr(addr, port, ss);
    UniqueFd c = socket_in(from, ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK);
    if (::connect(c.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS)
      return "connect failed";
    pollfd p{c.get(), POLLOUT, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return "no answer";
    int err = 0;
    socklen_t el = sizeof err;
    ::getsockopt(c.get(), SOL_SOCKET, SO_ERROR, &err, &el);
    if (err == ECONNREFUSED) return "refused";
    if (err != 0) return std::strerror(err);
    pollfd l{listener, POLLIN, 0};
    if (::poll(&l, 1, 1000) != 1) return "connected, but not to the listener";
    sockaddr_storage peer{};
    socklen_t pl = sizeof peer;
    UniqueFd a(::accept4(listener, reinterpret_cast<sockaddr*>(&peer), &pl, SOCK_CLOEXEC));
    return address_of(peer);
  }
  // Sends a datagram from ns to addr:port, answers it from `server` and
  // returns the sender's address as the server saw it, once the answer is back.
  std::string udp_peer(const std::string& from, const std::string& addr, uint16_t port,
                       int server) {
    sockaddr_storage ss{};
    socklen_t len = to_sockaddr(addr, port, ss);
    UniqueFd c = socket_in(from, ss.ss_family, SOCK_DGRAM);
    ::sendto(c.get(), "ping", 4, 0, reinterpret_cast<sockaddr*>(&ss), len);
    pollfd p{server, POLLIN, 0};
    if (::poll(&p, 1, 2000) != 1) return "no datagram";
    sockaddr_storage peer{};
    socklen_t pl = sizeof peer;
    char buf[16];
    ::recvfrom(server, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &pl);
    ::sendto(server, "pong", 4, 0, reinterpret_cast<sockaddr*>(&peer), pl);
    pollfd q{c.get(), POLLIN, 0};
    if (::poll(&q, 1, 2000) != 1) return "no answer";
    return address_of(peer);
  }

 private:
  UniqueFd socket_in(const std::string& ns, int family, int type) {
    if (!ns.empty()) (void)::setns(ns_.at(ns).get(), CLONE_NEWNET);
    UniqueFd fd(::socket(family, type | SOCK_CLOEXEC, 0));
    if (!ns.empty()) (void)::setns(host_.get(), CLONE_NEWNET);
    return fd;
  }
  static socklen_t to_sockaddr(const std::string& addr, uint16_t port, sockaddr_storage& ss) {
    if (addr.find(':') == std::string::npos) {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      a->sin_port = htons(port);
      ::inet_pton(AF_INET, addr.c_str(), &a->sin_addr);
      return sizeof *a;
    }
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    ::inet_pton(AF_INET6, addr.c_str(), &a->sin6_addr);
    return sizeof *a;
  }
  static std::string address_of(const sockaddr_storage& ss) {
    char buf[INET6_ADDRSTRLEN] = "";
    if (ss.ss_family == AF_INET)
      ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
    else
      ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, buf,
                  sizeof buf);
    std::string s = buf;
    return s.starts_with("::ffff:") ? s.substr(7) : s;
  }

  UniqueFd host_;
  std::map<std::string, UniqueFd> ns_;
};

Network husk0(bool ipv6 = false) {
  Network n;
  n.name = "bridge";
  n.bridge = "husk0";
  n.subnet4 = Prefix::parse("10.89.0.0/16").value();
  n.gateway4 = IpAddr::parse("10.89.0.1").value();
  if (ipv6) {
    n.subnet6 = Prefix::parse("fd00:89::/64").value();
    n.gateway6 = IpAddr::parse("fd00:89::1").value();
  }
  return n;
}

IpAddr ip(const char* s) { return IpAddr::parse(s).value(); }

std::string sysctl(const std::string& name) {
  auto v = read_file("/proc/sys/" + name);
  return v ? v->substr(0, v->find('\n')) : "?";
}

class NetFirewallLive : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, nftables)";
  }
};

TEST_F(NetFirewallLive, EnsureNetworkMakesTheRulesetOnceAndRemoveNetworkUndoesIt) {
  std::string failed = run_in_child([]() -> std::string {
    LabTable t;
    Lab lab;
    STEP(lab.enter());
    STEP(lab.sh("ip link add husk0 type bridge"));
    // A new namespace starts with the host's IPv4 forwarding (devconf_inherit_init_net).
    STEP(lab.sh("sysctl -qw net.ipv4.ip_forward=0"));
    auto fw = Firewall::open(t.name);
    REQUIRE_OK(fw);
    Network n = husk0();
    REQUIRE_OK(fw->ensure_network(n));
    auto json = fw->list_json("list table inet " + t.name);
    REQUIRE_OK(json);
    NftListing l = parse_listing(*json, "inet", t.name).value();
    for (const char* c : {"forward", "prerouting", "output", "postrouting", "nw-husk0-fwd",
                          "nw-husk0-masq", "nw-husk0-in"})
      REQUIRE(l.has_chain(c), "no chain {}", c);
    REQUIRE(l.chains.at("nw-husk0-fwd") == 3, "{} rules", l.chains.at("nw-husk0-fwd"));
    REQUIRE(l.find("bridges", "\"husk0\"") != nullptr, "no bridges element");
    REQUIRE(l.find("fwd_from", "\"husk0\"")->verdict == "jump nw-husk0-fwd", "fwd_from");
    REQUIRE(l.find("post_from", "\"husk0\"")->verdict == "jump nw-husk0-masq", "masq");
    REQUIRE(l.find("post_to", "\"husk0\"")->verdict == "jump nw-husk0-in", "post_to");
    REQUIRE(l.find("fwd_to", "\"husk0\"") == nullptr, "fwd_to of a non-internal");
    REQUIRE(sysctl("net/ipv4/conf/husk0/route_localnet") == "1", "route_localnet");
    REQUIRE(sysctl("net/ipv4/ip_forward") == "1", "ip_forward");
    REQUIRE(sysctl("net/ipv6/conf/all/forwarding") == "0", "v6 forwarding for v4 only");

    // Twice: nothing changes, not even a handle.
    REQUIRE_OK(fw->ensure_network(n));
    REQUIRE(fw->list_json("list table inet " + t.name).value() == *json, "changed");

    // The same bridge, now internal: the old elements and chain go.
    n.internal = true;
    REQUIRE_OK(fw->ensure_network(n));
    l = parse_listing(fw->list_json("list table inet " + t.name).value(), "inet", t.name).value();
    REQUIRE(l.find("fwd_to", "\"husk0\"")->verdict == "drop", "internal fwd_to");
    REQUIRE(l.find("post_from", "\"husk0\"") == nullptr, "internal masquerades");
    REQUIRE(!l.has_chain("nw-husk0-masq"), "internal keeps the masq chain");
    REQUIRE(l.chains.at("nw-husk0-fwd") == 2, "internal fwd rules");

    // A table deleted behind husk's back is made again.
    REQUIRE_OK(fw->run("delete table inet " + t.name));
    REQUIRE_OK(fw->ensure_network(n));
    REQUIRE(fw->list_json("list chain inet " + t.name + " nw-husk0-fwd"), "not again");

    REQUIRE_OK(fw->remove_network(n));
    l = parse_listing(fw->list_json("list table inet " + t.name).value(), "inet", t.name).value();
    for (const auto& [set, elems] : l.sets) REQUIRE(elems.empty(), "left in {}", set);
    REQUIRE(l.chains.size() == 4, "{} chains left", l.chains.size());
    REQUIRE_OK(fw->remove_network(n));  // idempotent
    REQUIRE_OK(fw->run("delete table inet " + t.name));
    REQUIRE_OK(fw->remove_network(n));  // no table at all

    // ensure_network needs the bridge (route_localnet is set on it).
    n.bridge = "nobr0";
    auto r = fw->ensure_network(n);
    REQUIRE(!r && r.error().what() == "bridge nobr0 does not exist: No such device", "{}",
            r ? "ok" : r.error().what());
    return "";
  });
  EXPECT_EQ(failed, "");
}

TEST_F(NetFirewallLive, PortsAreAddedOnceRemovedIdempotentlyAndOnlyTheirOwners) {
  std::string failed = run_in_child([]() -> std::string {
    LabTable t;
    Lab lab;
    STEP(lab.enter());
    STEP(lab.sh("ip link add husk0 type bridge"));
    auto fw = Firewall::open(t.name);
    REQUIRE_OK(fw);
    std::vector<PortMapping> p1{{"", 8080, 80, Proto::kTcp}, {"", 5353, 53, Proto::kUdp}};
    // Before the table exists: nft's own error, on one line.
    auto early = fw->add_ports("c1", ip("10.89.0.2"), std::nullopt, p1);
    REQUIRE(!early && early.error().code == ENOENT &&
                early.error().what().find('\n') == std::string::npos,
            "{}", early ? "ok" : early.error().what());
    REQUIRE_OK(fw->ensure_network(husk0()));
    REQUIRE_OK(fw->add_ports("c1", ip("10.89.0.2"), std::nullopt, p1));
    auto ports = [&]() {
      return parse_listing(fw->list_json("list table inet " + t.name).value(), "inet", t.name)
          .value();
    };
    NftListing l = ports();
    std::string c1 = nft_text::chain_for("c1");
    REQUIRE(l.find("ports", "tcp . 8080")->verdict == "jump " + c1, "8080");
    REQUIRE(l.find("ports", "udp . 5353")->comment == "c1", "5353's owner");
    REQUIRE(l.chains.at(c1) == 2, "{} rules", l.chains.at(c1));

    // A port taken: one line naming the owner, and nothing of c2 is left.
    std::vector<PortMapping> p2{{"", 9090, 90, Proto::kTcp}, {"", 8080, 80, Proto::kTcp}};
    auto dup = fw->add_ports("c2", ip("10.89.0.3"), std::nullopt, p2);
    REQUIRE(!dup, "a duplicate port was published");
    REQUIRE(dup.error().what() == "port 8080/tcp is already published by container \"c1\"", "{}",
            dup.error().what());
    l = ports();
    REQUIRE(l.find("ports", "tcp . 9090") == nullptr, "9090 left");
    REQUIRE(!l.has_chain(nft_text::chain_for("c2")), "c2's chain left");
    // udp 8080 is another key.
    REQUIRE_OK(fw->add_ports("c2", ip("10.89.0.3"), std::nullopt, {{"", 8080, 80, Proto::kUdp}}));

    // Removing c2's mappings never touches c1's element of the same key.
    REQUIRE_OK(fw->remove_ports("c2", p2));
    l = ports();
    REQUIRE(l.find("ports", "tcp . 8080")->comment == "c1", "c1's 8080 went");
    REQUIRE(l.find("ports", "udp . 8080") == nullptr, "c2's udp 8080 stayed");
    REQUIRE(!l.has_chain(nft_text::chain_for("c2")), "c2's chain stayed");

    REQUIRE_OK(fw->remove_ports("c1", p1));
    l = ports();
    REQUIRE(l.sets.at("ports").empty(), "ports left");
    REQUIRE(!l.has_chain(c1), "c1's chain left");
    REQUIRE_OK(fw->remove_ports("c1", p1));  // again
    REQUIRE_OK(fw->remove_ports("c1", {}));
    REQUIRE_OK(fw->add_ports("c1", ip("10.89.0.2"), std::nullopt, {}));
    REQUIRE(!ports().has_chain(c1), "a chain for no ports");
    // Half there (an element gone by hand): the rest still goes.
    REQUIRE_OK(fw->add_ports("c1", ip("10.89.0.2"), std::nullopt, p1));
    REQUIRE_OK(fw->run(fmt::format("delete element inet {} ports {{ udp . 5353 }}", t.name)));
    REQUIRE_OK(fw->remove_ports("c1", p1));
    REQUIRE(!ports().has_chain(c1), "c1's chain left after a partial remove");
    REQUIRE_OK(fw->run("delete table inet " + t.name));
    return "";
  });
  EXPECT_EQ(failed, "");
}

// add_ports and remove_ports send netlink messages made with libnftnl
// (net/nf_socket.h); nft_text::add_ports is what they stand for. Both into two
// tables, then `nft list`: the same chain, rules and elements, byte for byte.
TEST_F(NetFirewallLive, NetlinkPortsAreWhatNftMakesOfTheText) {
  std::string failed = run_in_child([]() -> std::string {
    LabTable t;
    Lab lab;
    STEP(lab.enter());
    STEP(lab.sh("ip link add husk0 type bridge"));
    auto fw = Firewall::open(t.name);
    REQUIRE_OK(fw);
    REQUIRE_OK(fw->ensure_network(husk0(/*ipv6=*/true)));
    std::string text_table = t.name + "_text";
    std::vector<PortMapping> p{
        {"", 8080, 80, Proto::kTcp},           {"127.0.0.1", 9090, 90, Proto::kUdp},
        {"0.0.0.0", 7070, 70, Proto::kTcp},    {"::", 6060, 60, Proto::kUdp},
        {"fd00:89::1", 5050, 50, Proto::kTcp}, {"10.1.2.3", 5050, 51, Proto::kTcp}};
    const char* id = "web-1.example_x";
    REQUIRE_OK(fw->add_ports(id, ip("10.89.0.2"), ip("fd00:89::2"), p));
    REQUIRE_OK(
        fw->run(nft_text::base(text_table) +
                nft_text::add_ports(id, ip("10.89.0.2"), ip("fd00:89::2"), p, text_table).value()));
    std::string chain = nft_text::chain_for(id);
    for (std::string what : {"chain inet {} " + chain, std::string("map inet {} ports")}) {
      auto netlink = fw->run("list " + fmt::format(fmt::runtime(what), t.name));
      auto text = fw->run("list " + fmt::format(fmt::runtime(what), text_table));
      REQUIRE_OK(netlink);
      REQUIRE_OK(text);
      std::string n = *netlink;
      n.replace(n.find(t.name), t.name.size(), text_table);
      REQUIRE(n == *text, "netlink made\n{}\nnft made\n{}", n, *text);
      REQUIRE(n.find("dnat") != std::string::npos || what.starts_with("map"), "no rules: {}", n);
    }
    // A key taken: the netlink error names the command, and nothing is left.
    auto dup = fw->add_ports("c2", ip("10.89.0.3"), std::nullopt,
                             {{"", 9091, 1, Proto::kUdp}, {"", 8080, 1, Proto::kTcp}});
    REQUIRE(!dup && dup.error().what() ==
                        fmt::format("port 8080/tcp is already published by container \"{}\"", id),
            "{}", dup ? "ok" : dup.error().what());
    auto l = parse_listing(fw->list_json("list table inet " + t.name).value(), "inet", t.name);
    REQUIRE(l->find("ports", "udp . 9091") == nullptr, "c2's element left");
    REQUIRE(!l->has_chain(nft_text::chain_for("c2")), "c2's chain left");
    // The netlink delete: all of it at once.
    REQUIRE_OK(fw->remove_ports(id, p));
    l = parse_listing(fw->list_json("list table inet " + t.name).value(), "inet", t.name);
    REQUIRE(l->sets.at("ports").empty() && !l->has_chain(chain), "left after remove_ports");
    REQUIRE_OK(fw->run("delete table inet " + text_table));
    REQUIRE_OK(fw->run("delete table inet " + t.name));
    return "";
  });
  EXPECT_EQ(failed, "");
}

// A comment is nftnl user data of at most 128 characters, as nft allows: a
// longer one is refused before anything is sent, naming the command.
TEST_F(NetFirewallLive, NetlinkCommentLongerThanNftTakesIsRefused) {
  std::string failed = run_in_child([]() -> std::string {
    LabTable t;
    Lab lab;
    STEP(lab.enter());
    auto fw = Firewall::open(t.name);
    REQUIRE_OK(fw);
    REQUIRE_OK(fw->run("add table inet " + t.name));
    auto nf = NfSocket::open();
    REQUIRE_OK(nf);
    std::string longest(128, 'c');
    REQUIRE_OK(nf->commit({nf_msg::add_chain(t.name, "a", longest)}));
    auto listed = fw->run(fmt::format("list chain inet {} a", t.name));
    REQUIRE_OK(listed);
    REQUIRE(listed->find("comment \"" + longest + "\"") != std::string::npos, "{}", *listed);
    auto r = nf->commit({nf_msg::add_chain(t.name, "b", longest + "c")});
    REQUIRE(!r && r.error().code == EINVAL &&
                r.error().what() == fmt::format("nf_tables: add chain inet {} b: comment of 129 "
                                                "characters (nft takes 128)",
                                                t.name),
            "{}", r ? "ok" : r.error().what());
    REQUIRE(!fw->run(fmt::format("list chain inet {} b", t.name)), "chain b made");
    auto e = nf->commit({nf_msg::create_port_elements(t.name, "ports", {{Proto::kTcp, 80}},
                                                      longest + "c", "a")});
    REQUIRE(!e && e.error().code == EINVAL, "{}", e ? "ok" : e.error().what());
    REQUIRE_OK(fw->run("delete table inet " + t.name));
    return "";
  });
  EXPECT_EQ(failed, "");
}

// A batch larger than a page of libnftnl's batch goes in one sendmsg: one
// transaction. 400 rules and 1000 elements (one message larger than a page)
// land whole; 400 rules (45 pages) and a key already taken leave nothing of
// the rules sent before it; with free keys they land whole. The batch (180
// KB) and its 400 acks need larger socket buffers than the defaults
// (EMSGSIZE, ENOBUFS).
TEST_F(NetFirewallLive, NetlinkBatchOfManyPagesIsOneTransaction) {
  std::string failed = run_in_child([]() -> std::string {
    LabTable t;
    Lab lab;
    STEP(lab.enter());
    STEP(lab.sh("ip link add husk0 type bridge"));
    auto fw = Firewall::open(t.name);
    REQUIRE_OK(fw);
    REQUIRE_OK(fw->ensure_network(husk0()));
    auto nf = NfSocket::open();
    REQUIRE_OK(nf);
    auto batch = [&](const std::string& chain, uint16_t first_key, size_t keys) {
      std::vector<NfMessage> msgs{nf_msg::add_chain(t.name, chain, chain)};
      for (uint16_t i = 0; i < 400; ++i)
        msgs.push_back(nf_msg::add_dnat_rule(
            t.name, chain,
            {Family::kV4, std::nullopt, Proto::kTcp, static_cast<uint16_t>(10000 + i),
             ip("10.89.0.2"), 80}));
      std::vector<std::pair<Proto, uint16_t>> k;
      for (size_t i = 0; i < keys; ++i) k.emplace_back(Proto::kUdp, first_key + i);
      msgs.push_back(nf_msg::create_port_elements(t.name, "ports", k, chain, chain));
      return nf->commit(msgs);
    };
    REQUIRE_OK(batch("big", 20000, 1000));
    auto l = parse_listing(fw->list_json("list table inet " + t.name).value(), "inet", t.name);
    REQUIRE(l->chains.at("big") == 400, "{} rules", l->chains.at("big"));
    REQUIRE(l->sets.at("ports").size() == 1000, "{} elements", l->sets.at("ports").size());
    auto taken = batch("second", 20999, 2);  // 20999 is big's
    REQUIRE(!taken && taken.error().code == EEXIST &&
                taken.error().what().starts_with("nf_tables: create element inet " + t.name +
                                                 " ports { udp . 20999, udp . 21000 }"),
            "{}", taken ? "ok" : taken.error().what());
    l = parse_listing(fw->list_json("list table inet " + t.name).value(), "inet", t.name);
    REQUIRE(!l->has_chain("second") && l->sets.at("ports").size() == 1000,
            "the failed transaction left something");
    REQUIRE_OK(batch("third", 30000, 2));
    l = parse_listing(fw->list_json("list table inet " + t.name).value(), "inet", t.name);
    REQUIRE(l->chains.at("third") == 400 && l->sets.at("ports").size() == 1002,
            "{} rules, {} elements", l->chains.at("third"), l->sets.at("ports").size());
    REQUIRE_OK(fw->run("delete table inet " + t.name));
    return "";
  });
  EXPECT_EQ(failed, "");
}

TEST_F(NetFirewallLive, PublishedPortsAnswerFromLoopbackHostAddressesOtherHostsAndHairpin) {
  std::string failed = run_in_child([]() -> std::string {
    LabTable t;
    Lab lab;
    STEP(lab.standard(/*ipv6=*/false));
    auto fw = Firewall::open(t.name);
    REQUIRE_OK(fw);
    REQUIRE_OK(fw->ensure_network(husk0()));
    REQUIRE_OK(fw->add_ports("c1", ip("10.89.0.2"), std::nullopt,
                             {{"", 8080, 80, Proto::kTcp},
                              {"127.0.0.1", 8081, 80, Proto::kTcp},
                              {"", 5353, 53, Proto::kUdp}}));
    UniqueFd web = lab.bound("c1", SOCK_STREAM, 80);
    UniqueFd dns = lab.bound("c1", SOCK_DGRAM, 53);
    REQUIRE(web && dns, "listeners");
    auto peer = [&](const char* from, const char* addr, uint16_t port) {
      return lab.tcp_peer(from, addr, port, web.get());
    };
    // The host's 127.0.0.1: route_localnet, then masqueraded to the gateway.
    REQUIRE(peer("", "127.0.0.1", 8080) == "10.89.0.1", "{}", peer("", "127.0.0.1", 8080));
    // One of the host's own addresses: the source stays.
    REQUIRE(peer("", "192.168.77.1", 8080) == "192.168.77.1", "host address");
    REQUIRE(peer("", "10.89.0.1", 8080) == "10.89.0.1", "gateway address");
    // Another host: prerouting; the container sees who called.
    REQUIRE(peer("uplink", "192.168.77.1", 8080) == "192.168.77.2", "other host");
    // Hairpin: a container of the network through a host address.
    REQUIRE(peer("c2", "192.168.77.1", 8080) == "10.89.0.1", "hairpin");
    REQUIRE(peer("c2", "10.89.0.1", 8080) == "10.89.0.1", "hairpin via gateway");
    // Its own port: the bridge must send the frame back where it came from.
    STEP(lab.sh("ip link set vc1 type bridge_slave hairpin on"));
    REQUIRE(peer("c1", "192.168.77.1", 8080) == "10.89.0.1", "own port");
    // A mapping on 127.0.0.1 only.
    REQUIRE(peer("", "127.0.0.1", 8081) == "10.89.0.1", "127.0.0.1:8081");
    REQUIRE(peer("", "192.168.77.1", 8081) == "refused", "8081 on another address");
    // udp.
    std::string u = lab.udp_peer("", "127.0.0.1", 5353, dns.get());
    REQUIRE(u == "10.89.0.1", "udp from 127.0.0.1: {}", u);
    u = lab.udp_peer("uplink", "192.168.77.1", 5353, dns.get());
    REQUIRE(u == "192.168.77.2", "udp from another host: {}", u);

    REQUIRE_OK(fw->remove_ports("c1", {{"", 8080, 80, Proto::kTcp},
                                       {"127.0.0.1", 8081, 80, Proto::kTcp},
                                       {"", 5353, 53, Proto::kUdp}}));
    REQUIRE(peer("", "127.0.0.1", 8080) == "refused", "still published");
    return "";
  });
  EXPECT_EQ(failed, "");
}

TEST_F(NetFirewallLive, MasqueradeIsolationAndInternalNetworks) {
  std::string failed = run_in_child([]() -> std::string {
    LabTable t;
    Lab lab;
    STEP(lab.standard(/*ipv6=*/false, /*c2=*/false));
    UniqueFd out = lab.bound("uplink", SOCK_STREAM, 9000);
    UniqueFd web = lab.bound("c1", SOCK_STREAM, 80);
    REQUIRE(out && web, "listeners");
    // Forwarding alone: the uplink gets the packet, but cannot answer 10.89.0.2.
    STEP(lab.sh("sysctl -w net.ipv4.ip_forward=1"));
    REQUIRE(lab.tcp_peer("c1", "192.168.77.2", 9000, out.get(), 300) == "no answer",
            "reached the uplink without masquerade");
    auto fw = Firewall::open(t.name);
    REQUIRE_OK(fw);
    REQUIRE_OK(fw->ensure_network(husk0()));
    std::string p = lab.tcp_peer("c1", "192.168.77.2", 9000, out.get());
    REQUIRE(p == "192.168.77.1", "masquerade: the uplink saw {}", p);

    // A second network: no way to husk0's containers but its published ports.
    Network other = husk0();
    other.name = "other";
    other.bridge = "husk1";
    other.subnet4 = Prefix::parse("10.90.0.0/16").value();
    other.gateway4 = ip("10.90.0.1");
    STEP(
        lab.sh("ip link add husk1 type bridge && ip addr add 10.90.0.1/16 dev husk1 && "
               "ip link set husk1 up"));
    STEP(lab.plug("d1", "vd1",
                  {"ip addr add 10.90.0.2/16 dev eth0", "ip route add default via 10.90.0.1"}));
    STEP(lab.sh("ip link set vd1 master husk1"));
    REQUIRE_OK(fw->ensure_network(other));
    REQUIRE(lab.tcp_peer("d1", "10.89.0.2", 80, web.get(), 300) == "no answer",
            "isolation: d1 reached c1");
    REQUIRE(lab.tcp_peer("c1", "192.168.77.2", 9000, out.get()) == "192.168.77.1",
            "c1 lost its way out");
    REQUIRE(lab.tcp_peer("d1", "192.168.77.2", 9000, out.get()) == "192.168.77.1",
            "d1 has no way out");
    REQUIRE_OK(fw->add_ports("c1", ip("10.89.0.2"), std::nullopt, {{"", 8080, 80, Proto::kTcp}}));
    p = lab.tcp_peer("d1", "192.168.77.1", 8080, web.get());
    // (masqueraded on its way into another bridge, as docker's rule does)
    REQUIRE(p == "10.89.0.1", "a published port from another network: {}", p);

    // An internal network: nothing out, nothing from another bridge.
    Network internal = other;
    internal.name = "int";
    internal.bridge = "husk2";
    internal.internal = true;
    internal.subnet4 = Prefix::parse("10.91.0.0/16").value();
    internal.gateway4 = ip("10.91.0.1");
    STEP(
        lab.sh("ip link add husk2 type bridge && ip addr add 10.91.0.1/16 dev husk2 && "
               "ip link set husk2 up"));
    STEP(lab.plug("i1", "vi1",
                  {"ip addr add 10.91.0.2/16 dev eth0", "ip route add default via 10.91.0.1"}));
    STEP(lab.sh("ip link set vi1 master husk2"));
    REQUIRE_OK(fw->ensure_network(internal));
    REQUIRE(lab.tcp_peer("i1", "192.168.77.2", 9000, out.get(), 300) == "no answer",
            "internal reached the uplink");
    REQUIRE(lab.tcp_peer("i1", "10.89.0.2", 80, web.get(), 300) == "no answer",
            "internal reached another network");
    UniqueFd iweb = lab.bound("i1", SOCK_STREAM, 80);
    REQUIRE(lab.tcp_peer("c1", "10.91.0.2", 80, iweb.get(), 300) == "no answer",
            "another network reached the internal one");
    // The host itself still reaches it (output, not forward).
    REQUIRE(lab.tcp_peer("", "10.91.0.2", 80, iweb.get()) == "10.91.0.1", "host");
    REQUIRE_OK(fw->run("delete table inet " + t.name));
    return "";
  });
  EXPECT_EQ(failed, "");
}

TEST_F(NetFirewallLive, DualStackPortsAndMasquerade) {
  std::string failed = run_in_child([]() -> std::string {
    LabTable t;
    Lab lab;
    STEP(lab.standard(/*ipv6=*/true, /*c2=*/false));
    auto fw = Firewall::open(t.name);
    REQUIRE_OK(fw);
    REQUIRE_OK(fw->ensure_network(husk0(/*ipv6=*/true)));
    REQUIRE(sysctl("net/ipv6/conf/all/forwarding") == "1", "v6 forwarding");
    REQUIRE_OK(fw->add_ports("c1", ip("10.89.0.2"), ip("fd00:89::2"),
                             {{"", 8080, 80, Proto::kTcp}, {"fd77::1", 8081, 80, Proto::kTcp}}));
    UniqueFd web = lab.bound("c1", SOCK_STREAM, 80);
    UniqueFd out = lab.bound("uplink", SOCK_STREAM, 9000);
    REQUIRE(web && out, "listeners");
    auto peer = [&](const char* from, const char* addr, uint16_t port) {
      return lab.tcp_peer(from, addr, port, web.get(), 1000);
    };
    REQUIRE(peer("", "fd77::1", 8080) == "fd77::1", "v6 host address: {}",
            peer("", "fd77::1", 8080));
    REQUIRE(peer("uplink", "fd77::1", 8080) == "fd77::2", "v6 other host");
    REQUIRE(peer("uplink", "fd77::1", 8081) == "fd77::2", "v6 host-address mapping");
    REQUIRE(peer("", "127.0.0.1", 8080) == "10.89.0.1", "v4 still");
    // ::1 is never DNATed (no route_localnet in IPv6): nothing listens there.
    REQUIRE(peer("", "::1", 8080) == "refused", "::1");
    std::string p = lab.tcp_peer("c1", "fd77::2", 9000, out.get());
    REQUIRE(p == "fd77::1", "v6 masquerade: the uplink saw {}", p);
    REQUIRE_OK(fw->run("delete table inet " + t.name));
    return "";
  });
  EXPECT_EQ(failed, "");
}

// docker (iptables-nft) drops forwarded packets by the policy of its FORWARD
// chain in `ip filter`; husk's accepts go into DOCKER-USER, which that chain
// jumps to first. Here a table of that shape stands in for docker's.
TEST_F(NetFirewallLive, DockerUserAcceptsLetForwardingThroughDockersDropPolicy) {
  std::string failed = run_in_child([]() -> std::string {
    LabTable t;
    Lab lab;
    STEP(lab.standard(/*ipv6=*/false, /*c2=*/false));
    UniqueFd out = lab.bound("uplink", SOCK_STREAM, 9000);
    auto fw = Firewall::open(t.name);
    REQUIRE_OK(fw);
    Network n = husk0();
    REQUIRE_OK(fw->ensure_network(n));
    REQUIRE(lab.tcp_peer("c1", "192.168.77.2", 9000, out.get()) == "192.168.77.1",
            "no way out before docker");
    REQUIRE_OK(
        fw->run("add table ip filter\n"
                "add chain ip filter DOCKER-USER\n"
                "add rule ip filter DOCKER-USER return\n"
                "add chain ip filter FORWARD { type filter hook forward "
                "priority filter; policy drop; }\n"
                "add rule ip filter FORWARD jump DOCKER-USER\n"
                "add table ip6 filter\n"
                "add chain ip6 filter DOCKER-USER\n"));
    // husk's own accept cannot outvote docker's policy.
    REQUIRE(lab.tcp_peer("c1", "192.168.77.2", 9000, out.get(), 300) == "no answer",
            "forwarded through docker's drop policy");
    REQUIRE_OK(fw->ensure_network(n));
    REQUIRE_OK(fw->ensure_network(n));  // twice: no second pair
    auto user = [&](const char* family) {
      return parse_listing(
                 fw->list_json(fmt::format("list chain {} filter DOCKER-USER", family)).value(),
                 family, "filter")
          .value()
          .rules;
    };
    std::vector<NftRule> rules = user("ip");
    REQUIRE(rules.size() == 3, "{} rules in DOCKER-USER", rules.size());
    for (int i = 0; i < 2; ++i)
      REQUIRE(rules[i].comment == "husk:husk0" && rules[i].verdict == "accept" &&
                  rules[i].meta_value == "husk0",
              "rule {} is not husk's accept", i);
    REQUIRE(rules[0].meta_key != rules[1].meta_key, "iifname and oifname");
    REQUIRE(rules[2].verdict == "return", "husk's accepts are not at the top");
    REQUIRE(user("ip6").empty(), "ip6 rules for a network without IPv6");
    std::string p = lab.tcp_peer("c1", "192.168.77.2", 9000, out.get());
    REQUIRE(p == "192.168.77.1", "with the accepts: {}", p);

    Network v6 = husk0(/*ipv6=*/true);
    v6.name = "v6";
    v6.bridge = "husk6";
    STEP(lab.sh("ip link add husk6 type bridge"));
    REQUIRE_OK(fw->ensure_network(v6));
    REQUIRE(user("ip6").size() == 2, "ip6 DOCKER-USER of a dual-stack network");
    REQUIRE_OK(fw->remove_network(v6));
    REQUIRE(user("ip6").empty() && user("ip").size() == 3, "v6 accepts stayed");

    REQUIRE_OK(fw->remove_network(n));
    REQUIRE(user("ip").size() == 1, "husk's accepts stayed");
    REQUIRE(lab.tcp_peer("c1", "192.168.77.2", 9000, out.get(), 300) == "no answer",
            "forwarded without the accepts");
    REQUIRE_OK(fw->run("delete table inet " + t.name +
                       "\ndelete table ip filter\ndelete table ip6 filter"));
    return "";
  });
  EXPECT_EQ(failed, "");
}

// docker manages DOCKER-USER with iptables (iptables-nft on Debian 12): the
// accepts husk inserts must stay readable and editable by it.
TEST_F(NetFirewallLive, DockerUserStaysReadableByDockersIptables) {
  if (::access("/usr/sbin/iptables-nft", X_OK) != 0) GTEST_SKIP() << "no iptables-nft";
  std::string failed = run_in_child([]() -> std::string {
    LabTable t;
    Lab lab;
    STEP(lab.enter());
    STEP(lab.sh("ip link add husk0 type bridge"));
    // What dockerd does at its start.
    STEP(
        lab.sh("iptables-nft -N DOCKER-USER && iptables-nft -A DOCKER-USER -j RETURN && "
               "iptables-nft -P FORWARD DROP && iptables-nft -I FORWARD -j DOCKER-USER"));
    auto fw = Firewall::open(t.name);
    REQUIRE_OK(fw);
    REQUIRE_OK(fw->ensure_network(husk0()));
    std::string listed = Lab::output("iptables-nft -S DOCKER-USER");
    REQUIRE(listed ==
                "-N DOCKER-USER\n"
                "-A DOCKER-USER -i husk0 -m comment --comment \"husk:husk0\" -j ACCEPT\n"
                "-A DOCKER-USER -o husk0 -m comment --comment \"husk:husk0\" -j ACCEPT\n"
                "-A DOCKER-USER -j RETURN\n",
            "iptables reads:\n{}", listed);
    STEP(lab.sh("iptables-nft -D DOCKER-USER -j RETURN && iptables-nft -A DOCKER-USER -j RETURN"));
    REQUIRE_OK(fw->remove_network(husk0()));
    listed = Lab::output("iptables-nft -S DOCKER-USER");
    REQUIRE(listed == "-N DOCKER-USER\n-A DOCKER-USER -j RETURN\n", "left:\n{}", listed);
    REQUIRE_OK(fw->run("delete table inet " + t.name + "\ndelete table ip filter"));
    return "";
  });
  EXPECT_EQ(failed, "");
}

// Not a check: the wall time of each call (median of 21), for
// docs/benchmarks.md. "+ close" includes destroying the Firewall: closing
// libnftables' netlink socket waits for the kernel's RCU grace period when
// the transaction deleted rules or elements (nf_tables flushes its destroy
// work on socket release).
TEST_F(NetFirewallLive, PrintsTheCostOfEachCall) {
  std::string report = run_in_child([]() -> std::string {
    LabTable t;
    Lab lab;
    STEP(lab.enter());
    STEP(lab.sh("ip link add husk0 type bridge"));
    using Clock = std::chrono::steady_clock;
    auto median = [](auto&& setup, auto&& timed) {
      std::vector<double> ms;
      for (int i = 0; i < 21; ++i) {
        setup();
        auto t0 = Clock::now();
        timed();
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      }
      std::sort(ms.begin(), ms.end());
      return ms[ms.size() / 2];
    };
    Network n = husk0();
    std::vector<PortMapping> p{{"", 8080, 80, Proto::kTcp}};
    auto fw = Firewall::open(t.name);
    auto nothing = [] {};
    std::string out = "\n";
    auto row = [&](const char* what, double ms) {
      out += fmt::format("{:<56}{:7.3f} ms\n", what, ms);
    };
    // Setups that delete sleep past the grace period, so that each row
    // shows its own call's cost, as on a quiet host.
    auto settle = [] { ::usleep(30 * 1000); };
    row("open + ensure_network (no table) + close",
        median(
            [&] {
              (void)fw->run("delete table inet " + t.name);
              settle();
            },
            [&] { (void)Firewall::open(t.name)->ensure_network(n); }));
    row("open + ensure_network (in place) + close",
        median(nothing, [&] { (void)Firewall::open(t.name)->ensure_network(n); }));
    row("open + add_ports (1 port) + close",
        median(
            [&] {
              (void)fw->remove_ports("c1", p);
              settle();
            },
            [&] { (void)Firewall::open(t.name)->add_ports("c1", ip("10.89.0.2"), {}, p); }));
    row("open + remove_ports (1 port) + close",
        median([&] { (void)fw->add_ports("c1", ip("10.89.0.2"), {}, p); },
               [&] { (void)Firewall::open(t.name)->remove_ports("c1", p); }));
    row("remove_ports (1 port), context kept open",
        median([&] { (void)fw->add_ports("c1", ip("10.89.0.2"), {}, p); },
               [&] { (void)fw->remove_ports("c1", p); }));
    row("open + add_ports + close, a grace period after a delete",
        median([&] { (void)fw->remove_ports("c1", p); },
               [&] { (void)Firewall::open(t.name)->add_ports("c1", ip("10.89.0.2"), {}, p); }));
    return out;
  });
  std::cout << report;
}

}  // namespace
}  // namespace husk::net
