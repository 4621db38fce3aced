#include "net/attach.h"

#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/log.h"
#include "net/firewall.h"
#include "net/netlink.h"

namespace husk::net {
namespace {

constexpr const char* kPeersMarker = "# husk: containers on network ";
constexpr const char* kCniRecord = "cni.json";

// FNV-1a, 48 bits as 12 hex digits: device names derived from an id.
std::string short_hash(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("{:012x}", h & 0xffffffffffffull);
}

// Device names of one attachment: the container's name plus the attaching
// process (pid and start time), so that a container that reuses the name of
// one that just exited never meets that one's host veth, which the kernel
// deletes only once the old network namespace is gone (asynchronously).
std::string attachment_key(const Lease& l) {
  return fmt::format("{}/{}/{}", l.container, l.pid, l.start_time);
}
std::string host_if_for(const Lease& l) { return "hv" + short_hash(attachment_key(l)); }
std::string ifb_for(const Lease& l) { return "hb" + short_hash(attachment_key(l)); }

// The peers section of a hosts file: every other live lease on the network.
std::string peers_section(const Network& net, const std::vector<Lease>& leases,
                          const std::string& self) {
  std::string out = kPeersMarker + net.name + "\n";
  for (const Lease& l : leases) {
    if (l.container == self || !lease_is_live(l)) continue;
    std::vector<std::string> names{l.container};
    if (!l.hostname.empty() && l.hostname != l.container) names.push_back(l.hostname);
    out += l.ipv4.str();
    for (const auto& n : names) out += "\t" + n;
    out += "\n";
  }
  return out;
}

// Replaces the peers section of one container's hosts file, in place (its
// bind mount must see the change). A file that is gone is left alone.
void refresh_peers(const Network& net, const std::vector<Lease>& leases, const Lease& of) {
  if (of.files_dir.empty()) return;
  std::string path = of.files_dir + "/hosts";
  auto text = read_file(path);
  if (!text) return;
  size_t at = text->find(kPeersMarker);
  std::string head = at == std::string::npos ? *text : text->substr(0, at);
  if (auto r = rewrite_in_place(path, head + peers_section(net, leases, of.container)); !r)
    log::warn("update {}: {}", path, r.error().what());
}

void refresh_all_peers(const Network& net, const std::vector<Lease>& leases) {
  for (const Lease& l : leases)
    if (lease_is_live(l)) refresh_peers(net, leases, l);
}

// A host port for each mapping: 0 becomes a free port the kernel picks; a
// given one must not be bound by a socket on the host already.
Result<void> choose_host_ports(std::vector<PortMapping>& ports) {
  for (PortMapping& m : ports) {
    bool v6 = m.host_ip.find(':') != std::string::npos;
    int type = m.proto == Proto::kTcp ? SOCK_STREAM : SOCK_DGRAM;
    UniqueFd s(::socket(v6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, 0));
    if (!s) return fail_errno("socket");
    int one = 1;
    ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage ss{};
    socklen_t len = 0;
    std::string ip = m.host_ip.empty() ? "0.0.0.0" : m.host_ip;
    HUSK_TRY_ASSIGN(IpAddr a, IpAddr::parse(ip));
    if (v6) {
      auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
      sa->sin6_family = AF_INET6;
      sa->sin6_port = htons(m.host_port);
      std::copy(a.bytes.begin(), a.bytes.end(), sa->sin6_addr.s6_addr);
      len = sizeof *sa;
    } else {
      auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
      sa->sin_family = AF_INET;
      sa->sin_port = htons(m.host_port);
      std::copy(a.bytes.begin(), a.bytes.begin() + 4, reinterpret_cast<uint8_t*>(&sa->sin_addr));
      len = sizeof *sa;
    }
    if (::bind(s.get(), reinterpret_cast<sockaddr*>(&ss), len) < 0) {
      if (errno == EADDRINUSE)
        return fail_quiet(EADDRINUSE, "port {}/{} is already in use on the host", m.host_port,
                    proto_name(m.proto));
      return fail_errno("-p {}:{}", ip, m.host_port);
    }
    if (m.host_port == 0) {
      if (::getsockname(s.get(), reinterpret_cast<sockaddr*>(&ss), &len) < 0)
        return fail_errno("getsockname");
      m.host_port = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                             : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    }
  }
  return ok();
}

Shaping with_default_burst(Shaping s) {
  if (s.burst == 0) s.burst = std::max<uint64_t>(s.rate / 100, 16 * 1024);
  return s;
}

std::string own_hosts(const AttachRequest& req, const std::string& ip4,
                      const std::optional<IpAddr>& ip6, const std::string& gateway) {
  std::vector<HostEntry> entries;
  std::vector<std::string> names{req.hostname};
  if (req.container != req.hostname) names.push_back(req.container);
  if (!ip4.empty()) entries.push_back({ip4, names});
  if (ip6) entries.push_back({ip6->str(), names});
  for (const auto& h : req.add_hosts) {
    auto e = parse_add_host(h, gateway);
    if (e) entries.push_back(std::move(*e));
  }
  return hosts_file(entries);
}

Result<void> write_container_files(const AttachRequest& req, const std::string& dir,
                                   const std::string& hosts) {
  // No resolv.conf on the host: the container gets docker's defaults.
  std::string host_resolv = read_file("/etc/resolv.conf").value_or("");
  HUSK_TRY_ASSIGN(std::string resolv, resolv_conf(host_resolv, req.dns));
  return write_files(dir, resolv, hosts, req.hostname);
}

NetworkStore store_for(const AttachRequest& req) {
  return NetworkStore(req.persistent_root.empty() ? NetworkStore::default_root()
                                                  : req.persistent_root);
}

Ipam ipam_for(const std::string& run_root, const Network& net) {
  return Ipam(run_root, net, [run_root](const Network& n, const Lease& l) {
    reclaim(run_root, n, l);
  });
}

}  // namespace

std::string files_dir_for(const std::string& run_root, const std::string& container) {
  return run_root + "/containers/" + container;
}

Attachment::Attachment(Attachment&& o) noexcept
    : req_(std::move(o.req_)),
      net_(std::move(o.net_)),
      cni_(o.cni_),
      cni_network_(std::move(o.cni_network_)),
      lease_(std::move(o.lease_)),
      armed_(std::exchange(o.armed_, false)) {}

Attachment::~Attachment() {
  if (armed_) teardown();
}

namespace {

struct CniRecord {
  std::string network;
  pid_t pid = 0;
  uint64_t start_time = 0;
};

Result<void> write_cni_record(const std::string& dir, const CniRecord& r) {
  nlohmann::json j{{"network", r.network}, {"pid", r.pid}, {"start_time", r.start_time}};
  return write_file_atomic(dir + "/" + kCniRecord, j.dump(), 0644, Durability::kVolatile);
}

std::optional<CniRecord> read_cni_record(const std::string& dir) {
  auto text = read_file(dir + "/" + kCniRecord);
  if (!text) return std::nullopt;
  auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("network") || !j["network"].is_string()) return std::nullopt;
  CniRecord r;
  r.network = j["network"].get<std::string>();
  r.pid = j.value("pid", 0);
  r.start_time = j.value("start_time", uint64_t{0});
  return r;
}

bool owner_is_live(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return false;
  auto t = process_start_time(pid);
  return t && *t == start_time;
}

cni::Request cni_request(const std::string& run_root, const std::string& network,
                         const std::string& container) {
  cni::Request r;
  r.network = network;
  r.container_id = container;
  r.cache_dir = run_root + "/cni";
  // cnitool's variable for another config directory (tests use it).
  if (const char* dir = ::getenv("NETCONFPATH"); dir && *dir) r.conf_dir = dir;
  return r;
}

// DEL of every CNI attachment (of `network`, or all when empty) whose owner
// is gone: what kill -9 of husk left behind.
void reclaim_stale_cni(const std::string& run_root, const std::string& network) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(run_root + "/containers", ec)) {
    std::string dir = entry.path().string();
    auto rec = read_cni_record(dir);
    if (!rec || (!network.empty() && rec->network != network)) continue;
    if (owner_is_live(rec->pid, rec->start_time)) continue;
    std::string container = entry.path().filename().string();
    if (auto r = cni::del(cni_request(run_root, rec->network, container)); !r)
      log::warn("cni {}: {}", rec->network, r.error().what());
    std::filesystem::remove_all(dir, ec);
  }
}

}  // namespace

