#include "net/addr.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace husk::net {
namespace {

int width(Family f) { return f == Family::kV4 ? 32 : 128; }

// Zeroes every bit from bit `len` on.
void mask_from(std::array<uint8_t, 16>& b, size_t size, int len) {
  for (size_t i = 0; i < size; ++i) {
    int first_bit = static_cast<int>(i) * 8;
    if (first_bit >= len) {
      b[i] = 0;
    } else if (first_bit + 8 > len) {
      b[i] &= static_cast<uint8_t>(0xff << (8 - (len - first_bit)));
    }
  }
}

}  // namespace

Result<IpAddr> IpAddr::parse(std::string_view text) {
  std::string s(text);
  IpAddr a;
  if (s.find(':') == std::string::npos) {
    if (::inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
  } else if (::inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.family = Family::kV6;
    return a;
  }
  return fail_quiet(EINVAL, "\"{}\" is not an IP address", text);
}

std::string IpAddr::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(family == Family::kV4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

bool IpAddr::is_loopback() const {
  if (family == Family::kV4) return bytes[0] == 127;
  static constexpr std::array<uint8_t, 16> kOne{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return bytes == kOne;
}

IpAddr IpAddr::plus(uint64_t n) const {
  IpAddr r = *this;
  unsigned carry = 0;
  for (int i = static_cast<int>(size()) - 1; i >= 0 && (n != 0 || carry != 0); --i) {
    unsigned sum = r.bytes[i] + static_cast<unsigned>(n & 0xff) + carry;
    r.bytes[i] = static_cast<uint8_t>(sum);
    carry = sum >> 8;
    n >>= 8;
  }
  return r;
}

Result<Prefix> Prefix::parse(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos)
    return fail_quiet(EINVAL, "\"{}\" is not a CIDR prefix (ADDRESS/LENGTH)", text);
  HUSK_TRY_ASSIGN(IpAddr a, IpAddr::parse(text.substr(0, slash)).context("\"{}\"", text));
  std::string_view len_text = text.substr(slash + 1);
  int len = -1;
  auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (ec != std::errc() || end != len_text.data() + len_text.size() || len < 0 ||
      len > width(a.family))
    return fail_quiet(EINVAL, "\"{}\": prefix length \"{}\" is not 0-{}", text, len_text,
                width(a.family));
  Prefix p{a, len};
  mask_from(p.addr.bytes, a.size(), len);
  if (p.addr != a) return fail_quiet(EINVAL, "\"{}\" has host bits set (did you mean {}?)", text, p.str());
  return p;
}

std::string Prefix::str() const { return fmt::format("{}/{}", addr.str(), len); }

bool Prefix::contains(const IpAddr& a) const {
  if (a.family != addr.family) return false;
  IpAddr masked = a;
  mask_from(masked.bytes, a.size(), len);
  return masked == addr;
}

bool Prefix::overlaps(const Prefix& other) const {
  if (other.addr.family != addr.family) return false;
  const Prefix& wider = len <= other.len ? *this : other;
  const Prefix& narrower = len <= other.len ? other : *this;
  return wider.contains(narrower.addr);
}

IpAddr Prefix::host(uint64_t n) const { return addr.plus(n); }

uint64_t Prefix::size() const {
  int host_bits = width(addr.family) - len;
  return host_bits >= 32 ? (uint64_t{1} << 32) : (uint64_t{1} << host_bits);
}

uint64_t Prefix::index_of(const IpAddr& a) const {
  // The low 64 bits are enough: size() is capped at 2^32 (modular arithmetic
  // gives the right difference even when the high bytes differ by a carry).
  uint64_t hi = 0, lo = 0;
  size_t n = a.size();
  for (size_t i = n - std::min<size_t>(n, 8); i < n; ++i) {
    hi = (hi << 8) | a.bytes[i];
    lo = (lo << 8) | addr.bytes[i];
  }
  return hi - lo;
}

}  // namespace husk::net
