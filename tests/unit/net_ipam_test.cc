// net/network.h and net/ipam.h: the network store and address leases, on
// files in temp directories (no root, no namespaces).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "net/ipam.h"
#include "net/network.h"
#include "sys/process.h"
#include "temp_dir_util.h"

namespace husk::net {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

IpAddr ip(const char* s) { return IpAddr::parse(s).value(); }
Prefix prefix(const char* s) { return Prefix::parse(s).value(); }

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("husk-net") {}
};

template <class T>
std::string error_of(const Result<T>& r) {
  return r ? "(no error)" : r.error().what();
}

// ---------------------------------------------------------------------------
// Network JSON

Network sample_network() {
  Network n;
  n.name = "web";
  n.bridge = "husk-web";
  n.subnet4 = prefix("10.90.3.0/24");
  n.gateway4 = ip("10.90.3.1");
  n.subnet6 = prefix("fd12:3456:789a:1::/64");
  n.gateway6 = ip("fd12:3456:789a:1::1");
  n.internal = true;
  n.created = "2024-05-01T12:00:00.000000001Z";
  n.id = std::string(64, 'a');
  return n;
}

TEST(NetNetwork, JsonRoundTrip) {
  Network n = sample_network();
  std::string text = to_json(n);
  EXPECT_THAT(text, HasSubstr("\"driver\": \"bridge\""));
  EXPECT_THAT(text, HasSubstr("\"subnet6\": \"fd12:3456:789a:1::/64\""));
  Network back = network_from_json(text, "web.json").value();
  EXPECT_EQ(back.name, n.name);
  EXPECT_EQ(back.bridge, n.bridge);
  EXPECT_EQ(back.subnet4, n.subnet4);
  EXPECT_EQ(back.gateway4, n.gateway4);
  EXPECT_EQ(back.subnet6, n.subnet6);
  EXPECT_EQ(back.gateway6, n.gateway6);
  EXPECT_EQ(back.internal, true);
  EXPECT_EQ(back.created, n.created);
  EXPECT_EQ(back.id, n.id);

  n.subnet6.reset();
  n.gateway6.reset();
  n.internal = false;
  back = network_from_json(to_json(n), "web.json").value();
  EXPECT_FALSE(back.subnet6.has_value());
  EXPECT_FALSE(back.internal);
}

// The text of sample_network() with one field replaced (or removed: null).
std::string with_field(const char* key, nlohmann::json value) {
  auto j = nlohmann::json::parse(to_json(sample_network()));
  if (value.is_null()) {
    j.erase(key);
  } else {
    j[key] = value;
  }
  return j.dump();
}

std::string from_json_error(const std::string& text) {
  return error_of(network_from_json(text, "/x/networks/web.json"));
}

TEST(NetNetwork, HostileFilesNameTheFileAndTheField) {
  EXPECT_EQ(from_json_error("{"), "/x/networks/web.json: not valid JSON");
  EXPECT_EQ(from_json_error("[1]"), "/x/networks/web.json: not a JSON object");
  EXPECT_EQ(from_json_error(with_field("subnet", "10.90.3.1/24")),
            "/x/networks/web.json: field \"subnet\": \"10.90.3.1/24\" has host bits set (did you "
            "mean 10.90.3.0/24?)");
  EXPECT_EQ(from_json_error(with_field("subnet", "banana")),
            "/x/networks/web.json: field \"subnet\": \"banana\" is not a CIDR prefix "
            "(ADDRESS/LENGTH)");
  EXPECT_EQ(from_json_error(with_field("subnet", "fd00::/64")),
            "/x/networks/web.json: field \"subnet\": fd00::/64 is not an IPv4 subnet");
  EXPECT_EQ(from_json_error(with_field("subnet", "10.90.3.0/31")),
            "/x/networks/web.json: field \"subnet\": 10.90.3.0/31 is too small: a network needs "
            "at least a /30");
  EXPECT_EQ(from_json_error(with_field("subnet", nullptr)),
            "/x/networks/web.json: subnet: missing");
  EXPECT_EQ(from_json_error(with_field("subnet", 7)),
            "/x/networks/web.json: subnet: expected a string, got number");
  EXPECT_EQ(from_json_error(with_field("gateway", "10.1.0.1")),
            "/x/networks/web.json: field \"gateway\": 10.1.0.1 is outside the subnet "
            "10.90.3.0/24");
  EXPECT_EQ(from_json_error(with_field("gateway", "10.90.3.255")),
            "/x/networks/web.json: field \"gateway\": 10.90.3.255 is the broadcast address of "
            "10.90.3.0/24");
  EXPECT_EQ(from_json_error(with_field("gateway6", "fd00::1")),
            "/x/networks/web.json: field \"gateway6\": fd00::1 is outside the subnet "
            "fd12:3456:789a:1::/64");
  EXPECT_EQ(from_json_error(with_field("gateway6", nullptr)),
            "/x/networks/web.json: fields \"subnet6\" and \"gateway6\" go together");
  for (const char* bad : {"", "a/b", "a b", "..", ".", "husk-0123456789a", "a:1", "tab\there"}) {
    EXPECT_THAT(from_json_error(with_field("bridge", bad)),
                StartsWith("/x/networks/web.json: field \"bridge\": "))
        << bad;
  }
  EXPECT_EQ(from_json_error(with_field("bridge", "a\nb")),
            "/x/networks/web.json: field \"bridge\": \"a\\nb\" is not an interface name (1-15 "
            "characters, no '/', ':' or whitespace, not \".\" or \"..\")");
  EXPECT_EQ(from_json_error(with_field("name", "-x")),
            "/x/networks/web.json: field \"name\": invalid network name \"-x\": use "
            "[a-zA-Z0-9][a-zA-Z0-9_.-]*");
  EXPECT_EQ(from_json_error(with_field("id", "xyz")),
            "/x/networks/web.json: field \"id\": \"xyz\" is not 64 hex digits");
  EXPECT_EQ(from_json_error(with_field("internal", "yes")),
            "/x/networks/web.json: internal: expected true or false, got string");
  EXPECT_EQ(from_json_error(with_field("driver", "macvlan")),
            "/x/networks/web.json: field \"driver\": \"macvlan\" is not \"bridge\"");
}

