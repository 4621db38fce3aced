// net/firewall.h through libnftables: each public call is one buffer of nft
// commands, which nft applies as one transaction (all or nothing).
#include "net/firewall.h"

#include "net/lazy_nftables.h"  // <nftables/libnftables.h>, loaded on first use
#include <dirent.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "base/file.h"
#include "base/unique_fd.h"
#include "net/firewall_impl.h"
#include "net/nf_socket.h"
#include "net/store_io.h"
#include "sys/process.h"

namespace husk::net {

namespace {

// The errno nft's message names, so callers can branch on it.
int errno_in(std::string_view message) {
  for (int e : {EEXIST, ENOENT, EBUSY, EPERM, EINTR, ENOMEM, EOPNOTSUPP, EAFNOSUPPORT, ENOSPC})
    if (message.find(std::strerror(e)) != std::string_view::npos) return e;
  return EINVAL;
}

Result<void> set_sysctl(const std::string& path, std::string_view value) {
  if (auto cur = read_file(path); cur && cur->substr(0, cur->find('\n')) == value) return ok();
  return write_file(path, value).context("sysctl {}", path.substr(std::strlen("/proc/sys/")));
}

// Holds an exclusive flock on a file under kNetRunRoot while the ruleset is
// changed: two `husk run` of a new network would otherwise both see docker's
// DOCKER-USER without husk's accepts and both insert them. (A dot first: no
// network's lock file, <name>.lock, can have that name.)
Result<UniqueFd> lock_table(const std::string& table) {
  HUSK_TRY(store_io::make_dirs(kNetRunRoot, 0700));
  return lock_file(fmt::format("{}/.firewall-{}.lock", kNetRunRoot, table), LOCK_EX);
}

// The DOCKER-USER chains docker's iptables-nft made, and husk's accepts in them.
struct DockerChain {
  std::string family;  // ip | ip6
  std::vector<NftRule> rules;
};

std::string docker_comment(const Network& n) { return "husk:" + n.bridge; }

// `insert rule` for each of the network's two accepts a chain lacks.
std::string docker_inserts(const Network& n, const std::vector<DockerChain>& chains) {
  std::string out;
  for (const DockerChain& c : chains) {
    for (const char* key : {"oifname", "iifname"}) {
      bool present = false;
      for (const NftRule& r : c.rules)
        present |= r.comment == docker_comment(n) && r.meta_key == key &&
                   r.meta_value == n.bridge && r.verdict == "accept";
      if (!present)
        out += fmt::format("insert rule {} filter DOCKER-USER {} {} accept comment {}\n", c.family,
                           key, nft_quoted(n.bridge), nft_quoted(docker_comment(n)));
    }
  }
  return out;
}

}  // namespace

Result<Firewall> Firewall::open(std::string table) {
  bool plain = !table.empty() && table.size() <= 64;
  for (char c : table) plain &= (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  if (!plain) return fail(EINVAL, "firewall table \"{}\": expected [a-z0-9_]", table);
  return Firewall(std::move(table));
}

Result<nft_ctx*> Firewall::ctx() {
  if (ctx_ != nullptr) return ctx_;
  nft_ctx* c = nft_ctx_new(NFT_CTX_DEFAULT);
  if (c == nullptr) return fail(ENOMEM, "libnftables: no context");
  if (nft_ctx_buffer_output(c) != 0 || nft_ctx_buffer_error(c) != 0) {
    nft_ctx_free(c);
    return fail(ENOMEM, "libnftables: no output buffer");
  }
  ctx_ = c;
  return ctx_;
}

Result<NfSocket*> Firewall::nf() {
  if (!nf_) {
    HUSK_TRY_ASSIGN(NfSocket s, NfSocket::open());
    nf_.emplace(std::move(s));
  }
  return &*nf_;
}

Firewall::Firewall(std::string table) : table_(std::move(table)) {}
Firewall::Firewall(Firewall&& o) noexcept
    : ctx_(std::exchange(o.ctx_, nullptr)), nf_(std::move(o.nf_)), table_(std::move(o.table_)) {
  o.nf_.reset();
}
Firewall& Firewall::operator=(Firewall&& o) noexcept {
  if (this != &o) {
    if (ctx_ != nullptr) nft_ctx_free(ctx_);
    ctx_ = std::exchange(o.ctx_, nullptr);
    nf_ = std::move(o.nf_);
    o.nf_.reset();
    table_ = std::move(o.table_);
  }
  return *this;
}
Firewall::~Firewall() {
  if (ctx_ != nullptr) nft_ctx_free(ctx_);
}

namespace {

bool is_nf_tables_socket(int fd) {
  int domain = 0, protocol = 0;
  socklen_t len = sizeof domain;
  if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain != AF_NETLINK)
    return false;
  len = sizeof protocol;
  return ::getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) == 0 &&
         protocol == NETLINK_NETFILTER;
}

// libnftables does not expose its socket: it is a netfilter netlink socket
// among our descriptors (husk opens no other but NfSocket's).
std::vector<int> nf_tables_sockets() {
  std::vector<int> found;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return found;
  while (dirent* e = ::readdir(dir)) {
    int fd = std::atoi(e->d_name);
    if (e->d_name[0] == '.' || fd == ::dirfd(dir)) continue;
    if (is_nf_tables_socket(fd)) found.push_back(fd);
  }
  ::closedir(dir);
  return found;
}

}  // namespace

