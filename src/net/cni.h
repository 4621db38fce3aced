// CNI: `husk run --net cni:NAME` runs /etc/cni/net.d/NAME.conflist (also
// NAME.conf / a conflist whose "name" is NAME) with the plugins found in
// CNI_PATH (default /usr/lib/cni:/opt/cni/bin), per the CNI spec 1.0:
// ADD in order with prevResult chained, DEL in reverse with the cached
// result, CHECK; env CNI_COMMAND/CONTAINERID/NETNS/IFNAME/ARGS/PATH, the
// network config on stdin with name, cniVersion, prevResult and
// runtimeConfig (portMappings, bandwidth, ips). Results are cached under
// <run>/cni/<network>-<container>.json for DEL and CHECK.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "net/ports.h"

namespace husk::net::cni {

inline constexpr const char* kConfDir = "/etc/cni/net.d";
inline constexpr const char* kDefaultPath = "/usr/lib/cni:/opt/cni/bin";

struct Bandwidth {  // the bandwidth plugin's runtimeConfig, bits/s and bits
  uint64_t ingress_rate = 0, ingress_burst = 0, egress_rate = 0, egress_burst = 0;
};

struct Request {
  std::string network;       // NAME of cni:NAME
  std::string container_id;
  std::string netns_path;    // e.g. /proc/<pid>/ns/net
  std::string ifname = "eth0";
  std::vector<PortMapping> ports;
  std::optional<Bandwidth> bandwidth;
  std::vector<std::string> ips;  // --ip: runtimeConfig "ips" (with or without /len)
  std::string conf_dir = kConfDir;
  std::string cni_path;      // empty: $CNI_PATH, else kDefaultPath
  std::string cache_dir;     // where results are kept
};

struct AddResult {  // the parts of a CNI result husk uses
  std::vector<std::string> ips;  // "10.22.0.5/16"
  std::string json;              // the whole result
};

// Errors in one line: `cni "x": plugin "bridge" not found in /usr/lib/cni`,
// `cni "x": bridge: failed to ... (code 11)` from the plugin's error JSON,
// `cni "x": /etc/cni/net.d/x.conflist: plugins[1]: no "type"`.
//
// add: every plugin is looked up before the first runs. The cache is written
// before the first ADD (config list, runtime values, netns) and again with
// the result; if plugin k fails, DEL runs for k..0 (best effort), the cache
// is removed and the error returned. A port with host_port 0 is an error.
Result<AddResult> add(const Request& r);
// del: the config list, runtime values and ifname of the cache (else the
// config file and the request's), plugins in reverse, the cached result as
// prevResult (cniVersion >= 0.4.0). CNI_NETNS is empty when the netns is gone
// or is not the one ADD saw (inode differs: a reused pid). Every plugin is
// called; their errors are joined with "; ". The cache is removed at the end.
Result<void> del(const Request& r);
// check: needs the cache and cniVersion >= 0.4.0; skipped for disableCheck.
Result<void> check(const Request& r);
// Call these while nothing else reaps with waitpid(-1): each plugin is
// waited for by its pid.

}  // namespace husk::net::cni