TEST(NetNetwork, BridgeNameFor) {
  EXPECT_EQ(bridge_name_for("web"), "husk-web");
  EXPECT_EQ(bridge_name_for("0123456789"), "husk-0123456789");  // exactly 15
  std::string long_a = bridge_name_for("0123456789a");
  std::string long_b = bridge_name_for("0123456789b");
  EXPECT_THAT(long_a, MatchesRegex("husk-012345[0-9a-f]{4}"));
  EXPECT_THAT(long_b, MatchesRegex("husk-012345[0-9a-f]{4}"));
  EXPECT_NE(long_a, long_b);
  EXPECT_EQ(long_a, bridge_name_for("0123456789a"));  // stable
  // Characters an interface name cannot hold never reach it.
  EXPECT_THAT(bridge_name_for("a b/c:d"), MatchesRegex("husk-abcd[0-9a-f]{4}"));
  EXPECT_THAT(bridge_name_for(""), MatchesRegex("husk-[0-9a-f]{4}"));
  EXPECT_LE(bridge_name_for(std::string(64, 'x')).size(), 15u);
}

TEST(NetNetwork, NameRule) {
  EXPECT_TRUE(validate_network_name("a").has_value());
  EXPECT_TRUE(validate_network_name("My_net.2-b").has_value());
  EXPECT_TRUE(validate_network_name(std::string(64, 'n')).has_value());
  EXPECT_EQ(error_of(validate_network_name(std::string(65, 'n'))),
            "network name \"" + std::string(65, 'n') + "\" is longer than 64 characters");
  EXPECT_EQ(error_of(validate_network_name("")), "a network name cannot be empty");
  for (const char* bad : {"_a", ".a", "-a", "cni:x", "a/b", "a b", "..", "é"})
    EXPECT_FALSE(validate_network_name(bad).has_value()) << bad;
}

// ---------------------------------------------------------------------------
// NetworkStore

TEST(NetStore, DefaultNetworkIsBuiltIn) {
  TempDir t;
  NetworkStore store(t.path());
  Network d = store.get("bridge").value();
  EXPECT_EQ(d.bridge, "husk0");
  EXPECT_EQ(d.subnet4.str(), "10.89.0.0/16");
  EXPECT_EQ(d.gateway4.str(), "10.89.0.1");
  EXPECT_THAT(d.id, MatchesRegex("[0-9a-f]{64}"));
  EXPECT_EQ(d.id, default_network().id);
  EXPECT_EQ(store.get(d.id).value().name, "bridge");
  EXPECT_EQ(store.get(d.id.substr(0, 12)).value().name, "bridge");
  auto all = store.list().value();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].name, "bridge");
  // Nothing was written for it.
  EXPECT_FALSE(std::filesystem::exists(t.path() + "/networks"));
  EXPECT_EQ(error_of(store.remove("bridge")),
            "network \"bridge\" is built in and cannot be removed");
}

TEST(NetStore, DefaultRootFollowsHuskRoot) {
  const char* was = std::getenv("HUSK_ROOT");
  std::optional<std::string> saved = was ? std::optional<std::string>(was) : std::nullopt;
  ::setenv("HUSK_ROOT", "/tmp/somewhere", 1);
  EXPECT_EQ(NetworkStore::default_root(), "/tmp/somewhere");
  ::setenv("HUSK_ROOT", "", 1);
  EXPECT_EQ(NetworkStore::default_root(), "/var/lib/husk");
  ::unsetenv("HUSK_ROOT");
  EXPECT_EQ(NetworkStore::default_root(), "/var/lib/husk");
  if (saved) ::setenv("HUSK_ROOT", saved->c_str(), 1);
}

