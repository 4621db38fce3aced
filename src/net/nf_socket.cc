// net/nf_socket.h: nf_tables messages built by hand (linux/netfilter/
// nf_tables.h): GET requests, one reply each, and batches (one transaction).
#include "net/nf_socket.h"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace husk::net {

namespace {

// One attribute, padded to 4 bytes: a string (with its NUL), bytes, or nested.
void put_attr(std::string& out, uint16_t type, std::string_view payload) {
  nlattr a{};
  a.nla_len = static_cast<uint16_t>(NLA_HDRLEN + payload.size());
  a.nla_type = type;
  out.append(reinterpret_cast<const char*>(&a), sizeof a);
  out.append(payload);
  out.append(NLA_ALIGN(payload.size()) - payload.size(), '\0');
}
void put_str(std::string& out, uint16_t type, std::string_view s) {
  put_attr(out, type, std::string(s) + '\0');
}
void put_nested(std::string& out, uint16_t type, const std::string& inner) {
  put_attr(out, static_cast<uint16_t>(type | NLA_F_NESTED), inner);
}

void put_u32(std::string& out, uint16_t type, uint32_t host_order) {
  uint32_t be = htonl(host_order);
  put_attr(out, type, std::string_view(reinterpret_cast<const char*>(&be), sizeof be));
}
// NFTA_DATA_VALUE inside `type`.
void put_value(std::string& out, uint16_t type, std::string_view bytes) {
  std::string value;
  put_attr(value, NFTA_DATA_VALUE, bytes);
  put_nested(out, type, value);
}
// nftnl's user data holding a comment: type 0 (NFTNL_UDATA_{CHAIN,SET_ELEM}_COMMENT),
// length, the text with its NUL (nft keeps comments to 128 characters).
std::string comment_udata(std::string_view comment) {
  std::string out;
  out += '\0';
  out += static_cast<char>(comment.size() + 1);
  out += comment;
  out += '\0';
  return out;
}

// A netlink message: header, nfgenmsg, attributes.
std::string frame(uint16_t type, uint16_t flags, uint32_t seq, uint8_t family, uint16_t res_id,
                  std::string_view attrs) {
  nlmsghdr h{};
  h.nlmsg_len = static_cast<uint32_t>(NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg)) + attrs.size());
  h.nlmsg_type = type;
  h.nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
  h.nlmsg_seq = seq;
  nfgenmsg g{};
  g.nfgen_family = family;
  g.version = NFNETLINK_V0;
  g.res_id = htons(res_id);
  std::string msg(reinterpret_cast<const char*>(&h), sizeof h);
  msg.append(reinterpret_cast<const char*>(&g), sizeof g);
  msg.append(NLMSG_ALIGN(sizeof g) - sizeof g, '\0');
  msg.append(attrs);
  return msg;
}

uint16_t nft_type(uint16_t msg) { return static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | msg); }

// One expression of a rule: NFTA_LIST_ELEM { NFTA_EXPR_NAME, NFTA_EXPR_DATA }.
void put_expr(std::string& list, std::string_view name, const std::string& data) {
  std::string e;
  put_str(e, NFTA_EXPR_NAME, name);
  put_nested(e, NFTA_EXPR_DATA, data);
  put_nested(list, NFTA_LIST_ELEM, e);
}
void meta_load(std::string& list, uint32_t key) {
  std::string d;
  put_u32(d, NFTA_META_DREG, NFT_REG_1);
  put_u32(d, NFTA_META_KEY, key);
  put_expr(list, "meta", d);
}
void payload_load(std::string& list, uint32_t base, uint32_t offset, uint32_t len) {
  std::string d;
  put_u32(d, NFTA_PAYLOAD_DREG, NFT_REG_1);
  put_u32(d, NFTA_PAYLOAD_BASE, base);
  put_u32(d, NFTA_PAYLOAD_OFFSET, offset);
  put_u32(d, NFTA_PAYLOAD_LEN, len);
  put_expr(list, "payload", d);
}
void cmp_eq(std::string& list, std::string_view bytes) {
  std::string d;
  put_u32(d, NFTA_CMP_SREG, NFT_REG_1);
  put_u32(d, NFTA_CMP_OP, NFT_CMP_EQ);
  put_value(d, NFTA_CMP_DATA, bytes);
  put_expr(list, "cmp", d);
}
void immediate(std::string& list, uint32_t reg, std::string_view bytes) {
  std::string d;
  put_u32(d, NFTA_IMMEDIATE_DREG, reg);
  put_value(d, NFTA_IMMEDIATE_DATA, bytes);
  put_expr(list, "immediate", d);
}
std::string byte(uint8_t b) { return std::string(1, static_cast<char>(b)); }
std::string be16(uint16_t v) {
  uint16_t be = htons(v);
  return std::string(reinterpret_cast<const char*>(&be), sizeof be);
}
uint8_t ipproto(Proto p) { return p == Proto::kTcp ? IPPROTO_TCP : IPPROTO_UDP; }

