// The systemd cgroup driver without systemd: unit and slice names, resources
// as unit properties, the D-Bus wire format (golden bytes, and a real
// dbus-daemon when the host has one), and the driver's systemd1 calls against
// a fake bus speaking the protocol on the other end of a socketpair.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "cgroup/convert.h"
#include "cgroup/dbus.h"
#include "cgroup/systemd_units.h"
#include "cgroup_test_util.h"

namespace husk::cgroup {
namespace {

using dbus::decode;
using dbus::encode;
using dbus::Message;
using dbus::serialize;
using dbus::Value;

std::string hex(std::string_view s) {
  std::string out;
  for (unsigned char c : s) out += fmt::format("{:02x}", c);
  return out;
}

const UnitProperty* find(const std::vector<UnitProperty>& props, std::string_view name) {
  for (const auto& p : props)
    if (p.name == name) return &p;
  return nullptr;
}

// ---- names

TEST(SystemdNames, ScopeInItsSlice) {
  auto u = parse_systemd_path("system.slice:docker:abc", "id");
  ASSERT_TRUE(u) << u.error().what();
  EXPECT_EQ(u->slice, "system.slice");
  EXPECT_EQ(u->unit, "docker-abc.scope");
  u = parse_systemd_path("machine.slice::web", "id");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->unit, "web.scope");
  u = parse_systemd_path(":libpod:f00", "id");  // podman leaves the slice out sometimes
  ASSERT_TRUE(u);
  EXPECT_EQ(u->slice, "system.slice");
  u = parse_systemd_path("", "c1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->slice, "system.slice");
  EXPECT_EQ(u->unit, "husk-c1.scope");
}

TEST(SystemdNames, BadPathsAreRefusedNamingTheForm) {
  for (const char* bad : {"/sys/a", "a:b", "a:b:c:d", "x.scope:p:n", "a--b.slice:p:n",
                          "-a.slice:p:n", "a-.slice:p:n", "sys/x.slice:p:n",
                          "system.slice:p:", "system.slice:p:bad/name", "system.slice:p:n.slice"}) {
    auto u = parse_systemd_path(bad, "id");
    EXPECT_FALSE(u) << bad;
    if (!u) {
      EXPECT_NE(u.error().what().find(bad), std::string::npos) << u.error().what();
    }
  }
}

TEST(SystemdNames, SlicesNestByTheirDashes) {
  EXPECT_EQ(*expand_slice("-.slice"), "/");
  EXPECT_EQ(*expand_slice("system.slice"), "/system.slice");
  EXPECT_EQ(*expand_slice("a-b-c.slice"), "/a.slice/a-b.slice/a-b-c.slice");
  EXPECT_EQ(*expand_slice("kubepods-besteffort-pod1_2.slice"),
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1_2.slice");
  EXPECT_FALSE(expand_slice("a.scope"));
  EXPECT_FALSE(expand_slice(".slice"));
  EXPECT_FALSE(expand_slice("a b.slice"));
  EXPECT_FALSE(valid_unit_name(std::string(256, 'a')));
  EXPECT_TRUE(valid_unit_name("a\\x2db.scope"));
}

// ---- properties

TEST(SystemdProperties, CpuMemoryPidsIo) {
  config::Resources r;
  r.cpu = config::CpuResources{
      .shares = 1024, .quota = 50000, .period = 100000, .cpus = "0-2,9", .mems = "0"};
  r.memory = config::MemoryResources{.limit = 64 << 20, .reservation = 32 << 20, .swap = 96 << 20};
  r.pids = config::PidsResources{.limit = 16};
  config::BlockIoResources io;
  io.weight = 500;
  io.weight_device.push_back({.major = 8, .minor = 0, .weight = 1000});
  io.throttle_read_bps_device.push_back({.major = 8, .minor = 0, .rate = 1048576});
  io.throttle_write_iops_device.push_back({.major = 8, .minor = 16, .rate = 0});
  r.block_io = io;
  r.unified = {{"memory.high", "48000000"}, {"io.bfq.weight", "10"}};
  auto p = resource_properties(r);
  ASSERT_TRUE(p) << p.error().what();
  auto num = [&](std::string_view name) -> uint64_t {
    const UnitProperty* q = find(*p, name);
    EXPECT_NE(q, nullptr) << name;
    return q != nullptr ? q->value.num : 0;
  };
  EXPECT_EQ(num("CPUWeight"), 39u);  // runc's map: 1 + (1024-2)*9999/262142
  EXPECT_EQ(num("CPUQuotaPerSecUSec"), 500000u);
  EXPECT_EQ(num("CPUQuotaPeriodUSec"), 100000u);
  EXPECT_EQ(num("MemoryMax"), 64u << 20);
  EXPECT_EQ(num("MemoryLow"), 32u << 20);
  EXPECT_EQ(num("MemorySwapMax"), 32u << 20);  // OCI swap is memory+swap
  EXPECT_EQ(num("MemoryHigh"), 48000000u);
  EXPECT_EQ(num("TasksMax"), 16u);
  EXPECT_EQ(num("IOWeight"), blkio_weight_to_io_weight(500));
  const UnitProperty* cpus = find(*p, "AllowedCPUs");
  ASSERT_NE(cpus, nullptr);
  EXPECT_EQ(cpus->value, Value::bytes({0x07, 0x02}));
  const UnitProperty* bps = find(*p, "IOReadBandwidthMax");
  ASSERT_NE(bps, nullptr);
  EXPECT_EQ(bps->value.sig, "a(st)");
  EXPECT_EQ(bps->value.items.at(0).items.at(0).str, "/dev/block/8:0");
  EXPECT_EQ(bps->value.items.at(0).items.at(1).num, 1048576u);
  // Rate 0 lifts the limit: systemd's infinity.
  EXPECT_EQ(find(*p, "IOWriteIOPSMax")->value.items.at(0).items.at(1).num, UINT64_MAX);
  EXPECT_EQ(find(*p, "IODeviceWeight")->value.items.at(0).items.at(1).num, 10000u);
  EXPECT_EQ(find(*p, "IOBfqWeight"), nullptr);  // unified without a property: files only
}

TEST(SystemdProperties, QuotaRoundsUpToSystemdsStepAndUnlimitedIsInfinity) {
  config::Resources r;
  r.cpu = config::CpuResources{.quota = 33333, .period = 100000};
  r.memory = config::MemoryResources{.limit = -1, .swap = -1};
  r.pids = config::PidsResources{.limit = -1};
  auto p = resource_properties(r);
  ASSERT_TRUE(p) << p.error().what();
  EXPECT_EQ(find(*p, "CPUQuotaPerSecUSec")->value.num, 340000u);
  EXPECT_EQ(find(*p, "MemoryMax")->value.num, UINT64_MAX);
  EXPECT_EQ(find(*p, "MemorySwapMax")->value.num, UINT64_MAX);
  EXPECT_EQ(find(*p, "TasksMax")->value.num, UINT64_MAX);
  r = {};
  r.cpu = config::CpuResources{.quota = -1};
  p = resource_properties(r);
  ASSERT_TRUE(p);
  EXPECT_EQ(find(*p, "CPUQuotaPerSecUSec")->value.num, UINT64_MAX);
  EXPECT_EQ(find(*p, "CPUQuotaPeriodUSec"), nullptr);
}

TEST(SystemdProperties, BadValuesFailAsTheCgroupfsDriver) {
  config::Resources r;
  r.memory = config::MemoryResources{.limit = 64 << 20, .swap = 32 << 20};
  EXPECT_FALSE(resource_properties(r));
  r = {};
  r.cpu = config::CpuResources{.cpus = "3-1x"};
  auto p = resource_properties(r);
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().what().find("cpu.cpus"), std::string::npos);
}

constexpr std::string_view kProcDevices =
    "Character devices:\n  1 mem\n  4 /dev/vc/0\n  5 /dev/tty\n136 pts\n\n"
    "Block devices:\n  8 sd\n";

TEST(SystemdProperties, DevicesAsPolicyWhenSystemdCanSayTheSame) {
  std::vector<config::DeviceRule> rules = {
      {.allow = false, .type = 'a', .access = "rwm"},
      {.allow = true, .type = 'c', .access = "m"},
      {.allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm"},
      {.allow = true, .type = 'c', .major = 136, .access = "rwm"},
  };
  auto p = device_properties(rules, kProcDevices);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[0].value.str, "strict");
  const Value& allow = (*p)[1].value;
  ASSERT_EQ(allow.items.size(), 3u);
  EXPECT_EQ(allow.items[0].items[0].str, "char-*");
  EXPECT_EQ(allow.items[0].items[1].str, "m");
  EXPECT_EQ(allow.items[1].items[0].str, "/dev/char/1:3");
  EXPECT_EQ(allow.items[2].items[0].str, "char-pts");
  // A deny after an allow, or a major /proc/devices does not name: the
  // cgroupfs driver's eBPF program alone.
  auto deny_later = rules;
  deny_later.push_back({.allow = false, .type = 'c', .major = 1, .minor = 3, .access = "w"});
  EXPECT_FALSE(device_properties(deny_later, kProcDevices));
  auto unnamed = rules;
  unnamed.push_back({.allow = true, .type = 'b', .major = 259, .access = "r"});
  EXPECT_FALSE(device_properties(unnamed, kProcDevices));
  EXPECT_TRUE(device_properties({}, kProcDevices)->empty());
  EXPECT_EQ(device_group(kProcDevices, 'b', 8), "sd");
  EXPECT_EQ(device_group(kProcDevices, 'c', 8), std::nullopt);
}

// ---- wire format

TEST(DbusWire, BasicValuesAlignFromTheMessageStart) {
  std::string buf;
  ASSERT_TRUE(encode(Value::boolean(true), buf));
  ASSERT_TRUE(encode(Value::array("t", {Value::u64(2)}), buf));
  ASSERT_TRUE(encode(Value::string("ab"), buf));
  ASSERT_TRUE(encode(Value::variant(Value::string("x")), buf));
  // b | array length 8, padded to 8 before its first t | string | variant: its signature
  // "s" (1-aligned, right after the string), then the string padded to 4.
  EXPECT_EQ(hex(buf),
            "01000000"
            "08000000"
            "0200000000000000"
            "02000000616200"
            "017300"
            "0000"
            "01000000"
            "7800");
  size_t pos = 0;
  EXPECT_EQ(*decode("b", buf, pos), Value::boolean(true));
  EXPECT_EQ(*decode("at", buf, pos), Value::array("t", {Value::u64(2)}));
  EXPECT_EQ(decode("s", buf, pos)->str, "ab");
  auto v = decode("v", buf, pos);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->items.at(0).str, "x");
  EXPECT_EQ(pos, buf.size());
}

TEST(DbusWire, HeaderFieldsAsTheSpecificationLaysThemOut) {
  Message m{.serial = 1, .path = "/a", .member = "M"};
  auto bytes = serialize(m);
  ASSERT_TRUE(bytes);
  // l, call, no flags, version 1 | body 0 | serial 1 | fields array of 26 bytes:
  // (PATH, v "o" "/a") padded to 8, (MEMBER, v "s" "M") | header padded to 8.
  EXPECT_EQ(hex(*bytes),
            "6c010001"
            "00000000"
            "01000000"
            "1a000000"
            "01016f00"
            "02000000"
            "2f6100"
            "0000000000"
            "03017300"
            "01000000"
            "4d00"
            "000000000000");
}

TEST(DbusWire, RoundTripOfATransientUnitCall) {
  std::vector<Value> props = {
      Value::structure(
          {Value::string("PIDs"), Value::variant(Value::array("u", {Value::u32(42)}))}),
      Value::structure({Value::string("AllowedCPUs"), Value::variant(Value::bytes({1, 2}))}),
      Value::structure({Value::string("MemoryMax"), Value::variant(Value::u64(1 << 20))})};
  Message m{.serial = 9,
            .path = "/org/freedesktop/systemd1",
            .interface = "org.freedesktop.systemd1.Manager",
            .member = "StartTransientUnit",
            .destination = "org.freedesktop.systemd1",
            .body = {Value::string("x.scope"), Value::string("replace"),
                     Value::array("(sv)", props), Value::array("(sa(sv))", {})}};
  auto bytes = serialize(m);
  ASSERT_TRUE(bytes);
  auto size = dbus::message_size(*bytes);
  ASSERT_TRUE(size && *size);
  EXPECT_EQ(**size, bytes->size());
  auto back = dbus::parse(*bytes);
  ASSERT_TRUE(back) << back.error().what();
  EXPECT_EQ(back->signature(), "ssa(sv)a(sa(sv))");
  EXPECT_EQ(back->body, m.body);
  EXPECT_EQ(back->member, "StartTransientUnit");
  EXPECT_EQ(back->serial, 9u);
}

TEST(DbusWire, HostileBytesAreErrors) {
  for (size_t cut = 0; cut < 40; ++cut) {
    Message m{.serial = 3, .path = "/a", .member = "M", .body = {Value::string("hello")}};
    std::string b = *serialize(m);
    b.resize(std::min(b.size(), cut));
    EXPECT_FALSE(dbus::parse(b)) << cut;
  }
  size_t pos = 0;
  std::string huge = "\xff\xff\xff\x7f";
  EXPECT_FALSE(decode("as", huge, pos));
  EXPECT_FALSE(dbus::split_signature("a(s"));
  EXPECT_FALSE(dbus::split_signature("()"));
  EXPECT_FALSE(dbus::split_signature(std::string(40, 'a') + "s"));
  EXPECT_EQ(*dbus::split_signature("sa(sv)t"), (std::vector<std::string>{"s", "a(sv)", "t"}));
}

// ---- a fake systemd on the other end of a socketpair

class FakeBus {
 public:
  // How the fake answers StartTransientUnit.
  enum class Start { kDone, kJobFailed, kExists };