TEST(NetStore, CreatePicksFreeSubnetsAndWritesTheFile) {
  TempDir t;
  NetworkStore store(t.path());
  Network a = store.create({.name = "a"}, {}).value();
  EXPECT_EQ(a.subnet4.str(), "10.90.0.0/24");
  EXPECT_EQ(a.gateway4.str(), "10.90.0.1");
  EXPECT_EQ(a.bridge, "husk-a");
  EXPECT_THAT(a.id, MatchesRegex("[0-9a-f]{64}"));
  EXPECT_THAT(a.created, MatchesRegex("20[0-9-]{8}T[0-9:]{8}\\.[0-9]{9}Z"));
  EXPECT_FALSE(a.subnet6.has_value());
  // The file is what to_json says.
  EXPECT_EQ(read_file(t.path() + "/networks/a.json").value(), to_json(a) + "\n");

  Network b = store.create({.name = "b"}, {}).value();
  EXPECT_EQ(b.subnet4.str(), "10.90.1.0/24");
  // A host route takes 10.90.2.0 and 10.90.3.0; the default route is no clash.
  Network c = store.create({.name = "c"}, {prefix("10.90.2.0/23"), prefix("0.0.0.0/0")}).value();
  EXPECT_EQ(c.subnet4.str(), "10.90.4.0/24");
  Network d = store
                  .create({.name = "d",
                           .subnet = "192.168.77.0/24",
                           .gateway = "192.168.77.254",
                           .internal = true},
                          {})
                  .value();
  EXPECT_EQ(d.gateway4.str(), "192.168.77.254");
  EXPECT_TRUE(d.internal);

  auto all = store.list().value();
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[0].name, "bridge");
  EXPECT_EQ(all[1].name, "a");
  EXPECT_EQ(all[4].name, "d");
  EXPECT_TRUE(all[4].internal);
  EXPECT_EQ(store.get("c").value().subnet4.str(), "10.90.4.0/24");
  EXPECT_EQ(store.get(b.id).value().name, "b");
  EXPECT_EQ(store.get(b.id.substr(0, 5)).value().name, "b");
}

TEST(NetStore, CreateErrors) {
  TempDir t;
  NetworkStore store(t.path());
  ASSERT_TRUE(store.create({.name = "a", .subnet = "10.90.0.0/24"}, {}).has_value());
  auto err = [&](CreateRequest r, std::vector<Prefix> routes = {}) {
    return error_of(store.create(r, routes));
  };
  EXPECT_EQ(err({.name = "a"}), "network \"a\" already exists");
  EXPECT_EQ(err({.name = "bridge"}), "network \"bridge\" already exists (it is built in)");
  EXPECT_EQ(err({.name = "host"}),
            "network name \"host\" is reserved (--net host is not a bridge)");
  EXPECT_EQ(err({.name = "none"}),
            "network name \"none\" is reserved (--net none is not a bridge)");
  EXPECT_EQ(err({.name = "cni:x"}),
            "invalid network name \"cni:x\": use [a-zA-Z0-9][a-zA-Z0-9_.-]*");
  EXPECT_EQ(err({.name = "../etc"}),
            "invalid network name \"../etc\": use [a-zA-Z0-9][a-zA-Z0-9_.-]*");
  EXPECT_EQ(err({.name = "x", .subnet = "10.89.5.0/24"}),
            "subnet 10.89.5.0/24 overlaps network \"bridge\" (10.89.0.0/16)");
  EXPECT_EQ(err({.name = "x", .subnet = "10.90.0.0/16"}),
            "subnet 10.90.0.0/16 overlaps network \"a\" (10.90.0.0/24)");
  EXPECT_EQ(err({.name = "x", .subnet = "172.20.0.0/16"}, {prefix("172.20.5.0/24")}),
            "subnet 172.20.0.0/16 overlaps the host route 172.20.5.0/24");
  EXPECT_EQ(err({.name = "x", .subnet = "172.20.0.0/16", .gateway = "172.21.0.1"}),
            "--gateway: 172.21.0.1 is outside the subnet 172.20.0.0/16");
  EXPECT_EQ(err({.name = "x", .subnet = "172.20.0.0/16", .gateway = "172.20.0.0"}),
            "--gateway: 172.20.0.0 is the network address of 172.20.0.0/16");
  EXPECT_EQ(err({.name = "x", .gateway = "172.20.0.1"}),
            "--gateway 172.20.0.1 needs an IPv4 --subnet");
  EXPECT_EQ(err({.name = "x", .subnet = "172.20.0.1/16"}),
            "--subnet: \"172.20.0.1/16\" has host bits set (did you mean 172.20.0.0/16?)");
  EXPECT_EQ(err({.name = "x", .subnet = "172.20.0.0/31"}),
            "--subnet 172.20.0.0/31: 172.20.0.0/31 is too small: a network needs at least a /30");
  EXPECT_EQ(err({.name = "x", .subnet = "fd00:1::/64"}),
            "--subnet fd00:1::/64: an IPv6 subnet needs --ipv6");
  // Nothing of the failed creates was written.
  EXPECT_EQ(store.list().value().size(), 2u);
}

TEST(NetStore, Ipv6GetsAUlaOrTheGivenSubnet) {
  TempDir t;
  NetworkStore store(t.path());
  Network a = store.create({.name = "a", .ipv6 = true}, {}).value();
  ASSERT_TRUE(a.subnet6.has_value());
  EXPECT_THAT(a.subnet6->str(), MatchesRegex("fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}:1::/64"));
  EXPECT_EQ(a.gateway6->str(), a.subnet6->host(1).str());
  Network b = store.create({.name = "b", .ipv6 = true}, {}).value();
  EXPECT_NE(a.subnet6, b.subnet6);  // 40 random bits
  Network c = store.create({.name = "c", .subnet = "fd00:1::/64", .ipv6 = true}, {}).value();
  EXPECT_EQ(c.subnet6->str(), "fd00:1::/64");
  EXPECT_EQ(c.gateway6->str(), "fd00:1::1");
  EXPECT_EQ(c.subnet4.str(), "10.90.2.0/24");  // v4 picked as usual
  Network d = store
                  .create({.name = "d",
                           .subnet = "172.30.0.0/24",
                           .subnets6 = {"fd00:2::/64"},
                           .gateway6 = "fd00:2::fe",
                           .ipv6 = true},
                          {})
                  .value();
  EXPECT_EQ(d.gateway6->str(), "fd00:2::fe");
  EXPECT_EQ(error_of(store.create({.name = "e", .subnet = "fd00:1:0:0:1::/80", .ipv6 = true}, {})),
            "subnet fd00:1:0:0:1::/80 overlaps network \"c\" (fd00:1::/64)");
  EXPECT_EQ(store.get("d").value().gateway6->str(), "fd00:2::fe");
}

