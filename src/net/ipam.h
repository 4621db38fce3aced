// Address leases, one small file per network under kNetRunRoot, locked with
// flock: <run>/<network>.leases (JSON: {"next": N, "leases": [...]}, 0600,
// replaced atomically) and <run>/<network>.lock. A corrupt lease file is an
// error naming it, never reset (its addresses could be handed out twice).
//
// A lease names its container and the process that keeps the container's
// network alive (pid + its start time from /proc/<pid>/stat): first the
// `husk` process setting it up, then the container's init. A lease whose
// process is gone (or whose pid was reused: another start time) is stale.
// Every allocation on the network first reclaims stale leases, through the
// caller's undo (Ipam::Reclaim: veth, ifb, firewall rules, files), so kill -9
// of `husk` leaks nothing for long; `husk network prune` does the same.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "net/addr.h"
#include "net/network.h"
#include "net/ports.h"

namespace husk::net {

struct Lease {
  std::string container;          // the container id (also its name on the network)
  std::string hostname;
  IpAddr ipv4;
  std::optional<IpAddr> ipv6;
  pid_t pid = 0;                  // the owner process
  uint64_t start_time = 0;        // its start time (field 22 of /proc/<pid>/stat)
  std::string host_if;            // the host end of the veth pair
  std::string ifb;                // the ifb device for --egress-rate, if any
  std::vector<PortMapping> ports; // published ports (host ports resolved)
  std::string files_dir;          // per-container resolv.conf/hosts/hostname
};

// Start time of pid (field 22 of /proc/<pid>/stat), or nullopt if gone, a
// zombie (it has left its namespaces already) or pid <= 0.
std::optional<uint64_t> process_start_time(pid_t pid);
// A lease is live while its owner process exists with the same start time.
bool lease_is_live(const Lease& l);

class Ipam {
 public:
  // Undo for a stale lease, run with the network's lock held.
  using Reclaim = std::function<void(const Network&, const Lease&)>;

  // run_root: kNetRunRoot (tests may move it).
  Ipam(std::string run_root, Network net, Reclaim reclaim);

  // Takes the network's lock, reclaims stale leases, then picks
  // `want` (--ip, IPv4; must be inside the subnet, not the gateway, not
  // taken) or the next free address after the last one given (host-local's
  // order, wrapping once), skipping network, gateway and broadcast. Also an
  // IPv6 address when the network has a v6 subnet: the v4 address's host
  // index when free (10.89.0.5 -> ...::5), else the first free from ::2.
  // Fills lease.ipv4/ipv6 and records it.
  // Errors: `network "x": no free address in 10.89.0.0/16`, `address
  // 10.89.0.9 is in use by container "c"`, `container "c" already has an
  // address on network "x"`.
  Result<Lease> allocate(Lease lease, const std::optional<IpAddr>& want);
  // Rewrites the lease of lease.container (owner pid, host_if, ports...);
  // its addresses stay as allocated. Error: `container "c" has no address on
  // network "x"`.
  Result<void> update(const Lease& lease);
  // Drops the lease of a container (no error if it has none).
  Result<void> release(const std::string& container);
  // All leases (stale ones too) without changing anything.
  Result<std::vector<Lease>> leases() const;
  // Reclaims every stale lease now (prune); returns how many.
  Result<size_t> reclaim_stale();
  // Runs f with the network's lock held and the current leases (for work
  // that must not race an allocation, e.g. rewriting peers' hosts files).
  Result<void> with_lock(const std::function<Result<void>(std::vector<Lease>&)>& f);

  const Network& network() const { return net_; }

 private:
  std::string run_root_;
  Network net_;
  Reclaim reclaim_;
};

}  // namespace husk::net
