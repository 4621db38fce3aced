// Published ports (-p) and rates (--egress-rate) as values: pure parsing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace husk::net {

enum class Proto { kTcp, kUdp };
std::string_view proto_name(Proto p);  // "tcp" | "udp"

struct PortMapping {
  std::string host_ip;     // "" = every local address (and 127.0.0.1)
  uint16_t host_port = 0;  // 0 = any free port, chosen at attach
  uint16_t container_port = 0;
  Proto proto = Proto::kTcp;
  friend bool operator==(const PortMapping&, const PortMapping&) = default;
};

// docker's -p forms, ranges expanded port by port:
//   CTR | HOST:CTR | IP:HOST:CTR | IP::CTR | [v6]:HOST:CTR, each with /tcp or /udp;
//   ranges 8000-8010:80-90 (same length) or 8000-8010:80 (any one host port of
//   the range; expanded to the first here, checked at attach).
// Errors name the flag value: `-p "70000:80": port 70000 is out of range`.
Result<std::vector<PortMapping>> parse_publish(std::string_view text);
// "0.0.0.0:8080->80/tcp", as docker ps shows a published port.
std::string to_string(const PortMapping& m);

// A rate as tc writes it: 10mbit, 1gbit, 500kbit, 100kbps (bytes), 1000bit;
// a bare number is bits per second. Returns bytes per second.
// Error: `--egress-rate "10mbits": unknown unit "mbits"`.
Result<uint64_t> parse_rate(std::string_view flag, std::string_view text);
// A size in bytes (burst): 32kb, 1mb, 1500 (bytes), 64kbit.
Result<uint64_t> parse_size(std::string_view flag, std::string_view text);

}  // namespace husk::net