// A key of inet_proto . inet_service: each part in a 4-byte register slot.
std::string port_key_bytes(Proto p, uint16_t port) {
  std::string k = byte(ipproto(p)) + std::string(3, '\0');
  k += be16(port) + std::string(2, '\0');
  return k;
}

std::string port_elements(std::string_view table, std::string_view set,
                          const std::vector<std::pair<Proto, uint16_t>>& keys,
                          std::string_view comment, std::string_view jump) {
  std::string list;
  for (const auto& [proto, port] : keys) {
    std::string elem;
    put_value(elem, NFTA_SET_ELEM_KEY, port_key_bytes(proto, port));
    if (!jump.empty()) {
      std::string verdict, data;
      put_u32(verdict, NFTA_VERDICT_CODE, static_cast<uint32_t>(NFT_JUMP));
      put_str(verdict, NFTA_VERDICT_CHAIN, jump);
      put_nested(data, NFTA_DATA_VERDICT, verdict);
      put_nested(elem, NFTA_SET_ELEM_DATA, data);
    }
    if (!comment.empty()) put_attr(elem, NFTA_SET_ELEM_USERDATA, comment_udata(comment));
    put_nested(list, NFTA_LIST_ELEM, elem);
  }
  std::string attrs;
  put_str(attrs, NFTA_SET_ELEM_LIST_TABLE, table);
  put_str(attrs, NFTA_SET_ELEM_LIST_SET, set);
  put_nested(attrs, NFTA_SET_ELEM_LIST_ELEMENTS, list);
  return attrs;
}

std::string keys_text(const std::vector<std::pair<Proto, uint16_t>>& keys) {
  std::string out;
  for (const auto& [proto, port] : keys) {
    if (!out.empty()) out += ", ";
    out += port_key(proto, port);
  }
  return out;
}

std::string chain_attrs(std::string_view table, std::string_view chain) {
  std::string attrs;
  put_str(attrs, NFTA_CHAIN_TABLE, table);
  put_str(attrs, NFTA_CHAIN_NAME, chain);
  return attrs;
}

// The attribute `type` at the top level of `attrs`, or nullopt.
std::optional<std::string_view> find_attr(std::string_view attrs, uint16_t type) {
  while (attrs.size() >= NLA_HDRLEN) {
    nlattr a{};
    std::memcpy(&a, attrs.data(), sizeof a);
    if (a.nla_len < NLA_HDRLEN || a.nla_len > attrs.size()) return std::nullopt;
    if ((a.nla_type & NLA_TYPE_MASK) == type)
      return attrs.substr(NLA_HDRLEN, a.nla_len - NLA_HDRLEN);
    attrs.remove_prefix(std::min<size_t>(NLA_ALIGN(a.nla_len), attrs.size()));
  }
  return std::nullopt;
}

// nftnl's user data of an element: type (1 byte), length (1 byte), value;
// the comment is type 0 (NFTNL_UDATA_SET_ELEM_COMMENT), NUL-terminated.
std::string comment_of(std::string_view udata) {
  while (udata.size() >= 2) {
    auto type = static_cast<uint8_t>(udata[0]);
    auto len = static_cast<uint8_t>(udata[1]);
    if (len > udata.size() - 2) break;
    std::string_view value = udata.substr(2, len);
    if (type == 0) return std::string(value.substr(0, value.find('\0')));
    udata.remove_prefix(2 + len);
  }
  return {};
}

}  // namespace

Result<NfSocket> NfSocket::open() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
  if (!fd) return fail(errno, "nf_tables netlink socket");
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0)
    return fail(errno, "nf_tables netlink socket: bind");
  // A GET's reply never waits for anything: a second is an error, not a hang.
  timeval limit{1, 0};
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) < 0)
    return fail(errno, "nf_tables netlink socket: SO_RCVTIMEO");
  return NfSocket(std::move(fd));
}