  explicit FakeBus(Start mode) : mode_(mode) {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    client_ = UniqueFd(sv[0]);
    server_ = UniqueFd(sv[1]);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeBus() {
    client_.reset();
    if (thread_.joinable()) thread_.join();
  }
  UniqueFd take_client() { return std::move(client_); }
  std::vector<Message> calls;  // read after the client is gone

  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  void reply(const Message& to, std::vector<Value> body, std::string error = "") {
    Message r{.type = error.empty() ? dbus::Type::kReturn : dbus::Type::kError,
              .serial = ++serial_,
              .error_name = std::move(error),
              .reply_serial = to.serial,
              .body = std::move(body)};
    write_msg(r);
  }
  void write_msg(const Message& m) {
    std::string b = *serialize(m);
    (void)!::write(server_.get(), b.data(), b.size());
  }
  void serve() {
    std::string in;
    char buf[4096];
    bool authed = false;
    for (;;) {
      ssize_t n = ::read(server_.get(), buf, sizeof buf);
      if (n <= 0) return;
      in.append(buf, static_cast<size_t>(n));
      if (!authed) {
        size_t end = in.find("BEGIN\r\n");
        if (in.find("AUTH EXTERNAL ") != std::string::npos && !sent_ok_) {
          (void)!::write(server_.get(), "OK 0123456789abcdef0123456789abcdef\r\n", 37);
          sent_ok_ = true;
        }
        if (end == std::string::npos) continue;
        in.erase(0, end + 7);
        authed = true;
      }
      for (;;) {
        auto size = dbus::message_size(in);
        if (!size || !*size || in.size() < **size) break;
        auto m = dbus::parse(std::string_view(in).substr(0, **size));
        in.erase(0, **size);
        if (!m) return;
        calls.push_back(*m);
        handle(*m);
      }
    }
  }
  void handle(const Message& m) {
    if (m.member == "Hello") return reply(m, {Value::string(":1.7")});
    if (m.member == "AddMatch") return;  // sent without expecting a reply
    if (m.member == "ResetFailedUnit") return reply(m, {});
    if (m.member == "GetUnit") {
      if (mode_ == Start::kExists)
        return reply(m, {Value::object_path("/org/freedesktop/systemd1/unit/x_2escope")});
      return reply(m, {Value::string("Unit " + m.body[0].str + " not loaded.")},
                   "org.freedesktop.systemd1.NoSuchUnit");
    }
    if (m.member == "StartTransientUnit") {
      if (mode_ == Start::kExists)
        return reply(m, {Value::string("Unit " + m.body[0].str + " already exists.")},
                     "org.freedesktop.systemd1.UnitExists");
      std::string job = "/org/freedesktop/systemd1/job/7";
      // The signal first: the client must keep it while it waits for the reply.
      write_msg(Message{.type = dbus::Type::kSignal,
                        .serial = ++serial_,
                        .path = "/org/freedesktop/systemd1",
                        .interface = "org.freedesktop.systemd1.Manager",
                        .member = "JobRemoved",
                        .body = {Value::u32(7), Value::object_path(job), m.body[0],
                                 Value::string(mode_ == Start::kDone ? "done" : "failed")}});
      return reply(m, {Value::object_path(job)});
    }
    if (m.member == "StopUnit")
      return reply(m, {Value::string("Unit " + m.body[0].str + " not loaded.")},
                   "org.freedesktop.systemd1.NoSuchUnit");
    reply(m, {Value::string("unknown method")}, "org.freedesktop.DBus.Error.UnknownMethod");
  }

  Start mode_;
  UniqueFd client_, server_;
  std::thread thread_;
  uint32_t serial_ = 0;
  bool sent_ok_ = false;
};

std::vector<std::string> members(const std::vector<Message>& calls) {
  std::vector<std::string> out;
  for (const auto& c : calls) out.push_back(c.member);
  return out;
}

TEST(SystemdCalls, StartSendsTheScopeAndWaitsForItsJob) {
  FakeBus fake(FakeBus::Start::kDone);
  {
    auto bus = dbus::Connection::over(fake.take_client(), true);
    ASSERT_TRUE(bus) << bus.error().what();
    SystemdUnit u{"machine.slice", "husk-a.scope"};
    auto r = start_transient_unit(*bus, u, 4242, "husk container a",
                                  {{"MemoryMax", Value::u64(1 << 20)}});
    ASSERT_TRUE(r) << r.error().what();
    ASSERT_TRUE(stop_unit(*bus, "husk-a.scope"));  // NoSuchUnit: gone already, fine
  }
  fake.join();
  EXPECT_EQ(members(fake.calls),
            (std::vector<std::string>{"Hello", "AddMatch", "StartTransientUnit", "AddMatch",
                                      "StopUnit", "ResetFailedUnit"}));
  const Message& start = fake.calls[2];
  EXPECT_EQ(start.signature(), "ssa(sv)a(sa(sv))");
  EXPECT_EQ(start.body[0].str, "husk-a.scope");
  std::map<std::string, Value> props;
  for (const auto& p : start.body[2].items) props[p.items[0].str] = p.items[1].items[0];
  EXPECT_EQ(props["Slice"], Value::string("machine.slice"));
  EXPECT_EQ(props["Delegate"], Value::boolean(true));
  EXPECT_EQ(props["PIDs"], Value::array("u", {Value::u32(4242)}));
  EXPECT_EQ(props["MemoryMax"], Value::u64(1 << 20));
  EXPECT_NE(fake.calls[1].body[0].str.find("member='JobRemoved'"), std::string::npos);
  EXPECT_TRUE(fake.calls[1].flags & dbus::kNoReplyExpected);
}

TEST(SystemdCalls, AnExistingUnitIsRefusedAndLeftAlone) {
  FakeBus fake(FakeBus::Start::kExists);
  {
    auto bus = dbus::Connection::over(fake.take_client(), true);
    ASSERT_TRUE(bus);
    auto r = start_transient_unit(*bus, {"system.slice", "x.scope"}, 1, "d", {});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EEXIST);
    EXPECT_EQ(r.error().what(), "systemd unit x.scope already exists");
  }
  fake.join();
  // No ResetFailedUnit or StopUnit: the unit is someone else's.
  EXPECT_EQ(members(fake.calls),
            (std::vector<std::string>{"Hello", "AddMatch", "StartTransientUnit"}));
}

TEST(SystemdCalls, ALoadedUnitIsFoundBeforeAnythingStarts) {
  for (auto mode : {FakeBus::Start::kExists, FakeBus::Start::kDone}) {
    FakeBus fake(mode);
    auto bus = dbus::Connection::over(fake.take_client(), true);
    ASSERT_TRUE(bus);
    auto r = check_unit_absent(*bus, "x.scope");
    if (mode == FakeBus::Start::kExists) {
      ASSERT_FALSE(r);
      EXPECT_EQ(r.error().code, EEXIST);
      EXPECT_EQ(r.error().what(), "systemd unit x.scope already exists");
    } else {
      EXPECT_TRUE(r) << r.error().what();
    }
  }
}

TEST(SystemdCalls, AFailedStartIsResetSoNoFailedUnitStays) {
  FakeBus fake(FakeBus::Start::kJobFailed);
  {
    auto bus = dbus::Connection::over(fake.take_client(), true);
    ASSERT_TRUE(bus);
    auto r = start_transient_unit(*bus, {"system.slice", "x.scope"}, 1, "d", {});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what(), "systemd could not start x.scope (job result \"failed\")");
  }
  fake.join();
  EXPECT_EQ(members(fake.calls).back(), "ResetFailedUnit");
}

