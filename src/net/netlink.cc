// Links, addresses, routes and traffic control through libnl-route-3. Every
// request names its device in the error; the errno is the kernel's own when
// it replied with one (libnl folds errnos into a few codes of its own), and
// the kernel's extended-ack text, when it gave one, comes with it.
#include "net/netlink.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <netlink/attr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/action.h>
#include <netlink/route/addr.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/route.h>
#include <netlink/route/tc.h>
#include <netlink/socket.h>
#include <sched.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <climits>
#include <cstring>
#include <thread>

#include "base/cleanup.h"
#include "base/file.h"
#include "sys/process.h"

namespace husk::net {
namespace {

// The errno and extended-ack text of the kernel's last error reply.
struct KernelReply {
  int code = 0;
  std::string text;
};

template <class T, void (*Put)(T*)>
struct NlPut {
  void operator()(T* p) const {
    if (p != nullptr) Put(p);
  }
};
template <class T, void (*Put)(T*)>
using NlPtr = std::unique_ptr<T, NlPut<T, Put>>;
using LinkPtr = NlPtr<rtnl_link, rtnl_link_put>;
using AddrPtr = NlPtr<rtnl_addr, rtnl_addr_put>;
using NlAddrPtr = NlPtr<nl_addr, nl_addr_put>;
using RoutePtr = NlPtr<rtnl_route, rtnl_route_put>;
using CachePtr = NlPtr<nl_cache, nl_cache_free>;
using QdiscPtr = NlPtr<rtnl_qdisc, rtnl_qdisc_put>;
using ClsPtr = NlPtr<rtnl_cls, rtnl_cls_put>;
using ActPtr = NlPtr<rtnl_act, rtnl_act_put>;

// libnl's code for a failure it saw itself (or folded from an errno) to the
// closest errno: nl_syserr2nlerr read backwards.
int nl_to_errno(int nlerr) {
  static constexpr std::pair<int, int> kErrnos[] = {
      {NLE_EXIST, EEXIST},         {NLE_OBJ_NOTFOUND, ENODEV},
      {NLE_NODEV, ENODEV},         {NLE_PERM, EPERM},
      {NLE_NOACCESS, EACCES},      {NLE_BUSY, EBUSY},
      {NLE_INVAL, EINVAL},         {NLE_NOMEM, ENOMEM},
      {NLE_NOADDR, EADDRNOTAVAIL}, {NLE_AGAIN, EAGAIN},
      {NLE_INTR, EINTR},           {NLE_RANGE, ERANGE},
      {NLE_OPNOTSUPP, EOPNOTSUPP}, {NLE_AF_NOSUPPORT, EAFNOSUPPORT},
  };
  int code = nlerr < 0 ? -nlerr : nlerr;
  for (auto [nle, err] : kErrnos) {
    if (nle == code) return err;
  }
  return EIO;
}

// The socket's error callback: keeps the errno of the kernel's reply and the
// text of its extended ack (NLMSGERR_ATTR_MSG, e.g. "Nexthop device is not
// up"), then lets libnl go on as without it (NL_STOP: the call fails with
// libnl's own code for that errno).
int on_kernel_error(sockaddr_nl*, nlmsgerr* e, void* arg) {
  auto* out = static_cast<KernelReply*>(arg);
  out->code = e->error < 0 ? -e->error : e->error;
  out->text.clear();
  // libnl passes nlmsg_data() of the reply: its header sits just before.
  const char* base = reinterpret_cast<const char*>(e) - NLMSG_HDRLEN;
  const auto* hdr = reinterpret_cast<const nlmsghdr*>(base);
  if ((hdr->nlmsg_flags & NLM_F_ACK_TLVS) == 0) return NL_STOP;
  size_t body = sizeof(nlmsgerr);
  if ((hdr->nlmsg_flags & NLM_F_CAPPED) == 0 && e->msg.nlmsg_len > NLMSG_HDRLEN)
    body += e->msg.nlmsg_len - NLMSG_HDRLEN;
  size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(body);
  if (off >= hdr->nlmsg_len) return NL_STOP;
  auto* tlvs = reinterpret_cast<nlattr*>(const_cast<char*>(base + off));
  nlattr* msg = nla_find(tlvs, static_cast<int>(hdr->nlmsg_len - off), NLMSGERR_ATTR_MSG);
  if (msg != nullptr && nla_len(msg) > 0) {
    const char* text = static_cast<const char*>(nla_data(msg));
    out->text.assign(text, strnlen(text, static_cast<size_t>(nla_len(msg))));
  }
  return NL_STOP;
}

// The error of a failed Result<void>, with one more layer of context, for a
// function that returns another type.
template <class... A>
std::unexpected<Error> failed(Result<void>&& r, fmt::format_string<A...> f, A&&... a) {
  Error e = std::move(r).error();
  e.wrap(fmt::format(f, std::forward<A>(a)...));
  return std::unexpected(std::move(e));
}

// The kernel's rule (dev_valid_name), checked here so that a bad name from a
// flag reads as such and not as whatever the kernel makes of it.
Result<void> check_ifname(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ)
    return fail(EINVAL, "interface name \"{}\": must be 1 to {} characters", name, IFNAMSIZ - 1);
  if (name == "." || name == "..") return fail(EINVAL, "interface name \"{}\": not allowed", name);
  for (char c : name) {
    if (c == '/' || c == ':' || c == '\0' || std::isspace(static_cast<unsigned char>(c)))
      return fail(EINVAL, "interface name \"{}\": has a '/', ':' or blank", name);
  }
  return ok();
}

int af_of(Family f) { return f == Family::kV4 ? AF_INET : AF_INET6; }

Result<NlAddrPtr> nl_addr_of(const IpAddr& a, int prefix_len) {
  NlAddrPtr p(nl_addr_build(af_of(a.family), a.bytes.data(), a.size()));
  if (!p) return fail(ENOMEM, "nl_addr_build");
  nl_addr_set_prefixlen(p.get(), prefix_len);
  return p;
}

Result<UniqueFd> open_own_netns() {
  UniqueFd fd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("open /proc/thread-self/ns/net");
  return fd;
}

// A random unicast, locally administered MAC for a new bridge. With an
// address set at creation the kernel never moves the bridge to its lowest
// port's MAC, which would leave every container with a stale neighbour entry
// for its gateway whenever that port comes or goes.
Result<NlAddrPtr> random_mac() {
  uint8_t mac[6];
  if (::getrandom(mac, sizeof mac, 0) != static_cast<ssize_t>(sizeof mac))
    return fail_errno("getrandom");
  mac[0] = static_cast<uint8_t>((mac[0] & 0xfe) | 0x02);
  NlAddrPtr p(nl_addr_build(AF_LLC, mac, sizeof mac));
  if (!p) return fail(ENOMEM, "nl_addr_build");
  return p;
}

void clear_host_bits(IpAddr& a, int len) {
  for (size_t i = 0; i < a.size(); ++i) {
    int first = static_cast<int>(i) * 8;
    if (first >= len) {
      a.bytes[i] = 0;
    } else if (first + 8 > len) {
      a.bytes[i] &= static_cast<uint8_t>(0xff << (8 - (len - first)));
    }
  }
}

// What route_prefixes keeps: main-table routes other than default routes,
// local/broadcast/anycast/multicast entries and IPv6 link-local (fe80::/10).
std::optional<Prefix> prefix_of(rtnl_route* r) {
  if (rtnl_route_get_table(r) != RT_TABLE_MAIN) return std::nullopt;
  switch (rtnl_route_get_type(r)) {
    case RTN_LOCAL:
    case RTN_BROADCAST:
    case RTN_ANYCAST:
    case RTN_MULTICAST:
      return std::nullopt;
    default:
      break;
  }
  nl_addr* dst = rtnl_route_get_dst(r);
  if (dst == nullptr || nl_addr_get_prefixlen(dst) == 0) return std::nullopt;
  int family = nl_addr_get_family(dst);
  if (family != AF_INET && family != AF_INET6) return std::nullopt;
  Prefix p;
  p.addr.family = family == AF_INET ? Family::kV4 : Family::kV6;
  if (nl_addr_get_len(dst) != p.addr.size()) return std::nullopt;
  std::memcpy(p.addr.bytes.data(), nl_addr_get_binary_addr(dst), p.addr.size());
  p.len = static_cast<int>(nl_addr_get_prefixlen(dst));
  clear_host_bits(p.addr, p.len);
  bool link_local =
      p.addr.family == Family::kV6 && p.addr.bytes[0] == 0xfe && (p.addr.bytes[1] & 0xc0) == 0x80;
  if (link_local) return std::nullopt;
  return p;
}

// A link object naming `name`, for requests that find the device by name
// (ifindex 0 + IFLA_IFNAME): no lookup round trip first.
Result<LinkPtr> link_named(const std::string& name) {
  LinkPtr l(rtnl_link_alloc());
  if (!l) return fail(ENOMEM, "rtnl_link_alloc");
  rtnl_link_set_name(l.get(), name.c_str());
  return l;
}

// RTM_NEWADDR for a/len on index (v4 with its subnet broadcast, as `ip addr
// add ... brd +` and docker do; v6 with IFA_F_NODAD: usable at once, no
// duplicate detection delay). EEXIST when the address is there already.
int add_addr_rc(nl_sock* sock, int index, const IpAddr& a, int len) {
  AddrPtr addr(rtnl_addr_alloc());
  auto local = nl_addr_of(a, len);
  if (!addr || !local) return -NLE_NOMEM;
  rtnl_addr_set_ifindex(addr.get(), index);
  rtnl_addr_set_family(addr.get(), af_of(a.family));
  if (int rc = rtnl_addr_set_local(addr.get(), local->get()); rc < 0) return rc;
  rtnl_addr_set_prefixlen(addr.get(), len);
  if (a.family == Family::kV6) {
    rtnl_addr_set_flags(addr.get(), IFA_F_NODAD);
  } else if (len < 31) {
    IpAddr brd = a;
    for (int bit = len; bit < 32; ++bit)
      brd.bytes[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
    auto b = nl_addr_of(brd, 32);
    if (!b) return -NLE_NOMEM;
    if (int rc = rtnl_addr_set_broadcast(addr.get(), b->get()); rc < 0) return rc;
  }
  return rtnl_addr_add(sock, addr.get(), NLM_F_EXCL);
}

Result<void> check_prefix_len(const IpAddr& a, int len) {
  int width = a.family == Family::kV4 ? 32 : 128;
  if (len < 1 || len > width)
    return fail(EINVAL, "prefix length {} of {} is not 1-{}", len, a.str(), width);
  return ok();
}

// The u32 filter of redirect_ingress: every packet (protocol all, one key
// that matches anything, terminal so that its action runs) goes through a
// mirred action that redirects it to the egress of ifb_index and stops there.
Result<ClsPtr> redirect_filter(int dev, int ifb_index) {
  ClsPtr cls(rtnl_cls_alloc());
  ActPtr act(rtnl_act_alloc());
  if (!cls || !act) return fail(ENOMEM, "allocate filter");
  rtnl_tc_set_ifindex(TC_CAST(cls.get()), dev);
  rtnl_tc_set_parent(TC_CAST(cls.get()), TC_HANDLE(0xffff, 0));
  rtnl_cls_set_protocol(cls.get(), ETH_P_ALL);
  rtnl_cls_set_prio(cls.get(), 1);
  int rc = rtnl_tc_set_kind(TC_CAST(cls.get()), "u32");
  if (rc >= 0) rc = rtnl_u32_add_key_uint32(cls.get(), 0, 0, 0, 0);
  if (rc >= 0) rc = rtnl_u32_set_cls_terminal(cls.get());
  if (rc >= 0) rc = rtnl_tc_set_kind(TC_CAST(act.get()), "mirred");
  if (rc >= 0) rc = rtnl_mirred_set_action(act.get(), TCA_EGRESS_REDIR);
  if (rc >= 0) rc = rtnl_mirred_set_policy(act.get(), TC_ACT_STOLEN);
  if (rc >= 0) rc = rtnl_mirred_set_ifindex(act.get(), static_cast<uint32_t>(ifb_index));
  if (rc >= 0) rc = rtnl_u32_add_action(cls.get(), act.get());  // takes its own reference
  if (rc < 0) return fail(nl_to_errno(rc), "build u32 filter: {}", nl_geterror(rc));
  return cls;
}

}  // namespace

struct Netlink::Conn {
  nl_sock* sock = nullptr;
  KernelReply reply;

