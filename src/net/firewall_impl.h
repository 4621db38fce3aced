// Internals of net/firewall.h shared by its .cc files and reached by unit
// tests: the objects of a network and of a container's ports, and nft's JSON
// listings read back into plain values. Pure.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "net/network.h"
#include "net/ports.h"

namespace husk::net {

// One element of a set or map, in nft's own syntax: key `"husk0"` or
// `tcp . 8080`, verdict `jump nw-husk0-fwd` | `drop` (empty for a set).
struct NftElement {
  std::string map;
  std::string key;
  std::string verdict;
  std::string comment;
  friend bool operator==(const NftElement&, const NftElement&) = default;
};

Result<void> check_bridge(const std::string& bridge);
Result<void> check_container(const std::string& container);
std::string nft_quoted(std::string_view s);
std::string port_key(Proto p, uint16_t port);                                 // "tcp . 8080"
std::string network_chain(const std::string& bridge, std::string_view what);  // nw-B-what
// What add_network makes, without the comments.
std::vector<NftElement> network_elements(const Network& n);
std::vector<std::string> network_chains(const Network& n);
// The container's `ports` elements (one per proto and host port).
std::vector<NftElement> port_elements(const std::string& container,
                                      const std::vector<PortMapping>& ports);
// One DNAT rule of a container's chain: packets of `family` to `daddr` (any
// address when nullopt), `proto` port `dport`, go to `to`:`to_port`.
struct DnatSpec {
  Family family = Family::kV4;
  std::optional<IpAddr> daddr;
  Proto proto = Proto::kTcp;
  uint16_t dport = 0;
  IpAddr to;
  uint16_t to_port = 0;
};
// The DNAT rules of one mapping, as values (the netlink path builds them from these).
Result<std::vector<DnatSpec>> dnat_specs(const PortMapping& m, const IpAddr& ipv4,
                                         const std::optional<IpAddr>& ipv6);
// `meta nfproto ipv4 tcp dport 8080 dnat ip to 10.89.0.2:80`
std::string dnat_rule_text(const DnatSpec& d);
// The DNAT rules (without `add rule ...`) of one mapping.
Result<std::vector<std::string>> dnat_rules(const PortMapping& m, const IpAddr& ipv4,
                                            const std::optional<IpAddr>& ipv6);
// `delete element` for each element, then `delete chain` for each chain.
std::string delete_text(std::string_view table, const std::vector<NftElement>& elements,
                        const std::vector<std::string>& chains);

struct NftRule {
  std::string chain;
  uint64_t handle = 0;
  std::string comment;
  // The first statement when it is `meta KEY == "VALUE"` (DOCKER-USER's
  // `iifname "B" accept`), else empty.
  std::string meta_key;
  std::string meta_value;
  std::string verdict;  // the last statement when it is a verdict: accept, drop, jump X
};

// One table as `nft -j list table|chain` shows it.
struct NftListing {
  bool exists = false;
  uint64_t handle = 0;
  std::map<std::string, size_t> chains;  // name -> number of rules listed
  // set or map name -> its elements (keys as in NftElement; maps and sets alike).
  std::map<std::string, std::vector<NftElement>> sets;
  std::vector<NftRule> rules;

  const NftElement* find(std::string_view set, std::string_view key) const;
  bool has_chain(const std::string& name) const { return chains.count(name) != 0; }
};

// Reads the objects of table `family name` from a JSON listing; what names
// the listing in errors. An empty text (no such table listed) is no table.
Result<NftListing> parse_listing(std::string_view json, std::string_view family,
                                 std::string_view name);

}  // namespace husk::net
