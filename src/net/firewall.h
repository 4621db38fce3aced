// husk's firewall: one nftables table of its own, `inet husk`, changed in
// atomic transactions: through libnftables (nft text), and, for what every
// `husk run` does (ensure_network's check, add_ports, remove_ports), as
// netlink messages made with libnftnl on libmnl (net/nf_socket.h), which
// skip libnftables' cache fill and parser (~0.8 ms a transaction). Never
// iptables, never nft(8).
//
//   table inet husk {
//     set bridges   { type ifname }                    every husk bridge
//     map fwd_from  { type ifname : verdict }          "husk0" : jump nw-husk0-fwd
//     map fwd_to    { type ifname : verdict }          "husk-int" : drop   (--internal only)
//     map post_from { type ifname : verdict }          "husk0" : jump nw-husk0-masq
//     map post_to   { type ifname : verdict }          "husk0" : jump nw-husk0-in
//     map ports     { type inet_proto . inet_service : verdict }
//                                                      tcp . 8080 comment "c1" : jump ct-<hash>
//     chain forward     { filter hook forward;  iifname vmap @fwd_from; oifname vmap @fwd_to }
//     chain prerouting  { nat hook prerouting;  fib daddr type local meta l4proto . th dport
//                                                 vmap @ports }
//     chain output      { nat hook output;      ip6 daddr ::1 return;   (no route_localnet in v6)
//                                               fib daddr type local ... vmap @ports }
//     chain postrouting { nat hook postrouting; iifname vmap @post_from; oifname vmap @post_to }
//     chain nw-husk0-fwd  { oifname "husk0" accept; ct status dnat accept;   (published ports)
//                           oifname @bridges drop }    [internal: oifname "B" accept; drop]
//     chain nw-husk0-masq { oifname != "husk0" masquerade }     (not for --internal)
//     chain nw-husk0-in   { ip saddr 127.0.0.0/8 masquerade;    (DNAT from the host's lo)
//                           ct status dnat ip saddr 10.89.0.0/16 masquerade }  (hairpin; ip6 too)
//     chain ct-<hash>     { comment "c1"; [ip daddr H] tcp dport 8080 dnat ip to 10.89.0.2:80 }
//   }
//
// Why these hooks (each tried in a test-made namespace, tests/unit/net_firewall_live_test.cc):
// - prerouting DNATs what comes from other hosts and from containers (hairpin); output DNATs
//   what the host sends to one of its own addresses, 127.0.0.1 included. The kernel routes a
//   127.0.0.1 source out of a non-loopback device only with route_localnet=1 on it
//   (ensure_network sets it on the bridge), and the container's reply comes back only if that
//   source is rewritten on the way out: nw-<bridge>-in masquerades 127.0.0.0/8. IPv6 has no
//   route_localnet, so ::1 is never DNATed (the output chain returns first).
// - hairpin: a container reaching its network's published port through a host address is
//   DNATed back into the bridge; without the masquerade (ct status dnat, source in the subnet)
//   the peer would answer straight over the bridge, around the conntrack entry. A container
//   reaching its *own* published port also needs hairpin mode on its bridge port when
//   br_netfilter is loaded (docker loads it): that is the netlink part's, not a rule.
// - postrouting's `iifname` is the device a forwarded packet came in on (ip_output passes it to
//   the hook), so masquerade is keyed by the bridge, not by the subnet.
// No base chain has a drop policy and nothing matches the host's input path; the only drops are
// in forward, for packets between two husk bridges and for --internal networks.
//
// docker: where a chain DOCKER-USER exists in `ip filter` (and `ip6 filter` for a dual-stack
// network), each network also gets `iifname "B" accept` and `oifname "B" accept` at its top,
// with comment "husk:B", removed with the network: every base chain on the forward hook runs,
// so an accept in husk's table cannot outvote docker's FORWARD drop policy; DOCKER-USER is the
// place docker keeps for rules of others, and it runs before docker's drops.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "net/network.h"
#include "net/nf_socket.h"
#include "net/ports.h"

struct nft_ctx;

