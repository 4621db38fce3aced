// net/nf_socket.h: nf_tables objects made with libnftnl (their netlink
// attributes, the batch) and sent, and answered, through libmnl: GET requests
// with one reply each, and batches (one transaction).
#include "net/nf_socket.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <new>

#include <fmt/format.h>

namespace husk::net {

namespace {

// A libnftnl object owned by a shared_ptr (NfMessage is copyable); an
// allocation that fails is std::bad_alloc, as for new.
template <class T>
std::shared_ptr<T> owned(T* p, void (*free)(const T*)) {
  if (p == nullptr) throw std::bad_alloc();
  return std::shared_ptr<T>(p, free);
}
void check(int rc) {
  // nftnl_*_set_* fail for memory, or for data too large (none here: keys of 16 bytes at most)
  if (rc < 0) throw std::bad_alloc();
}

// nftnl's user data holding a comment (type 0 for chains and elements:
// NFTNL_UDATA_{CHAIN,SET_ELEM}_COMMENT), or nullopt when nft would not take it.
std::optional<std::string> comment_udata(std::string_view comment) {
  static_assert(NFTNL_UDATA_CHAIN_COMMENT == 0 && NFTNL_UDATA_SET_ELEM_COMMENT == 0);
  if (comment.size() > NFTNL_UDATA_COMMENT_MAXLEN) return std::nullopt;
  std::unique_ptr<nftnl_udata_buf, void (*)(const nftnl_udata_buf*)> buf(
      nftnl_udata_buf_alloc(NFTNL_UDATA_COMMENT_MAXLEN + 8), nftnl_udata_buf_free);
  if (!buf) throw std::bad_alloc();
  if (!nftnl_udata_put_strz(buf.get(), 0, std::string(comment).c_str())) return std::nullopt;
  return std::string(static_cast<const char*>(nftnl_udata_buf_data(buf.get())),
                     nftnl_udata_buf_len(buf.get()));
}
std::string too_long(std::string_view comment) {
  return fmt::format("comment of {} characters (nft takes {})", comment.size(),
                     NFTNL_UDATA_COMMENT_MAXLEN);
}

// The comment in an element's user data ("" when it has none).
std::string comment_of(const void* udata, uint32_t len) {
  const nftnl_udata* found = nullptr;
  auto cb = [](const nftnl_udata* attr, void* data) -> int {
    if (nftnl_udata_type(attr) == NFTNL_UDATA_SET_ELEM_COMMENT)
      *static_cast<const nftnl_udata**>(data) = attr;
    return 0;
  };
  if (nftnl_udata_parse(udata, len, cb, &found) < 0 || found == nullptr) return {};
  const char* value = static_cast<const char*>(nftnl_udata_get(found));
  return std::string(value, ::strnlen(value, nftnl_udata_len(found)));
}

std::shared_ptr<nftnl_chain> chain_object(std::string_view table, std::string_view chain) {
  auto c = owned(nftnl_chain_alloc(), nftnl_chain_free);
  check(nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, std::string(table).c_str()));
  check(nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, std::string(chain).c_str()));
  return c;
}
std::function<void(nlmsghdr*)> chain_payload(std::shared_ptr<nftnl_chain> c) {
  return [c = std::move(c)](nlmsghdr* nlh) { nftnl_chain_nlmsg_build_payload(nlh, c.get()); };
}

