// net/firewall.h: the text of each transaction, nft's errors in one line, and
// nft's JSON listings read back (pure; the live tests apply the text).
#include <gtest/gtest.h>

#include "net/firewall.h"
#include "net/firewall_impl.h"

namespace husk::net {
namespace {

Network default_network() {
  Network n;
  n.name = "bridge";
  n.bridge = "husk0";
  n.subnet4 = Prefix::parse("10.89.0.0/16").value();
  n.gateway4 = IpAddr::parse("10.89.0.1").value();
  return n;
}

IpAddr ip(const char* s) { return IpAddr::parse(s).value(); }

TEST(NetFirewallText, BaseHasTheTableSetsMapsAndHookChains) {
  EXPECT_EQ(
      nft_text::base("t"),
      "add table inet t\n"
      "add set inet t bridges { type ifname; }\n"
      "add map inet t fwd_from { type ifname : verdict; }\n"
      "add map inet t fwd_to { type ifname : verdict; }\n"
      "add map inet t post_from { type ifname : verdict; }\n"
      "add map inet t post_to { type ifname : verdict; }\n"
      "add map inet t ports { type inet_proto . inet_service : verdict; }\n"
      "add chain inet t forward { type filter hook forward priority filter; policy accept; }\n"
      "add chain inet t prerouting { type nat hook prerouting priority dstnat; policy accept; }\n"
      "add chain inet t output { type nat hook output priority -100; policy accept; }\n"
      "add chain inet t postrouting { type nat hook postrouting priority srcnat; policy accept; }\n"
      "flush chain inet t forward\n"
      "add rule inet t forward iifname vmap @fwd_from\n"
      "add rule inet t forward oifname vmap @fwd_to\n"
      "flush chain inet t prerouting\n"
      "add rule inet t prerouting fib daddr type local meta l4proto . th dport vmap @ports\n"
      "flush chain inet t output\n"
      "add rule inet t output ip6 daddr ::1 return\n"
      "add rule inet t output fib daddr type local meta l4proto . th dport vmap @ports\n"
      "flush chain inet t postrouting\n"
      "add rule inet t postrouting iifname vmap @post_from\n"
      "add rule inet t postrouting oifname vmap @post_to\n");
  EXPECT_EQ(nft_text::base().substr(0, 21), "add table inet husk\na");
  // No base chain drops by policy, and nothing hooks the host's input path.
  EXPECT_EQ(nft_text::base().find("policy drop"), std::string::npos);
  EXPECT_EQ(nft_text::base().find("hook input"), std::string::npos);
}

TEST(NetFirewallText, NetworkChainsAndElements) {
  EXPECT_EQ(nft_text::add_network(default_network(), "t", "fp1").value(),
            "add chain inet t nw-husk0-fwd\n"
            "flush chain inet t nw-husk0-fwd\n"
            "add rule inet t nw-husk0-fwd oifname \"husk0\" accept\n"
            "add rule inet t nw-husk0-fwd ct status dnat accept\n"
            "add rule inet t nw-husk0-fwd oifname @bridges drop\n"
            "add chain inet t nw-husk0-masq\n"
            "flush chain inet t nw-husk0-masq\n"
            "add rule inet t nw-husk0-masq oifname != \"husk0\" masquerade\n"
            "add chain inet t nw-husk0-in\n"
            "flush chain inet t nw-husk0-in\n"
            "add rule inet t nw-husk0-in ip saddr 127.0.0.0/8 masquerade\n"
            "add rule inet t nw-husk0-in ct status dnat ip saddr 10.89.0.0/16 masquerade\n"
            "add element inet t bridges { \"husk0\" comment \"fp1\" }\n"
            "add element inet t fwd_from { \"husk0\" : jump nw-husk0-fwd }\n"
            "add element inet t post_from { \"husk0\" : jump nw-husk0-masq }\n"
            "add element inet t post_to { \"husk0\" : jump nw-husk0-in }\n");
}

TEST(NetFirewallText, InternalDualStackNetwork) {
  Network n = default_network();
  n.internal = true;
  n.subnet6 = Prefix::parse("fd00:89::/64").value();
  EXPECT_EQ(nft_text::add_network(n, "t").value(),
            "add chain inet t nw-husk0-fwd\n"
            "flush chain inet t nw-husk0-fwd\n"
            "add rule inet t nw-husk0-fwd oifname \"husk0\" accept\n"
            "add rule inet t nw-husk0-fwd drop\n"
            "add chain inet t nw-husk0-in\n"
            "flush chain inet t nw-husk0-in\n"
            "add rule inet t nw-husk0-in ip saddr 127.0.0.0/8 masquerade\n"
            "add rule inet t nw-husk0-in ct status dnat ip saddr 10.89.0.0/16 masquerade\n"
            "add rule inet t nw-husk0-in ct status dnat ip6 saddr fd00:89::/64 masquerade\n"
            "add element inet t bridges { \"husk0\" }\n"
            "add element inet t fwd_from { \"husk0\" : jump nw-husk0-fwd }\n"
            "add element inet t fwd_to { \"husk0\" : drop }\n"
            "add element inet t post_to { \"husk0\" : jump nw-husk0-in }\n");
  EXPECT_EQ(nft_text::remove_network(n, "t").value(),
            "delete element inet t bridges { \"husk0\" }\n"
            "delete element inet t fwd_from { \"husk0\" }\n"
            "delete element inet t fwd_to { \"husk0\" }\n"
            "delete element inet t post_to { \"husk0\" }\n"
            "delete chain inet t nw-husk0-fwd\n"
            "delete chain inet t nw-husk0-in\n");
}

TEST(NetFirewallText, BridgeNamesNftCouldMisreadAreRefused) {
  Network n = default_network();
  for (const char* bad : {"", "husk*", "a\"b", "br 0", "husk-0123456789a", "a\nb"}) {
    n.bridge = bad;
    auto r = nft_text::add_network(n);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().what(), fmt::format("bridge name \"{}\": expected 1 to 15 of "
                                            "[A-Za-z0-9_.-]: Invalid argument",
                                            bad));
    EXPECT_FALSE(nft_text::remove_network(n).has_value());
  }
  n.bridge = "husk-0123456789";  // 15: fits IFNAMSIZ
  EXPECT_TRUE(nft_text::add_network(n).has_value());
  EXPECT_FALSE(nft_text::add_network(default_network(), "t", "a b").has_value());
}

TEST(NetFirewallText, PortsOfAContainer) {
  std::vector<PortMapping> p{{"", 8080, 80, Proto::kTcp},
                             {"10.0.0.5", 8080, 81, Proto::kTcp},
                             {"fd00::5", 53, 53, Proto::kUdp},
                             {"::", 54, 53, Proto::kUdp},
                             {"0.0.0.0", 55, 53, Proto::kUdp}};
  std::string c = nft_text::chain_for("web");
  EXPECT_EQ(c, "ct-5ea0e1194872");
  EXPECT_EQ(
      nft_text::add_ports("web", ip("10.89.0.2"), ip("fd00:89::2"), p, "t").value(),
      "add chain inet t " + c + " { comment \"web\"; }\n" + "flush chain inet t " + c + "\n" +
          // One host address before any: the first DNAT wins.
          "add rule inet t " + c + " ip daddr 10.0.0.5 tcp dport 8080 dnat ip to 10.89.0.2:81\n" +
          "add rule inet t " + c + " ip6 daddr fd00::5 udp dport 53 dnat ip6 to [fd00:89::2]:53\n" +
          "add rule inet t " + c + " meta nfproto ipv4 tcp dport 8080 dnat ip to 10.89.0.2:80\n" +
          "add rule inet t " + c +
          " meta nfproto ipv6 tcp dport 8080 dnat ip6 to [fd00:89::2]:80\n" + "add rule inet t " +
          c + " meta nfproto ipv6 udp dport 54 dnat ip6 to [fd00:89::2]:53\n" + "add rule inet t " +
          c + " meta nfproto ipv4 udp dport 55 dnat ip to 10.89.0.2:53\n" +
          "create element inet t ports { tcp . 8080 comment \"web\" : jump " + c +
          ", udp . 53 comment \"web\" : jump " + c + ", udp . 54 comment \"web\" : jump " + c +
          ", udp . 55 comment \"web\" : jump " + c + " }\n");
  EXPECT_EQ(nft_text::remove_ports("web", p, "t").value(),
            "delete element inet t ports { tcp . 8080 }\n"
            "delete element inet t ports { udp . 53 }\n"
            "delete element inet t ports { udp . 54 }\n"
            "delete element inet t ports { udp . 55 }\n"
            "delete chain inet t " +
                c + "\n");
  // Without an IPv6 address, a wildcard mapping is IPv4 only.
  EXPECT_EQ(nft_text::add_ports("web", ip("10.89.0.2"), std::nullopt, {p[0]}, "t").value(),
            "add chain inet t " + c + " { comment \"web\"; }\n" + "flush chain inet t " + c + "\n" +
                "add rule inet t " + c +
                " meta nfproto ipv4 tcp dport 8080 dnat ip to 10.89.0.2:80\n" +
                "create element inet t ports { tcp . 8080 comment \"web\" : jump " + c + " }\n");
}

TEST(NetFirewallText, PortMappingsThatCannotBeForwarded) {
  auto err = [](PortMapping m, std::optional<IpAddr> v6 = std::nullopt) {
    auto r = nft_text::add_ports("web", ip("10.89.0.2"), v6, {m});
    return r ? std::string("ok") : r.error().what();
  };
  EXPECT_EQ(err({"", 0, 80, Proto::kTcp}),
            "-p 0.0.0.0:0->80/tcp: the host port is not chosen: Invalid argument");
  EXPECT_EQ(err({"fd00::5", 80, 80, Proto::kTcp}),
            "-p [fd00::5]:80->80/tcp: the container has no IPv6 address: Invalid argument");
  EXPECT_EQ(err({"::", 80, 80, Proto::kTcp}),
            "-p [::]:80->80/tcp: the container has no IPv6 address: Invalid argument");
  EXPECT_EQ(err({"::1", 80, 80, Proto::kTcp}, ip("fd00::2")),
            "-p [::1]:80->80/tcp: ::1 cannot be forwarded (IPv6 has no route_localnet): "
            "Invalid argument");
  EXPECT_EQ(err({"10.0.0.300", 80, 80, Proto::kTcp}),
            "-p 10.0.0.300:80->80/tcp: \"10.0.0.300\" is not an IP address");
  EXPECT_EQ(err({"127.0.0.1", 80, 80, Proto::kTcp}), "ok");
  EXPECT_FALSE(nft_text::add_ports("a\"b", ip("10.89.0.2"), std::nullopt, {}).has_value());
  EXPECT_FALSE(nft_text::add_ports(std::string(129, 'a'), ip("10.89.0.2"), {}, {}).has_value());
  EXPECT_FALSE(nft_text::add_ports("web", ip("fd00::2"), std::nullopt, {}).has_value());
  EXPECT_FALSE(nft_text::remove_ports("a b", {}).has_value());
}

TEST(NetFirewallText, ContainerChainNames) {
  EXPECT_EQ(nft_text::chain_for("web").size(), 15u);
  EXPECT_NE(nft_text::chain_for("web"), nft_text::chain_for("web2"));
  EXPECT_EQ(nft_text::chain_for(std::string(64, 'f')), nft_text::chain_for(std::string(64, 'f')));
}

TEST(NetFirewallText, NftErrorsOnOneLine) {
  EXPECT_EQ(
      nft_text::one_line_error("/dev/stdin:4:34-43: Error: Could not process rule: File exists\n"
                               "create element inet husk ports { tcp . 8080 : jump ct-abc }\n"
                               "                                 ^^^^^^^^^^\n"),
      "Could not process rule: File exists: \"tcp . 8080\" in \"create element inet husk "
      "ports { tcp . 8080 : jump ct-abc }\"");
  EXPECT_EQ(nft_text::one_line_error("Error: syntax error, unexpected newline\n"
                                     "add rule inet husk forward acept\n"
                                     "                                ^\n"),
            "syntax error, unexpected newline in \"add rule inet husk forward acept\"");
  std::string long_cmd = "add rule inet husk x " + std::string(200, 'a');
  EXPECT_EQ(
      nft_text::one_line_error("Error: Could not process rule: No such file or directory\n" +
                               long_cmd + "\n"),
      "Could not process rule: No such file or directory in \"" + long_cmd.substr(0, 100) + "\"");
  EXPECT_EQ(nft_text::one_line_error("netlink: Error: cache initialization failed\n"),
            "cache initialization failed");
  EXPECT_EQ(nft_text::one_line_error("something odd\n"), "something odd");
  EXPECT_EQ(nft_text::one_line_error(""), "failed without a message");
}

// As nft 1.0.6 prints them (nft -j list table / list chain).
constexpr const char* kListing = R"({"nftables": [
 {"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
 {"table": {"family": "inet", "name": "husk", "handle": 7}},
 {"set": {"family": "inet", "name": "bridges", "table": "husk", "type": "ifname", "handle": 1,
   "elem": [{"elem": {"val": "husk0", "comment": "fp1"}}, "husk-b"]}},
 {"map": {"family": "inet", "name": "fwd_from", "table": "husk", "type": "ifname", "handle": 2,
   "map": "verdict", "elem": [["husk0", {"jump": {"target": "nw-husk0-fwd"}}]]}},
 {"map": {"family": "inet", "name": "fwd_to", "table": "husk", "type": "ifname", "handle": 3,
   "map": "verdict", "elem": [["husk-b", {"drop": null}]]}},
 {"map": {"family": "inet", "name": "ports", "table": "husk",
   "type": ["inet_proto", "inet_service"], "handle": 6, "map": "verdict",
   "elem": [[{"elem": {"val": {"concat": ["tcp", 8080]}, "comment": "c1"}},
             {"jump": {"target": "ct-abc"}}],
            [{"concat": ["udp", 53]}, {"goto": {"target": "ct-def"}}]]}},
 {"chain": {"family": "inet", "table": "husk", "name": "forward", "handle": 7, "type": "filter",
   "hook": "forward", "prio": 0, "policy": "accept"}},
 {"chain": {"family": "inet", "table": "husk", "name": "nw-husk0-fwd", "handle": 18}},
 {"chain": {"family": "inet", "table": "other", "name": "elsewhere", "handle": 3}},
 {"chain": {"family": "ip", "table": "husk", "name": "not-inet", "handle": 3}},
 {"rule": {"family": "inet", "table": "husk", "chain": "forward", "handle": 11,
   "expr": [{"vmap": {"key": {"meta": {"key": "iifname"}}, "data": "@fwd_from"}}]}},
 {"rule": {"family": "inet", "table": "husk", "chain": "nw-husk0-fwd", "handle": 19,
   "comment": "husk:husk0", "expr": [{"match": {"op": "==", "left": {"meta": {"key": "oifname"}},
   "right": "husk0"}}, {"accept": null}]}},
 {"rule": {"family": "inet", "table": "husk", "chain": "nw-husk0-fwd", "handle": 20,
   "expr": [{"match": {"op": "!=", "left": {"meta": {"key": "oifname"}}, "right": "x"}},
   {"drop": null}]}}
]})";

