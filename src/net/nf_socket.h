// nf_tables over a netlink socket of our own, without libnftables, for what
// every `husk run` does: see that a network's rules are in place, and add and
// delete a container's published ports. libnftables fills its cache (every
// table, chain, set, object and flowtable of the ruleset) and parses text
// before each command, ~0.4 ms a listing and ~0.8 ms a transaction here;
// requests made with libnftnl (the objects, their netlink attributes, the
// batch) on libmnl (the socket, the replies) take ~0.03 ms for
// ensure_network's two GETs (docs/benchmarks.md). The objects are the same
// ones libnftables makes from firewall_text.cc's commands
// (net_firewall_live_test compares the two as `nft list` shows them).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "net/firewall_impl.h"

struct mnl_socket;
struct nlmsghdr;

namespace husk::net {

// One nf_tables message of a batch: NFT_MSG_* type, NLM_F_* flags beyond
// NLM_F_REQUEST, the nfgenmsg family (NFPROTO_*) and the object, which
// writes its attributes after the header (a libnftnl object's
// nftnl_*_nlmsg_build_payload).
struct NfMessage {
  uint16_t type = 0;
  uint16_t flags = 0;
  uint8_t family = 0;
  std::function<void(nlmsghdr*)> payload;
  size_t max_size = 0;  // an upper bound of the message's length (the batch's pages)
  std::string invalid;  // why the object could not be made (commit fails with EINVAL)
  std::string what;  // the command in nft's words, for errors: "create element inet husk ports"
};

// The messages of the commands named, for an inet table.
namespace nf_msg {
// `add chain inet T C { comment "X"; }` (a regular chain; an existing one is
// kept). A comment longer than nft's 128 characters is EINVAL at commit, as
// for nft.
NfMessage add_chain(std::string_view table, std::string_view chain, std::string_view comment);
// `flush chain inet T C`
NfMessage flush_chain(std::string_view table, std::string_view chain);
// `delete chain inet T C` (with its rules; EBUSY while something jumps there)
NfMessage delete_chain(std::string_view table, std::string_view chain);
// `add rule inet T C <dnat_rule_text(d)>`
NfMessage add_dnat_rule(std::string_view table, std::string_view chain, const DnatSpec& d);
// `create element inet T S { P . N comment "X" : jump C, ... }` for a map of
// type inet_proto . inet_service : verdict (EEXIST when a key exists; a
// comment as add_chain's).
NfMessage create_port_elements(std::string_view table, std::string_view set,
                               const std::vector<std::pair<Proto, uint16_t>>& keys,
                               std::string_view comment, std::string_view jump);
// `delete element inet T S { P . N, ... }` (ENOENT when one is missing)
NfMessage delete_port_elements(std::string_view table, std::string_view set,
                               const std::vector<std::pair<Proto, uint16_t>>& keys);
}  // namespace nf_msg

class NfSocket {
 public:
  // A NETLINK_NETFILTER socket in the caller's network namespace.
  static Result<NfSocket> open();
  int fd() const;

  // The comment of the element `key` of the set family/table/set whose keys
  // are interface names (nft type ifname: 16 bytes, zero-padded); nullopt when
  // the table, the set or the element does not exist. An element without a
  // comment has "".
  Result<std::optional<std::string>> ifname_element_comment(uint8_t family, std::string_view table,
                                                            std::string_view set,
                                                            std::string_view key);
  // Whether the chain family/table/chain exists.
  Result<bool> chain_exists(uint8_t family, std::string_view table, std::string_view chain);

  // The messages as one transaction (all or nothing). The error is the first
  // message's that failed: its errno, and its `what`.
  Result<void> commit(const std::vector<NfMessage>& messages);

 private:
  struct Close {
    void operator()(mnl_socket* s) const;
  };
  explicit NfSocket(std::unique_ptr<mnl_socket, Close> nl) : nl_(std::move(nl)) {}
  // Sends one request (a GET of type `type`, the attributes written by
  // `payload`) and passes the single reply to `parse` (false: a reply it
  // cannot read, EPROTO); false when the kernel answers ENOENT.
  Result<bool> get(uint16_t type, uint8_t family, const std::function<void(nlmsghdr*)>& payload,
                   const std::function<bool(const nlmsghdr*)>& parse);
  // Makes the socket's buffer `which` (SO_SNDBUF, SO_RCVBUF) hold `bytes`.
  Result<void> reserve(int which, size_t bytes);
  std::unique_ptr<mnl_socket, Close> nl_;
  uint32_t seq_ = 0;
  size_t sndbuf_ = 0, rcvbuf_ = 0;  // what reserve() asked for
};

}  // namespace husk::net