TEST(NetStore, GetAndRemove) {
  TempDir t;
  NetworkStore store(t.path());
  EXPECT_EQ(error_of(store.get("nope")), "network \"nope\" not found");
  EXPECT_EQ(store.get("nope").error().code, ENOENT);
  EXPECT_EQ(error_of(store.remove("nope")), "network \"nope\" not found");
  // Two networks whose ids share a prefix (files as a user might copy them).
  ASSERT_TRUE(store.create({.name = "seed"}, {}).has_value());
  Network x = sample_network();
  x.name = "x";
  x.id = "abc1" + std::string(60, '0');
  Network y = sample_network();
  y.name = "y";
  y.subnet4 = prefix("10.91.0.0/24");
  y.gateway4 = ip("10.91.0.1");
  y.subnet6 = prefix("fd99::/64");
  y.gateway6 = ip("fd99::1");
  y.id = "abc2" + std::string(60, '0');
  ASSERT_TRUE(write_file_atomic(t.path() + "/networks/x.json", to_json(x)).has_value());
  ASSERT_TRUE(write_file_atomic(t.path() + "/networks/y.json", to_json(y)).has_value());
  EXPECT_EQ(error_of(store.get("abc")),
            "network id prefix \"abc\" is ambiguous: networks \"x\" and \"y\"");
  EXPECT_EQ(store.get("abc2").value().name, "y");
  EXPECT_EQ(store.get(y.id).value().name, "y");
  EXPECT_EQ(error_of(store.get("ab")), "network \"ab\" not found");  // too short a prefix

  EXPECT_TRUE(store.remove("x").has_value());
  EXPECT_EQ(error_of(store.get("x")), "network \"x\" not found");
  EXPECT_EQ(error_of(store.remove("x")), "network \"x\" not found");
  EXPECT_EQ(error_of(store.remove("../seed")), "network \"../seed\" not found");
  EXPECT_EQ(store.list().value().size(), 3u);
}

TEST(NetStore, CorruptFilesAreErrorsThatNameThem) {
  TempDir t;
  NetworkStore store(t.path());
  ASSERT_TRUE(store.create({.name = "a"}, {}).has_value());
  std::string path = t.path() + "/networks/a.json";
  Network a = store.get("a").value();
  a.name = "b";
  ASSERT_TRUE(write_file_atomic(path, to_json(a)).has_value());
  EXPECT_EQ(error_of(store.get("a")),
            path + ": field \"name\": \"b\" is not the file's name \"a\"");
  ASSERT_TRUE(write_file_atomic(path, "{\"name\": \"a\"").has_value());
  EXPECT_EQ(error_of(store.list()), path + ": not valid JSON");
  // create sees every subnet in use, so it refuses to guess past a bad file.
  EXPECT_EQ(error_of(store.create({.name = "c"}, {})), path + ": not valid JSON");
  // ... and the bad file can still be removed.
  EXPECT_TRUE(store.remove("a").has_value());
  EXPECT_TRUE(store.create({.name = "c"}, {}).has_value());
  // A hand-made file for a built-in name is refused too.
  Network fake = store.get("c").value();
  fake.name = "host";
  ASSERT_TRUE(write_file_atomic(t.path() + "/networks/host.json", to_json(fake)).has_value());
  EXPECT_EQ(error_of(store.list()),
            t.path() + "/networks/host.json: field \"name\": network name \"host\" is reserved");
  ASSERT_EQ(::unlink((t.path() + "/networks/host.json").c_str()), 0);
  ASSERT_TRUE(write_file_atomic(t.path() + "/networks/bad name.json", "{}").has_value());
  EXPECT_EQ(error_of(store.list()),
            t.path() +
                "/networks/bad name.json: invalid network name \"bad name\": use "
                "[a-zA-Z0-9][a-zA-Z0-9_.-]*");
}

// Forks n children that each run fn and exit with its result (0 = success);
// returns their exit codes.
std::vector<int> in_children(int n, const std::function<int(int)>& fn) {
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(fn(i));
    pids.push_back(pid);
  }
  std::vector<int> codes;
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  }
  return codes;
}

TEST(NetStore, ConcurrentCreatesOfOneNameMakeOneNetwork) {
  TempDir t;
  std::vector<int> codes = in_children(8, [&](int) {
    auto r = NetworkStore(t.path()).create({.name = "same"}, {});
    if (r) return 0;
    return r.error().code == EEXIST ? 1 : 2;
  });
  EXPECT_EQ(std::count(codes.begin(), codes.end(), 0), 1);
  EXPECT_EQ(std::count(codes.begin(), codes.end(), 1), 7);
  // And concurrent creates of different names get different subnets.
  codes = in_children(8, [&](int i) {
    return NetworkStore(t.path()).create({.name = fmt::format("n{}", i)}, {}) ? 0 : 1;
  });
  EXPECT_EQ(codes, std::vector<int>(8, 0));
  std::set<std::string> subnets;
  std::vector<Network> all = NetworkStore(t.path()).list().value();
  for (const Network& n : all) subnets.insert(n.subnet4.str());
  EXPECT_EQ(subnets.size(), 10u);
}