// One expression of a rule.
nftnl_expr* expr(const char* name) {
  nftnl_expr* e = nftnl_expr_alloc(name);
  if (e == nullptr) throw std::bad_alloc();
  return e;
}
void meta_load(nftnl_rule* r, uint32_t key) {
  nftnl_expr* e = expr("meta");
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
  nftnl_rule_add_expr(r, e);
}
void payload_load(nftnl_rule* r, uint32_t base, uint32_t offset, uint32_t len) {
  nftnl_expr* e = expr("payload");
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
  nftnl_rule_add_expr(r, e);
}
void cmp_eq(nftnl_rule* r, const void* bytes, uint32_t len) {
  nftnl_expr* e = expr("cmp");
  nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
  nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
  nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, bytes, len);
  nftnl_rule_add_expr(r, e);
}
void immediate(nftnl_rule* r, uint32_t reg, const void* bytes, uint32_t len) {
  nftnl_expr* e = expr("immediate");
  nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, reg);
  nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, bytes, len);
  nftnl_rule_add_expr(r, e);
}
uint8_t ipproto(Proto p) { return p == Proto::kTcp ? IPPROTO_TCP : IPPROTO_UDP; }

// A key of inet_proto . inet_service: each part in a 4-byte register slot.
std::array<uint8_t, 8> port_key_bytes(Proto p, uint16_t port) {
  uint16_t be = htons(port);
  std::array<uint8_t, 8> k{};
  k[0] = ipproto(p);
  std::memcpy(&k[4], &be, sizeof be);
  return k;
}

// The set table/set with an element for each key (a jump and a comment when given).
std::shared_ptr<nftnl_set> port_elements(std::string_view table, std::string_view set,
                                         const std::vector<std::pair<Proto, uint16_t>>& keys,
                                         const std::string& udata, std::string_view jump) {
  auto s = owned(nftnl_set_alloc(), nftnl_set_free);
  check(nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, std::string(table).c_str()));
  check(nftnl_set_set_str(s.get(), NFTNL_SET_NAME, std::string(set).c_str()));
  for (const auto& [proto, port] : keys) {
    nftnl_set_elem* e = nftnl_set_elem_alloc();
    if (e == nullptr) throw std::bad_alloc();
    nftnl_set_elem_add(s.get(), e);  // the set owns it from here
    std::array<uint8_t, 8> key = port_key_bytes(proto, port);
    check(nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key.data(), key.size()));
    if (!jump.empty()) {
      nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, static_cast<uint32_t>(NFT_JUMP));
      check(nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, std::string(jump).c_str()));
    }
    if (!udata.empty())
      check(nftnl_set_elem_set(e, NFTNL_SET_ELEM_USERDATA, udata.data(),
                               static_cast<uint32_t>(udata.size())));
  }
  return s;
}
std::function<void(nlmsghdr*)> elements_payload(std::shared_ptr<nftnl_set> s) {
  return [s = std::move(s)](nlmsghdr* nlh) { nftnl_set_elems_nlmsg_build_payload(nlh, s.get()); };
}

std::string keys_text(const std::vector<std::pair<Proto, uint16_t>>& keys) {
  std::string out;
  for (const auto& [proto, port] : keys) {
    if (!out.empty()) out += ", ";
    out += port_key(proto, port);
  }
  return out;
}

// A bound of a message's length: header, names, and what each object adds.
size_t bound(size_t fixed, std::initializer_list<std::string_view> strings) {
  for (std::string_view s : strings) fixed += s.size() + 8;
  return fixed;
}

// Error messages (NLMSG_ERROR: an ack when its error is 0) of the sequence
// numbers [first, last], for mnl_cb_run2: the first error and how many acks.
struct Acks {
  uint32_t first = 0, last = 0;
  size_t acked = 0;
  int err = 0;
  uint32_t failed = 0;
};
int on_ack(const nlmsghdr* nlh, void* data) {
  auto* a = static_cast<Acks*>(data);
  if (nlh->nlmsg_seq < a->first || nlh->nlmsg_seq > a->last) return MNL_CB_OK;
  int e = EPROTO;  // a short error
  if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(nlmsgerr))
    e = -static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh))->error;
  a->acked += e == 0;
  if (e != 0 && a->err == 0) {
    a->err = e;
    a->failed = nlh->nlmsg_seq;
  }
  return MNL_CB_OK;
}