TEST(SystemdCalls, NoBusSocketIsOneLine) {
  ::setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/husk-bus", 1);
  auto bus = dbus::Connection::system();
  ::unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
  ASSERT_FALSE(bus);
  EXPECT_EQ(bus.error().what(),
            "connect to D-Bus at /nonexistent/husk-bus: No such file or directory");
}

// ---- a real dbus-daemon, when the host has one

TEST(DbusLive, TalksToARealBusDaemon) {
  if (::access("/usr/bin/dbus-daemon", X_OK) != 0) GTEST_SKIP() << "no dbus-daemon";
  testing::FixtureDir dir;
  std::string sock = dir / "bus";
  std::string conf = dir / "bus.conf";
  std::ofstream(conf)
      << "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus "
         "Configuration 1.0//EN\" "
         "\"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">"
         "<busconfig><type>custom</type><listen>unix:path="
      << sock
      << "</listen><auth>EXTERNAL</auth><policy context=\"default\">"
         "<allow send_destination=\"*\" eavesdrop=\"true\"/><allow eavesdrop=\"true\"/>"
         "<allow own=\"*\"/>"
         "</policy></busconfig>";
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // As root without CAP_SYS_RESOURCE it warns that it cannot raise its fd limit.
    int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, 2);
    ::execl("/usr/bin/dbus-daemon", "dbus-daemon", "--nofork", "--nopidfile",
            ("--config-file=" + conf).c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::optional<dbus::Connection> bus;
  for (int i = 0; i < 200 && !bus; ++i) {
    auto c = dbus::Connection::open(sock, true);
    if (c) {
      bus.emplace(std::move(*c));
    } else {
      ASSERT_TRUE(c.error().code == ENOENT || c.error().code == ECONNREFUSED) << c.error().what();
      ::usleep(5000);
    }
  }
  ASSERT_TRUE(bus) << "dbus-daemon did not listen";
  auto r = bus->call(Message{.path = "/org/freedesktop/DBus",
                             .interface = "org.freedesktop.DBus",
                             .member = "GetNameOwner",
                             .destination = "org.freedesktop.DBus",
                             .body = {Value::string("org.freedesktop.DBus")}});
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->body.at(0).str, "org.freedesktop.DBus");
  // The daemon's own error, passed on as one line.
  auto e = bus->call(Message{.path = "/org/freedesktop/systemd1",
                             .interface = "org.freedesktop.systemd1.Manager",
                             .member = "StopUnit",
                             .destination = "org.freedesktop.systemd1",
                             .body = {Value::string("x.scope"), Value::string("replace")}});
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().what().find("org.freedesktop.systemd1"), std::string::npos)
      << e.error().what();
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
}

}  // namespace
}  // namespace husk::cgroup
