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
  std::string conf_dir = kConfDir;
  std::string cni_path;      // empty: $CNI_PATH, else kDefaultPath
  std::string cache_dir;     // where results are kept
};

struct AddResult {  // the parts of a CNI result husk uses
  std::vector<std::string> ips;  // "10.22.0.5/16"
  std::string json;              // the whole result
};

// Errors in one line: `cni "x": plugin "bridge" not found in /usr/lib/cni`,
// `cni "x": bridge: failed to ... (code 11)` from the plugin's error JSON.
Result<AddResult> add(const Request& r);
Result<void> del(const Request& r);  // tolerant of a missing cache or netns
Result<void> check(const Request& r);

}  // namespace husk::net::cni