Result<Attachment> Attachment::prepare(const AttachRequest& req) {
  Attachment a;
  a.req_ = req;
  a.lease_.container = req.container;
  a.lease_.hostname = req.hostname;
  a.lease_.files_dir = files_dir_for(req.run_root, req.container);
  a.lease_.pid = ::getpid();
  auto started = process_start_time(a.lease_.pid);
  if (!started) return fail(ESRCH, "read /proc/self/stat");
  a.lease_.start_time = *started;
  for (const auto& h : req.add_hosts) HUSK_TRY(parse_add_host(h, "0.0.0.0"));
  a.lease_.ports = req.ports;
  HUSK_TRY(choose_host_ports(a.lease_.ports));

  if (req.network.starts_with("cni:")) {
    a.cni_ = true;
    a.cni_network_ = req.network.substr(4);
    reclaim_stale_cni(req.run_root, a.cni_network_);
    a.armed_ = true;  // from here on, teardown() undoes what exists
    HUSK_TRY(write_container_files(req, a.lease_.files_dir, own_hosts(req, "", {}, "")));
    HUSK_TRY(write_cni_record(a.lease_.files_dir,
                              {a.cni_network_, a.lease_.pid, a.lease_.start_time}));
    return a;
  }

  HUSK_TRY_ASSIGN(a.net_, store_for(req).get(req.network));
  a.lease_.host_if = host_if_for(a.lease_);
  if (req.egress) a.lease_.ifb = ifb_for(a.lease_);
  Ipam ipam = ipam_for(req.run_root, a.net_);
  HUSK_TRY_ASSIGN(a.lease_, ipam.allocate(a.lease_, req.ip));
  a.armed_ = true;
  std::string hosts = own_hosts(req, a.lease_.ipv4.str(), a.lease_.ipv6, a.net_.gateway4.str());
  HUSK_TRY(write_container_files(req, a.lease_.files_dir, hosts));
  // Peers learn our name, and we theirs (docker's embedded DNS, done with
  // hosts files: no resolver process).
  HUSK_TRY(ipam.with_lock([&](std::vector<Lease>& leases) -> Result<void> {
    refresh_all_peers(a.net_, leases);
    return ok();
  }));
  return a;
}