void Firewall::close_after_exit() {
  // Usually only NfSocket's is open (no /proc walk then); both after a fallback.
  if (nf_ && ctx_ == nullptr) {
    sys::hold_open_past_exit(nf_->fd());
    return;
  }
  if (ctx_ != nullptr)
    for (int fd : nf_tables_sockets()) sys::hold_open_past_exit(fd);
}

Result<std::string> Firewall::run(const std::string& commands) {
  HUSK_TRY_ASSIGN(nft_ctx * c, ctx());
  int rc = nft_run_cmd_from_buffer(c, commands.c_str());
  const char* out = nft_ctx_get_output_buffer(c);
  const char* err = nft_ctx_get_error_buffer(c);
  if (rc != 0) {
    std::string line = nft_text::one_line_error(err != nullptr ? err : "");
    return fail_quiet(errno_in(line), "nft: {}", line);
  }
  return std::string(out != nullptr ? out : "");
}

Result<std::string> Firewall::list_json(const std::string& command) {
  HUSK_TRY_ASSIGN(nft_ctx * c, ctx());
  unsigned int flags = nft_ctx_output_get_flags(c);
  nft_ctx_output_set_flags(c, flags | NFT_CTX_OUTPUT_JSON);
  auto r = run(command);
  nft_ctx_output_set_flags(c, flags);
  return r;
}

namespace {

// A listing of `family table`, or of one object of it: kind "chain" or
// "set"; a missing table or object lists as nothing.
Result<NftListing> list_of(Firewall& fw, std::string_view family, std::string_view table,
                           std::string_view kind = {}, std::string_view name = {}) {
  std::string cmd = kind.empty() ? fmt::format("list table {} {}", family, table)
                                 : fmt::format("list {} {} {} {}", kind, family, table, name);
  auto text = fw.list_json(cmd);
  if (!text && text.error().code == ENOENT) return NftListing{};
  if (!text) return std::unexpected(std::move(text).error());
  return parse_listing(*text, family, table);
}

// docker's DOCKER-USER chains (ip, and ip6 for a dual-stack network) that
// exist. Asked directly: a missing one costs less than `list tables`, which
// fetches every rule of the ruleset (10 ms on a host with docker's rules).
Result<std::vector<DockerChain>> docker_chains(Firewall& fw, bool ipv6) {
  std::vector<DockerChain> out;
  for (const char* family : {"ip", "ip6"}) {
    if (std::string_view(family) == "ip6" && !ipv6) continue;
    HUSK_TRY_ASSIGN(NftListing l, list_of(fw, family, "filter", "chain", "DOCKER-USER"));
    if (l.has_chain("DOCKER-USER")) out.push_back({family, std::move(l.rules)});
  }
  return out;
}

// The `delete element`s that must precede add_network's text: elements under
// the bridge's name with another verdict or comment (the fingerprint's), or
// of the other kind of network (internal or not), and the chain only a
// non-internal network has.
std::string stale_of(const NftListing& have, const Network& n, const std::string& table,
                     const std::string& fingerprint) {
  std::vector<NftElement> stale;
  for (NftElement e : network_elements(n)) {
    if (e.map == "bridges") e.comment = fingerprint;
    const NftElement* h = have.find(e.map, e.key);
    if (h != nullptr && (h->verdict != e.verdict || h->comment != e.comment)) stale.push_back(e);
  }
  const char* other = n.internal ? "post_from" : "fwd_to";
  if (have.find(other, nft_quoted(n.bridge)) != nullptr)
    stale.push_back({other, nft_quoted(n.bridge), "", ""});
  std::vector<std::string> chains;
  if (n.internal && have.has_chain(network_chain(n.bridge, "masq")))
    chains.push_back(network_chain(n.bridge, "masq"));
  return delete_text(table, stale, chains);
}

}  // namespace