  Conn() = default;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() {
    if (sock != nullptr) nl_socket_free(sock);
  }
};

Result<UniqueFd> open_netns_of(pid_t pid) {
  std::string path = fmt::format("/proc/{}/ns/net", pid);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("open network namespace of pid {}", pid);
  return fd;
}

Netlink::Netlink(std::unique_ptr<Conn> c) : conn_(std::move(c)) {}
Netlink::Netlink(Netlink&&) noexcept = default;
Netlink& Netlink::operator=(Netlink&&) noexcept = default;
Netlink::~Netlink() = default;

Result<Netlink> Netlink::connect() {
  auto conn = std::make_unique<Conn>();
  conn->sock = nl_socket_alloc();
  if (conn->sock == nullptr) return fail(ENOMEM, "allocate netlink socket");
  int rc = nl_connect(conn->sock, NETLINK_ROUTE);
  if (rc < 0) return fail(nl_to_errno(rc), "connect rtnetlink: {}", nl_geterror(rc));
  // The kernel's reason with a refusal, and no echo of our request in it.
  int one = 1;
  int fd = nl_socket_get_fd(conn->sock);
  (void)::setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  (void)::setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  // The Conn never moves (Netlink holds it by pointer): a stable callback arg.
  rc = nl_socket_modify_err_cb(conn->sock, NL_CB_CUSTOM, on_kernel_error, &conn->reply);
  if (rc < 0) return fail(nl_to_errno(rc), "set netlink error callback: {}", nl_geterror(rc));
  return Netlink(std::move(conn));
}

Result<void> Netlink::call(int rc) {
  KernelReply reply = std::exchange(conn_->reply, {});
  if (rc >= 0) return ok();
  if (reply.code != 0) return fail(reply.code, "{}", reply.text);
  int code = nl_to_errno(rc);
  return fail(code, "{}", code == EIO ? nl_geterror(rc) : "");
}

Result<int> Netlink::index_of(const std::string& name) {
  HUSK_TRY_ASSIGN(std::optional<int> index, link_index(name));
  if (!index) return fail(ENODEV, "\"{}\"", name);
  return *index;
}

Result<Netlink> Netlink::open() { return connect(); }

Result<Netlink> Netlink::open_in(int netns_fd) {
  std::optional<Netlink> nl;
  HUSK_TRY(in_netns(netns_fd, [&]() -> Result<void> {
    HUSK_TRY_ASSIGN(nl, connect());
    return ok();
  }));
  return std::move(*nl);
}

Result<std::optional<int>> Netlink::link_index(const std::string& name) {
  HUSK_TRY(check_ifname(name));
  rtnl_link* raw = nullptr;
  int rc = rtnl_link_get_kernel(conn_->sock, 0, name.c_str(), &raw);
  LinkPtr link(raw);
  auto r = call(rc);
  if (!r && r.error().code != ENODEV) return failed(std::move(r), "look up link \"{}\"", name);
  if (!r || !link) return std::nullopt;
  return rtnl_link_get_ifindex(link.get());
}

Result<int> Netlink::ensure_bridge(const std::string& name,
                                   const std::vector<std::pair<IpAddr, int>>& addrs) {
  HUSK_TRY(check_ifname(name));
  for (const auto& [a, len] : addrs)
    HUSK_TRY(check_prefix_len(a, len).context("bridge \"{}\"", name));
  rtnl_link* raw = nullptr;
  auto found = call(rtnl_link_get_kernel(conn_->sock, 0, name.c_str(), &raw));
  LinkPtr link(raw);
  if (!found && found.error().code != ENODEV)
    return failed(std::move(found), "look up bridge \"{}\"", name);
  if (!found) {
    LinkPtr br(rtnl_link_bridge_alloc());
    if (!br) return fail(ENOMEM, "create bridge \"{}\": rtnl_link_bridge_alloc", name);
    HUSK_TRY_ASSIGN(NlAddrPtr mac, random_mac());
    rtnl_link_set_name(br.get(), name.c_str());
    rtnl_link_set_addr(br.get(), mac.get());
    rtnl_link_set_flags(br.get(), IFF_UP);
    auto made = call(rtnl_link_add(conn_->sock, br.get(), NLM_F_CREATE | NLM_F_EXCL));
    // EEXIST: another husk made it between our look-up and our request.
    if (!made && made.error().code != EEXIST)
      return failed(std::move(made), "create bridge \"{}\"", name);
    HUSK_TRY(call(rtnl_link_get_kernel(conn_->sock, 0, name.c_str(), &raw))
                 .context("look up bridge \"{}\"", name));
    link.reset(raw);
  }
  if (!link) return fail(ENODEV, "look up bridge \"{}\"", name);
  const char* kind = rtnl_link_get_type(link.get());
  if (kind == nullptr || std::strcmp(kind, "bridge") != 0)
    return fail(EEXIST, "\"{}\" exists and is not a bridge (type {})", name,
                kind != nullptr ? kind : "unknown");
  int index = rtnl_link_get_ifindex(link.get());
  for (const auto& [a, len] : addrs) {
    auto added = call(add_addr_rc(conn_->sock, index, a, len));
    if (!added && added.error().code != EEXIST)
      return failed(std::move(added), "add address {}/{} to \"{}\"", a.str(), len, name);
  }
  if ((rtnl_link_get_flags(link.get()) & IFF_UP) == 0) HUSK_TRY(set_up(name));
  return index;
}

Result<void> Netlink::create_veth(const std::string& host_name, const std::string& peer_name,
                                  int peer_netns_fd, std::optional<uint32_t> mtu) {
  HUSK_TRY(check_ifname(host_name));
  HUSK_TRY(check_ifname(peer_name));
  LinkPtr link(rtnl_link_veth_alloc());
  if (!link) return fail(ENOMEM, "create veth \"{}\": rtnl_link_veth_alloc", host_name);
  LinkPtr peer(rtnl_link_veth_get_peer(link.get()));  // a reference of ours; freed with link
  rtnl_link_set_name(link.get(), host_name.c_str());
  rtnl_link_set_name(peer.get(), peer_name.c_str());
  rtnl_link_set_ns_fd(peer.get(), peer_netns_fd);
  if (mtu) {
    rtnl_link_set_mtu(link.get(), *mtu);
    rtnl_link_set_mtu(peer.get(), *mtu);
  }
  return call(rtnl_link_add(conn_->sock, link.get(), NLM_F_CREATE | NLM_F_EXCL))
      .context("create veth \"{}\" (peer \"{}\")", host_name, peer_name);
}

Result<void> Netlink::set_master(const std::string& name, const std::string& bridge) {
  HUSK_TRY(check_ifname(name));
  HUSK_TRY_ASSIGN(int master,
                  index_of(bridge).context("attach \"{}\" to bridge \"{}\"", name, bridge));
  LinkPtr orig(rtnl_link_alloc());
  HUSK_TRY_ASSIGN(LinkPtr change, link_named(name));
  if (!orig) return fail(ENOMEM, "rtnl_link_alloc");
  rtnl_link_set_master(change.get(), master);
  HUSK_TRY(call(rtnl_link_change(conn_->sock, orig.get(), change.get(), 0))
               .context("attach \"{}\" to bridge \"{}\"", name, bridge));
  // Hairpin mode: a frame may leave through the port it came in by. A
  // container reaching its own published port through the host's address
  // comes back DNATed to itself, on its own port (with br_netfilter, which
  // docker loads, the bridge otherwise drops it).
  LinkPtr port(rtnl_link_alloc());
  if (!port) return fail(ENOMEM, "rtnl_link_alloc");
  HUSK_TRY_ASSIGN(int index, index_of(name).context("hairpin mode on \"{}\"", name));
  rtnl_link_set_ifindex(port.get(), index);
  rtnl_link_set_family(port.get(), AF_BRIDGE);
  if (rtnl_link_bridge_set_flags(port.get(), RTNL_BRIDGE_HAIRPIN_MODE) < 0)
    return fail(EINVAL, "hairpin mode on \"{}\": libnl", name);
  return call(rtnl_link_change(conn_->sock, port.get(), port.get(), 0))
      .context("hairpin mode on \"{}\"", name);
}

Result<void> Netlink::set_up(const std::string& name) {
  HUSK_TRY(check_ifname(name));
  LinkPtr orig(rtnl_link_alloc());
  HUSK_TRY_ASSIGN(LinkPtr change, link_named(name));
  if (!orig) return fail(ENOMEM, "rtnl_link_alloc");
  rtnl_link_set_flags(change.get(), IFF_UP);
  return call(rtnl_link_change(conn_->sock, orig.get(), change.get(), 0))
      .context("set \"{}\" up", name);
}

// Whether name carries its first packets yet: operstate UP (the kernel's
// link watcher has run: queue active, bridge port forwarding, IPv6 ready) and
// each IFA_F_NODAD address done: no longer tentative, and (IPv6, where a work
// item adds it after clearing the flag) its local route in place, which is
// what makes the kernel take packets sent to it as its own.
Result<bool> Netlink::is_ready(const std::string& name) {
  rtnl_link* raw = nullptr;
  HUSK_TRY(call(rtnl_link_get_kernel(conn_->sock, 0, name.c_str(), &raw)));
  LinkPtr link(raw);
  if (!link) return fail(ENODEV, "");
  if (rtnl_link_get_operstate(link.get()) != IF_OPER_UP) return false;
  nl_cache* addrs = nullptr;
  HUSK_TRY(call(rtnl_addr_alloc_cache(conn_->sock, &addrs)));
  CachePtr cache(addrs);
  int index = rtnl_link_get_ifindex(link.get());
  for (nl_object* o = nl_cache_get_first(addrs); o != nullptr; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    unsigned flags = rtnl_addr_get_flags(a);
    if (rtnl_addr_get_ifindex(a) != index || (flags & IFA_F_NODAD) == 0) continue;
    if (flags & IFA_F_TENTATIVE) return false;
    if (rtnl_addr_get_family(a) != AF_INET6) continue;
    NlAddrPtr local(nl_addr_clone(rtnl_addr_get_local(a)));
    if (!local) return fail(ENOMEM, "nl_addr_clone");
    nl_addr_set_prefixlen(local.get(), 128);
    rtnl_route* found = nullptr;
    HUSK_TRY(call(rtnl_route_lookup(conn_->sock, local.get(), &found)));
    RoutePtr route(found);
    if (!route || rtnl_route_get_type(route.get()) != RTN_LOCAL) return false;
  }
  return true;
}

Result<void> Netlink::wait_ready(const std::string& name, int timeout_ms) {
  HUSK_TRY(check_ifname(name));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto pause = std::chrono::microseconds(50);
  for (;;) {
    HUSK_TRY_ASSIGN(bool ready, is_ready(name).context("wait for \"{}\"", name));
    if (ready) return ok();
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(5000));
  }
  rtnl_link* raw = nullptr;
  (void)rtnl_link_get_kernel(conn_->sock, 0, name.c_str(), &raw);
  LinkPtr link(raw);
  char state[32] = "gone";
  if (link) rtnl_link_operstate2str(rtnl_link_get_operstate(link.get()), state, sizeof state);
  return fail(ETIMEDOUT, "\"{}\" is not ready after {} ms (operstate {})", name, timeout_ms, state);
}