constexpr size_t kRecvSize = 16384;
// What each ack takes of the receive buffer (a small skb's truesize, with room).
constexpr size_t kAckCost = 1024;
// Below this, the default buffers hold a batch and its acks (net.core.*mem_default
// is 212992 here; 64 KiB leaves room for a lower one).
constexpr size_t kDefaultBuffer = 64 * 1024;

}  // namespace

void NfSocket::Close::operator()(mnl_socket* s) const { mnl_socket_close(s); }

int NfSocket::fd() const { return mnl_socket_get_fd(nl_.get()); }

Result<NfSocket> NfSocket::open() {
  std::unique_ptr<mnl_socket, Close> nl(mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC));
  if (!nl) return fail(errno, "nf_tables netlink socket");
  if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0)
    return fail(errno, "nf_tables netlink socket: bind");
  // A GET's reply never waits for anything: a second is an error, not a hang.
  timeval limit{1, 0};
  if (::setsockopt(mnl_socket_get_fd(nl.get()), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) < 0)
    return fail(errno, "nf_tables netlink socket: SO_RCVTIMEO");
  return NfSocket(std::move(nl));
}

Result<void> NfSocket::reserve(int which, size_t bytes) {
  size_t& have = which == SO_SNDBUF ? sndbuf_ : rcvbuf_;
  if (bytes <= std::max(have, kDefaultBuffer)) return ok();
  // The kernel doubles what it is given; FORCE passes net.core.*mem_max (as root).
  int value = static_cast<int>(std::min<size_t>(bytes, 1 << 30));
  int force = which == SO_SNDBUF ? SO_SNDBUFFORCE : SO_RCVBUFFORCE;
  if (::setsockopt(fd(), SOL_SOCKET, force, &value, sizeof value) < 0 &&
      ::setsockopt(fd(), SOL_SOCKET, which, &value, sizeof value) < 0)
    return fail(errno, "nf_tables netlink socket: {}",
                which == SO_SNDBUF ? "SO_SNDBUF" : "SO_RCVBUF");
  have = bytes;
  return ok();
}

Result<bool> NfSocket::get(uint16_t type, uint8_t family,
                           const std::function<void(nlmsghdr*)>& payload,
                           const std::function<bool(const nlmsghdr*)>& parse) {
  alignas(nlmsghdr) std::array<char, kRecvSize> buf;
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), type, family, NLM_F_ACK, ++seq_);
  payload(nlh);
  if (mnl_socket_sendto(nl_.get(), nlh, nlh->nlmsg_len) != static_cast<ssize_t>(nlh->nlmsg_len))
    return fail(errno, "nf_tables netlink: send");

  // The reply (an object) and then the ack, or only an error; both may come
  // in one datagram or in two. Replies to earlier requests are skipped.
  struct Reply {
    uint32_t seq;
    const std::function<bool(const nlmsghdr*)>* parse;
    bool found = false, unreadable = false, done = false;
    int err = 0;
  } r{seq_, &parse};
  auto on_data = [](const nlmsghdr* m, void* data) -> int {
    auto* r = static_cast<Reply*>(data);
    if (m->nlmsg_seq != r->seq) return MNL_CB_OK;
    r->found = true;
    r->unreadable |= !(*r->parse)(m);
    return MNL_CB_OK;
  };
  auto on_error = [](const nlmsghdr* m, void* data) -> int {
    auto* r = static_cast<Reply*>(data);
    if (m->nlmsg_seq != r->seq) return MNL_CB_OK;
    r->done = true;
    r->err = EPROTO;  // a short error
    if (mnl_nlmsg_get_payload_len(m) >= sizeof(nlmsgerr))
      r->err = -static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(m))->error;
    return MNL_CB_STOP;
  };
  std::array<mnl_cb_t, NLMSG_MIN_TYPE> control{};
  control[NLMSG_ERROR] = on_error;
  while (!r.done) {
    ssize_t n = mnl_socket_recvfrom(nl_.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errno, "nf_tables netlink: recv");
    if (mnl_cb_run2(buf.data(), static_cast<size_t>(n), 0, mnl_socket_get_portid(nl_.get()),
                    on_data, &r, control.data(), control.size()) < 0)
      return fail(errno, "nf_tables netlink");
  }
  if (r.err == ENOENT) return false;
  if (r.err != 0) return fail(r.err, "nf_tables netlink");
  if (r.unreadable) return fail(EPROTO, "nf_tables netlink: a reply that does not parse");
  return r.found;
}

