#include "net/network.h"

#include <dirent.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/random.h"
#include "base/time.h"
#include "net/store_io.h"

namespace husk::net {
namespace {

using store_io::Json;
using store_io::reword;

constexpr size_t kMaxNameLen = 64;
constexpr size_t kIfNameMax = 15;  // IFNAMSIZ - 1
constexpr const char* kBridgePrefix = "husk-";
// The default network was not created by anyone: inspect shows the epoch.
constexpr const char* kDefaultCreated = "1970-01-01T00:00:00Z";

// Names create() refuses: the default network's and --net's other modes.
bool is_reserved(std::string_view name) {
  return name == kDefaultNetwork || name == "host" || name == "none";
}

bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

// What the kernel takes as a device name (dev_valid_name), minus the
// unprintable: 1-15 bytes, not "." or "..", no '/', ':' or whitespace.
bool valid_ifname(std::string_view s) {
  if (s.empty() || s.size() > kIfNameMax || s == "." || s == "..") return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u != 0x7f && c != '/' && c != ':';
  });
}

bool is_lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The rules every network's v4 subnet and gateway follow, whoever wrote them.
Result<void> check_subnet4(const Prefix& p) {
  if (p.addr.family != Family::kV4) return fail_quiet(EINVAL, "{} is not an IPv4 subnet", p.str());
  if (p.len > 30)
    return fail_quiet(EINVAL, "{} is too small: a network needs at least a /30", p.str());
  return ok();
}

Result<void> check_subnet6(const Prefix& p) {
  if (p.addr.family != Family::kV6) return fail_quiet(EINVAL, "{} is not an IPv6 subnet", p.str());
  if (p.len > 124)
    return fail_quiet(EINVAL, "{} is too small: a network needs at least a /124", p.str());
  return ok();
}

// A gateway is a host of its subnet: not the network address, nor (v4) the
// broadcast address.
Result<void> check_gateway(const Prefix& subnet, const IpAddr& gw) {
  if (!subnet.contains(gw))
    return fail_quiet(EINVAL, "{} is outside the subnet {}", gw.str(), subnet.str());
  uint64_t i = subnet.index_of(gw);
  if (i == 0) return fail_quiet(EINVAL, "{} is the network address of {}", gw.str(), subnet.str());
  if (gw.family == Family::kV4 && i == subnet.size() - 1)
    return fail_quiet(EINVAL, "{} is the broadcast address of {}", gw.str(), subnet.str());
  return ok();
}

Result<Prefix> parse_prefix(const std::string& text) { return reword(Prefix::parse(text), ""); }
Result<IpAddr> parse_ip(const std::string& text) { return reword(IpAddr::parse(text), ""); }

// One field of a network file: `<file>: field "subnet": <why>`.
template <class T>
Result<T> field(Result<T> r, const std::string& what, const char* name) {
  return reword(std::move(r), fmt::format("{}: field \"{}\"", what, name));
}

Result<std::string> file_string(const Json& j, const std::string& what, const char* key) {
  return reword(store_io::req_string(j, "", key), what);
}

Result<void> read_addresses(const Json& j, const std::string& what, Network& n) {
  HUSK_TRY_ASSIGN(std::string subnet, file_string(j, what, "subnet"));
  HUSK_TRY_ASSIGN(n.subnet4, field(parse_prefix(subnet), what, "subnet"));
  HUSK_TRY(field(check_subnet4(n.subnet4), what, "subnet"));
  HUSK_TRY_ASSIGN(std::string gateway, file_string(j, what, "gateway"));
  HUSK_TRY_ASSIGN(n.gateway4, field(parse_ip(gateway), what, "gateway"));
  HUSK_TRY(field(check_gateway(n.subnet4, n.gateway4), what, "gateway"));
  HUSK_TRY_ASSIGN(auto subnet6, reword(store_io::opt_string(j, "", "subnet6"), what));
  HUSK_TRY_ASSIGN(auto gateway6, reword(store_io::opt_string(j, "", "gateway6"), what));
  if (subnet6.has_value() != gateway6.has_value())
    return fail_quiet(EINVAL, "{}: fields \"subnet6\" and \"gateway6\" go together", what);
  if (!subnet6) return ok();
  HUSK_TRY_ASSIGN(n.subnet6, field(parse_prefix(*subnet6), what, "subnet6"));
  HUSK_TRY(field(check_subnet6(*n.subnet6), what, "subnet6"));
  HUSK_TRY_ASSIGN(n.gateway6, field(parse_ip(*gateway6), what, "gateway6"));
  HUSK_TRY(field(check_gateway(*n.subnet6, *n.gateway6), what, "gateway6"));
  return ok();
}

}  // namespace