Result<void> Netlink::add_address(const std::string& name, const IpAddr& addr, int prefix_len) {
  HUSK_TRY(check_prefix_len(addr, prefix_len).context("\"{}\"", name));
  HUSK_TRY_ASSIGN(int index, index_of(name).context("add address {}/{} to \"{}\"", addr.str(),
                                                    prefix_len, name));
  return call(add_addr_rc(conn_->sock, index, addr, prefix_len))
      .context("add address {}/{} to \"{}\"", addr.str(), prefix_len, name);
}

Result<void> Netlink::add_default_route(const IpAddr& gw) {
  RoutePtr route(rtnl_route_alloc());
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  if (nh != nullptr && !route) rtnl_route_nh_free(nh);
  if (!route || nh == nullptr) return fail(ENOMEM, "add default route via {}", gw.str());
  rtnl_route_add_nexthop(route.get(), nh);  // the route owns it now
  IpAddr any;
  any.family = gw.family;
  HUSK_TRY_ASSIGN(NlAddrPtr dst, nl_addr_of(any, 0));
  HUSK_TRY_ASSIGN(NlAddrPtr via, nl_addr_of(gw, gw.family == Family::kV4 ? 32 : 128));
  rtnl_route_nh_set_gateway(nh, via.get());
  rtnl_route_set_family(route.get(), static_cast<uint8_t>(af_of(gw.family)));
  int rc = rtnl_route_set_dst(route.get(), dst.get());
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  rtnl_route_set_protocol(route.get(), RTPROT_BOOT);
  rtnl_route_set_scope(route.get(), RT_SCOPE_UNIVERSE);
  if (rc >= 0) rc = rtnl_route_set_type(route.get(), RTN_UNICAST);
  if (rc >= 0) rc = rtnl_route_add(conn_->sock, route.get(), NLM_F_EXCL);
  return call(rc).context("add default route via {}", gw.str());
}