Result<std::optional<std::string>> NfSocket::ifname_element_comment(uint8_t family,
                                                                    std::string_view table,
                                                                    std::string_view set,
                                                                    std::string_view key) {
  if (key.empty() || key.size() >= IFNAMSIZ) return fail(EINVAL, "interface name \"{}\"", key);
  std::array<char, IFNAMSIZ> name{};
  std::memcpy(name.data(), key.data(), key.size());
  auto s = owned(nftnl_set_alloc(), nftnl_set_free);
  check(nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, std::string(table).c_str()));
  check(nftnl_set_set_str(s.get(), NFTNL_SET_NAME, std::string(set).c_str()));
  nftnl_set_elem* e = nftnl_set_elem_alloc();
  if (e == nullptr) throw std::bad_alloc();
  nftnl_set_elem_add(s.get(), e);
  check(nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, name.data(), name.size()));

  std::optional<std::string> comment;
  auto parse = [&](const nlmsghdr* nlh) {
    auto reply = owned(nftnl_set_alloc(), nftnl_set_free);
    if (nftnl_set_elems_nlmsg_parse(nlh, reply.get()) < 0) return false;
    std::unique_ptr<nftnl_set_elems_iter, void (*)(nftnl_set_elems_iter*)> it(
        nftnl_set_elems_iter_create(reply.get()), nftnl_set_elems_iter_destroy);
    if (!it) throw std::bad_alloc();
    nftnl_set_elem* one = nftnl_set_elems_iter_cur(it.get());
    if (one == nullptr) return false;
    uint32_t len = 0;
    const void* udata = nftnl_set_elem_get(one, NFTNL_SET_ELEM_USERDATA, &len);
    comment = udata != nullptr ? comment_of(udata, len) : std::string();
    return true;
  };
  HUSK_TRY_ASSIGN(bool found, get(NFT_MSG_GETSETELEM, family, elements_payload(s), parse));
  if (!found) return std::optional<std::string>();
  return comment;
}

Result<bool> NfSocket::chain_exists(uint8_t family, std::string_view table,
                                    std::string_view chain) {
  return get(NFT_MSG_GETCHAIN, family, chain_payload(chain_object(table, chain)),
             [](const nlmsghdr*) { return true; });
}

