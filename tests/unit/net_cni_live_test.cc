// net/cni with Debian's real plugins (containernetworking-plugins in /usr/lib/cni): bridge +
// host-local + bandwidth + tuning, ADD, CHECK and DEL, and the undo of a failed ADD. Root only.
//
// Nothing touches the host's interfaces: each test moves itself into a network namespace of its
// own (the "host" side, where the plugins make the bridge, the ifb device and the forwarding
// sysctl) and forks a child that unshares another (the container's, /proc/<child>/ns/net).
// Both go away with the test; `ip` and `tc` are only used to look.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "net/cni.h"
#include "net_cni_test_util.h"

namespace husk::net::cni {
namespace {

using testing::CniTempDir;

constexpr const char* kPlugins = "/usr/lib/cni";

class NetCniLive : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (::access((std::string(kPlugins) + "/bridge").c_str(), X_OK) != 0)
      GTEST_SKIP() << "containernetworking-plugins not installed";
    original_ns_ = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(original_ns_, 0);
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << strerror(errno);
    test_ns_ = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(test_ns_, 0);
    start_container();
    write_conf(R"({"type":"tuning","sysctl":{"net.core.somaxconn":"512"}})");
  }

  void TearDown() override {
    if (child_ > 0) {
      ::close(hold_);
      ::kill(child_, SIGKILL);
      ::waitpid(child_, nullptr, 0);
    }
    if (original_ns_ >= 0) {
      EXPECT_EQ(::setns(original_ns_, CLONE_NEWNET), 0) << strerror(errno);
      ::close(original_ns_);
    }
    if (test_ns_ >= 0) ::close(test_ns_);
  }