Result<void> Attachment::plumb(pid_t init_pid) {
  if (cni_) {
    cni::Request r = cni_request(req_.run_root, cni_network_, req_.container);
    r.netns_path = fmt::format("/proc/{}/ns/net", init_pid);
    r.ports = lease_.ports;
    if (req_.ip) r.ips.push_back(req_.ip->str());
    if (req_.egress || req_.ingress) {
      cni::Bandwidth b;
      if (req_.ingress) {
        Shaping s = with_default_burst(*req_.ingress);
        b.ingress_rate = s.rate * 8;
        b.ingress_burst = s.burst * 8;
      }
      if (req_.egress) {
        Shaping s = with_default_burst(*req_.egress);
        b.egress_rate = s.rate * 8;
        b.egress_burst = s.burst * 8;
      }
      r.bandwidth = b;
    }
    HUSK_TRY_ASSIGN(cni::AddResult added, cni::add(r));
    std::string ip4;
    for (const auto& cidr : added.ips)
      if (cidr.find(':') == std::string::npos) ip4 = cidr.substr(0, cidr.find('/'));
    HUSK_TRY(rewrite_in_place(lease_.files_dir + "/hosts", own_hosts(req_, ip4, {}, "")));
    auto started = process_start_time(init_pid);
    return write_cni_record(lease_.files_dir, {cni_network_, init_pid, started.value_or(0)});
  }

  HUSK_TRY_ASSIGN(Netlink host, Netlink::open());
  std::vector<std::pair<IpAddr, int>> gateways{{net_.gateway4, net_.subnet4.len}};
  if (net_.subnet6 && net_.gateway6) gateways.emplace_back(*net_.gateway6, net_.subnet6->len);
  HUSK_TRY(host.ensure_bridge(net_.bridge, gateways).context("network \"{}\"", net_.name));
  HUSK_TRY_ASSIGN(Firewall fw, Firewall::open());
  HUSK_TRY(fw.ensure_network(net_).context("network \"{}\": firewall", net_.name));

  HUSK_TRY_ASSIGN(UniqueFd netns, open_netns_of(init_pid));
  HUSK_TRY(host.create_veth(lease_.host_if, "eth0", netns.get()));
  HUSK_TRY(host.set_master(lease_.host_if, net_.bridge));
  HUSK_TRY(host.set_up(lease_.host_if));
  {
    HUSK_TRY_ASSIGN(Netlink inside, Netlink::open_in(netns.get()));
    HUSK_TRY(inside.add_address("eth0", lease_.ipv4, net_.subnet4.len));
    if (lease_.ipv6 && net_.subnet6) HUSK_TRY(inside.add_address("eth0", *lease_.ipv6, net_.subnet6->len));
    HUSK_TRY(inside.set_up("eth0"));
    HUSK_TRY(inside.add_default_route(net_.gateway4));
    if (lease_.ipv6 && net_.gateway6) HUSK_TRY(inside.add_default_route(*net_.gateway6));
    // The kernel finishes bringing links up asynchronously; a first packet
    // sent before that waits a second for ARP/ND to retry.
    HUSK_TRY(inside.wait_ready("eth0"));
  }
  HUSK_TRY(host.wait_ready(lease_.host_if));
  HUSK_TRY(host.wait_ready(net_.bridge));
  // The host end's egress is what the container receives; its ingress,
  // redirected through an ifb, is what the container sends.
  if (req_.ingress) {
    Shaping s = with_default_burst(*req_.ingress);
    HUSK_TRY(host.set_tbf(lease_.host_if, s.rate, s.burst).context("--ingress-rate"));
  }
  if (req_.egress) {
    Shaping s = with_default_burst(*req_.egress);
    HUSK_TRY(host.redirect_ingress(lease_.host_if, lease_.ifb).context("--egress-rate"));
    HUSK_TRY(host.set_tbf(lease_.ifb, s.rate, s.burst).context("--egress-rate"));
  }
  if (!lease_.ports.empty())
    HUSK_TRY(fw.add_ports(lease_.container, lease_.ipv4, lease_.ipv6, lease_.ports));

  lease_.pid = init_pid;
  auto started = process_start_time(init_pid);
  if (!started) return fail(ESRCH, "container init {} is gone", init_pid);
  lease_.start_time = *started;
  return ipam_for(req_.run_root, net_).update(lease_);
}