Result<void> NfSocket::commit(const std::vector<NfMessage>& messages) {
  size_t largest = 0;
  for (const NfMessage& m : messages) {
    if (!m.invalid.empty()) return fail_quiet(EINVAL, "nf_tables: {}: {}", m.what, m.invalid);
    largest = std::max(largest, m.max_size);
  }
  // A message starts on a page while the page is under its size and may run
  // past it by its own length; one that does not fit an empty page is
  // overwritten by the next (nftnl_batch_update moves it to a new page but
  // does not count it there), so a page holds the largest message.
  auto page = static_cast<uint32_t>(std::max<size_t>(4096, largest));
  std::unique_ptr<nftnl_batch, void (*)(nftnl_batch*)> batch(
      nftnl_batch_alloc(page, static_cast<uint32_t>(largest)), nftnl_batch_free);
  if (!batch) throw std::bad_alloc();
  auto next = [&] {
    if (nftnl_batch_update(batch.get()) < 0) throw std::bad_alloc();
  };
  auto tail = [&] { return static_cast<char*>(nftnl_batch_buffer(batch.get())); };
  Acks acks;
  acks.first = seq_ + 1;
  nftnl_batch_begin(tail(), ++seq_);
  next();
  for (const NfMessage& m : messages) {
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(tail(), m.type, m.family,
                                          static_cast<uint16_t>(NLM_F_ACK | m.flags), ++seq_);
    m.payload(nlh);
    next();
  }
  nftnl_batch_end(tail(), ++seq_);
  next();
  acks.last = seq_;

  // One sendmsg: the kernel takes a batch from a single datagram.
  std::vector<iovec> iov(static_cast<size_t>(nftnl_batch_iovec_len(batch.get())));
  nftnl_batch_iovec(batch.get(), iov.data(), static_cast<uint32_t>(iov.size()));
  size_t total = 0;
  for (const iovec& v : iov) total += v.iov_len;
  // Room for the batch, and for every ack plus one error (which quotes the
  // message it refuses): a big batch would overflow the defaults.
  HUSK_TRY(reserve(SO_SNDBUF, total + 4096));
  HUSK_TRY(reserve(SO_RCVBUF, (messages.size() + 2) * kAckCost + largest));
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  msghdr mh{};
  mh.msg_name = &kernel;
  mh.msg_namelen = sizeof kernel;
  mh.msg_iov = iov.data();
  mh.msg_iovlen = iov.size();
  if (::sendmsg(fd(), &mh, 0) != static_cast<ssize_t>(total))
    return fail(errno, "nf_tables netlink: send");

  // The kernel handles the batch within sendmsg(): every reply (an ack or an
  // error for each message, an error for the batch) is queued by now.
  std::array<mnl_cb_t, NLMSG_MIN_TYPE> control{};
  control[NLMSG_ERROR] = on_ack;
  alignas(nlmsghdr) std::array<char, kRecvSize> buf;
  for (;;) {
    ssize_t n = ::recv(fd(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0) return fail(errno, "nf_tables netlink: recv");
    if (mnl_cb_run2(buf.data(), static_cast<size_t>(n), 0, mnl_socket_get_portid(nl_.get()),
                    nullptr, &acks, control.data(), control.size()) < 0)
      return fail(errno, "nf_tables netlink");
  }
  // Each message asked for an ack: one missing (a reply lost to a full
  // receive buffer) leaves the outcome unknown.
  if (acks.err == 0 && acks.acked == messages.size()) return ok();
  if (acks.err == 0)
    return fail_quiet(EPROTO, "nf_tables: {} of {} commands acknowledged", acks.acked,
                      messages.size());
  size_t index = acks.failed - acks.first;  // 0 is the batch itself, 1 the first message
  if (index >= 1 && index <= messages.size())
    return fail_quiet(acks.err, "nf_tables: {}", messages[index - 1].what);
  return fail_quiet(acks.err, "nf_tables: transaction failed");
}

namespace nf_msg {

NfMessage add_chain(std::string_view table, std::string_view chain, std::string_view comment) {
  NfMessage m{NFT_MSG_NEWCHAIN, NLM_F_CREATE, NFPROTO_INET, {},
              bound(256, {table, chain, comment}), {},
              fmt::format("add chain inet {} {}", table, chain)};
  auto c = chain_object(table, chain);
  if (!comment.empty()) {
    std::optional<std::string> udata = comment_udata(comment);
    if (!udata) m.invalid = too_long(comment);
    else
      check(nftnl_chain_set_data(c.get(), NFTNL_CHAIN_USERDATA, udata->data(),
                                 static_cast<uint32_t>(udata->size())));
  }
  m.payload = chain_payload(std::move(c));
  return m;
}

NfMessage flush_chain(std::string_view table, std::string_view chain) {
  auto r = owned(nftnl_rule_alloc(), nftnl_rule_free);
  check(nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, std::string(table).c_str()));
  check(nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, std::string(chain).c_str()));
  return {NFT_MSG_DELRULE, 0, NFPROTO_INET,
          [r](nlmsghdr* nlh) { nftnl_rule_nlmsg_build_payload(nlh, r.get()); },
          bound(256, {table, chain}), {}, fmt::format("flush chain inet {} {}", table, chain)};
}

