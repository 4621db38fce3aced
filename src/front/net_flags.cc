#include "front/net_flags.h"

#include <optional>
#include <string_view>
#include <utility>

#include "net/addr.h"
#include "net/ports.h"

namespace husk::cli {

Result<NetMode> parse_net_mode(const std::string& v) {
  auto after = [&](std::string_view prefix) { return v.substr(prefix.size()); };
  if (v == "none") return NetMode{NetMode::kNone, ""};
  if (v == "host") return NetMode{NetMode::kHost, ""};
  if (v.starts_with("container:")) {
    if (after("container:").empty()) return fail(0, "--net \"{}\": no container named", v);
    return NetMode{NetMode::kContainer, after("container:")};
  }
  if (v.starts_with("ns:")) {
    if (!after("ns:").starts_with("/"))
      return fail(0, "--net \"{}\": the namespace path must be absolute", v);
    return NetMode{NetMode::kNamespace, after("ns:")};
  }
  if (v.starts_with("cni:")) {
    std::string name = after("cni:");
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
      return fail(0, "--net \"{}\": not a CNI network name", v);
    return NetMode{NetMode::kCni, name};
  }
  if (v.empty()) return fail(0, "--net \"\": empty network name");
  return NetMode{NetMode::kBridge, v};
}

Result<void> check_net_flags(const NetMode& m, const NetFlags& n) {
  bool own_stack = m.attaches();
  if (!n.ip.empty() && m.kind != NetMode::kBridge)
    return fail(0, "--ip: only with a bridge network (--net bridge or a network's name)");
  if (!n.publish.empty() && !own_stack)
    return fail(0, "-p: conflicting options: port publishing and --net {}",
                m.kind == NetMode::kNone   ? "none"
                : m.kind == NetMode::kHost ? "host"
                                           : "container:/ns:");
  if ((!n.egress_rate.empty() || !n.ingress_rate.empty()) && !own_stack)
    return fail(0, "--egress-rate/--ingress-rate: only with a bridge or CNI network");
  if (!n.egress_burst.empty() && n.egress_rate.empty())
    return fail(0, "--egress-burst: needs --egress-rate");
  if (!n.ingress_burst.empty() && n.ingress_rate.empty())
    return fail(0, "--ingress-burst: needs --ingress-rate");
  if ((!n.dns.empty() || !n.dns_search.empty() || !n.dns_option.empty() || !n.add_host.empty()) &&
      !own_stack)
    return fail(0, "--dns/--add-host: only with a bridge or CNI network");
  return ok();
}

Result<net::AttachRequest> attach_request(const NetMode& m, const NetFlags& n,
                                          const std::string& id, const std::string& hostname) {
  net::AttachRequest r;
  r.container = id;
  r.hostname = hostname;
  r.network = m.kind == NetMode::kCni ? "cni:" + m.target : m.target;
  if (!n.ip.empty()) {
    HUSK_TRY_ASSIGN(r.ip, net::IpAddr::parse(n.ip).context("--ip"));
  }
  for (const auto& p : n.publish) {
    HUSK_TRY_ASSIGN(auto ports, net::parse_publish(p));
    r.ports.insert(r.ports.end(), ports.begin(), ports.end());
  }
  for (const auto& d : n.dns) HUSK_TRY(net::IpAddr::parse(d).context("--dns"));
  r.dns = {n.dns, n.dns_search, n.dns_option};
  r.add_hosts = n.add_host;
  auto shaping = [](const char* rate_flag, const std::string& rate, const char* burst_flag,
                    const std::string& burst) -> Result<std::optional<net::Shaping>> {
    if (rate.empty()) return std::optional<net::Shaping>();
    net::Shaping s;
    HUSK_TRY_ASSIGN(s.rate, net::parse_rate(rate_flag, rate));
    if (!burst.empty()) {
      HUSK_TRY_ASSIGN(s.burst, net::parse_size(burst_flag, burst));
      // Below a full frame, tbf drops every full-size packet.
      if (s.burst < 2048) return fail(0, "{} \"{}\": at least 2kb", burst_flag, burst);
    }
    return std::optional<net::Shaping>(s);
  };
  auto egress = shaping("--egress-rate", n.egress_rate, "--egress-burst", n.egress_burst);
  auto ingress = shaping("--ingress-rate", n.ingress_rate, "--ingress-burst", n.ingress_burst);
  HUSK_TRY_ASSIGN(r.egress, std::move(egress));
  HUSK_TRY_ASSIGN(r.ingress, std::move(ingress));
  return r;
}

}  // namespace husk::cli