Result<void> validate_network_name(const std::string& name) {
  if (name.empty()) return fail_quiet(EINVAL, "a network name cannot be empty");
  if (name.size() > kMaxNameLen)
    return fail_quiet(EINVAL, "network name {:?} is longer than {} characters", name, kMaxNameLen);
  if (!std::isalnum(static_cast<unsigned char>(name[0])) ||
      !std::all_of(name.begin(), name.end(), name_char))
    return fail_quiet(EINVAL, "invalid network name {:?}: use [a-zA-Z0-9][a-zA-Z0-9_.-]*", name);
  return ok();
}

std::string to_json(const Network& n) {
  nlohmann::ordered_json j = {{"name", n.name},
                              {"id", n.id},
                              {"driver", "bridge"},
                              {"bridge", n.bridge},
                              {"subnet", n.subnet4.str()},
                              {"gateway", n.gateway4.str()}};
  if (n.subnet6) j["subnet6"] = n.subnet6->str();
  if (n.gateway6) j["gateway6"] = n.gateway6->str();
  j["internal"] = n.internal;
  j["created"] = n.created;
  // replace: a name read from a hand-edited file may hold invalid UTF-8.
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<Network> network_from_json(const std::string& text, const std::string& what) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return fail_quiet(EINVAL, "{}: not valid JSON", what);
  if (!j.is_object()) return fail_quiet(EINVAL, "{}: not a JSON object", what);
  Network n;
  HUSK_TRY_ASSIGN(n.name, file_string(j, what, "name"));
  HUSK_TRY(field(validate_network_name(n.name), what, "name"));
  HUSK_TRY_ASSIGN(n.id, file_string(j, what, "id"));
  if (n.id.size() != 64 || !is_lower_hex(n.id))
    return fail_quiet(EINVAL, "{}: field \"id\": {:?} is not 64 hex digits", what, n.id);
  HUSK_TRY_ASSIGN(n.bridge, file_string(j, what, "bridge"));
  if (!valid_ifname(n.bridge))
    return fail_quiet(EINVAL,
                      "{}: field \"bridge\": {:?} is not an interface name (1-15 characters, no "
                      "'/', ':' or whitespace, not \".\" or \"..\")",
                      what, n.bridge);
  HUSK_TRY(read_addresses(j, what, n));
  HUSK_TRY_ASSIGN(n.internal, reword(store_io::opt_bool(j, "", "internal", false), what));
  HUSK_TRY_ASSIGN(auto created, reword(store_io::opt_string(j, "", "created"), what));
  n.created = created.value_or("");
  HUSK_TRY_ASSIGN(auto driver, reword(store_io::opt_string(j, "", "driver"), what));
  if (driver && *driver != "bridge")
    return fail_quiet(EINVAL, "{}: field \"driver\": {:?} is not \"bridge\"", what, *driver);
  return n;
}

std::string bridge_name_for(const std::string& network_name) {
  bool clean =
      !network_name.empty() && std::all_of(network_name.begin(), network_name.end(), name_char);
  std::string plain = kBridgePrefix + network_name;
  if (clean && plain.size() <= kIfNameMax) return plain;
  // husk- (5) + up to 6 characters of the name + 4 hex digits = at most 15.
  std::string head;
  for (char c : network_name) {
    if (head.size() == 6) break;
    if (name_char(c)) head += c;
  }
  uint32_t h = store_io::fnv1a32(network_name);
  return fmt::format("{}{}{:04x}", kBridgePrefix, head, (h >> 16) ^ (h & 0xffff));
}