namespace husk::net {

inline constexpr const char* kFirewallTable = "husk";

// The text of each transaction, pure (unit tests compare them). `table` is
// the name of the inet table (tests use a table of their own). Names that
// reach the text are checked first: a bridge must be a plain interface name
// ([A-Za-z0-9_.-], at most 15), a container id [A-Za-z0-9_.-] (at most 128).
namespace nft_text {
std::string base(std::string_view table = kFirewallTable);  // table, sets, maps, base chains
// The network's chains (add + flush + rules: idempotent) and map elements;
// `fingerprint`, when not empty, goes into the comment of its `bridges`
// element (Firewall::ensure_network uses it to see that nothing changed).
Result<std::string> add_network(const Network& n, std::string_view table = kFirewallTable,
                                std::string_view fingerprint = {});
// Deletes all of add_network's elements and chains (fails if one is missing).
Result<std::string> remove_network(const Network& n, std::string_view table = kFirewallTable);
// The container's chain (comment: its id; add + flush, so a second call
// replaces the rules) and one `create element` per (proto, host port), which
// fails if a key exists. Errors: a host port 0, an IPv6 host address or "::"
// when the container has no IPv6 address, host address ::1.
Result<std::string> add_ports(const std::string& container, const IpAddr& ipv4,
                              const std::optional<IpAddr>& ipv6,
                              const std::vector<PortMapping>& ports,
                              std::string_view table = kFirewallTable);
// Deletes the elements of `ports` and the container's chain, in one
// transaction: it fails unless all of them exist and nothing else jumps there.
Result<std::string> remove_ports(const std::string& container,
                                 const std::vector<PortMapping>& ports,
                                 std::string_view table = kFirewallTable);
std::string chain_for(const std::string& container);  // "ct-<12 hex of FNV-1a 64 of the id>"
// nft's error output (`<cmdline>:4:34-43: Error: ...`, the command, carets)
// as one line: `Could not process rule: File exists: "tcp . 8080" in "create element ..."`.
std::string one_line_error(std::string_view nft_error);
}  // namespace nft_text

class Firewall {
 public:
  // A firewall for `table` (default "husk"; [a-z0-9_], tests use their
  // own). Free: the libnftables context and the netlink socket are made by
  // the first call that needs them.
  static Result<Firewall> open(std::string table = kFirewallTable);
  Firewall(Firewall&&) noexcept;
  Firewall& operator=(Firewall&&) noexcept;
  // Closes its netlink sockets (libnftables', net/nf_socket.h's). The
  // kernel (6.x) then waits for nf_tables' pending destroy work of this network namespace: after a
  // transaction that deleted anything (remove_ports, remove_network, a
  // reapplied network), by anyone, that is an RCU grace period, 4-15 ms
  // measured. So keep a Firewall alive while other teardown work runs (the
  // veth, the lease) and destroy it last: the grace period passes meanwhile.
  // Process exit closes it the same way; see close_after_exit().
  ~Firewall();

  // Makes the socket's last close (and the kernel's wait in it, above) happen
  // in a child that holds only a copy of the socket and dies with this
  // process (PR_SET_PDEATHSIG), so a command that deleted rules returns
  // without the wait; what it committed is already in force. The child costs
  // one more process (sys::hold_open_past_exit), ~0.2 ms; a second one in
  // the rare case that both sockets are open. Without a socket, or when fork
  // fails, it does nothing.
  void close_after_exit();

  // Table and base chains (idempotent), then the network's rules (idempotent:
  // its chains are flushed and refilled), and DOCKER-USER accepts when that
  // chain exists. Also sets route_localnet on the bridge (which must exist),
  // net.ipv4.ip_forward (and IPv6 forwarding for a dual-stack network)
  // unless the network is internal.
  // Cost: when all is in place (the common case) two netlink GET requests,
  // 0.02 ms: the bridge's element in `bridges`, whose comment is a
  // fingerprint of all the text (a change of husk's rules is applied once),
  // and no DOCKER-USER chain. Otherwise (or on any error) the same through
  // libnftables' listings (0.8 ms) and, when something is missing, the whole
  // text, ~1.4 ms. Callers that change
  // the ruleset are serialised by an flock on kNetRunRoot/.firewall-<table>.lock
  // (made if missing), so two never insert the same DOCKER-USER accepts.
  // A table flushed by hand (`nft flush table inet husk`: rules gone,
  // elements kept) is not noticed; one deleted (`nft flush ruleset`) is.
  Result<void> ensure_network(const Network& n);
  // Deletes what exists of the network's elements, chains and DOCKER-USER
  // rules (idempotent; no table is fine).
  Result<void> remove_network(const Network& n);
  // A container's published ports; host ports must be chosen (not 0). Error
  // if a (proto, port) is already published:
  // `port 8080/tcp is already published by container "c"`; then nothing of
  // this call is left.
  Result<void> add_ports(const std::string& container, const IpAddr& ipv4,
                         const std::optional<IpAddr>& ipv6, const std::vector<PortMapping>& ports);
  // Idempotent: missing elements/chain are fine; only elements that jump to
  // this container's chain are ever deleted. The call takes 0.01 ms when all
  // is there (one netlink batch), but see the destructor.
  Result<void> remove_ports(const std::string& container, const std::vector<PortMapping>& ports);

  // Runs commands as one transaction and returns nft's output; the error is
  // nft's message in one line (errno EEXIST, ENOENT, EBUSY... when nft names one).
  Result<std::string> run(const std::string& commands);
  // Runs a list command with JSON output and returns the text.
  Result<std::string> list_json(const std::string& command);
  const std::string& table() const { return table_; }

 private:
  explicit Firewall(std::string table);
  // libnftables' context, made on first use.
  Result<nft_ctx*> ctx();
  // The socket of net/nf_socket.h, opened on first use.
  Result<NfSocket*> nf();
  // ensure_network's common case asked without libnftables: true when the
  // bridge's `bridges` element carries `fingerprint` and docker has no
  // DOCKER-USER chain (ip, and ip6 for a dual-stack network).
  bool quick_in_place(const Network& n, const std::string& fingerprint);
  // route_localnet on the bridge, and forwarding for a non-internal network.
  Result<void> set_sysctls(const Network& n);
  nft_ctx* ctx_ = nullptr;
  std::optional<NfSocket> nf_;
  std::string table_;
};

}  // namespace husk::net