  // A child in a new network namespace that waits until hold_ is closed.
  void start_container() {
    int ready[2], hold[2];
    ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(hold, O_CLOEXEC), 0);
    child_ = ::fork();
    ASSERT_GE(child_, 0);
    if (child_ == 0) {
      ::close(ready[0]);
      ::close(hold[1]);
      char c = ::unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
      (void)!::write(ready[1], &c, 1);
      (void)!::read(hold[0], &c, 1);  // EOF when the test ends
      ::_exit(0);
    }
    ::close(ready[1]);
    ::close(hold[0]);
    hold_ = hold[1];
    char c = 0;
    ASSERT_EQ(::read(ready[0], &c, 1), 1);
    ::close(ready[0]);
    ASSERT_EQ(c, 'y');
    netns_ = fmt::format("/proc/{}/ns/net", child_);
  }

  // bridge + host-local, bandwidth, then `last`.
  void write_conf(const std::string& last) {
    t_.write("conf/hcnitest.conflist",
             fmt::format(R"({{"cniVersion":"1.0.0","name":"hcnitest","plugins":[
      {{"type":"bridge","bridge":"hcnitest0","isGateway":true,"ipMasq":false,
        "ipam":{{"type":"host-local","ranges":[[{{"subnet":"10.199.0.0/24"}}]],
                 "routes":[{{"dst":"0.0.0.0/0"}}],"dataDir":"{}/ipam"}}}},
      {{"type":"bandwidth","capabilities":{{"bandwidth":true}}}},
      {}]}})",
                         t_.path(), last));
  }

  Request request() const {
    Request r;
    r.network = "hcnitest";
    r.container_id = "live1";
    r.netns_path = netns_;
    r.conf_dir = t_.path() + "/conf";
    r.cni_path = kPlugins;
    r.cache_dir = t_.path() + "/cache";
    r.bandwidth = Bandwidth{10'000'000, 1'000'000, 20'000'000, 1'000'000};
    return r;
  }

  // Output of a shell command run in a network namespace (the test's when ns < 0).
  std::string sh(const std::string& cmd, int ns = -1) {
    int target = ns;
    if (ns >= 0 && ::setns(target, CLONE_NEWNET) != 0) return "setns failed";
    std::string out;
    if (FILE* p = ::popen((cmd + " 2>&1").c_str(), "r")) {
      char buf[4096];
      for (size_t n; (n = ::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
      ::pclose(p);
    }
    if (ns >= 0) ::setns(test_ns_, CLONE_NEWNET);
    return out;
  }
  std::string in_container(const std::string& cmd) {
    int fd = ::open(netns_.c_str(), O_RDONLY | O_CLOEXEC);
    std::string out = sh(cmd, fd);
    ::close(fd);
    return out;
  }

  CniTempDir t_;
  int original_ns_ = -1, test_ns_ = -1, hold_ = -1;
  pid_t child_ = -1;
  std::string netns_;
};

TEST_F(NetCniLive, AddCheckDelWithDebiansPlugins) {
  auto res = add(request());
  ASSERT_TRUE(res) << res.error().what();
  ASSERT_EQ(res->ips.size(), 1u);
  const std::string& ip = res->ips[0];
  EXPECT_EQ(ip.rfind("10.199.0.", 0), 0u) << ip;
  EXPECT_EQ(ip.substr(ip.size() - 3), "/24");
  std::string bare = ip.substr(0, ip.find('/'));

  // The container: eth0 with the address, a default route by the bridge,
  // tuning's sysctl.
  EXPECT_NE(in_container("ip -o -4 addr show dev eth0").find("inet " + ip), std::string::npos)
      << in_container("ip -o addr");
  EXPECT_NE(in_container("ip route show default").find("via 10.199.0.1 dev eth0"),
            std::string::npos);
  EXPECT_EQ(in_container("cat /proc/sys/net/core/somaxconn"), "512\n");
  // Our side: the bridge with the gateway, the veth's tbf for the ingress
  // rate and the ifb device for the egress one; host-local's lease.
  EXPECT_NE(sh("ip -o -4 addr show dev hcnitest0").find("10.199.0.1/24"), std::string::npos);
  std::string qdiscs = sh("tc qdisc show");
  EXPECT_NE(qdiscs.find("tbf 1: dev veth"), std::string::npos) << qdiscs;
  EXPECT_NE(qdiscs.find("rate 10Mbit"), std::string::npos) << qdiscs;
  EXPECT_NE(qdiscs.find("rate 20Mbit"), std::string::npos) << qdiscs;
  EXPECT_NE(sh("ip -o link show type ifb"), "");
  EXPECT_TRUE(t_.exists("ipam/hcnitest/" + bare));
  EXPECT_TRUE(t_.exists("cache/hcnitest-live1.json"));

  auto checked = check(request());
  EXPECT_TRUE(checked) << checked.error().what();

  auto deleted = del(request());
  ASSERT_TRUE(deleted) << deleted.error().what();
  EXPECT_NE(in_container("ip -o link show dev eth0").find("does not exist"), std::string::npos);
  EXPECT_EQ(sh("ip -o link show type veth"), "");
  EXPECT_EQ(sh("ip -o link show type ifb"), "");
  EXPECT_FALSE(t_.exists("ipam/hcnitest/" + bare));
  EXPECT_FALSE(t_.exists("cache/hcnitest-live1.json"));
  // The bridge is the network's, not the container's: DEL leaves it (it goes
  // with the test's namespace).
  EXPECT_NE(sh("ip -o link show hcnitest0"), "");
}

TEST_F(NetCniLive, DelAfterTheContainerIsGoneReleasesTheLease) {
  auto res = add(request());
  ASSERT_TRUE(res) << res.error().what();
  std::string bare = res->ips[0].substr(0, res->ips[0].find('/'));
  ASSERT_TRUE(t_.exists("ipam/hcnitest/" + bare));
  ::close(hold_);
  ::waitpid(child_, nullptr, 0);  // the container's namespace is gone, and its veth with it
  child_ = -1;
  auto deleted = del(request());
  ASSERT_TRUE(deleted) << deleted.error().what();
  EXPECT_FALSE(t_.exists("ipam/hcnitest/" + bare));
  EXPECT_FALSE(t_.exists("cache/hcnitest-live1.json"));
  EXPECT_EQ(sh("ip -o link show type ifb"), "");
}

TEST_F(NetCniLive, AFailedPluginUndoesTheOnesBefore) {
  write_conf(R"({"type":"tuning","sysctl":{"net.core.husk_no_such_knob":"1"}})");
  auto res = add(request());
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().what().rfind("cni \"hcnitest\": tuning: ", 0), 0u) << res.error().what();
  // tuning's error JSON, made one line: the sysctl it could not open, its code.
  EXPECT_NE(res.error().what().find("husk_no_such_knob"), std::string::npos);
  EXPECT_EQ(res.error().what().substr(res.error().what().size() - 10), "(code 999)");
  EXPECT_EQ(res.error().what().find('\n'), std::string::npos);
  EXPECT_NE(in_container("ip -o link show dev eth0").find("does not exist"), std::string::npos);
  EXPECT_EQ(sh("ip -o link show type veth"), "");
  EXPECT_EQ(sh("ip -o link show type ifb"), "");
  EXPECT_FALSE(t_.exists("ipam/hcnitest/10.199.0.2"));
  EXPECT_FALSE(t_.exists("cache/hcnitest-live1.json"));
}

TEST_F(NetCniLive, AMissingPluginIsOneLineAndLeavesNothing) {
  write_conf(R"({"type":"husk-no-such-plugin"})");
  auto res = add(request());
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().what(),
            "cni \"hcnitest\": plugin \"husk-no-such-plugin\" not found in /usr/lib/cni");
  EXPECT_EQ(sh("ip -o link show hcnitest0").find("hcnitest0:"), std::string::npos);
  EXPECT_FALSE(t_.exists("cache/hcnitest-live1.json"));
  EXPECT_FALSE(t_.exists("ipam/hcnitest"));
}

}  // namespace
}  // namespace husk::net::cni
