// The nft commands of each firewall transaction (net/firewall.h), as text:
// pure, so unit tests compare them, and checked, so no name reaches nft
// unquoted or with a wildcard in it.
#include <cstdint>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "net/firewall.h"
#include "net/firewall_impl.h"
#include "net/store_io.h"

namespace husk::net {

namespace {

bool plain_name(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// A DNAT target: 10.89.0.2:80 or [fd00::2]:80.
std::string dnat_to(const IpAddr& a, uint16_t port) {
  if (a.family == Family::kV6) return fmt::format("dnat ip6 to [{}]:{}", a.str(), port);
  return fmt::format("dnat ip to {}:{}", a.str(), port);
}

}  // namespace

Result<void> check_bridge(const std::string& bridge) {
  // IFNAMSIZ - 1; and nothing nft reads as a wildcard (*) or a quote.
  if (!plain_name(bridge, 15))
    return fail(EINVAL, "bridge name \"{}\": expected 1 to 15 of [A-Za-z0-9_.-]", bridge);
  return ok();
}

Result<void> check_container(const std::string& container) {
  // An nft comment holds at most 128 characters.
  if (!plain_name(container, 128))
    return fail(EINVAL, "container id \"{}\": expected 1 to 128 of [A-Za-z0-9_.-]", container);
  return ok();
}

std::string network_chain(const std::string& bridge, std::string_view what) {
  return fmt::format("nw-{}-{}", bridge, what);
}

std::vector<NftElement> network_elements(const Network& n) {
  const std::string& b = n.bridge;
  std::vector<NftElement> out;
  out.push_back({"bridges", nft_quoted(b), ""});
  out.push_back({"fwd_from", nft_quoted(b), "jump " + network_chain(b, "fwd")});
  if (n.internal) {
    out.push_back({"fwd_to", nft_quoted(b), "drop"});
  } else {
    out.push_back({"post_from", nft_quoted(b), "jump " + network_chain(b, "masq")});
  }
  out.push_back({"post_to", nft_quoted(b), "jump " + network_chain(b, "in")});
  return out;
}

std::vector<std::string> network_chains(const Network& n) {
  std::vector<std::string> out{network_chain(n.bridge, "fwd")};
  if (!n.internal) out.push_back(network_chain(n.bridge, "masq"));
  out.push_back(network_chain(n.bridge, "in"));
  return out;
}

std::string nft_quoted(std::string_view s) { return fmt::format("\"{}\"", s); }

std::string port_key(Proto p, uint16_t port) { return fmt::format("{} . {}", proto_name(p), port); }

std::string delete_text(std::string_view table, const std::vector<NftElement>& elements,
                        const std::vector<std::string>& chains) {
  std::string out;
  // Elements first: a chain that a map element still jumps to cannot go.
  for (const NftElement& e : elements)
    out += fmt::format("delete element inet {} {} {{ {} }}\n", table, e.map, e.key);
  for (const std::string& c : chains) out += fmt::format("delete chain inet {} {}\n", table, c);
  return out;
}

namespace nft_text {

std::string base(std::string_view table) {
  std::string out = fmt::format("add table inet {}\n", table);
  auto line = [&](std::string_view text) { out += fmt::format(fmt::runtime(text), table); };
  line("add set inet {} bridges {{ type ifname; }}\n");
  line("add map inet {} fwd_from {{ type ifname : verdict; }}\n");
  line("add map inet {} fwd_to {{ type ifname : verdict; }}\n");
  line("add map inet {} post_from {{ type ifname : verdict; }}\n");
  line("add map inet {} post_to {{ type ifname : verdict; }}\n");
  line("add map inet {} ports {{ type inet_proto . inet_service : verdict; }}\n");
  line(
      "add chain inet {} forward {{ type filter hook forward priority filter; policy accept; }}\n");
  line(
      "add chain inet {} prerouting {{ type nat hook prerouting priority dstnat; policy accept; "
      "}}\n");
  // nft 1.0.6 takes no `dstnat` keyword on the nat output hook: its value.
  line("add chain inet {} output {{ type nat hook output priority -100; policy accept; }}\n");
  line(
      "add chain inet {} postrouting {{ type nat hook postrouting priority srcnat; policy accept; "
      "}}\n");
  // Flushed and refilled: the base chains' rules are whatever this husk writes.
  line("flush chain inet {} forward\n");
  line("add rule inet {} forward iifname vmap @fwd_from\n");
  line("add rule inet {} forward oifname vmap @fwd_to\n");
  line("flush chain inet {} prerouting\n");
  line("add rule inet {} prerouting fib daddr type local meta l4proto . th dport vmap @ports\n");
  line("flush chain inet {} output\n");
  line("add rule inet {} output ip6 daddr ::1 return\n");
  line("add rule inet {} output fib daddr type local meta l4proto . th dport vmap @ports\n");
  line("flush chain inet {} postrouting\n");
  line("add rule inet {} postrouting iifname vmap @post_from\n");
  line("add rule inet {} postrouting oifname vmap @post_to\n");
  return out;
}

Result<std::string> add_network(const Network& n, std::string_view table,
                                std::string_view fingerprint) {
  HUSK_TRY(check_bridge(n.bridge));
  if (!fingerprint.empty() && !plain_name(fingerprint, 128))
    return fail(EINVAL, "fingerprint \"{}\": expected [A-Za-z0-9_.-]", fingerprint);
  const std::string& b = n.bridge;
  std::string out;
  auto rule = [&](std::string_view chain, std::string_view text) {
    out += fmt::format("add rule inet {} {} {}\n", table, chain, text);
  };
  auto chain = [&](std::string_view what) {
    std::string name = network_chain(b, what);
    out += fmt::format("add chain inet {} {}\nflush chain inet {} {}\n", table, name, table, name);
    return name;
  };
  std::string fwd = chain("fwd");
  rule(fwd, fmt::format("oifname {} accept", nft_quoted(b)));
  if (n.internal) {
    rule(fwd, "drop");
  } else {
    // A published port is open to every network; other traffic between two
    // husk bridges is not (the reply of a DNATed connection is ct status dnat too).
    rule(fwd, "ct status dnat accept");
    rule(fwd, "oifname @bridges drop");
    std::string masq = chain("masq");
    rule(masq, fmt::format("oifname != {} masquerade", nft_quoted(b)));
  }
  std::string in = chain("in");
  rule(in, "ip saddr 127.0.0.0/8 masquerade");
  rule(in, fmt::format("ct status dnat ip saddr {} masquerade", n.subnet4.str()));
  if (n.subnet6) rule(in, fmt::format("ct status dnat ip6 saddr {} masquerade", n.subnet6->str()));
  for (const NftElement& e : network_elements(n)) {
    std::string key = e.key;
    if (e.map == "bridges" && !fingerprint.empty())
      key += fmt::format(" comment {}", nft_quoted(fingerprint));
    if (e.verdict.empty()) {
      out += fmt::format("add element inet {} {} {{ {} }}\n", table, e.map, key);
    } else {
      out += fmt::format("add element inet {} {} {{ {} : {} }}\n", table, e.map, key, e.verdict);
    }
  }
  return out;
}

Result<std::string> remove_network(const Network& n, std::string_view table) {
  HUSK_TRY(check_bridge(n.bridge));
  return delete_text(table, network_elements(n), network_chains(n));
}

std::string chain_for(const std::string& container) {
  // FNV-1a 64: stable across builds and machines (std::hash is not promised to be).
  return fmt::format("ct-{:012x}", store_io::fnv1a64(container) >> 16);
}

Result<std::string> add_ports(const std::string& container, const IpAddr& ipv4,
                              const std::optional<IpAddr>& ipv6,
                              const std::vector<PortMapping>& ports, std::string_view table) {
  HUSK_TRY(check_container(container));
  if (ipv4.family != Family::kV4) return fail(EINVAL, "{} is not an IPv4 address", ipv4.str());
  if (ipv6 && ipv6->family != Family::kV6)
    return fail(EINVAL, "{} is not an IPv6 address", ipv6->str());
  std::string chain = chain_for(container);
  std::string out =
      fmt::format("add chain inet {} {} {{ comment {}; }}\n", table, chain, nft_quoted(container));
  out += fmt::format("flush chain inet {} {}\n", table, chain);
  // Rules for one host address before those for any: the first DNAT wins.
  std::string specific, any;
  std::set<std::pair<Proto, uint16_t>> keys;
  for (const PortMapping& m : ports) {
    HUSK_TRY_ASSIGN(std::vector<std::string> rules, dnat_rules(m, ipv4, ipv6));
    for (const std::string& r : rules)
      (r.starts_with("meta nfproto") ? any : specific) +=
          fmt::format("add rule inet {} {} {}\n", table, chain, r);
    keys.emplace(m.proto, m.host_port);
  }
  out += specific + any;
  if (!keys.empty()) {
    std::string elems;
    for (const auto& [proto, port] : keys) {
      if (!elems.empty()) elems += ", ";
      elems += fmt::format("{} comment {} : jump {}", port_key(proto, port), nft_quoted(container),
                           chain);
    }
    // `create`, not `add`: a key that exists fails the whole transaction.
    out += fmt::format("create element inet {} ports {{ {} }}\n", table, elems);
  }
  return out;
}

Result<std::string> remove_ports(const std::string& container,
                                 const std::vector<PortMapping>& ports, std::string_view table) {
  HUSK_TRY(check_container(container));
  return delete_text(table, port_elements(container, ports), {chain_for(container)});
}

std::string one_line_error(std::string_view nft_error) {
  std::vector<std::string_view> lines;
  while (!nft_error.empty()) {
    size_t nl = nft_error.find('\n');
    lines.push_back(nft_error.substr(0, nl));
    nft_error = nl == std::string_view::npos ? std::string_view() : nft_error.substr(nl + 1);
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    size_t at = lines[i].find("Error: ");
    if (at == std::string_view::npos) continue;
    std::string msg(lines[i].substr(at + 7));
    // The command, then a line of carets under the part nft blames.
    if (i + 2 < lines.size() && lines[i + 2].find('^') != std::string_view::npos) {
      std::string_view cmd = lines[i + 1];
      std::string_view carets = lines[i + 2];
      size_t from = carets.find('^');
      size_t to = carets.find_last_of('^');
      if (from < cmd.size()) msg += fmt::format(": \"{}\"", cmd.substr(from, to - from + 1));
      std::string shown(cmd.substr(0, 100));
      if (cmd.size() > 100) shown += "...";
      msg += fmt::format(" in \"{}\"", shown);
    } else if (i + 1 < lines.size() && !lines[i + 1].empty() &&
               lines[i + 1].find("Error: ") == std::string_view::npos) {
      msg += fmt::format(" in \"{}\"", lines[i + 1].substr(0, 100));
    }
    return msg;
  }
  for (std::string_view l : lines)
    if (!l.empty()) return std::string(l);
  return "failed without a message";
}

}  // namespace nft_text

std::vector<NftElement> port_elements(const std::string& container,
                                      const std::vector<PortMapping>& ports) {
  std::set<std::pair<Proto, uint16_t>> keys;
  for (const PortMapping& m : ports) keys.emplace(m.proto, m.host_port);
  std::vector<NftElement> out;
  for (const auto& [proto, port] : keys)
    out.push_back({"ports", port_key(proto, port), "jump " + nft_text::chain_for(container)});
  return out;
}

Result<std::vector<DnatSpec>> dnat_specs(const PortMapping& m, const IpAddr& ipv4,
                                         const std::optional<IpAddr>& ipv6) {
  std::string what = to_string(m);
  if (m.host_port == 0 || m.container_port == 0)
    return fail(EINVAL, "-p {}: the host port is not chosen", what);
  auto spec = [&](const IpAddr& to, std::optional<IpAddr> daddr) {
    return DnatSpec{to.family, std::move(daddr), m.proto, m.host_port, to, m.container_port};
  };
  std::vector<DnatSpec> out;
  if (m.host_ip.empty()) {
    out.push_back(spec(ipv4, std::nullopt));
    if (ipv6) out.push_back(spec(*ipv6, std::nullopt));
    return out;
  }
  HUSK_TRY_ASSIGN(IpAddr host, IpAddr::parse(m.host_ip).context("-p {}", what));
  bool any = host == IpAddr{host.family, {}};  // 0.0.0.0 or ::
  std::optional<IpAddr> daddr;
  if (!any) daddr = host;
  if (host.family == Family::kV4) {
    out.push_back(spec(ipv4, daddr));
    return out;
  }
  if (!ipv6) return fail(EINVAL, "-p {}: the container has no IPv6 address", what);
  if (host.is_loopback())
    return fail(EINVAL, "-p {}: ::1 cannot be forwarded (IPv6 has no route_localnet)", what);
  out.push_back(spec(*ipv6, daddr));
  return out;
}

std::string dnat_rule_text(const DnatSpec& d) {
  bool v4 = d.family == Family::kV4;
  std::string match = fmt::format("{} dport {}", proto_name(d.proto), d.dport);
  std::string daddr = d.daddr ? fmt::format("{} daddr {}", v4 ? "ip" : "ip6", d.daddr->str())
                              : fmt::format("meta nfproto {}", v4 ? "ipv4" : "ipv6");
  return fmt::format("{} {} {}", daddr, match, dnat_to(d.to, d.to_port));
}

Result<std::vector<std::string>> dnat_rules(const PortMapping& m, const IpAddr& ipv4,
                                            const std::optional<IpAddr>& ipv6) {
  HUSK_TRY_ASSIGN(std::vector<DnatSpec> specs, dnat_specs(m, ipv4, ipv6));
  std::vector<std::string> out;
  for (const DnatSpec& d : specs) out.push_back(dnat_rule_text(d));
  return out;
}

}  // namespace husk::net