namespace {

std::vector<std::pair<Proto, uint16_t>> port_keys(const std::vector<PortMapping>& ports) {
  std::set<std::pair<Proto, uint16_t>> keys;
  for (const PortMapping& m : ports) keys.emplace(m.proto, m.host_port);
  return {keys.begin(), keys.end()};
}

// nft_text::add_ports's transaction as netlink messages: the chain (comment:
// the container), flushed, the DNAT rules for one host address before those
// for any, and the `ports` elements with `create` (EEXIST when a key is taken).
Result<std::vector<NfMessage>> port_messages(const std::string& container, const IpAddr& ipv4,
                                             const std::optional<IpAddr>& ipv6,
                                             const std::vector<PortMapping>& ports,
                                             const std::string& table) {
  std::string chain = nft_text::chain_for(container);
  std::vector<NfMessage> msgs{nf_msg::add_chain(table, chain, container),
                              nf_msg::flush_chain(table, chain)};
  std::vector<NfMessage> any;
  for (const PortMapping& m : ports) {
    HUSK_TRY_ASSIGN(std::vector<DnatSpec> specs, dnat_specs(m, ipv4, ipv6));
    for (const DnatSpec& d : specs)
      (d.daddr ? msgs : any).push_back(nf_msg::add_dnat_rule(table, chain, d));
  }
  for (NfMessage& m : any) msgs.push_back(std::move(m));
  msgs.push_back(nf_msg::create_port_elements(table, "ports", port_keys(ports), container, chain));
  return msgs;
}

}  // namespace

Result<void> Firewall::ensure_network(const Network& n) {
  HUSK_TRY_ASSIGN(std::string net_text, nft_text::add_network(n, table_));
  std::string base = nft_text::base(table_);
  std::string fingerprint = fmt::format("{:016x}", store_io::fnv1a64(base + net_text));
  HUSK_TRY_ASSIGN(net_text, nft_text::add_network(n, table_, fingerprint));
  std::string want = base + net_text;

  // The common case, all in place, costs three small requests to nf_tables
  // on a socket of our own (~0.05 ms, no libnftables cache): the bridge's
  // element in `bridges`, whose comment is the fingerprint of all the text
  // above, and no DOCKER-USER chain. On any other answer, or an error, the
  // same is asked again through libnftables below (~0.8 ms: two listings,
  // each filling libnftables' cache), with docker's accepts read too.
  if (quick_in_place(n, fingerprint)) return set_sysctls(n);

  // (A listing of the whole table costs 0.7 ms, and 9 ms with 100
  // containers' ports; so does applying the text, plus a grace period for
  // the rules its flushes delete.)
  auto in_place = [&]() -> Result<bool> {
    HUSK_TRY_ASSIGN(NftListing set, list_of(*this, "inet", table_, "set", "bridges"));
    const NftElement* mine = set.find("bridges", nft_quoted(n.bridge));
    return mine != nullptr && mine->comment == fingerprint;
  };
  auto docker = [&]() -> Result<std::string> {
    HUSK_TRY_ASSIGN(std::vector<DockerChain> c, docker_chains(*this, n.subnet6.has_value()));
    return docker_inserts(n, c);
  };
  HUSK_TRY_ASSIGN(bool done, in_place());
  HUSK_TRY_ASSIGN(std::string inserts, docker());
  if (!done || !inserts.empty()) {
    HUSK_TRY_ASSIGN(UniqueFd lock, lock_table(table_));
    // Seen again under the lock: another husk may have done it meanwhile.
    HUSK_TRY_ASSIGN(done, in_place());
    std::string change;
    if (!done) {
      HUSK_TRY_ASSIGN(NftListing have, list_of(*this, "inet", table_));
      change = stale_of(have, n, table_, fingerprint) + want;
    }
    HUSK_TRY_ASSIGN(inserts, docker());
    change += inserts;
    if (!change.empty()) HUSK_TRY(run(change));
  }
  return set_sysctls(n);
}

bool Firewall::quick_in_place(const Network& n, const std::string& fingerprint) {
  auto q = nf();
  if (!q) return false;
  auto comment = (*q)->ifname_element_comment(NFPROTO_INET, table_, "bridges", n.bridge);
  if (!comment || !*comment || **comment != fingerprint) return false;
  for (uint8_t family : {uint8_t{NFPROTO_IPV4}, uint8_t{NFPROTO_IPV6}}) {
    if (family == NFPROTO_IPV6 && !n.subnet6) continue;
    auto docker = (*q)->chain_exists(family, "filter", "DOCKER-USER");
    if (!docker || *docker) return false;
  }
  return true;
}

