#include "net/ipam.h"

#include <sys/file.h>
#include <unistd.h>

#include <climits>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "net/store_io.h"
#include "sys/process.h"

namespace husk::net {

std::optional<uint64_t> process_start_time(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  auto st = sys::process_stat(pid);
  // A zombie has left its namespaces already: it keeps no network alive.
  if (!st || st->state == 'Z' || st->state == 'X') return std::nullopt;
  return st->start_time;
}

bool lease_is_live(const Lease& l) {
  auto start = process_start_time(l.pid);
  return start && *start == l.start_time;
}

namespace {

using store_io::Json;
using store_io::reword;

// A lease file as it is on disk.
struct LeaseFile {
  uint64_t next = 0;  // the index after the last v4 address handed out
  std::vector<Lease> leases;
};

nlohmann::ordered_json lease_to_json(const Lease& l) {
  nlohmann::ordered_json ports = nlohmann::ordered_json::array();
  for (const PortMapping& m : l.ports) {
    ports.push_back({{"host_ip", m.host_ip},
                     {"host_port", m.host_port},
                     {"container_port", m.container_port},
                     {"proto", proto_name(m.proto)}});
  }
  nlohmann::ordered_json j = {
      {"container", l.container}, {"hostname", l.hostname}, {"ipv4", l.ipv4.str()}};
  if (l.ipv6) j["ipv6"] = l.ipv6->str();
  j["pid"] = l.pid;
  j["start_time"] = l.start_time;
  j["host_if"] = l.host_if;
  j["ifb"] = l.ifb;
  j["ports"] = std::move(ports);
  j["files_dir"] = l.files_dir;
  return j;
}

std::string file_to_json(const LeaseFile& f) {
  nlohmann::ordered_json leases = nlohmann::ordered_json::array();
  for (const Lease& l : f.leases) leases.push_back(lease_to_json(l));
  nlohmann::ordered_json j = {{"next", f.next}, {"leases", std::move(leases)}};
  return j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<IpAddr> read_ip(const std::string& text, const std::string& at, Family family) {
  HUSK_TRY_ASSIGN(IpAddr a, reword(IpAddr::parse(text), at));
  if (a.family != family)
    return fail_quiet(EINVAL, "{}: {} is not an IPv{} address", at, a.str(),
                      family == Family::kV4 ? 4 : 6);
  return a;
}

Result<PortMapping> port_from_json(const Json& j, const std::string& at) {
  if (!j.is_object()) return fail_quiet(EINVAL, "{}: expected an object", at);
  PortMapping m;
  std::string in = at + ".";
  HUSK_TRY_ASSIGN(auto host_ip, store_io::opt_string(j, in, "host_ip"));
  m.host_ip = host_ip.value_or("");
  HUSK_TRY_ASSIGN(uint64_t host_port, store_io::req_uint(j, in, "host_port", 65535));
  HUSK_TRY_ASSIGN(uint64_t ctr_port, store_io::req_uint(j, in, "container_port", 65535));
  m.host_port = static_cast<uint16_t>(host_port);
  m.container_port = static_cast<uint16_t>(ctr_port);
  HUSK_TRY_ASSIGN(std::string proto, store_io::req_string(j, in, "proto"));
  if (proto == "tcp") {
    m.proto = Proto::kTcp;
  } else if (proto == "udp") {
    m.proto = Proto::kUdp;
  } else {
    return fail_quiet(EINVAL, "{}proto: {:?} is not tcp or udp", in, proto);
  }
  return m;
}

Result<Lease> lease_from_json(const Json& j, const std::string& at) {
  if (!j.is_object()) return fail_quiet(EINVAL, "{}: expected an object", at);
  std::string in = at + ".";
  Lease l;
  HUSK_TRY_ASSIGN(l.container, store_io::req_string(j, in, "container"));
  if (l.container.empty()) return fail_quiet(EINVAL, "{}container: empty", in);
  HUSK_TRY_ASSIGN(auto hostname, store_io::opt_string(j, in, "hostname"));
  l.hostname = hostname.value_or("");
  HUSK_TRY_ASSIGN(std::string ipv4, store_io::req_string(j, in, "ipv4"));
  HUSK_TRY_ASSIGN(l.ipv4, read_ip(ipv4, in + "ipv4", Family::kV4));
  HUSK_TRY_ASSIGN(auto ipv6, store_io::opt_string(j, in, "ipv6"));
  if (ipv6) {
    HUSK_TRY_ASSIGN(l.ipv6, read_ip(*ipv6, in + "ipv6", Family::kV6));
  }
  HUSK_TRY_ASSIGN(uint64_t pid, store_io::req_uint(j, in, "pid", INT_MAX));
  l.pid = static_cast<pid_t>(pid);
  HUSK_TRY_ASSIGN(l.start_time, store_io::req_uint(j, in, "start_time", UINT64_MAX));
  for (auto [key, out] : {std::pair{"host_if", &l.host_if}, std::pair{"ifb", &l.ifb},
                          std::pair{"files_dir", &l.files_dir}}) {
    HUSK_TRY_ASSIGN(auto s, store_io::opt_string(j, in, key));
    *out = s.value_or("");
  }
  auto ports = j.find("ports");
  if (ports != j.end() && !ports->is_null()) {
    if (!ports->is_array()) return fail_quiet(EINVAL, "{}ports: expected an array", in);
    for (size_t i = 0; i < ports->size(); ++i) {
      HUSK_TRY_ASSIGN(PortMapping m,
                      port_from_json((*ports)[i], fmt::format("{}ports[{}]", in, i)));
      l.ports.push_back(m);
    }
  }
  return l;
}

// Two leases never share a container or an address: a file where they do
// would hand an address out twice.
Result<void> check_unique(const std::vector<Lease>& leases) {
  std::unordered_map<std::string_view, size_t> containers;
  std::map<IpAddr, size_t> addrs;
  for (size_t i = 0; i < leases.size(); ++i) {
    const Lease& l = leases[i];
    auto [c, fresh] = containers.try_emplace(l.container, i);
    if (!fresh)
      return fail_quiet(EINVAL, "leases[{}] and leases[{}] are both container {:?}", c->second, i,
                        l.container);
    for (const std::optional<IpAddr>& a : {std::optional<IpAddr>(l.ipv4), l.ipv6}) {
      if (!a) continue;
      auto [it, added] = addrs.try_emplace(*a, i);
      if (!added)
        return fail_quiet(EINVAL, "leases[{}] and leases[{}] share the address {}", it->second, i,
                          a->str());
    }
  }
  return ok();
}

Result<LeaseFile> parse_lease_file(const std::string& text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return fail_quiet(EINVAL, "not valid JSON");
  if (!j.is_object()) return fail_quiet(EINVAL, "not a JSON object");
  LeaseFile f;
  HUSK_TRY_ASSIGN(f.next, store_io::req_uint(j, "", "next", uint64_t{1} << 32));
  auto leases = j.find("leases");
  if (leases == j.end() || !leases->is_array())
    return fail_quiet(EINVAL, "leases: expected an array");
  for (size_t i = 0; i < leases->size(); ++i) {
    HUSK_TRY_ASSIGN(Lease l, lease_from_json((*leases)[i], fmt::format("leases[{}]", i)));
    f.leases.push_back(std::move(l));
  }
  HUSK_TRY(check_unique(f.leases));
  return f;
}

}  // namespace

// ---------------------------------------------------------------------------
// The locked file.

namespace {

struct Paths {
  std::string leases;
  std::string lock;
};

Paths paths_of(const std::string& run_root, const Network& net) {
  return {fmt::format("{}/{}.leases", run_root, net.name),
          fmt::format("{}/{}.lock", run_root, net.name)};
}

// A missing file is a network nobody has leased on yet; a corrupt one is an
// error (never reset: its addresses could be handed out twice).
Result<LeaseFile> load(const std::string& path) {
  auto text = read_file(path);
  if (!text) {
    if (text.error().code == ENOENT) return LeaseFile{};
    return std::unexpected(std::move(text).error());
  }
  return reword(parse_lease_file(*text), fmt::format("corrupt lease file {}", path));
}

Result<void> save(const std::string& path, const LeaseFile& f) {
  HUSK_TRY(reword(check_unique(f.leases), fmt::format("write {}", path)));
  return write_file_atomic(path, file_to_json(f), 0600, Durability::kVolatile);
}

// Takes the network's lock (LOCK_EX) and loads its leases.
struct Locked {
  UniqueFd lock;
  LeaseFile file;
};

Result<Locked> open_locked(const std::string& run_root, const Paths& p) {
  HUSK_TRY(store_io::make_dirs(run_root, 0700));
  HUSK_TRY_ASSIGN(UniqueFd lock, lock_file(p.lock, LOCK_EX));
  HUSK_TRY_ASSIGN(LeaseFile file, load(p.leases));
  return Locked{std::move(lock), std::move(file)};
}

// Drops the stale leases of f after running reclaim on each; returns how many.
// Each owner's /proc/<pid>/stat is read once (8 us each on the development
// VM: most of an allocation's time on a network with hundreds of leases).
size_t reclaim_in(LeaseFile& f, const Network& net, const Ipam::Reclaim& reclaim) {
  size_t n = 0;
  std::vector<Lease> kept;
  std::unordered_map<pid_t, std::optional<uint64_t>> start_of;
  for (Lease& l : f.leases) {
    auto [it, fresh] = start_of.try_emplace(l.pid);
    if (fresh) it->second = process_start_time(l.pid);
    if (it->second && *it->second == l.start_time) {
      kept.push_back(std::move(l));
      continue;
    }
    if (reclaim) reclaim(net, l);
    ++n;
  }
  f.leases = std::move(kept);
  return n;
}

}  // namespace

// ---------------------------------------------------------------------------
// Picking addresses.

namespace {

// The indices of a subnet that may be handed out: [first, end) minus the
// gateway's (and, v4, minus the network and broadcast addresses).
struct Pool {
  const Prefix& subnet;
  uint64_t first;
  uint64_t end;
  uint64_t gateway;