Result<std::optional<std::string>> NfSocket::get(uint16_t type, uint8_t family,
                                                 const std::string& attrs) {
  std::string msg = frame(nft_type(type), NLM_F_ACK, ++seq_, family, 0, attrs);
  if (::send(fd_.get(), msg.data(), msg.size(), 0) != static_cast<ssize_t>(msg.size()))
    return fail(errno, "nf_tables netlink: send");

  // The reply (an object) and then the ack, or only an error; both may come
  // in one datagram or in two.
  std::optional<std::string> reply;
  std::array<char, 16384> buf;
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errno, "nf_tables netlink: recv");
    size_t left = static_cast<size_t>(n);
    for (auto* m = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(m, left);
         m = NLMSG_NEXT(m, left)) {
      if (m->nlmsg_seq != seq_) continue;
      if (m->nlmsg_type == NLMSG_ERROR) {
        if (m->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr)))
          return fail(EPROTO, "nf_tables netlink: short error");
        int err = -static_cast<nlmsgerr*>(NLMSG_DATA(m))->error;
        if (err == 0) return reply;
        if (err == ENOENT) return std::optional<std::string>();
        return fail(err, "nf_tables netlink");
      }
      size_t head = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg));
      if (m->nlmsg_len < head) return fail(EPROTO, "nf_tables netlink: short reply");
      reply = std::string(reinterpret_cast<const char*>(m) + head, m->nlmsg_len - head);
    }
  }
}

Result<std::optional<std::string>> NfSocket::ifname_element_comment(uint8_t family,
                                                                    std::string_view table,
                                                                    std::string_view set,
                                                                    std::string_view key) {
  if (key.empty() || key.size() >= IFNAMSIZ) return fail(EINVAL, "interface name \"{}\"", key);
  std::string name(key);
  name.resize(IFNAMSIZ, '\0');
  std::string value, elem, list, attrs;
  put_attr(value, NFTA_DATA_VALUE, name);
  put_nested(elem, NFTA_SET_ELEM_KEY, value);
  put_nested(list, NFTA_LIST_ELEM, elem);
  put_str(attrs, NFTA_SET_ELEM_LIST_TABLE, table);
  put_str(attrs, NFTA_SET_ELEM_LIST_SET, set);
  put_nested(attrs, NFTA_SET_ELEM_LIST_ELEMENTS, list);
  HUSK_TRY_ASSIGN(std::optional<std::string> reply, get(NFT_MSG_GETSETELEM, family, attrs));
  if (!reply) return std::optional<std::string>();
  // NFTA_SET_ELEM_LIST_ELEMENTS > NFTA_LIST_ELEM > NFTA_SET_ELEM_USERDATA.
  auto elements = find_attr(*reply, NFTA_SET_ELEM_LIST_ELEMENTS);
  auto one = elements ? find_attr(*elements, NFTA_LIST_ELEM) : std::nullopt;
  if (!one)
    return fail(EPROTO, "nf_tables netlink: set {} {}: no element in the reply", table, set);
  auto udata = find_attr(*one, NFTA_SET_ELEM_USERDATA);
  return std::optional<std::string>(udata ? comment_of(*udata) : std::string());
}

Result<bool> NfSocket::chain_exists(uint8_t family, std::string_view table,
                                    std::string_view chain) {
  HUSK_TRY_ASSIGN(std::optional<std::string> reply,
                  get(NFT_MSG_GETCHAIN, family, chain_attrs(table, chain)));
  return reply.has_value();
}

Result<void> NfSocket::commit(const std::vector<NfMessage>& messages) {
  uint32_t first = seq_ + 1;
  std::string batch = frame(NFNL_MSG_BATCH_BEGIN, 0, ++seq_, AF_UNSPEC, NFNL_SUBSYS_NFTABLES, {});
  for (const NfMessage& m : messages)
    batch += frame(nft_type(m.type), static_cast<uint16_t>(NLM_F_ACK | m.flags), ++seq_, m.family,
                   0, m.attrs);
  batch += frame(NFNL_MSG_BATCH_END, 0, ++seq_, AF_UNSPEC, NFNL_SUBSYS_NFTABLES, {});
  if (::send(fd_.get(), batch.data(), batch.size(), 0) != static_cast<ssize_t>(batch.size()))
    return fail(errno, "nf_tables netlink: send");
  // The kernel handles the batch within send(): every reply (an ack or an
  // error for each message, an error for the batch) is queued by now.
  int err = 0;
  uint32_t failed = 0;
  size_t acked = 0;
  std::array<char, 16384> buf;
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0) return fail(errno, "nf_tables netlink: recv");
    size_t left = static_cast<size_t>(n);
    for (auto* m = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(m, left);
         m = NLMSG_NEXT(m, left)) {
      if (m->nlmsg_type != NLMSG_ERROR || m->nlmsg_seq < first || m->nlmsg_seq > seq_) continue;
      if (m->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr)))
        return fail(EPROTO, "nf_tables netlink: short error");
      int e = -static_cast<nlmsgerr*>(NLMSG_DATA(m))->error;
      acked += e == 0;
      if (e != 0 && err == 0) {
        err = e;
        failed = m->nlmsg_seq;
      }
    }
  }
  // Each message asked for an ack: one missing (a reply lost to a full
  // receive buffer) leaves the outcome unknown.
  if (err == 0 && acked == messages.size()) return ok();
  if (err == 0)
    return fail_quiet(EPROTO, "nf_tables: {} of {} commands acknowledged", acked, messages.size());
  size_t index = failed - first;  // 0 is the batch itself, 1 the first message
  if (index >= 1 && index <= messages.size())
    return fail_quiet(err, "nf_tables: {}", messages[index - 1].what);
  return fail_quiet(err, "nf_tables: transaction failed");
}

