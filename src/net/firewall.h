// husk's firewall: one nftables table of its own, `inet husk`, changed
// through libnftables in atomic transactions. Never iptables, never nft(8).
//
//   table inet husk {
//     set bridges   { type ifname }                    every husk bridge
//     map fwd_from  { type ifname : verdict }          "husk0" : jump nw-husk0-fwd
//     map post_from { type ifname : verdict }          "husk0" : jump nw-husk0-masq
//     map post_to   { type ifname : verdict }          "husk0" : jump nw-husk0-in
//     map ports     { type inet_proto . inet_service : verdict }
//                                                      tcp . 8080 : jump ct-<id>
//     chain forward     { filter hook forward;  iifname vmap @fwd_from }
//     chain prerouting  { nat hook prerouting;  fib daddr type local  ... vmap @ports }
//     chain output      { nat hook output;      fib daddr type local  ... vmap @ports }
//     chain postrouting { nat hook postrouting; iifname vmap @post_from; oifname vmap @post_to }
//     chain nw-husk0-fwd  { oifname "husk0" accept; oifname @bridges drop; [internal: drop] }
//     chain nw-husk0-masq { oifname != "husk0" masquerade }   (not for --internal)
//     chain nw-husk0-in   { ip saddr 127.0.0.0/8 masquerade;           (DNAT from the host's lo)
//                           ct status dnat ip saddr 10.89.0.0/16 masquerade }  (hairpin)
//     chain ct-<id>       { [ip daddr HOSTIP] tcp dport 8080 dnat ip to 10.89.0.2:80 ... }
//   }
//
// No base chain has a drop policy and nothing matches the host's input path.
// Where docker's iptables FORWARD chain drops by policy, each network also
// gets two accept rules in docker's DOCKER-USER chain (docker's place for
// them), removed with the network: without them docker's policy drops every
// forwarded packet of husk's bridges, whatever husk's own table says.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "net/network.h"
#include "net/ports.h"

struct nft_ctx;

namespace husk::net {

// The text of each transaction, pure (unit tests compare them).
namespace nft_text {
std::string base();                                     // table, sets, maps, base chains
std::string add_network(const Network& n);              // chains + map elements
std::string remove_network(const Network& n);
std::string add_ports(const std::string& container, const IpAddr& ipv4,
                      const std::optional<IpAddr>& ipv6, const std::vector<PortMapping>& ports);
std::string remove_ports(const std::string& container, const std::vector<PortMapping>& ports);
std::string chain_for(const std::string& container);    // "ct-<12 hex>"
}  // namespace nft_text

class Firewall {
 public:
  static Result<Firewall> open();
  Firewall(Firewall&&) noexcept;
  Firewall& operator=(Firewall&&) noexcept;
  ~Firewall();

  // Table and base chains (idempotent), then the network's rules (idempotent:
  // its chains are flushed and refilled), and DOCKER-USER accepts when that
  // chain exists. Also sets net.ipv4.ip_forward (and IPv6 forwarding for a
  // dual-stack network) unless the network is internal.
  Result<void> ensure_network(const Network& n);
  Result<void> remove_network(const Network& n);
  // A container's published ports. Error if a (proto, port) is already
  // published: `port 8080/tcp is already published by container "c"`.
  Result<void> add_ports(const std::string& container, const IpAddr& ipv4,
                         const std::optional<IpAddr>& ipv6, const std::vector<PortMapping>& ports);
  // Idempotent: missing elements/chain are fine.
  Result<void> remove_ports(const std::string& container, const std::vector<PortMapping>& ports);

  // Runs a transaction; the error is nft's first message line.
  Result<std::string> run(const std::string& commands);

 private:
  explicit Firewall(nft_ctx* c);
  nft_ctx* ctx_ = nullptr;
};

}  // namespace husk::net