void Attachment::teardown() {
  armed_ = false;
  std::error_code ec;
  if (cni_) {
    if (auto r = cni::del(cni_request(req_.run_root, cni_network_, req_.container)); !r)
      log::warn("cni {}: {}", cni_network_, r.error().what());
    std::filesystem::remove_all(lease_.files_dir, ec);
    return;
  }
  Ipam ipam = ipam_for(req_.run_root, net_);
  // The veth is not deleted here: it goes with the container's network
  // namespace, which the kernel tears down on its own once the last process
  // has left. Deleting it ourselves waits for an RCU grace period (~12 ms of
  // every run, docs/benchmarks.md). reclaim() still deletes it.
  Lease gone = lease_;
  gone.host_if.clear();
  reclaim(req_.run_root, net_, gone);
  if (auto r = ipam.release(lease_.container); !r) log::warn("{}", r.error().what());
  (void)ipam.with_lock([&](std::vector<Lease>& leases) -> Result<void> {
    refresh_all_peers(net_, leases);
    return ok();
  });
}

void reclaim(const std::string& run_root, const Network& net, const Lease& lease) {
  (void)run_root;
  // Closing an nftables socket after a delete waits for an RCU grace period
  // (4-15 ms, Firewall::~Firewall).
  std::optional<Firewall> fw;
  if (!lease.ports.empty()) {
    auto opened = Firewall::open();
    auto removed = opened ? opened->remove_ports(lease.container, lease.ports)
                          : Result<void>(std::unexpected(opened.error()));
    if (!removed) log::warn("network \"{}\": {}", net.name, removed.error().what());
    if (opened) fw.emplace(std::move(*opened));
  }
  // The process that did the delete returns without the wait (a child of
  // ours closes the last copy of the socket after we exit).
  if (fw) fw->close_after_exit();
  if (auto nl = Netlink::open()) {
    // The host end goes with its peer's namespace anyway, but not at once.
    if (!lease.host_if.empty()) (void)nl->delete_link(lease.host_if);
    if (!lease.ifb.empty()) (void)nl->delete_link(lease.ifb);
  }
  std::error_code ec;
  if (!lease.files_dir.empty()) std::filesystem::remove_all(lease.files_dir, ec);
}

