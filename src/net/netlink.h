// Links, addresses, routes and traffic control through libnl-route-3, in the
// network namespace the socket was opened in. Never shells out to ip or tc.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "net/addr.h"

namespace husk::net {

// Opens the network namespace of pid (/proc/<pid>/ns/net).
Result<UniqueFd> open_netns_of(pid_t pid);

class Netlink {
 public:
  // A socket in the caller's network namespace.
  static Result<Netlink> open();
  // A socket in the namespace netns_fd names: the thread enters it, opens the
  // socket (which stays bound to that namespace) and returns to its own.
  static Result<Netlink> open_in(int netns_fd);
  Netlink(Netlink&&) noexcept;
  Netlink& operator=(Netlink&&) noexcept;
  ~Netlink();

  // ifindex, or nullopt when no such link.
  Result<std::optional<int>> link_index(const std::string& name);
  // Creates a bridge (if missing) with the given addresses, and sets it up.
  // Idempotent: an existing bridge keeps its addresses; missing ones are added.
  Result<int> ensure_bridge(const std::string& name, const std::vector<std::pair<IpAddr, int>>& addrs);
  // A veth pair: host_name here, peer_name moved into peer_netns_fd (and
  // left down there). Error EEXIST names host_name.
  Result<void> create_veth(const std::string& host_name, const std::string& peer_name,
                           int peer_netns_fd, std::optional<uint32_t> mtu = std::nullopt);
  Result<void> set_master(const std::string& name, const std::string& bridge);
  Result<void> set_up(const std::string& name);
  // Waits (polling, 50 us to 5 ms apart) until name is ready to carry the
  // first packets: operstate UP, and each of its IFA_F_NODAD addresses no
  // longer tentative, with (IPv6) its local route in place. The kernel gets
  // there asynchronously (its link watcher, after both veth ends are up,
  // activates the queue, starts a bridge port forwarding and marks the link
  // ready for IPv6; a work item then finishes each IPv6 address): a packet
  // sent or answered before is dropped, and the ARP/ND it waited on retries
  // only after 1 s. Typically 0.1-4 ms. Call it for the container's eth0
  // (after its addresses), the host end and the bridge before the program runs.
  // ETIMEDOUT after timeout_ms. Not for lo, whose operstate stays UNKNOWN.
  Result<void> wait_ready(const std::string& name, int timeout_ms = 2000);
  Result<void> add_address(const std::string& name, const IpAddr& addr, int prefix_len);
  // Default route (0.0.0.0/0 or ::/0) via gw.
  Result<void> add_default_route(const IpAddr& gw);
  // Deletes a link; a missing one is not an error.
  Result<void> delete_link(const std::string& name);
  // The destination prefixes of the main table's routes (both families), for
  // the subnet clash check; default routes are left out.
  Result<std::vector<Prefix>> route_prefixes();

  // Traffic control (the CNI bandwidth plugin's model):
  // a tbf qdisc as the root of name's egress: rate in bytes/s, burst bytes.
  Result<void> set_tbf(const std::string& name, uint64_t rate, uint64_t burst);
  // An ifb device (created, up) that receives everything entering `name`
  // (ingress qdisc + a match-all u32 filter with a mirred redirect), so a tbf
  // on the ifb shapes what `name` receives (the container's egress).
  // Deleting `name` takes its ingress qdisc and filter with it; delete the
  // ifb as well. Deleting only the ifb leaves a filter that drops all that
  // enters `name` (mirred to a device that is gone). EEXIST when the ifb
  // exists or `name` has an ingress qdisc already.
  Result<void> redirect_ingress(const std::string& name, const std::string& ifb);

 private:
  // The socket and the kernel's last error reply (errno and extended-ack
  // text), captured by an error callback: libnl folds errnos into a few codes.
  struct Conn;
  explicit Netlink(std::unique_ptr<Conn> c);
  static Result<Netlink> connect();
  // rc of a libnl call as a Result: the kernel's errno (and its message) when
  // it replied with one, else libnl's code mapped to the closest errno.
  Result<void> call(int rc);
  // ifindex of name, or an ENODEV error naming it.
  Result<int> index_of(const std::string& name);
  // One look at what wait_ready waits for.
  Result<bool> is_ready(const std::string& name);
  std::unique_ptr<Conn> conn_;
};

// Runs f in the network namespace netns_fd (setns there and back), for
// /proc/sys/net writes that must land in that namespace.
Result<void> in_netns(int netns_fd, const std::function<Result<void>()>& f);

// Writes a sysctl under /proc/sys/net of the caller's namespace,
// e.g. sysctl_net("ipv4/ip_forward", "1"); returns the previous value.
Result<std::string> sysctl_net(const std::string& key, const std::string& value);

}  // namespace husk::net