TEST(NetFirewallListing, ReadsSetsMapsChainsAndRules) {
  NftListing l = parse_listing(kListing, "inet", "husk").value();
  EXPECT_TRUE(l.exists);
  EXPECT_EQ(l.handle, 7u);
  ASSERT_NE(l.find("bridges", "\"husk0\""), nullptr);
  EXPECT_EQ(l.find("bridges", "\"husk0\"")->comment, "fp1");
  EXPECT_EQ(l.find("bridges", "\"husk-b\"")->comment, "");
  EXPECT_EQ(l.find("bridges", "husk0"), nullptr);
  EXPECT_EQ(l.find("fwd_from", "\"husk0\"")->verdict, "jump nw-husk0-fwd");
  EXPECT_EQ(l.find("fwd_to", "\"husk-b\"")->verdict, "drop");
  EXPECT_EQ(*l.find("ports", "tcp . 8080"),
            (NftElement{"ports", "tcp . 8080", "jump ct-abc", "c1"}));
  EXPECT_EQ(l.find("ports", "udp . 53")->verdict, "goto ct-def");
  EXPECT_EQ(l.find("nope", "x"), nullptr);
  EXPECT_EQ(l.chains, (std::map<std::string, size_t>{{"forward", 1}, {"nw-husk0-fwd", 2}}));
  ASSERT_EQ(l.rules.size(), 3u);
  EXPECT_EQ(l.rules[0].meta_key, "");  // a vmap, not a match
  EXPECT_EQ(l.rules[1].handle, 19u);
  EXPECT_EQ(l.rules[1].comment, "husk:husk0");
  EXPECT_EQ(l.rules[1].meta_key, "oifname");
  EXPECT_EQ(l.rules[1].meta_value, "husk0");
  EXPECT_EQ(l.rules[1].verdict, "accept");
  EXPECT_EQ(l.rules[2].meta_key, "");  // != is not the accept husk inserts
  EXPECT_EQ(l.rules[2].verdict, "drop");
}