Network default_network() {
  Network n;
  n.name = kDefaultNetwork;
  n.bridge = kDefaultBridge;
  n.subnet4 = *Prefix::parse(kDefaultSubnet);
  n.gateway4 = n.subnet4.host(1);
  n.created = kDefaultCreated;
  // Stable across runs and hosts, as docker's is per daemon: 4 independent
  // 64-bit hashes of the name.
  uint64_t seed = 0xcbf29ce484222325ULL;
  for (int i = 0; i < 4; ++i) {
    seed = store_io::fnv1a64(n.name, seed ^ (0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(i + 1)));
    n.id += fmt::format("{:016x}", seed);
  }
  return n;
}

// ---------------------------------------------------------------------------
// The store.

namespace {

constexpr const char* kSuffix = ".json";
constexpr const char* kLockName = ".lock";

std::unexpected<Error> not_found(const std::string& name_or_id) {
  return fail_quiet(ENOENT, "network {:?} not found", name_or_id);
}

// The network stored under `name`, nullopt when there is none.
Result<std::optional<Network>> load_named(const std::string& dir, const std::string& name) {
  std::string path = fmt::format("{}/{}{}", dir, name, kSuffix);
  auto text = read_file(path);
  if (!text) {
    if (text.error().code == ENOENT) return std::optional<Network>();
    return std::unexpected(std::move(text).error());
  }
  HUSK_TRY_ASSIGN(Network n, network_from_json(*text, path));
  if (is_reserved(n.name))
    return fail_quiet(EINVAL, "{}: field \"name\": network name {:?} is reserved", path, n.name);
  if (n.name != name)
    return fail_quiet(EINVAL, "{}: field \"name\": {:?} is not the file's name {:?}", path, n.name,
                      name);
  return std::optional<Network>(std::move(n));
}

// Every stored network, by name. A file that is not a network is an error:
// create() must see every subnet in use.
Result<std::vector<Network>> load_all(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return std::vector<Network>();
    return fail_errno("open {}", dir);
  }
  while (dirent* e = ::readdir(d)) {
    std::string_view file = e->d_name;
    if (file.starts_with('.') || !file.ends_with(kSuffix)) continue;
    names.emplace_back(file.substr(0, file.size() - std::string_view(kSuffix).size()));
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  std::vector<Network> out;
  for (const std::string& name : names) {
    std::string path = fmt::format("{}/{}{}", dir, name, kSuffix);
    HUSK_TRY(reword(validate_network_name(name), path));
    HUSK_TRY_ASSIGN(auto n, load_named(dir, name));
    if (n) out.push_back(std::move(*n));  // (removed since readdir)
  }
  return out;
}

}  // namespace

NetworkStore::NetworkStore(std::string root) : dir_(std::move(root) + "/networks") {}

std::string NetworkStore::default_root() {
  const char* root = std::getenv("HUSK_ROOT");
  return root != nullptr && *root != '\0' ? root : kPersistentRoot;
}

Result<std::vector<Network>> NetworkStore::list() const {
  HUSK_TRY_ASSIGN(std::vector<Network> named, load_all(dir_));
  std::vector<Network> out{default_network()};
  for (Network& n : named) out.push_back(std::move(n));
  return out;
}

Result<Network> NetworkStore::get(const std::string& name_or_id) const {
  if (name_or_id == kDefaultNetwork) return default_network();
  if (validate_network_name(name_or_id)) {
    HUSK_TRY_ASSIGN(auto n, load_named(dir_, name_or_id));
    if (n) return std::move(*n);
  }
  // An id, or a unique prefix of one (3 hex digits at least, as short ids go).
  if (name_or_id.size() < 3 || name_or_id.size() > 64 || !is_lower_hex(name_or_id))
    return not_found(name_or_id);
  HUSK_TRY_ASSIGN(std::vector<Network> all, list());
  std::vector<Network*> hits;
  for (Network& n : all) {
    if (n.id == name_or_id) return std::move(n);
    if (n.id.starts_with(name_or_id)) hits.push_back(&n);
  }
  if (hits.empty()) return not_found(name_or_id);
  if (hits.size() > 1)
    return fail_quiet(EINVAL, "network id prefix {:?} is ambiguous: networks {:?} and {:?}",
                      name_or_id, hits[0]->name, hits[1]->name);
  return std::move(*hits[0]);
}

