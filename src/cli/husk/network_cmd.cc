#include "cli/husk/network_cmd.h"

#include <cstdio>

#include "front/exit_code.h"
#include "net/addr.h"
#include "net/attach.h"
#include "net/ipam.h"
#include "net/netlink.h"
#include "net/network.h"

namespace husk::cli {
namespace {

constexpr const char* kNetworkFooter = R"(
Examples:
  husk network create --subnet 10.91.0.0/24 web
  husk network create --ipv6 --internal backend
  husk run --net web --ip 10.91.0.10 -p 8080:80 -- httpd -f -p 80
  husk network inspect web
  husk network rm web)";

int report(const Error& e) {
  std::fprintf(stderr, "husk: %s\n", e.what().c_str());
  return kExitHuskError;
}

std::string persistent_root() { return net::NetworkStore::default_root(); }

int create(const NetworkCommands& c) {
  net::CreateRequest req;
  req.name = c.name;
  req.ipv6 = c.ipv6;
  req.internal = c.internal;
  for (const auto& s : c.subnets) {
    if (s.find(':') != std::string::npos) {
      req.subnets6.push_back(s);
    } else if (req.subnet) {
      return report(fail(0, "--subnet: one IPv4 subnet per network").error());
    } else {
      req.subnet = s;
    }
  }
  for (const auto& g : c.gateways) {
    if (g.find(':') != std::string::npos) {
      req.gateway6 = g;
    } else {
      req.gateway = g;
    }
  }
  if (!req.subnets6.empty()) req.ipv6 = true;
  auto nl = net::Netlink::open();
  if (!nl) return report(nl.error());
  auto routes = nl->route_prefixes();
  if (!routes) return report(routes.error());
  auto n = net::NetworkStore(persistent_root()).create(req, *routes);
  if (!n) return report(n.error());
  std::printf("%s\n", n->id.c_str());
  return 0;
}

int ls(const NetworkCommands& c) {
  auto nets = net::NetworkStore(persistent_root()).list();
  if (!nets) return report(nets.error());
  if (c.quiet) {
    for (const auto& n : *nets) std::printf("%s\n", n.id.substr(0, 12).c_str());
    return 0;
  }
  std::printf("%-14s %-20s %-8s %-18s %-26s %s\n", "NETWORK ID", "NAME", "BRIDGE", "SUBNET",
              "IPV6", "INTERNAL");
  for (const auto& n : *nets)
    std::printf("%-14s %-20s %-8s %-18s %-26s %s\n", n.id.substr(0, 12).c_str(), n.name.c_str(),
                n.bridge.c_str(), n.subnet4.str().c_str(),
                n.subnet6 ? n.subnet6->str().c_str() : "-", n.internal ? "yes" : "no");
  return 0;
}

int inspect(const NetworkCommands& c) {
  net::NetworkStore store(persistent_root());
  std::string out = "[";
  for (size_t i = 0; i < c.names.size(); ++i) {
    auto n = store.get(c.names[i]);
    if (!n) return report(n.error());
    if (i) out += ",";
    out += net::to_json(*n);
  }
  out += "]";
  std::printf("%s\n", out.c_str());
  return 0;
}

int rm(const NetworkCommands& c) {
  int status = 0;
  for (const auto& name : c.names) {
    if (auto r = net::remove_network(persistent_root(), net::kNetRunRoot, name); !r) {
      status = report(r.error());
      continue;
    }
    std::printf("%s\n", name.c_str());
  }
  return status;
}

int prune(const NetworkCommands&) {
  auto removed = net::prune(persistent_root(), net::kNetRunRoot);
  if (!removed) return report(removed.error());
  if (!removed->empty()) std::printf("Deleted Networks:\n");
  for (const auto& n : *removed) std::printf("%s\n", n.c_str());
  return 0;
}

// docker port's lines: "80/tcp -> 0.0.0.0:8080".
int port(const NetworkCommands& c) {
  auto found = net::find_lease(persistent_root(), net::kNetRunRoot, c.container);
  if (!found) return report(found.error());
  if (!*found || !net::lease_is_live((*found)->lease))
    return report(
        fail(0, "container \"{}\" is not running on any husk network", c.container).error());
  for (const auto& m : (*found)->lease.ports) {
    std::string host_ip = m.host_ip.empty() ? "0.0.0.0" : m.host_ip;
    std::printf("%u/%s -> %s:%u\n", m.container_port, std::string(net::proto_name(m.proto)).c_str(),
                host_ip.c_str(), m.host_port);
  }
  return 0;
}

}  // namespace

void add_network_commands(CLI::App& app, NetworkCommands& c) {
  c.network = app.add_subcommand("network", "Manage networks (bridges husk run attaches to)");
  c.network->require_subcommand(1);
  c.network->footer(kNetworkFooter);
  c.create = c.network->add_subcommand("create", "Create a bridge network");
  c.create->add_option("name", c.name, "Network name")->required();
  c.create->add_option("--subnet", c.subnets, "Subnet in CIDR form (IPv4, and IPv6 with --ipv6)")
      ->allow_extra_args(false);
  c.create->add_option("--gateway", c.gateways, "Gateway address (default: the first of the subnet)")
      ->allow_extra_args(false);
  c.create->add_flag("--ipv6", c.ipv6, "Dual stack: also an IPv6 ULA subnet");
  c.create->add_flag("--internal", c.internal, "No NAT out: containers reach only each other");
  c.ls = c.network->add_subcommand("ls", "List networks");
  c.ls->alias("list");
  c.ls->add_flag("-q,--quiet", c.quiet, "Only the ids");
  c.inspect = c.network->add_subcommand("inspect", "Show networks as JSON");
  c.inspect->add_option("names", c.names, "Network names or ids")->required();
  c.rm = c.network->add_subcommand("rm", "Remove networks no container uses");
  c.rm->alias("remove");
  c.rm->add_option("names", c.names, "Network names or ids")->required();
  c.prune = c.network->add_subcommand(
      "prune", "Reclaim leases of containers that are gone, remove unused networks");
  c.prune->add_flag("-f,--force", c.force, "Do not ask (husk never asks)");
  c.port = app.add_subcommand("port", "List a running container's published ports");
  c.port->add_option("container", c.container, "Container id")->required();
}

std::optional<int> run_network_commands(const NetworkCommands& c) {
  if (c.create && c.create->parsed()) return create(c);
  if (c.ls && c.ls->parsed()) return ls(c);
  if (c.inspect && c.inspect->parsed()) return inspect(c);
  if (c.rm && c.rm->parsed()) return rm(c);
  if (c.prune && c.prune->parsed()) return prune(c);
  if (c.port && c.port->parsed()) return port(c);
  return std::nullopt;
}

}  // namespace husk::cli