TEST(NetFirewallListing, OtherTablesAndOddInput) {
  EXPECT_FALSE(parse_listing(kListing, "inet", "nope").value().exists);
  NftListing other = parse_listing(kListing, "inet", "other").value();
  EXPECT_TRUE(other.has_chain("elsewhere"));
  EXPECT_FALSE(parse_listing("", "inet", "husk").value().exists);
  EXPECT_EQ(parse_listing("{", "inet", "husk").error().what(),
            "nft listing of table inet husk: not nft's JSON: Invalid argument");
  EXPECT_FALSE(parse_listing("[]", "inet", "husk").has_value());
  EXPECT_FALSE(parse_listing(R"({"nftables": 3})", "inet", "husk").has_value());
  // Shapes nft never prints are skipped, not trusted and not a crash.
  NftListing l = parse_listing(R"({"nftables": [1, "x", {"a": 1, "b": 2}, {"table": 3},
      {"set": {"family": "inet", "table": "husk", "name": "s",
               "elem": [[1], {"elem": 5}, [1, 2, 3]]}},
      {"rule": {"family": "inet", "table": "husk", "chain": "c", "expr": [{"match": 1}]}},
      {"rule": {"family": "inet", "table": "husk", "chain": "c", "expr": "x"}}]})",
                               "inet", "husk")
                     .value();
  EXPECT_EQ(l.sets.at("s").size(), 3u);
  EXPECT_EQ(l.chains.at("c"), 2u);
}

}  // namespace
}  // namespace husk::net