Result<void> NetworkStore::remove(const std::string& name) {
  if (name == kDefaultNetwork)
    return fail_quiet(EPERM, "network {:?} is built in and cannot be removed", name);
  if (!validate_network_name(name)) return not_found(name);
  auto lock = lock_file(dir_ + "/" + kLockName, LOCK_EX);
  if (!lock && lock.error().code == ENOENT) return not_found(name);  // no store yet
  if (!lock) return std::unexpected(std::move(lock).error());
  std::string path = fmt::format("{}/{}{}", dir_, name, kSuffix);
  if (::unlink(path.c_str()) < 0) {
    if (errno == ENOENT) return not_found(name);
    return fail_errno("remove {}", path);
  }
  return ok();
}

// ---------------------------------------------------------------------------
// create()

namespace {

// What the request asks for, parsed and checked on its own (no store yet).
struct Draft {
  std::optional<Prefix> subnet4;
  std::optional<IpAddr> gateway4;
  std::optional<Prefix> subnet6;
  std::optional<IpAddr> gateway6;
};

Result<void> add_subnet(Draft& d, const std::string& text, bool ipv6) {
  HUSK_TRY_ASSIGN(Prefix p, reword(Prefix::parse(text), "--subnet"));
  std::string flag = fmt::format("--subnet {}", p.str());
  if (p.addr.family == Family::kV4) {
    if (d.subnet4) return fail_quiet(EINVAL, "{}: a network has one IPv4 subnet", flag);
    HUSK_TRY(reword(check_subnet4(p), flag));
    d.subnet4 = p;
    return ok();
  }
  if (!ipv6) return fail_quiet(EINVAL, "{}: an IPv6 subnet needs --ipv6", flag);
  if (d.subnet6) return fail_quiet(EINVAL, "{}: a network has one IPv6 subnet", flag);
  HUSK_TRY(reword(check_subnet6(p), flag));
  d.subnet6 = p;
  return ok();
}

// A gateway goes with the subnet of its family, whichever flag it came in.
Result<void> add_gateway(Draft& d, const std::string& text) {
  HUSK_TRY_ASSIGN(IpAddr a, reword(IpAddr::parse(text), "--gateway"));
  bool v4 = a.family == Family::kV4;
  std::optional<IpAddr>& slot = v4 ? d.gateway4 : d.gateway6;
  if (slot)
    return fail_quiet(EINVAL, "--gateway {}: a network has one IPv{} gateway", a.str(), v4 ? 4 : 6);
  const std::optional<Prefix>& subnet = v4 ? d.subnet4 : d.subnet6;
  if (!subnet)
    return fail_quiet(EINVAL, "--gateway {} needs an IPv{} --subnet", a.str(), v4 ? 4 : 6);
  HUSK_TRY(reword(check_gateway(*subnet, a), "--gateway"));
  slot = a;
  return ok();
}

Result<Draft> read_request(const CreateRequest& req) {
  Draft d;
  if (req.subnet) HUSK_TRY(add_subnet(d, *req.subnet, req.ipv6));
  for (const std::string& s : req.subnets6) HUSK_TRY(add_subnet(d, s, req.ipv6));
  if (req.gateway) HUSK_TRY(add_gateway(d, *req.gateway));
  if (req.gateway6) HUSK_TRY(add_gateway(d, *req.gateway6));
  return d;
}

// A subnet nobody uses: no other network's, and no host route's (the default
// route, a /0, is no clash: every subnet is inside it).
Result<void> check_free(const Prefix& p, const std::vector<Network>& nets,
                        const std::vector<Prefix>& routes) {
  for (const Network& n : nets) {
    const std::optional<Prefix> other =
        p.addr.family == Family::kV4 ? std::optional<Prefix>(n.subnet4) : n.subnet6;
    if (other && p.overlaps(*other))
      return fail_quiet(EEXIST, "subnet {} overlaps network {:?} ({})", p.str(), n.name,
                        other->str());
  }
  for (const Prefix& r : routes) {
    if (r.len != 0 && p.overlaps(r))
      return fail_quiet(EEXIST, "subnet {} overlaps the host route {}", p.str(), r.str());
  }
  return ok();
}

// The first free /24 of 10.90.0.0 - 10.255.255.0 (10.89/16 is the default's).
Result<Prefix> pick_subnet4(const std::vector<Network>& nets, const std::vector<Prefix>& routes) {
  Prefix p{IpAddr{}, 24};
  p.addr.bytes[0] = 10;
  for (int b = 90; b <= 255; ++b) {
    for (int c = 0; c <= 255; ++c) {
      p.addr.bytes[1] = static_cast<uint8_t>(b);
      p.addr.bytes[2] = static_cast<uint8_t>(c);
      if (check_free(p, nets, routes)) return p;
    }
  }
  return fail_quiet(EEXIST,
                    "no free subnet left in 10.90.0.0-10.255.255.0/24: give one with --subnet");
}

// A unique local /64 (RFC 4193): fd + a random 40-bit global id + subnet 1.
Result<Prefix> pick_ula(const std::vector<Network>& nets, const std::vector<Prefix>& routes) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    Prefix p{IpAddr{Family::kV6, {}}, 64};
    p.addr.bytes[0] = 0xfd;
    HUSK_TRY(random_bytes(&p.addr.bytes[1], 5));
    p.addr.bytes[7] = 1;
    if (check_free(p, nets, routes)) return p;
  }
  return fail_quiet(EEXIST, "no free IPv6 subnet found: give one with --subnet");
}