  static Pool of(const Prefix& subnet, const IpAddr& gateway) {
    bool v4 = subnet.addr.family == Family::kV4;
    return Pool{subnet, v4 ? 1u : 2u, v4 ? subnet.size() - 1 : subnet.size(),
                subnet.index_of(gateway)};
  }
  bool usable(uint64_t i) const { return i >= first && i < end && i != gateway; }

  // The first usable index not in taken, from start on, wrapping once.
  std::optional<uint64_t> next_free(const std::unordered_set<uint64_t>& taken,
                                    uint64_t start) const {
    if (end <= first) return std::nullopt;
    uint64_t span = end - first;
    if (start < first || start >= end) start = first;
    for (uint64_t k = 0; k < span; ++k) {
      uint64_t i = first + (start - first + k) % span;
      if (i != gateway && !taken.contains(i)) return i;
    }
    return std::nullopt;
  }
};

std::unordered_set<uint64_t> taken_in(const Prefix& subnet, const std::vector<Lease>& leases,
                                      bool v6) {
  std::unordered_set<uint64_t> taken;
  for (const Lease& l : leases) {
    const std::optional<IpAddr> a = v6 ? l.ipv6 : std::optional<IpAddr>(l.ipv4);
    if (a && subnet.contains(*a)) taken.insert(subnet.index_of(*a));
  }
  return taken;
}

// --ip: a host of the subnet that nobody holds.
Result<uint64_t> check_wanted(const Network& net, const std::vector<Lease>& leases,
                              const IpAddr& want) {
  const Prefix& s = net.subnet4;
  if (!s.contains(want))
    return fail_quiet(EINVAL, "address {} is not in network {:?}'s subnet {}", want.str(), net.name,
                      s.str());
  if (want == net.gateway4)
    return fail_quiet(EINVAL, "address {} is the gateway of network {:?}", want.str(), net.name);
  uint64_t i = s.index_of(want);
  if (i == 0 || i == s.size() - 1)
    return fail_quiet(EINVAL, "address {} is the {} address of {}", want.str(),
                      i == 0 ? "network" : "broadcast", s.str());
  for (const Lease& l : leases) {
    if (l.ipv4 == want)
      return fail_quiet(EADDRINUSE, "address {} is in use by container {:?}", want.str(),
                        l.container);
  }
  return i;
}

// The v6 address: the v4 address's index when free (10.89.0.5 <-> ...::5),
// else the first free one.
Result<IpAddr> pick_v6(const Network& net, const std::vector<Lease>& leases, uint64_t v4_index) {
  Pool pool = Pool::of(*net.subnet6, *net.gateway6);
  auto taken = taken_in(*net.subnet6, leases, true);
  std::optional<uint64_t> i;
  if (pool.usable(v4_index) && !taken.contains(v4_index)) {
    i = v4_index;
  } else {
    i = pool.next_free(taken, pool.first);
  }
  if (!i)
    return fail_quiet(EADDRNOTAVAIL, "network {:?}: no free address in {}", net.name,
                      net.subnet6->str());
  return net.subnet6->host(*i);
}

}  // namespace

// ---------------------------------------------------------------------------
// Ipam

Ipam::Ipam(std::string run_root, Network net, Reclaim reclaim)
    : run_root_(std::move(run_root)), net_(std::move(net)), reclaim_(std::move(reclaim)) {}

Result<Lease> Ipam::allocate(Lease lease, const std::optional<IpAddr>& want) {
  if (lease.container.empty()) return fail_quiet(EINVAL, "a lease needs a container id");
  Paths p = paths_of(run_root_, net_);
  HUSK_TRY_ASSIGN(Locked locked, open_locked(run_root_, p));
  LeaseFile& f = locked.file;
  if (reclaim_in(f, net_, reclaim_) > 0) HUSK_TRY(save(p.leases, f));
  for (const Lease& l : f.leases) {
    if (l.container == lease.container)
      return fail_quiet(EEXIST, "container {:?} already has an address on network {:?}",
                        lease.container, net_.name);
  }
  uint64_t index = 0;
  if (want) {
    HUSK_TRY_ASSIGN(index, check_wanted(net_, f.leases, *want));
  } else {
    Pool pool = Pool::of(net_.subnet4, net_.gateway4);
    auto i = pool.next_free(taken_in(net_.subnet4, f.leases, false), f.next);
    if (!i)
      return fail_quiet(EADDRNOTAVAIL, "network {:?}: no free address in {}", net_.name,
                        net_.subnet4.str());
    index = *i;
    f.next = index + 1;
  }
  lease.ipv4 = net_.subnet4.host(index);
  lease.ipv6.reset();
  if (net_.subnet6 && net_.gateway6) {
    HUSK_TRY_ASSIGN(lease.ipv6, pick_v6(net_, f.leases, index));
  }
  f.leases.push_back(lease);
  HUSK_TRY(save(p.leases, f));
  return lease;
}

Result<void> Ipam::update(const Lease& lease) {
  Paths p = paths_of(run_root_, net_);
  HUSK_TRY_ASSIGN(Locked locked, open_locked(run_root_, p));
  for (Lease& l : locked.file.leases) {
    if (l.container != lease.container) continue;
    Lease updated = lease;
    updated.ipv4 = l.ipv4;  // addresses change only through allocate/release
    updated.ipv6 = l.ipv6;
    l = std::move(updated);
    return save(p.leases, locked.file);
  }
  return fail_quiet(ENOENT, "container {:?} has no address on network {:?}", lease.container,
                    net_.name);
}

Result<void> Ipam::release(const std::string& container) {
  Paths p = paths_of(run_root_, net_);
  HUSK_TRY_ASSIGN(Locked locked, open_locked(run_root_, p));
  auto& leases = locked.file.leases;
  size_t before = leases.size();
  std::erase_if(leases, [&](const Lease& l) { return l.container == container; });
  if (leases.size() == before) return ok();
  return save(p.leases, locked.file);
}

Result<std::vector<Lease>> Ipam::leases() const {
  Paths p = paths_of(run_root_, net_);
  if (::access(run_root_.c_str(), F_OK) < 0 && errno == ENOENT) return std::vector<Lease>();
  HUSK_TRY_ASSIGN(UniqueFd lock, lock_file(p.lock, LOCK_SH));
  HUSK_TRY_ASSIGN(LeaseFile f, load(p.leases));
  return std::move(f.leases);
}

Result<size_t> Ipam::reclaim_stale() {
  Paths p = paths_of(run_root_, net_);
  HUSK_TRY_ASSIGN(Locked locked, open_locked(run_root_, p));
  size_t n = reclaim_in(locked.file, net_, reclaim_);
  if (n > 0) HUSK_TRY(save(p.leases, locked.file));
  return n;
}

Result<void> Ipam::with_lock(const std::function<Result<void>(std::vector<Lease>&)>& f) {
  Paths p = paths_of(run_root_, net_);
  HUSK_TRY_ASSIGN(Locked locked, open_locked(run_root_, p));
  std::string before = file_to_json(locked.file);
  HUSK_TRY(f(locked.file.leases));
  if (file_to_json(locked.file) == before) return ok();
  return save(p.leases, locked.file);
}

}  // namespace husk::net
