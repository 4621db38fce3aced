// Attaching a container to a network, as `husk run` does, in three steps
// around the runtime's create (docs/networking.md has the whole model):
//
//   prepare()  before create: the network is looked up, an address leased
//              (owned by this process), host ports chosen and checked, and
//              the container's resolv.conf, hosts and hostname written.
//   plumb(pid) once the init waits in its namespaces (CreateOptions::on_ready):
//              bridge, firewall, veth pair, addresses, routes, tc; the lease
//              passes to the init's pid.
//   teardown() after the container exits, or on any failure (the
//              destructor): each step undone, idempotent. After kill -9 of
//              husk, reclaim() does the same for the stale lease.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "net/addr.h"
#include "net/cni.h"
#include "net/dns.h"
#include "net/ipam.h"
#include "net/network.h"
#include "net/ports.h"

namespace husk::net {

struct Shaping {
  uint64_t rate = 0;   // bytes/s
  uint64_t burst = 0;  // bytes; 0: rate / 100 (10 ms), at least 16 KiB
};

struct AttachRequest {
  std::string container;            // the id; also its name on the network
  std::string hostname;
  std::string network;              // a network name or id; "cni:NAME" for CNI
  std::optional<IpAddr> ip;         // --ip
  std::vector<PortMapping> ports;   // -p
  DnsOptions dns;                   // --dns, --dns-search, --dns-option
  std::vector<std::string> add_hosts;  // --add-host
  std::optional<Shaping> egress;    // --egress-rate: what the container sends
  std::optional<Shaping> ingress;   // --ingress-rate: what it receives
  std::string persistent_root;      // NetworkStore root
  std::string run_root = kNetRunRoot;
};

// The per-container files dir (resolv.conf, hosts, hostname) under run_root.
std::string files_dir_for(const std::string& run_root, const std::string& container);

class Attachment {
 public:
  static Result<Attachment> prepare(const AttachRequest& req);
  Attachment(Attachment&&) noexcept;
  Attachment& operator=(Attachment&&) = delete;
  ~Attachment();  // teardown() unless released

  Result<void> plumb(pid_t init_pid);
  void teardown();
  // Leaves everything in place for the container (a detached one: its
  // cleanup reclaims the lease once the init is gone).
  void release() { armed_ = false; }

  const Lease& lease() const { return lease_; }
  const std::string& files_dir() const { return lease_.files_dir; }

 private:
  Attachment() = default;
  AttachRequest req_;
  Network net_;
  bool cni_ = false;
  std::string cni_network_;
  Lease lease_;
  bool armed_ = false;
};

// Undoes what a stale lease stands for (Ipam::Reclaim): firewall rules, veth,
// ifb, the container's files and its entry in its peers' hosts files.
void reclaim(const std::string& run_root, const Network& net, const Lease& lease);

// Where a container's lease is: every network (built-in and stored) searched.
struct Found {
  Network network;
  Lease lease;
};
Result<std::optional<Found>> find_lease(const std::string& persistent_root,
                                        const std::string& run_root, const std::string& container);

// husk network prune: stale leases of every network reclaimed (and stale CNI
// attachments deleted); returns the names of the named networks removed
// because no live container uses them.
Result<std::vector<std::string>> prune(const std::string& persistent_root,
                                       const std::string& run_root);

// husk network rm: refused while a live container is attached; removes the
// bridge, the network's firewall rules and its file.
Result<void> remove_network(const std::string& persistent_root, const std::string& run_root,
                            const std::string& name);

}  // namespace husk::net