Result<void> Netlink::delete_link(const std::string& name) {
  HUSK_TRY(check_ifname(name));
  HUSK_TRY_ASSIGN(LinkPtr link, link_named(name));
  auto r = call(rtnl_link_delete(conn_->sock, link.get()));
  if (!r && r.error().code == ENODEV) return ok();
  return std::move(r).context("delete link \"{}\"", name);
}

Result<std::vector<Prefix>> Netlink::route_prefixes() {
  nl_cache* raw = nullptr;
  HUSK_TRY(call(rtnl_route_alloc_cache(conn_->sock, AF_UNSPEC, 0, &raw)).context("list routes"));
  CachePtr cache(raw);
  std::vector<Prefix> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o != nullptr; o = nl_cache_get_next(o)) {
    if (auto p = prefix_of(reinterpret_cast<rtnl_route*>(o))) out.push_back(*p);
  }
  return out;
}

Result<void> Netlink::set_tbf(const std::string& name, uint64_t rate, uint64_t burst) {
  HUSK_TRY(check_ifname(name));
  // libnl takes int; the kernel's buffer is a u32 count of 64 ns ticks, so
  // burst/rate must stay under ~268 s.
  if (rate == 0 || rate > INT_MAX)
    return fail(EINVAL, "tbf on \"{}\": rate {} bytes/s is not 1-{}", name, rate, INT_MAX);
  if (burst == 0 || burst > INT_MAX || burst / rate > 200)
    return fail(EINVAL, "tbf on \"{}\": burst {} bytes is not 1-{} and at most 200 s of rate", name,
                burst, INT_MAX);
  HUSK_TRY_ASSIGN(int index, index_of(name).context("set tbf on \"{}\"", name));
  QdiscPtr q(rtnl_qdisc_alloc());
  if (!q) return fail(ENOMEM, "set tbf on \"{}\": rtnl_qdisc_alloc", name);
  rtnl_tc_set_ifindex(TC_CAST(q.get()), index);
  rtnl_tc_set_parent(TC_CAST(q.get()), TC_H_ROOT);
  int rc = rtnl_tc_set_kind(TC_CAST(q.get()), "tbf");
  if (rc >= 0) {
    rtnl_qdisc_tbf_set_rate(q.get(), static_cast<int>(rate), static_cast<int>(burst), 0);
    // As the CNI bandwidth plugin: a queue of 25 ms at the rate, plus the burst.
    rc = rtnl_qdisc_tbf_set_limit_by_latency(q.get(), 25000);
  }
  // CREATE|REPLACE without a handle: a new root in place of any other kind,
  // or new parameters for a tbf already there.
  if (rc >= 0) rc = rtnl_qdisc_add(conn_->sock, q.get(), NLM_F_CREATE | NLM_F_REPLACE);
  return call(rc).context("set tbf on \"{}\"", name);
}