namespace nf_msg {

NfMessage add_chain(std::string_view table, std::string_view chain, std::string_view comment) {
  std::string attrs = chain_attrs(table, chain);
  if (!comment.empty()) put_attr(attrs, NFTA_CHAIN_USERDATA, comment_udata(comment));
  return {NFT_MSG_NEWCHAIN, NLM_F_CREATE, NFPROTO_INET, std::move(attrs),
          fmt::format("add chain inet {} {}", table, chain)};
}

NfMessage flush_chain(std::string_view table, std::string_view chain) {
  std::string attrs;
  put_str(attrs, NFTA_RULE_TABLE, table);
  put_str(attrs, NFTA_RULE_CHAIN, chain);
  return {NFT_MSG_DELRULE, 0, NFPROTO_INET, std::move(attrs),
          fmt::format("flush chain inet {} {}", table, chain)};
}

NfMessage delete_chain(std::string_view table, std::string_view chain) {
  return {NFT_MSG_DELCHAIN, 0, NFPROTO_INET, chain_attrs(table, chain),
          fmt::format("delete chain inet {} {}", table, chain)};
}

NfMessage add_dnat_rule(std::string_view table, std::string_view chain, const DnatSpec& d) {
  bool v4 = d.family == Family::kV4;
  std::string exprs;
  // What nft compiles dnat_rule_text(d) to (nft --debug=netlink).
  meta_load(exprs, NFT_META_NFPROTO);
  cmp_eq(exprs, byte(v4 ? NFPROTO_IPV4 : NFPROTO_IPV6));
  if (d.daddr) {
    payload_load(exprs, NFT_PAYLOAD_NETWORK_HEADER, v4 ? 16 : 24, v4 ? 4 : 16);
    cmp_eq(exprs,
           std::string(reinterpret_cast<const char*>(d.daddr->bytes.data()), d.daddr->size()));
  }
  meta_load(exprs, NFT_META_L4PROTO);
  cmp_eq(exprs, byte(ipproto(d.proto)));
  payload_load(exprs, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
  cmp_eq(exprs, be16(d.dport));
  immediate(exprs, NFT_REG_1,
            std::string(reinterpret_cast<const char*>(d.to.bytes.data()), d.to.size()));
  immediate(exprs, NFT_REG_2, be16(d.to_port));
  std::string nat;
  put_u32(nat, NFTA_NAT_TYPE, NFT_NAT_DNAT);
  put_u32(nat, NFTA_NAT_FAMILY, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
  put_u32(nat, NFTA_NAT_REG_ADDR_MIN, NFT_REG_1);
  put_u32(nat, NFTA_NAT_REG_PROTO_MIN, NFT_REG_2);
  put_u32(nat, NFTA_NAT_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
  put_expr(exprs, "nat", nat);
  std::string attrs;
  put_str(attrs, NFTA_RULE_TABLE, table);
  put_str(attrs, NFTA_RULE_CHAIN, chain);
  put_nested(attrs, NFTA_RULE_EXPRESSIONS, exprs);
  return {NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, NFPROTO_INET, std::move(attrs),
          fmt::format("add rule inet {} {} {}", table, chain, dnat_rule_text(d))};
}

NfMessage create_port_elements(std::string_view table, std::string_view set,
                               const std::vector<std::pair<Proto, uint16_t>>& keys,
                               std::string_view comment, std::string_view jump) {
  return {NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL, NFPROTO_INET,
          port_elements(table, set, keys, comment, jump),
          fmt::format("create element inet {} {} {{ {} }}", table, set, keys_text(keys))};
}

NfMessage delete_port_elements(std::string_view table, std::string_view set,
                               const std::vector<std::pair<Proto, uint16_t>>& keys) {
  return {NFT_MSG_DELSETELEM, 0, NFPROTO_INET, port_elements(table, set, keys, {}, {}),
          fmt::format("delete element inet {} {} {{ {} }}", table, set, keys_text(keys))};
}

}  // namespace nf_msg

}  // namespace husk::net