NfMessage delete_chain(std::string_view table, std::string_view chain) {
  return {NFT_MSG_DELCHAIN, 0, NFPROTO_INET, chain_payload(chain_object(table, chain)),
          bound(256, {table, chain}), {}, fmt::format("delete chain inet {} {}", table, chain)};
}

NfMessage add_dnat_rule(std::string_view table, std::string_view chain, const DnatSpec& d) {
  bool v4 = d.family == Family::kV4;
  auto r = owned(nftnl_rule_alloc(), nftnl_rule_free);
  check(nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, std::string(table).c_str()));
  check(nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, std::string(chain).c_str()));
  // What nft compiles dnat_rule_text(d) to (nft --debug=netlink).
  uint8_t nfproto = v4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
  meta_load(r.get(), NFT_META_NFPROTO);
  cmp_eq(r.get(), &nfproto, 1);
  if (d.daddr) {
    payload_load(r.get(), NFT_PAYLOAD_NETWORK_HEADER, v4 ? 16 : 24, v4 ? 4 : 16);
    cmp_eq(r.get(), d.daddr->bytes.data(), static_cast<uint32_t>(d.daddr->size()));
  }
  uint8_t l4 = ipproto(d.proto);
  meta_load(r.get(), NFT_META_L4PROTO);
  cmp_eq(r.get(), &l4, 1);
  uint16_t dport = htons(d.dport), to_port = htons(d.to_port);
  payload_load(r.get(), NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
  cmp_eq(r.get(), &dport, sizeof dport);
  immediate(r.get(), NFT_REG_1, d.to.bytes.data(), static_cast<uint32_t>(d.to.size()));
  immediate(r.get(), NFT_REG_2, &to_port, sizeof to_port);
  nftnl_expr* nat = expr("nat");
  nftnl_expr_set_u32(nat, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
  nftnl_expr_set_u32(nat, NFTNL_EXPR_NAT_FAMILY, nfproto);
  nftnl_expr_set_u32(nat, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
  nftnl_expr_set_u32(nat, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_2);
  nftnl_expr_set_u32(nat, NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
  nftnl_rule_add_expr(r.get(), nat);
  return {NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, NFPROTO_INET,
          [r](nlmsghdr* nlh) { nftnl_rule_nlmsg_build_payload(nlh, r.get()); },
          bound(2048, {table, chain}), {},
          fmt::format("add rule inet {} {} {}", table, chain, dnat_rule_text(d))};
}

NfMessage create_port_elements(std::string_view table, std::string_view set,
                               const std::vector<std::pair<Proto, uint16_t>>& keys,
                               std::string_view comment, std::string_view jump) {
  NfMessage m{NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL, NFPROTO_INET, {},
              bound(256, {table, set}) + keys.size() * bound(128, {comment, jump}), {},
              fmt::format("create element inet {} {} {{ {} }}", table, set, keys_text(keys))};
  std::string udata;
  if (!comment.empty()) {
    std::optional<std::string> u = comment_udata(comment);
    if (!u) m.invalid = too_long(comment);
    else udata = std::move(*u);
  }
  m.payload = elements_payload(port_elements(table, set, keys, udata, jump));
  return m;
}

NfMessage delete_port_elements(std::string_view table, std::string_view set,
                               const std::vector<std::pair<Proto, uint16_t>>& keys) {
  return {NFT_MSG_DELSETELEM, 0, NFPROTO_INET,
          elements_payload(port_elements(table, set, keys, {}, {})),
          bound(256, {table, set}) + keys.size() * 128, {},
          fmt::format("delete element inet {} {} {{ {} }}", table, set, keys_text(keys))};
}

}  // namespace nf_msg

}  // namespace husk::net
