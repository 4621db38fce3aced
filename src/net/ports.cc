#include "net/ports.h"

#include <charconv>
#include <cctype>
#include <utility>

#include "net/addr.h"

namespace husk::net {
namespace {

Result<uint16_t> parse_port(std::string_view flag, std::string_view text) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    return fail_quiet(EINVAL, "-p \"{}\": \"{}\" is not a port number", flag, text);
  if (v == 0 || v > 65535) return fail_quiet(EINVAL, "-p \"{}\": port {} is out of range", flag, text);
  return static_cast<uint16_t>(v);
}

// "80" or "80-90": first and last port.
Result<std::pair<uint16_t, uint16_t>> parse_range(std::string_view flag, std::string_view text) {
  size_t dash = text.find('-');
  HUSK_TRY_ASSIGN(uint16_t first, parse_port(flag, text.substr(0, dash)));
  if (dash == std::string_view::npos) return std::pair{first, first};
  HUSK_TRY_ASSIGN(uint16_t last, parse_port(flag, text.substr(dash + 1)));
  if (last < first) return fail_quiet(EINVAL, "-p \"{}\": range \"{}\" runs backwards", flag, text);
  return std::pair{first, last};
}

// Splits "[IP:]HOST:CTR" (IP may be [v6]) into ip, host and container parts.
Result<std::tuple<std::string, std::string, std::string>> split_publish(std::string_view flag,
                                                                         std::string_view spec) {
  std::string ip;
  if (!spec.empty() && spec.front() == '[') {
    size_t close = spec.find(']');
    if (close == std::string_view::npos || close + 1 >= spec.size() || spec[close + 1] != ':')
      return fail_quiet(EINVAL, "-p \"{}\": expected [IPv6]:HOSTPORT:CONTAINERPORT", flag);
    ip = std::string(spec.substr(1, close - 1));
    spec = spec.substr(close + 2);
    size_t colon = spec.find(':');
    if (colon == std::string_view::npos)
      return fail_quiet(EINVAL, "-p \"{}\": expected [IPv6]:HOSTPORT:CONTAINERPORT", flag);
    return std::tuple{ip, std::string(spec.substr(0, colon)), std::string(spec.substr(colon + 1))};
  }
  size_t last = spec.rfind(':');
  if (last == std::string_view::npos) return std::tuple{ip, std::string(), std::string(spec)};
  std::string_view ctr = spec.substr(last + 1);
  std::string_view rest = spec.substr(0, last);
  size_t mid = rest.rfind(':');
  if (mid == std::string_view::npos) return std::tuple{ip, std::string(rest), std::string(ctr)};
  ip = std::string(rest.substr(0, mid));
  return std::tuple{ip, std::string(rest.substr(mid + 1)), std::string(ctr)};
}

}  // namespace

std::string_view proto_name(Proto p) { return p == Proto::kTcp ? "tcp" : "udp"; }

Result<std::vector<PortMapping>> parse_publish(std::string_view text) {
  std::string_view spec = text;
  Proto proto = Proto::kTcp;
  if (size_t slash = spec.rfind('/'); slash != std::string_view::npos) {
    std::string_view p = spec.substr(slash + 1);
    if (p == "udp") {
      proto = Proto::kUdp;
    } else if (p != "tcp") {
      return fail_quiet(EINVAL, "-p \"{}\": unknown protocol \"{}\" (tcp or udp)", text, p);
    }
    spec = spec.substr(0, slash);
  }
  HUSK_TRY_ASSIGN(auto parts, split_publish(text, spec));
  auto& [ip, host, ctr] = parts;
  if (!ip.empty()) {
    HUSK_TRY_ASSIGN(IpAddr a, IpAddr::parse(ip).context("-p \"{}\"", text));
    ip = a.str();
  }
  HUSK_TRY_ASSIGN(auto cr, parse_range(text, ctr));
  std::pair<uint16_t, uint16_t> hr{0, 0};
  if (!host.empty()) {
    HUSK_TRY_ASSIGN(hr, parse_range(text, host));
    if (hr.second - hr.first != cr.second - cr.first)
      return fail_quiet(EINVAL, "-p \"{}\": host and container ranges differ in length", text);
  }
  std::vector<PortMapping> out;
  for (unsigned i = 0; i <= static_cast<unsigned>(cr.second - cr.first); ++i) {
    PortMapping m;
    m.host_ip = ip;
    m.host_port = hr.first == 0 ? 0 : static_cast<uint16_t>(hr.first + i);
    m.container_port = static_cast<uint16_t>(cr.first + i);
    m.proto = proto;
    out.push_back(m);
  }
  return out;
}

std::string to_string(const PortMapping& m) {
  std::string host_ip = m.host_ip.empty() ? "0.0.0.0" : m.host_ip;
  if (host_ip.find(':') != std::string::npos) host_ip = "[" + host_ip + "]";
  return fmt::format("{}:{}->{}/{}", host_ip, m.host_port, m.container_port, proto_name(m.proto));
}

namespace {

struct Unit {
  std::string_view name;
  double factor;
};

// Splits "10mbit" into 10 and "mbit", matched case-insensitively in units.
Result<uint64_t> scaled(std::string_view flag, std::string_view text, const Unit* units,
                        size_t count, double bare) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  std::string number(text.substr(0, i));
  double value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (number.empty() || ec != std::errc() || end != number.data() + number.size())
    return fail_quiet(EINVAL, "{} \"{}\": not a number with a unit", flag, text);
  std::string unit;
  for (char c : text.substr(i)) unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  double factor = bare;
  if (!unit.empty()) {
    factor = 0;
    for (size_t u = 0; u < count; ++u)
      if (units[u].name == unit) factor = units[u].factor;
    if (factor == 0) return fail_quiet(EINVAL, "{} \"{}\": unknown unit \"{}\"", flag, text, unit);
  }
  double result = value * factor;
  if (result < 1 || result > 1e15) return fail_quiet(EINVAL, "{} \"{}\": out of range", flag, text);
  return static_cast<uint64_t>(result);
}

}  // namespace

Result<uint64_t> parse_rate(std::string_view flag, std::string_view text) {
  // tc's units (tc(8)), in bytes per second.
  static constexpr Unit kUnits[] = {
      {"bit", 1.0 / 8},  {"kbit", 1e3 / 8},        {"mbit", 1e6 / 8},        {"gbit", 1e9 / 8},
      {"tbit", 1e12 / 8}, {"kibit", 1024.0 / 8},   {"mibit", 1048576.0 / 8}, {"gibit", 1073741824.0 / 8},
      {"bps", 1},        {"kbps", 1e3},            {"mbps", 1e6},            {"gbps", 1e9},
      {"kibps", 1024},   {"mibps", 1048576},       {"gibps", 1073741824.0}};
  return scaled(flag, text, kUnits, std::size(kUnits), 1.0 / 8);
}

Result<uint64_t> parse_size(std::string_view flag, std::string_view text) {
  static constexpr Unit kUnits[] = {{"b", 1},          {"k", 1024},          {"kb", 1024},
                                    {"m", 1048576},    {"mb", 1048576},      {"g", 1073741824.0},
                                    {"gb", 1073741824.0}, {"kbit", 128},     {"mbit", 131072},
                                    {"gbit", 134217728}};
  return scaled(flag, text, kUnits, std::size(kUnits), 1);
}

}  // namespace husk::net