// The new network's addresses and bridge, against every other network.
Result<void> place(Network& n, const Draft& d, bool ipv6, const std::vector<Network>& all,
                   const std::vector<Prefix>& routes) {
  if (d.subnet4) {
    HUSK_TRY(check_free(*d.subnet4, all, routes));
    n.subnet4 = *d.subnet4;
  } else {
    HUSK_TRY_ASSIGN(n.subnet4, pick_subnet4(all, routes));
  }
  n.gateway4 = d.gateway4.value_or(n.subnet4.host(1));
  if (ipv6) {
    if (d.subnet6) {
      HUSK_TRY(check_free(*d.subnet6, all, routes));
      n.subnet6 = *d.subnet6;
    } else {
      HUSK_TRY_ASSIGN(n.subnet6, pick_ula(all, routes));
    }
    n.gateway6 = d.gateway6.value_or(n.subnet6->host(1));
  }
  n.bridge = bridge_name_for(n.name);
  for (const Network& other : all) {
    if (other.bridge == n.bridge)
      return fail_quiet(EEXIST, "network {:?}: its bridge name {} is taken by network {:?}", n.name,
                        n.bridge, other.name);
  }
  return ok();
}

}  // namespace

Result<Network> NetworkStore::create(const CreateRequest& req,
                                     const std::vector<Prefix>& host_routes) {
  HUSK_TRY(validate_network_name(req.name));
  if (req.name == kDefaultNetwork)
    return fail_quiet(EEXIST, "network {:?} already exists (it is built in)", req.name);
  if (is_reserved(req.name))
    return fail_quiet(EINVAL, "network name {:?} is reserved (--net {} is not a bridge)", req.name,
                      req.name);
  HUSK_TRY_ASSIGN(Draft d, read_request(req));

  // The lock makes check + write one step against a concurrent create.
  HUSK_TRY(store_io::make_dirs(dir_, 0755));
  HUSK_TRY_ASSIGN(UniqueFd lock, lock_file(dir_ + "/" + kLockName, LOCK_EX));
  HUSK_TRY_ASSIGN(auto existing, load_named(dir_, req.name));
  if (existing) return fail_quiet(EEXIST, "network {:?} already exists", req.name);
  HUSK_TRY_ASSIGN(std::vector<Network> all, list());

  Network n;
  n.name = req.name;
  n.internal = req.internal;
  HUSK_TRY(place(n, d, req.ipv6, all, host_routes));
  HUSK_TRY_ASSIGN(n.id, store_io::random_hex(32));
  n.created = now_rfc3339();
  std::string path = fmt::format("{}/{}{}", dir_, n.name, kSuffix);
  HUSK_TRY(write_file_atomic(path, to_json(n) + "\n", 0644));
  return n;
}

}  // namespace husk::net