Result<void> Firewall::set_sysctls(const Network& n) {
  std::string conf = fmt::format("/proc/sys/net/ipv4/conf/{}/route_localnet", n.bridge);
  if (::access(conf.c_str(), F_OK) != 0) return fail(ENODEV, "bridge {} does not exist", n.bridge);
  HUSK_TRY(set_sysctl(conf, "1"));
  if (n.internal) return ok();
  HUSK_TRY(set_sysctl("/proc/sys/net/ipv4/ip_forward", "1"));
  if (n.subnet6) HUSK_TRY(set_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1"));
  return ok();
}

Result<void> Firewall::remove_network(const Network& n) {
  HUSK_TRY(check_bridge(n.bridge));
  HUSK_TRY_ASSIGN(UniqueFd lock, lock_table(table_));
  HUSK_TRY_ASSIGN(NftListing have, list_of(*this, "inet", table_));
  std::vector<NftElement> elements;
  std::vector<std::string> chains;
  for (const char* map : {"bridges", "fwd_from", "fwd_to", "post_from", "post_to"})
    if (have.find(map, nft_quoted(n.bridge)) != nullptr)
      elements.push_back({map, nft_quoted(n.bridge), "", ""});
  for (const char* what : {"fwd", "masq", "in"})
    if (have.has_chain(network_chain(n.bridge, what)))
      chains.push_back(network_chain(n.bridge, what));
  std::string change = delete_text(table_, elements, chains);
  HUSK_TRY_ASSIGN(std::vector<DockerChain> docker, docker_chains(*this, /*ipv6=*/true));
  for (const DockerChain& c : docker)
    for (const NftRule& r : c.rules)
      if (r.comment == docker_comment(n))
        change += fmt::format("delete rule {} filter DOCKER-USER handle {}\n", c.family, r.handle);
  if (change.empty()) return ok();
  HUSK_TRY(run(change));
  return ok();
}

Result<void> Firewall::add_ports(const std::string& container, const IpAddr& ipv4,
                                 const std::optional<IpAddr>& ipv6,
                                 const std::vector<PortMapping>& ports) {
  HUSK_TRY_ASSIGN(std::string text, nft_text::add_ports(container, ipv4, ipv6, ports, table_));
  if (ports.empty()) return ok();  // (checked all the same) no chain without an element
  // The objects of `text`, sent as netlink messages (net/nf_socket.h).
  HUSK_TRY_ASSIGN(std::vector<NfMessage> msgs, port_messages(container, ipv4, ipv6, ports, table_));
  HUSK_TRY_ASSIGN(NfSocket * nf_socket, nf());
  Result<void> r = nf_socket->commit(msgs);
  if (r) return ok();
  if (r.error().code != EEXIST) return std::unexpected(std::move(r).error());
  // Which key was taken, and by whom: the element's comment names its container.
  auto listed = list_json(fmt::format("list map inet {} ports", table_));
  if (!listed) return std::unexpected(std::move(r).error());
  HUSK_TRY_ASSIGN(NftListing have, parse_listing(*listed, "inet", table_));
  for (const PortMapping& m : ports) {
    const NftElement* e = have.find("ports", port_key(m.proto, m.host_port));
    if (e == nullptr) continue;
    if (e->comment.empty())
      return fail_quiet(EEXIST, "port {}/{} is already published", m.host_port,
                        proto_name(m.proto));
    return fail_quiet(EEXIST, "port {}/{} is already published by container \"{}\"", m.host_port,
                      proto_name(m.proto), e->comment);
  }
  return std::unexpected(std::move(r).error());
}

Result<void> Firewall::remove_ports(const std::string& container,
                                    const std::vector<PortMapping>& ports) {
  HUSK_TRY(check_container(container));
  // The common case: everything add_ports made is there, and goes at once
  // (nft_text::remove_ports as netlink messages).
  if (!ports.empty()) {
    std::string chain = nft_text::chain_for(container);
    std::vector<NfMessage> msgs{nf_msg::delete_port_elements(table_, "ports", port_keys(ports)),
                                nf_msg::delete_chain(table_, chain)};
    HUSK_TRY_ASSIGN(NfSocket * nf_socket, nf());
    if (nf_socket->commit(msgs)) return ok();
  }
  // Else (a second call, a flushed table, another set of ports): delete what
  // exists of this container's, and only that.
  HUSK_TRY_ASSIGN(NftListing have, list_of(*this, "inet", table_));
  std::string chain = nft_text::chain_for(container);
  std::vector<NftElement> mine;
  if (auto it = have.sets.find("ports"); it != have.sets.end())
    for (const NftElement& e : it->second)
      if (e.verdict == "jump " + chain) mine.push_back(e);
  std::vector<std::string> chains;
  if (have.has_chain(chain)) chains.push_back(chain);
  std::string change = delete_text(table_, mine, chains);
  if (change.empty()) return ok();
  HUSK_TRY(run(change));
  return ok();
}

}  // namespace husk::net