// ---------------------------------------------------------------------------
// Ipam

Network test_network(const char* name, const char* subnet) {
  Network n;
  n.name = name;
  n.bridge = bridge_name_for(name);
  n.subnet4 = prefix(subnet);
  n.gateway4 = n.subnet4.host(1);
  n.id = std::string(64, '1');
  return n;
}

// A lease owned by this test process (live).
Lease own_lease(const std::string& container) {
  Lease l;
  l.container = container;
  l.hostname = container;
  l.pid = ::getpid();
  l.start_time = process_start_time(::getpid()).value();
  return l;
}

struct Reclaimed {
  std::vector<std::string> containers;
  std::vector<std::string> host_ifs;
  Ipam::Reclaim fn() {
    return [this](const Network&, const Lease& l) {
      containers.push_back(l.container);
      host_ifs.push_back(l.host_if);
    };
  }
};

TEST(NetIpam, ProcessStartTime) {
  auto mine = process_start_time(::getpid());
  ASSERT_TRUE(mine.has_value());
  EXPECT_EQ(*mine, sys::process_start_time(::getpid()).value());
  EXPECT_FALSE(process_start_time(0).has_value());
  EXPECT_FALSE(process_start_time(-1).has_value());
  // A zombie keeps no network alive.
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  for (int i = 0; i < 500 && sys::process_stat(child).value().state != 'Z'; ++i) ::usleep(2000);
  EXPECT_FALSE(process_start_time(child).has_value());
  ::waitpid(child, nullptr, 0);
  EXPECT_FALSE(process_start_time(child).has_value());
  Lease l = own_lease("c");
  EXPECT_TRUE(lease_is_live(l));
  l.start_time += 1;
  EXPECT_FALSE(lease_is_live(l));
  l.pid = 0;
  EXPECT_FALSE(lease_is_live(l));
}

