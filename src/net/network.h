// Networks: the bridges `husk run --net NAME` attaches to, and their store.
//
// The default network "bridge" (bridge husk0, 10.89.0.0/16, gateway
// 10.89.0.1) exists without being created. Named networks are JSON files
// under <root>/networks/<name>.json (root: HUSK_ROOT, default /var/lib/husk):
// they outlive reboots, like docker's. Pure apart from the store's file I/O.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "net/addr.h"

namespace husk::net {

inline constexpr const char* kDefaultNetwork = "bridge";
inline constexpr const char* kDefaultBridge = "husk0";
inline constexpr const char* kDefaultSubnet = "10.89.0.0/16";
inline constexpr const char* kPersistentRoot = "/var/lib/husk";
// Volatile network state (leases, per-container files): lost on reboot with
// the containers it describes.
inline constexpr const char* kNetRunRoot = "/run/husk-net";

struct Network {
  std::string name;
  std::string bridge;           // the host's bridge device (IFNAMSIZ-safe)
  Prefix subnet4;
  IpAddr gateway4;              // on the bridge
  std::optional<Prefix> subnet6;  // --ipv6: a ULA /64 unless given
  std::optional<IpAddr> gateway6;
  bool internal = false;        // --internal: no NAT out, no route out
  std::string created;          // RFC 3339
  std::string id;               // 64 hex, as docker prints it
};

// The network JSON as stored and as `network inspect` prints it.
std::string to_json(const Network& n);
// Parses what to_json wrote; `what` names the file in errors.
Result<Network> network_from_json(const std::string& text, const std::string& what);

// The bridge device name for a network name: "husk-NAME" when it fits in 15
// characters, else "husk-" + a prefix of the name + a short hash.
std::string bridge_name_for(const std::string& network_name);

// docker's rule for a network name: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 64
// characters (so "cni:NAME" is never one). Reserved names pass: create()
// refuses them.
Result<void> validate_network_name(const std::string& name);

// The built-in default network ("bridge" on husk0, 10.89.0.0/16), with an id
// derived from its name (the same on every host and run).
Network default_network();

struct CreateRequest {
  std::string name;
  std::optional<std::string> subnet;    // --subnet CIDR (v4, or v6 with --ipv6)
  std::optional<std::string> gateway;   // --gateway IP
  std::vector<std::string> subnets6;    // --subnet given with a v6 CIDR
  std::optional<std::string> gateway6;
  bool ipv6 = false;
  bool internal = false;
};

class NetworkStore {
 public:
  // root: the persistent root (HUSK_ROOT or kPersistentRoot).
  explicit NetworkStore(std::string root);
  static std::string default_root();  // $HUSK_ROOT, else kPersistentRoot

  // The default network first, then the named ones by name.
  Result<std::vector<Network>> list() const;
  // By name, by full id or by a unique id prefix; "bridge" is the default.
  // Error: `network "x" not found`.
  Result<Network> get(const std::string& name_or_id) const;
  // Checks the name ([a-zA-Z0-9][a-zA-Z0-9_.-]*; "bridge", "host" and
  // "none" are taken), picks the first free /24 of 10.90.0.0/24 ...
  // 10.255.255.0/24 when no v4 subnet is given (avoiding every other
  // network's subnet and the host's routes, given as taken; a /0 default
  // route is no clash), a random ULA /64 for --ipv6 without a v6 subnet,
  // gateways at host 1 unless given, and writes the file atomically under
  // <root>/networks/.lock. Errors: the name taken, subnet overlaps network
  // "y" / a host route, gateway outside the subnet, a v6 subnet without
  // --ipv6.
  Result<Network> create(const CreateRequest& req, const std::vector<Prefix>& host_routes);
  // Removes the file; the default network cannot be removed.
  Result<void> remove(const std::string& name);

 private:
  std::string dir_;  // <root>/networks
};

}  // namespace husk::net
