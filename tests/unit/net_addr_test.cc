// net/addr.h and net/ports.h: addresses, prefixes, -p and rate parsing (pure).
#include <gtest/gtest.h>

#include "net/addr.h"
#include "net/ports.h"

namespace husk::net {
namespace {

IpAddr ip(const char* s) { return IpAddr::parse(s).value(); }
Prefix prefix(const char* s) { return Prefix::parse(s).value(); }

TEST(NetAddr, ParsesAndPrintsBothFamilies) {
  EXPECT_EQ(ip("10.89.0.1").str(), "10.89.0.1");
  EXPECT_EQ(ip("fd00:0:0::1").str(), "fd00::1");
  EXPECT_EQ(ip("fd00::1").family, Family::kV6);
  EXPECT_FALSE(IpAddr::parse("10.89.0").has_value());
  EXPECT_FALSE(IpAddr::parse("").has_value());
  EXPECT_EQ(IpAddr::parse("x").error().what(), "\"x\" is not an IP address");
  EXPECT_TRUE(ip("127.0.0.53").is_loopback());
  EXPECT_TRUE(ip("::1").is_loopback());
  EXPECT_FALSE(ip("10.0.0.1").is_loopback());
}

TEST(NetAddr, PlusCarriesAcrossBytes) {
  EXPECT_EQ(ip("10.89.0.255").plus(1).str(), "10.89.1.0");
  EXPECT_EQ(ip("10.89.255.255").plus(2).str(), "10.90.0.1");
  EXPECT_EQ(ip("fd00::ffff").plus(1).str(), "fd00::1:0");
}

TEST(NetAddr, Prefixes) {
  Prefix p = prefix("10.89.0.0/16");
  EXPECT_EQ(p.str(), "10.89.0.0/16");
  EXPECT_EQ(p.host(1).str(), "10.89.0.1");
  EXPECT_EQ(p.size(), 65536u);
  EXPECT_TRUE(p.contains(ip("10.89.200.3")));
  EXPECT_FALSE(p.contains(ip("10.90.0.1")));
  EXPECT_FALSE(p.contains(ip("fd00::1")));
  EXPECT_EQ(p.index_of(ip("10.89.1.2")), 258u);
  EXPECT_TRUE(p.overlaps(prefix("10.89.3.0/24")));
  EXPECT_TRUE(prefix("10.89.3.0/24").overlaps(p));
  EXPECT_FALSE(p.overlaps(prefix("10.90.0.0/16")));
  EXPECT_EQ(prefix("fd12:3456::/64").size(), uint64_t{1} << 32);
  EXPECT_EQ(prefix("fd12:3456::/64").index_of(ip("fd12:3456::1:2")), 0x10002u);
  EXPECT_EQ(Prefix::parse("10.89.0.1/16").error().what(),
            "\"10.89.0.1/16\" has host bits set (did you mean 10.89.0.0/16?)");
  EXPECT_FALSE(Prefix::parse("10.0.0.0/33").has_value());
  EXPECT_FALSE(Prefix::parse("10.0.0.0").has_value());
  EXPECT_FALSE(Prefix::parse("10.0.0.0/x").has_value());
}

TEST(NetPorts, PublishForms) {
  auto one = parse_publish("8080:80").value();
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0], (PortMapping{"", 8080, 80, Proto::kTcp}));
  EXPECT_EQ(parse_publish("80").value()[0], (PortMapping{"", 0, 80, Proto::kTcp}));
  EXPECT_EQ(parse_publish("127.0.0.1:8080:80/udp").value()[0],
            (PortMapping{"127.0.0.1", 8080, 80, Proto::kUdp}));
  EXPECT_EQ(parse_publish("127.0.0.1::80").value()[0],
            (PortMapping{"127.0.0.1", 0, 80, Proto::kTcp}));
  EXPECT_EQ(parse_publish("[::1]:8080:80").value()[0], (PortMapping{"::1", 8080, 80, Proto::kTcp}));
  auto range = parse_publish("8000-8002:90-92/tcp").value();
  ASSERT_EQ(range.size(), 3u);
  EXPECT_EQ(range[2], (PortMapping{"", 8002, 92, Proto::kTcp}));
  EXPECT_EQ(parse_publish("90-91").value().size(), 2u);
  EXPECT_EQ(to_string(one[0]), "0.0.0.0:8080->80/tcp");
}

TEST(NetPorts, PublishErrorsNameTheValue) {
  EXPECT_EQ(parse_publish("70000:80").error().what(),
            "-p \"70000:80\": port 70000 is out of range");
  EXPECT_EQ(parse_publish("80/sctp").error().message, "-p \"80/sctp\": unknown protocol \"sctp\" (tcp or udp)");
  EXPECT_FALSE(parse_publish("8000-8001:80").has_value());
  EXPECT_FALSE(parse_publish("9-8").has_value());
  EXPECT_FALSE(parse_publish("nope:80").has_value());
  EXPECT_FALSE(parse_publish("1.2.3:80:80").has_value());
  EXPECT_FALSE(parse_publish("").has_value());
}

TEST(NetPorts, RatesAndSizes) {
  EXPECT_EQ(parse_rate("--egress-rate", "10mbit").value(), 1250000u);
  EXPECT_EQ(parse_rate("--egress-rate", "1gbit").value(), 125000000u);
  EXPECT_EQ(parse_rate("--egress-rate", "100kbps").value(), 100000u);
  EXPECT_EQ(parse_rate("--egress-rate", "8000").value(), 1000u);
  EXPECT_EQ(parse_rate("--egress-rate", "10mbits").error().message,
            "--egress-rate \"10mbits\": unknown unit \"mbits\"");
  EXPECT_FALSE(parse_rate("--egress-rate", "fast").has_value());
  EXPECT_FALSE(parse_rate("--egress-rate", "0").has_value());
  EXPECT_EQ(parse_size("--egress-burst", "32kb").value(), 32768u);
  EXPECT_EQ(parse_size("--egress-burst", "1500").value(), 1500u);
}

}  // namespace
}  // namespace husk::net