Result<std::optional<Found>> find_lease(const std::string& persistent_root,
                                        const std::string& run_root,
                                        const std::string& container) {
  HUSK_TRY_ASSIGN(std::vector<Network> nets, NetworkStore(persistent_root).list());
  for (Network& n : nets) {
    HUSK_TRY_ASSIGN(std::vector<Lease> leases, ipam_for(run_root, n).leases());
    for (Lease& l : leases)
      if (l.container == container) return Found{std::move(n), std::move(l)};
  }
  return std::optional<Found>();
}

Result<std::vector<std::string>> prune(const std::string& persistent_root,
                                       const std::string& run_root) {
  reclaim_stale_cni(run_root, "");
  NetworkStore store(persistent_root);
  HUSK_TRY_ASSIGN(std::vector<Network> nets, store.list());
  std::vector<std::string> removed;
  for (const Network& n : nets) {
    Ipam ipam = ipam_for(run_root, n);
    HUSK_TRY(ipam.reclaim_stale());
    if (n.name == kDefaultNetwork) continue;
    HUSK_TRY_ASSIGN(std::vector<Lease> leases, ipam.leases());
    if (!leases.empty()) continue;
    HUSK_TRY(remove_network(persistent_root, run_root, n.name));
    removed.push_back(n.name);
  }
  return removed;
}

Result<void> remove_network(const std::string& persistent_root, const std::string& run_root,
                            const std::string& name) {
  NetworkStore store(persistent_root);
  HUSK_TRY_ASSIGN(Network n, store.get(name));
  if (n.name == kDefaultNetwork)
    return fail(EPERM, "network \"{}\" is built in and cannot be removed", n.name);
  Ipam ipam = ipam_for(run_root, n);
  HUSK_TRY(ipam.reclaim_stale());
  HUSK_TRY_ASSIGN(std::vector<Lease> leases, ipam.leases());
  if (!leases.empty())
    return fail(EBUSY, "network \"{}\" is in use by container \"{}\"", n.name,
                leases.front().container);
  HUSK_TRY_ASSIGN(Firewall fw, Firewall::open());
  HUSK_TRY(fw.remove_network(n).context("network \"{}\": firewall", n.name));
  HUSK_TRY_ASSIGN(Netlink nl, Netlink::open());
  HUSK_TRY(nl.delete_link(n.bridge).context("network \"{}\"", n.name));
  HUSK_TRY(store.remove(n.name));
  std::error_code ec;
  std::filesystem::remove(run_root + "/" + n.name + ".leases", ec);
  std::filesystem::remove(run_root + "/" + n.name + ".lock", ec);
  return ok();
}

}  // namespace husk::net
