// IPv4/IPv6 addresses and prefixes as values (pure: no syscalls).
//
//   HUSK_TRY_ASSIGN(Prefix p, Prefix::parse("10.89.0.0/16"));
//   p.host(1).str() == "10.89.0.1";  p.contains(*IpAddr::parse("10.89.3.4"));
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace husk::net {

enum class Family { kV4, kV6 };

struct IpAddr {
  Family family = Family::kV4;
  std::array<uint8_t, 16> bytes{};  // network order; v4 uses the first 4

  // "10.0.0.1" or "fd00::1"; an error names the text.
  static Result<IpAddr> parse(std::string_view text);
  std::string str() const;
  size_t size() const { return family == Family::kV4 ? 4 : 16; }
  bool is_loopback() const;  // 127.0.0.0/8, ::1
  // this + n, wrapping within the family's width (n small, e.g. host index).
  IpAddr plus(uint64_t n) const;
  friend bool operator==(const IpAddr&, const IpAddr&) = default;
  friend auto operator<=>(const IpAddr&, const IpAddr&) = default;
};

struct Prefix {
  IpAddr addr;  // the network address (host bits zero)
  int len = 0;

  // "10.89.0.0/16": host bits set is an error ("did you mean 10.89.0.0/16").
  static Result<Prefix> parse(std::string_view text);
  std::string str() const;
  bool contains(const IpAddr& a) const;
  bool overlaps(const Prefix& other) const;
  // The n-th address of the prefix (0 = the network address).
  IpAddr host(uint64_t n) const;
  // How many addresses it holds, capped at 2^32 (enough for any lease file).
  uint64_t size() const;
  // Index of a within the prefix (a must be inside).
  uint64_t index_of(const IpAddr& a) const;
  friend bool operator==(const Prefix&, const Prefix&) = default;
};

}  // namespace husk::net