Result<void> Netlink::redirect_ingress(const std::string& name, const std::string& ifb) {
  HUSK_TRY(check_ifname(name));
  HUSK_TRY(check_ifname(ifb));
  HUSK_TRY_ASSIGN(int dev, index_of(name).context("redirect \"{}\" to \"{}\"", name, ifb));
  HUSK_TRY_ASSIGN(LinkPtr link, link_named(ifb));
  int rc = rtnl_link_set_type(link.get(), "ifb");
  rtnl_link_set_flags(link.get(), IFF_UP);
  if (rc >= 0) rc = rtnl_link_add(conn_->sock, link.get(), NLM_F_CREATE | NLM_F_EXCL);
  HUSK_TRY(call(rc).context("create ifb \"{}\"", ifb));
  Cleanup undo([&] { (void)delete_link(ifb); });
  HUSK_TRY_ASSIGN(int ifb_index, index_of(ifb).context("redirect \"{}\" to \"{}\"", name, ifb));

  QdiscPtr q(rtnl_qdisc_alloc());
  if (!q) return fail(ENOMEM, "rtnl_qdisc_alloc");
  rtnl_tc_set_ifindex(TC_CAST(q.get()), dev);
  rtnl_tc_set_parent(TC_CAST(q.get()), TC_H_INGRESS);
  rtnl_tc_set_handle(TC_CAST(q.get()), TC_HANDLE(0xffff, 0));
  rc = rtnl_tc_set_kind(TC_CAST(q.get()), "ingress");
  if (rc >= 0) rc = rtnl_qdisc_add(conn_->sock, q.get(), NLM_F_CREATE | NLM_F_EXCL);
  HUSK_TRY(call(rc).context("add ingress qdisc to \"{}\"", name));

  HUSK_TRY_ASSIGN(ClsPtr cls, redirect_filter(dev, ifb_index));
  HUSK_TRY(call(rtnl_cls_add(conn_->sock, cls.get(), NLM_F_CREATE | NLM_F_EXCL))
               .context("add filter redirecting \"{}\" to \"{}\"", name, ifb));
  undo.cancel();
  return ok();
}

Result<void> in_netns(int netns_fd, const std::function<Result<void>()>& f) {
  HUSK_TRY_ASSIGN(UniqueFd own, open_own_netns());
  HUSK_TRY(sys::setns(netns_fd, CLONE_NEWNET).context("enter network namespace"));
  Result<void> r = f();
  // Always back, whatever f did: the rest of the thread's work belongs here.
  HUSK_TRY(sys::setns(own.get(), CLONE_NEWNET).context("return to own network namespace"));
  return r;
}

Result<std::string> sysctl_net(const std::string& key, const std::string& value) {
  if (key.empty() || key.front() == '/' || key.find("..") != std::string::npos ||
      key.find('\0') != std::string::npos)
    return fail(EINVAL, "sysctl key \"net/{}\": must be relative and without \"..\"", key);
  std::string path = "/proc/sys/net/" + key;
  HUSK_TRY_ASSIGN(std::string prev, read_file(path));
  const char* blank = " \t\n";
  prev.erase(prev.find_last_not_of(blank) + 1);  // npos + 1 == 0: all blank
  prev.erase(0, std::min(prev.size(), prev.find_first_not_of(blank)));
  if (prev != value) HUSK_TRY(write_file(path, value));
  return prev;
}

}  // namespace husk::net