TEST(NetIpam, SequentialAllocationInHostLocalOrder) {
  TempDir t;
  std::string run = t.path() + "/run/networks";
  Ipam ipam(run, test_network("net1", "10.90.0.0/24"), nullptr);
  EXPECT_EQ(ipam.allocate(own_lease("c1"), std::nullopt).value().ipv4.str(), "10.90.0.2");
  EXPECT_EQ(ipam.allocate(own_lease("c2"), std::nullopt).value().ipv4.str(), "10.90.0.3");
  EXPECT_EQ(ipam.allocate(own_lease("c3"), std::nullopt).value().ipv4.str(), "10.90.0.4");
  struct stat st {};
  ASSERT_EQ(::stat(run.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((run + "/net1.leases").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // A released address is not handed out again until the pool wraps.
  ASSERT_TRUE(ipam.release("c2").has_value());
  ASSERT_TRUE(ipam.release("c2").has_value());  // no error the second time
  EXPECT_EQ(ipam.allocate(own_lease("c4"), std::nullopt).value().ipv4.str(), "10.90.0.5");
  EXPECT_EQ(error_of(ipam.allocate(own_lease("c4"), std::nullopt)),
            "container \"c4\" already has an address on network \"net1\"");
  auto leases = ipam.leases().value();
  ASSERT_EQ(leases.size(), 3u);
  EXPECT_EQ(leases[0].container, "c1");
  EXPECT_EQ(leases[2].ipv4.str(), "10.90.0.5");
  EXPECT_FALSE(leases[0].ipv6.has_value());
  // Another Ipam on the same files sees the same state.
  Ipam again(run, test_network("net1", "10.90.0.0/24"), nullptr);
  EXPECT_EQ(again.allocate(own_lease("c5"), std::nullopt).value().ipv4.str(), "10.90.0.6");
  EXPECT_THAT(read_file(run + "/net1.leases").value(), HasSubstr("\"next\": 7"));
}

TEST(NetIpam, ExhaustionAndWrapping) {
  TempDir t;
  // /29: .0 network, .1 gateway, .7 broadcast: .2-.6 to hand out.
  Ipam ipam(t.path(), test_network("small", "10.90.9.0/29"), nullptr);
  std::vector<std::string> got;
  for (int i = 0; i < 5; ++i)
    got.push_back(ipam.allocate(own_lease(fmt::format("c{}", i)), std::nullopt).value().ipv4.str());
  EXPECT_EQ(got, (std::vector<std::string>{"10.90.9.2", "10.90.9.3", "10.90.9.4", "10.90.9.5",
                                           "10.90.9.6"}));
  auto full = ipam.allocate(own_lease("c5"), std::nullopt);
  EXPECT_EQ(error_of(full), "network \"small\": no free address in 10.90.9.0/29");
  EXPECT_EQ(full.error().code, EADDRNOTAVAIL);
  ASSERT_TRUE(ipam.release("c1").has_value());
  EXPECT_EQ(ipam.allocate(own_lease("c5"), std::nullopt).value().ipv4.str(), "10.90.9.3");
  // A gateway that is not host 1 is skipped too.
  TempDir t2;
  Network n = test_network("gw", "10.90.9.0/29");
  n.gateway4 = ip("10.90.9.3");
  Ipam other(t2.path(), n, nullptr);
  got.clear();
  for (int i = 0; i < 5; ++i) {
    auto l = other.allocate(own_lease(fmt::format("c{}", i)), std::nullopt);
    got.push_back(l ? l->ipv4.str() : error_of(l));
  }
  EXPECT_EQ(got, (std::vector<std::string>{"10.90.9.1", "10.90.9.2", "10.90.9.4", "10.90.9.5",
                                           "10.90.9.6"}));
}

TEST(NetIpam, StaticAddress) {
  TempDir t;
  Ipam ipam(t.path(), test_network("net1", "10.90.0.0/24"), nullptr);
  ASSERT_TRUE(ipam.allocate(own_lease("c1"), std::nullopt).has_value());  // .2
  auto err = [&](const char* want) { return error_of(ipam.allocate(own_lease("s"), ip(want))); };
  EXPECT_EQ(err("10.90.0.2"), "address 10.90.0.2 is in use by container \"c1\"");
  EXPECT_EQ(err("10.90.1.2"), "address 10.90.1.2 is not in network \"net1\"'s subnet 10.90.0.0/24");
  EXPECT_EQ(err("fd00::2"), "address fd00::2 is not in network \"net1\"'s subnet 10.90.0.0/24");
  EXPECT_EQ(err("10.90.0.1"), "address 10.90.0.1 is the gateway of network \"net1\"");
  EXPECT_EQ(err("10.90.0.0"), "address 10.90.0.0 is the network address of 10.90.0.0/24");
  EXPECT_EQ(err("10.90.0.255"), "address 10.90.0.255 is the broadcast address of 10.90.0.0/24");
  EXPECT_EQ(ipam.allocate(own_lease("s"), ip("10.90.0.3")).value().ipv4.str(), "10.90.0.3");
  // The next dynamic address steps over it; a static one does not move "next".
  EXPECT_EQ(ipam.allocate(own_lease("d"), std::nullopt).value().ipv4.str(), "10.90.0.4");
  EXPECT_EQ(ipam.allocate(own_lease("s2"), ip("10.90.0.200")).value().ipv4.str(), "10.90.0.200");
  EXPECT_EQ(ipam.allocate(own_lease("d2"), std::nullopt).value().ipv4.str(), "10.90.0.5");
}

TEST(NetIpam, DualStack) {
  TempDir t;
  Network n = test_network("dual", "10.90.0.0/24");
  n.subnet6 = prefix("fd00:5::/64");
  n.gateway6 = ip("fd00:5::1");
  Ipam ipam(t.path(), n, nullptr);
  Lease a = ipam.allocate(own_lease("a"), std::nullopt).value();
  EXPECT_EQ(a.ipv4.str(), "10.90.0.2");
  EXPECT_EQ(a.ipv6->str(), "fd00:5::2");
  Lease b = ipam.allocate(own_lease("b"), ip("10.90.0.77")).value();
  EXPECT_EQ(b.ipv6->str(), "fd00:5::4d");  // 77 = 0x4d
  auto leases = ipam.leases().value();
  ASSERT_EQ(leases.size(), 2u);
  EXPECT_EQ(leases[1].ipv6->str(), "fd00:5::4d");
  // v4 host 1 is given when the v4 gateway is elsewhere, but v6 starts at ::2.
  TempDir t2;
  Network m = n;
  m.gateway4 = ip("10.90.0.254");
  Ipam other(t2.path(), m, nullptr);
  Lease c = other.allocate(own_lease("c"), std::nullopt).value();
  EXPECT_EQ(c.ipv4.str(), "10.90.0.1");
  EXPECT_EQ(c.ipv6->str(), "fd00:5::2");
  Lease d = other.allocate(own_lease("d"), std::nullopt).value();
  EXPECT_EQ(d.ipv4.str(), "10.90.0.2");
  EXPECT_EQ(d.ipv6->str(), "fd00:5::3");  // ::2 is c's
}

// A pid that existed and is gone: a child run, its start time read, reaped.
std::pair<pid_t, uint64_t> dead_process() {
  int fds[2];
  if (::pipe(fds) < 0) return {0, 0};
  pid_t pid = ::fork();
  if (pid == 0) {
    char c;
    ::close(fds[1]);
    (void)!::read(fds[0], &c, 1);
    ::_exit(0);
  }
  ::close(fds[0]);
  uint64_t start = sys::process_start_time(pid).value_or(0);
  ::close(fds[1]);  // lets it exit
  ::waitpid(pid, nullptr, 0);
  return {pid, start};
}

TEST(NetIpam, StaleLeasesAreReclaimedFirst) {
  TempDir t;
  Reclaimed reclaimed;
  Ipam ipam(t.path(), test_network("net1", "10.90.0.0/29"), reclaimed.fn());
  auto [dead_pid, dead_start] = dead_process();
  ASSERT_NE(dead_pid, 0);
  ASSERT_NE(dead_start, 0u);
  Lease dead = own_lease("dead");
  dead.pid = dead_pid;
  dead.start_time = dead_start;
  dead.host_if = "veth-dead";
  Lease reused = own_lease("reused");  // our pid, another start time: pid reuse
  reused.start_time += 12345;
  Lease nobody = own_lease("nobody");  // pid 0: never had an owner
  nobody.pid = 0;
  ASSERT_EQ(ipam.allocate(dead, std::nullopt).value().ipv4.str(), "10.90.0.2");
  EXPECT_TRUE(reclaimed.containers.empty());
  // The next allocation reclaims the dead owner's lease, with the whole lease.
  ASSERT_EQ(ipam.allocate(own_lease("live"), std::nullopt).value().ipv4.str(), "10.90.0.3");
  EXPECT_EQ(reclaimed.containers, (std::vector<std::string>{"dead"}));
  EXPECT_EQ(reclaimed.host_ifs, (std::vector<std::string>{"veth-dead"}));
  reclaimed.containers.clear();
  ASSERT_TRUE(ipam.with_lock([&](std::vector<Lease>& leases) -> Result<void> {
                    reused.ipv4 = ip("10.90.0.4");
                    nobody.ipv4 = ip("10.90.0.5");
                    leases.push_back(reused);
                    leases.push_back(nobody);
                    return ok();
                  })
                  .has_value());
  EXPECT_TRUE(reclaimed.containers.empty());
  // leases() shows stale ones too, and changes nothing.
  EXPECT_EQ(ipam.leases().value().size(), 3u);
  EXPECT_EQ(ipam.leases().value().size(), 3u);
  EXPECT_EQ(ipam.reclaim_stale().value(), 2u);
  EXPECT_EQ(reclaimed.containers, (std::vector<std::string>{"reused", "nobody"}));
  auto left = ipam.leases().value();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].container, "live");
  EXPECT_EQ(ipam.reclaim_stale().value(), 0u);
}

TEST(NetIpam, ReclaimMakesRoomInAFullNetwork) {
  TempDir t;
  Reclaimed reclaimed;
  Ipam ipam(t.path(), test_network("full", "10.90.0.0/30"), reclaimed.fn());  // one address: .2
  auto [pid, start] = dead_process();
  Lease dead = own_lease("dead");
  dead.pid = pid;
  dead.start_time = start;
  // Recorded by another Ipam without a callback: this one reclaims it.
  ASSERT_EQ(Ipam(t.path(), test_network("full", "10.90.0.0/30"), nullptr)
                .allocate(dead, std::nullopt)
                .value()
                .ipv4.str(),
            "10.90.0.2");
  EXPECT_EQ(ipam.allocate(own_lease("new"), std::nullopt).value().ipv4.str(), "10.90.0.2");
  EXPECT_EQ(reclaimed.containers, (std::vector<std::string>{"dead"}));
}

TEST(NetIpam, UpdateKeepsTheAddressesAndRoundTripsEveryField) {
  TempDir t;
  Network n = test_network("net1", "10.90.0.0/24");
  n.subnet6 = prefix("fd00:5::/64");
  n.gateway6 = ip("fd00:5::1");
  Ipam ipam(t.path(), n, nullptr);
  Lease l = ipam.allocate(own_lease("c1"), std::nullopt).value();
  l.host_if = "vethabc";
  l.ifb = "ifbabc";
  l.files_dir = "/run/husk/c1/net";
  l.hostname = "web";
  l.ports = {{"", 8080, 80, Proto::kTcp}, {"127.0.0.1", 5353, 53, Proto::kUdp}};
  l.ipv4 = ip("10.90.0.99");  // ignored: addresses are allocate's
  ASSERT_TRUE(ipam.update(l).has_value());
  Lease back = ipam.leases().value().at(0);
  EXPECT_EQ(back.ipv4.str(), "10.90.0.2");
  EXPECT_EQ(back.ipv6->str(), "fd00:5::2");
  EXPECT_EQ(back.host_if, "vethabc");
  EXPECT_EQ(back.ifb, "ifbabc");
  EXPECT_EQ(back.files_dir, "/run/husk/c1/net");
  EXPECT_EQ(back.hostname, "web");
  EXPECT_EQ(back.ports, l.ports);
  EXPECT_EQ(back.pid, ::getpid());
  EXPECT_EQ(back.start_time, l.start_time);
  Lease ghost = own_lease("ghost");
  EXPECT_EQ(error_of(ipam.update(ghost)), "container \"ghost\" has no address on network \"net1\"");
}

TEST(NetIpam, WithLockSeesAndWritesTheLeases) {
  TempDir t;
  Ipam ipam(t.path(), test_network("net1", "10.90.0.0/24"), nullptr);
  ASSERT_TRUE(ipam.allocate(own_lease("c1"), std::nullopt).has_value());
  ASSERT_TRUE(ipam.with_lock([](std::vector<Lease>& leases) -> Result<void> {
                    if (leases.size() != 1) return fail(0, "expected one lease");
                    leases[0].host_if = "changed";
                    return ok();
                  })
                  .has_value());
  EXPECT_EQ(ipam.leases().value().at(0).host_if, "changed");
  // An error from f writes nothing; a change that would duplicate an address is refused.
  EXPECT_EQ(error_of(ipam.with_lock([](std::vector<Lease>& leases) -> Result<void> {
              leases.clear();
              return fail(0, "no");
            })),
            "no");
  EXPECT_EQ(ipam.leases().value().size(), 1u);
  auto dup = ipam.with_lock([](std::vector<Lease>& leases) -> Result<void> {
    Lease copy = leases[0];
    copy.container = "c2";
    leases.push_back(copy);
    return ok();
  });
  EXPECT_THAT(error_of(dup), HasSubstr("leases[0] and leases[1] share the address 10.90.0.2"));
  EXPECT_EQ(ipam.leases().value().size(), 1u);
}

TEST(NetIpam, CorruptLeaseFileIsAnErrorNeverAReset) {
  TempDir t;
  Ipam ipam(t.path(), test_network("net1", "10.90.0.0/24"), nullptr);
  std::string path = t.path() + "/net1.leases";
  auto try_with = [&](const std::string& text) {
    EXPECT_TRUE(write_file_atomic(path, text).has_value());
    std::string err = error_of(ipam.allocate(own_lease("c"), std::nullopt));
    EXPECT_EQ(read_file(path).value(), text);  // untouched
    EXPECT_EQ(error_of(ipam.leases()), err);
    return err;
  };
  std::string corrupt = "corrupt lease file " + path + ": ";
  EXPECT_EQ(try_with(""), corrupt + "not valid JSON");
  EXPECT_EQ(try_with("{\"next\": 2, \"lea"), corrupt + "not valid JSON");
  EXPECT_EQ(try_with("{\"next\": 2}"), corrupt + "leases: expected an array");
  EXPECT_EQ(try_with("{\"next\": -1, \"leases\": []}"),
            corrupt + "next: expected an unsigned integer, got number");
  std::string lease = R"({"container": "a", "ipv4": "10.90.0.2", "pid": 1, "start_time": 5})";
  EXPECT_EQ(
      try_with(
          R"({"next": 2, "leases": [{"container": "a", "ipv4": "x", "pid": 1, "start_time": 5}]})"),
      corrupt + "leases[0].ipv4: \"x\" is not an IP address");
  EXPECT_EQ(
      try_with(
          R"({"next": 2, "leases": [{"container": "a", "ipv4": "fd00::1", "pid": 1, "start_time": 5}]})"),
      corrupt + "leases[0].ipv4: fd00::1 is not an IPv4 address");
  EXPECT_EQ(
      try_with(R"({"next": 2, "leases": [{"container": "a", "ipv4": "10.90.0.2", "pid": 1}]})"),
      corrupt + "leases[0].start_time: missing");
  EXPECT_EQ(
      try_with(
          R"({"next": 2, "leases": [{"container": "a", "ipv4": "10.90.0.2", "pid": 1, "start_time": 5, "ports": [{"host_port": 80, "container_port": 70000, "proto": "tcp"}]}]})"),
      corrupt + "leases[0].ports[0].container_port: 70000 is out of range (at most 65535)");
  EXPECT_EQ(
      try_with(
          R"({"next": 2, "leases": [{"container": "a", "ipv4": "10.90.0.2", "pid": 1, "start_time": 5, "ports": [{"host_port": 80, "container_port": 80, "proto": "sctp"}]}]})"),
      corrupt + "leases[0].ports[0].proto: \"sctp\" is not tcp or udp");
  EXPECT_EQ(try_with("{\"next\": 2, \"leases\": [" + lease + ", " + lease + "]}"),
            corrupt + "leases[0] and leases[1] are both container \"a\"");
  // A file that is fine parses (and its lease, pid 1 with a wrong start time, is stale).
  EXPECT_TRUE(write_file_atomic(path, "{\"next\": 2, \"leases\": [" + lease + "]}").has_value());
  EXPECT_EQ(ipam.leases().value().at(0).container, "a");
}

TEST(NetIpam, LeasesOfAnUntouchedNetworkAreEmpty) {
  TempDir t;
  Ipam ipam(t.path() + "/not/yet", test_network("net1", "10.90.0.0/24"), nullptr);
  EXPECT_TRUE(ipam.leases().value().empty());
  EXPECT_FALSE(std::filesystem::exists(t.path() + "/not"));
  EXPECT_TRUE(ipam.release("x").has_value());
}

TEST(NetIpam, ConcurrentAllocationsGetDistinctAddresses) {
  TempDir t;
  Network n = test_network("busy", "10.90.0.0/24");
  Lease owner = own_lease("");  // every lease is owned by this (live) test process
  std::vector<int> codes = in_children(8, [&](int child) {
    Ipam ipam(t.path(), n, [](const Network&, const Lease&) { ::_exit(3); });
    for (int i = 0; i < 25; ++i) {
      Lease l = owner;
      l.container = fmt::format("c{}-{}", child, i);
      if (!ipam.allocate(l, std::nullopt)) return 1;
    }
    return 0;
  });
  EXPECT_EQ(codes, std::vector<int>(8, 0));
  auto leases = Ipam(t.path(), n, nullptr).leases().value();
  EXPECT_EQ(leases.size(), 200u);
  std::set<IpAddr> addrs;
  std::set<std::string> containers;
  for (const Lease& l : leases) {
    addrs.insert(l.ipv4);
    containers.insert(l.container);
    EXPECT_TRUE(n.subnet4.contains(l.ipv4));
    EXPECT_NE(l.ipv4, n.gateway4);
  }
  EXPECT_EQ(addrs.size(), 200u);
  EXPECT_EQ(containers.size(), 200u);
  // 200 handed out in order: .2 to .201.
  EXPECT_EQ(addrs.begin()->str(), "10.90.0.2");
  EXPECT_EQ(addrs.rbegin()->str(), "10.90.0.201");
}

}  // namespace
}  // namespace husk::net
