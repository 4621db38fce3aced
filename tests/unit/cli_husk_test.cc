// `husk run` flags -> config::Container (front/build_config.h), user
// resolution (front/user.h) and exit statuses (front/exit_code.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/mount.h>

#include <algorithm>
#include <map>

#include "front/build_config.h"
#include "front/exit_code.h"
#include "spec/resources.h"

namespace husk::cli {
namespace {

using config::NamespaceType;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

RunFlags flags_for(std::vector<std::string> command) {
  RunFlags f;
  f.command = std::move(command);
  return f;
}

const config::Mount* find_mount(const config::Container& c, const std::string& dst) {
  for (const auto& m : c.mounts)
    if (m.destination == dst) return &m;
  return nullptr;
}

std::vector<NamespaceType> ns_types(const config::Container& c) {
  std::vector<NamespaceType> out;
  for (const auto& ns : c.namespaces) {
    EXPECT_TRUE(ns.path.empty());
    out.push_back(ns.type);
  }
  return out;
}

std::string error_of(const RunFlags& f, const Caller& c = {}) {
  auto r = build_config(f, c);
  if (r) return "<no error>";
  return r.error().what();
}

constexpr const char* kPasswd =
    "root:x:0:0:root:/root:/bin/bash\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "broken line\n"
    "alice:x:1000:1001:Alice:/home/alice:/bin/sh\n";
constexpr const char* kGroup =
    "root:x:0:\n"
    "users:x:1001:\n"
    "audio:x:29:bob,alice\n"
    "video:x:44:bob\n";

Caller caller_with_accounts() {
  Caller c;
  c.account_files = [] { return AccountFiles{kPasswd, kGroup}; };
  return c;
}

TEST(HuskBuildConfig, DefaultsUseTheHostRootReadOnly) {
  auto r = build_config(flags_for({"sh"}));
  ASSERT_TRUE(r) << r.error().what();
  const auto& c = *r;
  EXPECT_EQ(c.root_path, "/");
  EXPECT_TRUE(c.root_readonly);
  EXPECT_EQ(c.hostname, "husk");
  EXPECT_THAT(c.process.args, ElementsAre("sh"));
  EXPECT_EQ(c.process.cwd, "/");
  EXPECT_FALSE(c.process.terminal);
  EXPECT_FALSE(c.process.no_new_privileges);
  EXPECT_THAT(c.process.rlimits, IsEmpty());
  EXPECT_EQ(c.process.user.uid, 0u);
  EXPECT_EQ(c.process.user.gid, 0u);
  EXPECT_THAT(c.process.env,
              ElementsAre("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                          "HOME=/root"));
  EXPECT_THAT(ns_types(c), ElementsAre(NamespaceType::kPid, NamespaceType::kNetwork,
                                       NamespaceType::kIpc, NamespaceType::kUts,
                                       NamespaceType::kMount, NamespaceType::kCgroup));
  EXPECT_EQ(c.masked_paths.size(), 10u);
  EXPECT_THAT(c.readonly_paths, ElementsAre("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                            "/proc/sysrq-trigger"));
}

TEST(HuskBuildConfig, DefaultMountsInOrder) {
  auto r = build_config(flags_for({"sh"}));
  ASSERT_TRUE(r);
  std::vector<std::string> dsts;
  for (const auto& m : r->mounts) dsts.push_back(m.destination);
  EXPECT_THAT(dsts, ElementsAre("/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys",
                                "/sys/fs/cgroup", "/tmp", "/run"));

  const auto* dev = find_mount(*r, "/dev");
  EXPECT_EQ(dev->type, "tmpfs");
  EXPECT_EQ(dev->data, "mode=755,size=65536k");
  EXPECT_EQ(dev->flags, static_cast<unsigned long>(MS_NOSUID | MS_STRICTATIME));
  const auto* pts = find_mount(*r, "/dev/pts");
  EXPECT_EQ(pts->type, "devpts");
  EXPECT_THAT(pts->data, HasSubstr("newinstance,ptmxmode=0666,mode=0620"));
  const auto* sys = find_mount(*r, "/sys");
  EXPECT_EQ(sys->type, "sysfs");
  EXPECT_FALSE(sys->bind());
  EXPECT_TRUE(sys->flags & MS_RDONLY);
  const auto* tmp = find_mount(*r, "/tmp");
  EXPECT_EQ(tmp->type, "tmpfs");
  EXPECT_EQ(tmp->data, "mode=1777");
  EXPECT_FALSE(tmp->flags & MS_RDONLY);
  EXPECT_EQ(find_mount(*r, "/run")->data, "mode=755");
  EXPECT_EQ(find_mount(*r, "/dev/mqueue")->type, "mqueue");
  EXPECT_EQ(find_mount(*r, "/proc")->type, "proc");
  const auto* cg = find_mount(*r, "/sys/fs/cgroup");
  EXPECT_EQ(cg->type, "cgroup");
  EXPECT_TRUE(cg->flags & MS_RDONLY);
  EXPECT_TRUE(r->resources_json.empty());  // no resource flag: no limits
}

TEST(HuskBuildConfig, RootGetsDockerDefaultCapabilities) {
  auto r = build_config(flags_for({"sh"}));
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->process.capabilities);
  const auto& caps = *r->process.capabilities;
  EXPECT_EQ(__builtin_popcountll(caps.bounding), 14);
  EXPECT_TRUE(caps.bounding & (1ULL << CAP_NET_BIND_SERVICE));
  EXPECT_TRUE(caps.bounding & (1ULL << CAP_AUDIT_WRITE));
  EXPECT_FALSE(caps.bounding & (1ULL << CAP_SYS_ADMIN));
  EXPECT_FALSE(caps.bounding & (1ULL << CAP_NET_ADMIN));
  EXPECT_EQ(caps.effective, caps.bounding);
  EXPECT_EQ(caps.permitted, caps.bounding);
  EXPECT_EQ(caps.inheritable, 0u);
  EXPECT_EQ(caps.ambient, 0u);
}

TEST(HuskBuildConfig, NetHostKeepsTheNetworkAndBindsSys) {
  auto f = flags_for({"ip", "link"});
  f.net = "host";
  auto r = build_config(f);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_namespace(NamespaceType::kNetwork));
  EXPECT_TRUE(r->has_namespace(NamespaceType::kPid));
  const auto* sys = find_mount(*r, "/sys");
  ASSERT_NE(sys, nullptr);
  EXPECT_EQ(sys->source, "/sys");
  EXPECT_TRUE(sys->bind());
  EXPECT_TRUE(sys->flags & MS_REC);
  EXPECT_TRUE(sys->flags & MS_RDONLY);
  EXPECT_TRUE(sys->recursive_set & MOUNT_ATTR_RDONLY);  // host sub-mounts read-only too
}

TEST(HuskBuildConfig, RootfsIsMadeAbsoluteAndWritableUnlessReadOnly) {
  auto f = flags_for({"true"});
  f.rootfs = "fixtures/./busybox/";
  Caller c;
  c.cwd = "/srv/work";
  auto r = build_config(f, c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->root_path, "/srv/work/fixtures/busybox");
  EXPECT_FALSE(r->root_readonly);
  EXPECT_EQ(find_mount(*r, "/tmp")->type, "tmpfs");  // same mounts as the host root

  f.rootfs = "/abs/root";
  f.read_only = true;
  r = build_config(f, c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->root_path, "/abs/root");
  EXPECT_TRUE(r->root_readonly);
}

TEST(HuskBuildConfig, RootfsOverlayFlagIsPodmansSyntax) {
  auto flag = parse_rootfs_flag("/srv/root:O");
  ASSERT_TRUE(flag);
  EXPECT_EQ(flag->path, "/srv/root");
  EXPECT_TRUE(flag->overlay);
  flag = parse_rootfs_flag("/srv/root");
  ASSERT_TRUE(flag);
  EXPECT_FALSE(flag->overlay);
  // A ":" followed by more path is part of the name.
  flag = parse_rootfs_flag("./a:b/c");
  ASSERT_TRUE(flag);
  EXPECT_EQ(flag->path, "./a:b/c");
  EXPECT_FALSE(flag->overlay);
  auto bad = parse_rootfs_flag("/srv/root:X");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().what(),
            "--rootfs \"/srv/root:X\": unknown option \"X\" (only \":O\", an overlay, is known)");
  EXPECT_FALSE(parse_rootfs_flag("/srv/root:o"));   // podman's O is upper case
  EXPECT_FALSE(parse_rootfs_flag("/srv/root:O,U"));  // no idmap/U options (yet)
  EXPECT_FALSE(parse_rootfs_flag(":O"));
  EXPECT_FALSE(parse_rootfs_flag(""));
}

TEST(HuskBuildConfig, RootfsOverlayMountsTheLayerOnItsMergedDir) {
  auto f = flags_for({"true"});
  f.rootfs = "fixtures/busybox:O";
  Caller c;
  c.cwd = "/srv/work";
  // Without the container's layer (made by main before build_config): refused.
  EXPECT_THAT(error_of(f, c), HasSubstr("no container layer"));
  c.layer = storage::layer_paths("/run/husk-storage", "c1");
  auto r = build_config(f, c);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(build_detail::root_path(f, c), "/srv/work/fixtures/busybox");
  EXPECT_EQ(r->root_path, "/run/husk-storage/c1/merged");
  ASSERT_TRUE(r->root_overlay);
  EXPECT_THAT(r->root_overlay->lower, ElementsAre("/srv/work/fixtures/busybox"));
  EXPECT_EQ(r->root_overlay->upper, "/run/husk-storage/c1/upper");
  EXPECT_EQ(r->root_overlay->work, "/run/husk-storage/c1/work");
  EXPECT_FALSE(r->root_overlay->read_only());
  EXPECT_FALSE(r->root_readonly);
  EXPECT_TRUE(r->has_namespace(NamespaceType::kMount));

  // --read-only: the layer has no upper (ContainerLayer with writable = false).
  f.read_only = true;
  c.layer->upper.clear();
  c.layer->work.clear();
  r = build_config(f, c);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->root_overlay->read_only());
  EXPECT_TRUE(r->root_readonly);

  // Plain --rootfs DIR: no overlay even when a layer is offered.
  f.rootfs = "/abs/root";
  r = build_config(f, c);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->root_overlay);
  EXPECT_EQ(r->root_path, "/abs/root");
}

TEST(HuskBuildConfig, EnvOverridesDefaultsAndCopiesBareKeys) {
  auto f = flags_for({"env"});
  f.env = {"FOO=bar", "PATH=/bin", "EMPTY=", "FROM_CALLER", "UNSET_IN_CALLER", "EQ=a=b"};
  Caller c;
  c.stdin_tty = true;
  std::map<std::string, std::string> host{{"FROM_CALLER", "v1"}};
  c.getenv = [&](const std::string& k) -> std::optional<std::string> {
    auto it = host.find(k);
    if (it == host.end()) return std::nullopt;
    return it->second;
  };
  auto r = build_config(f, c);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_THAT(r->process.env, ElementsAre("PATH=/bin", "TERM=xterm", "HOME=/root", "FOO=bar",
                                          "EMPTY=", "FROM_CALLER=v1", "EQ=a=b"));
}

TEST(HuskBuildConfig, NumericUserWithoutPasswdEntry) {
  auto f = flags_for({"id"});
  f.user = "1000:1000";
  auto r = build_config(f);  // no account files at all
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->process.user.uid, 1000u);
  EXPECT_EQ(r->process.user.gid, 1000u);
  EXPECT_THAT(r->process.user.additional_gids, ElementsAre(1000u)) << "the primary gid, as docker";
  EXPECT_THAT(r->process.env, ::testing::Contains("HOME=/"));
  // Non-root keeps the bounding set only, as docker does.
  EXPECT_EQ(r->process.capabilities->effective, 0u);
  EXPECT_EQ(r->process.capabilities->permitted, 0u);
  EXPECT_EQ(r->process.capabilities->bounding, kDefaultCaps);

  f.user = "1234";
  r = build_config(f);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->process.user.uid, 1234u);
  EXPECT_EQ(r->process.user.gid, 0u);
}

TEST(HuskBuildConfig, UserNamesResolveInTheRootsAccountFiles) {
  auto f = flags_for({"id"});
  f.user = "alice";
  auto r = build_config(f, caller_with_accounts());
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->process.user.uid, 1000u);
  EXPECT_EQ(r->process.user.gid, 1001u);
  EXPECT_THAT(r->process.user.additional_gids, ElementsAre(1001u, 29u));
  EXPECT_EQ(r->process.user.username, "alice");
  EXPECT_THAT(r->process.env, ::testing::Contains("HOME=/home/alice"));

  f.user = "1000:video";  // a uid with an entry: its home; the group by name
  r = build_config(f, caller_with_accounts());
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->process.user.uid, 1000u);
  EXPECT_EQ(r->process.user.gid, 44u);
  EXPECT_THAT(r->process.user.additional_gids, ElementsAre(44u, 29u));
}

TEST(HuskBuildConfig, WorkdirNameAndHostname) {
  auto f = flags_for({"pwd"});
  f.workdir = "/var/tmp";
  f.name = "web-1";
  auto r = build_config(f);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->process.cwd, "/var/tmp");
  EXPECT_EQ(r->hostname, "web-1");
  f.hostname = "demo";
  r = build_config(f);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->hostname, "demo");
}

TEST(HuskBuildConfig, ErrorsNameTheFlag) {
  auto f = flags_for({"sh"});
  f.net = "ns:relative/path";
  EXPECT_EQ(error_of(f), "--net \"ns:relative/path\": the namespace path must be absolute");
  f.net = "cni:../x";
  EXPECT_EQ(error_of(f), "--net \"cni:../x\": not a CNI network name");
  f.net = "none";
  f.network.publish = {"8080:80"};
  EXPECT_EQ(error_of(f), "-p: conflicting options: port publishing and --net none");
  f.network.publish.clear();
  f.network.ip = "10.89.0.5";
  f.net = "host";
  EXPECT_EQ(error_of(f), "--ip: only with a bridge network (--net bridge or a network's name)");
  f.network.ip.clear();
  f.net = "bridge";

  EXPECT_THAT(error_of(flags_for({})), HasSubstr("no command given"));
  EXPECT_THAT(error_of(flags_for({""})), HasSubstr("empty program name"));

  for (const char* bad : {"abc", "1000:", ":1000", "x:y", "99999999999", "4294967295",
                          "1000:4294967295", "alice:nogroup"}) {
    f = flags_for({"sh"});
    f.user = bad;
    std::string msg = error_of(f, caller_with_accounts());
    EXPECT_THAT(msg, ::testing::StartsWith(fmt::format("-u \"{}\": ", bad))) << bad;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }

  f = flags_for({"sh"});
  f.workdir = "relative";
  EXPECT_EQ(error_of(f), "-w \"relative\": must be an absolute path");
  f = flags_for({"sh"});
  f.env = {"=x"};
  EXPECT_THAT(error_of(f), ::testing::StartsWith("-e \"=x\": "));
  f = flags_for({"sh"});
  f.name = "a/b";
  EXPECT_THAT(error_of(f), ::testing::StartsWith("--name \"a/b\": "));
  f = flags_for({"sh"});
  f.rootfs = "";
  EXPECT_THAT(error_of(f), ::testing::StartsWith("--rootfs"));
  f.rootfs = "relative";
  Caller lost;
  lost.cwd.clear();
  EXPECT_THAT(error_of(f, lost), ::testing::StartsWith("--rootfs \"relative\": "));
  f = flags_for({"sh"});
  f.hostname = std::string(65, 'h');
  EXPECT_THAT(error_of(f), ::testing::StartsWith("--hostname"));
}

TEST(HuskExitCode, MapsExecFailuresLikeDocker) {
  auto err = [](int code, std::string msg) { return Error{code, std::move(msg)}; };
  EXPECT_EQ(exit_code_for(err(ENOENT, "exec: \"nope\": executable file not found in $PATH")),
            127);
  EXPECT_EQ(exit_code_for(err(ENOENT, "container init: exec: \"/bin/nope\"")), 127);
  EXPECT_EQ(exit_code_for(err(EACCES, "exec: \"/etc/passwd\"")), 126);
  EXPECT_EQ(exit_code_for(err(ENOEXEC, "exec: \"/x\"")), 126);
  // Not about exec: husk's own failure, even with the same errno.
  EXPECT_EQ(exit_code_for(err(ENOENT, "rootfs \"/nope\"")), 125);
  EXPECT_EQ(exit_code_for(err(EPERM, "container init: mount \"proc\" on \"/proc\"")), 125);
}

TEST(HuskBuildConfig, CapAddAndDropChangeTheDefaultSet) {
  RunFlags f = flags_for({"sh"});
  f.cap_add = {"sys_admin", "CAP_NET_ADMIN"};
  f.cap_drop = {"CHOWN"};
  auto c = build_config(f);
  ASSERT_TRUE(c) << c.error().what();
  const auto& caps = *c->process.capabilities;
  uint64_t want = (kDefaultCaps | (uint64_t{1} << CAP_SYS_ADMIN) | (uint64_t{1} << CAP_NET_ADMIN)) &
                  ~(uint64_t{1} << CAP_CHOWN);
  EXPECT_EQ(caps.bounding, want);
  EXPECT_EQ(caps.effective, want);
  EXPECT_EQ(caps.permitted, want);
}

TEST(HuskBuildConfig, CapDropAllLeavesNothing) {
  RunFlags f = flags_for({"sh"});
  f.cap_drop = {"ALL"};
  auto c = build_config(f);
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_EQ(c->process.capabilities->bounding, 0u);
}

TEST(HuskBuildConfig, UnknownCapabilityNamesTheFlag) {
  RunFlags f = flags_for({"sh"});
  f.cap_add = {"FLY"};
  EXPECT_EQ(error_of(f), "--cap-add: unknown capability \"FLY\"");
}


// --- Resource flags (resource_flags.h) ---

Caller caller_with_host(bool swap_limit = true) {
  Caller c;
  c.host.online_cpus = 4;
  c.host.swap_limit = swap_limit;
  c.host.block_device = [](const std::string& path) -> Result<DeviceNumber> {
    if (path == "/dev/vda") return DeviceNumber{254, 0};
    if (path == "/dev/disk/by-path/pci-0000:00:05.0") return DeviceNumber{254, 16};
    if (path == "/dev/null") return fail(0, "/dev/null is not a block device");
    return fail(ENOENT, "{}", path);
  };
  return c;
}

// The linux.resources build_config produced, parsed back.
config::Resources resources_of(const RunFlags& f, const Caller& c = caller_with_host()) {
  auto r = build_config(f, c);
  EXPECT_TRUE(r) << r.error().what();
  if (!r) return {};
  auto res = spec::parse_resources_json(r->resources_json);
  EXPECT_TRUE(res) << res.error().what();
  return res ? *res : config::Resources{};
}

TEST(HuskResourceFlags, CpusBecomeAQuotaPer100ms) {
  RunFlags f = flags_for({"sh"});
  f.resources.cpus = "0.5";
  auto r = resources_of(f);
  ASSERT_TRUE(r.cpu);
  EXPECT_EQ(r.cpu->quota, 50000);
  EXPECT_EQ(r.cpu->period, 100000u);
  f.resources.cpus = "1.25";
  EXPECT_EQ(resources_of(f).cpu->quota, 125000);
  f.resources.cpus = "4";
  EXPECT_EQ(resources_of(f).cpu->quota, 400000);
  f.resources.cpus = ".01";
  EXPECT_EQ(resources_of(f).cpu->quota, 1000);
  f.resources.cpus = "0";  // docker: no limit
  EXPECT_FALSE(resources_of(f).cpu);
}

TEST(HuskResourceFlags, CpuSharesAndCpusets) {
  RunFlags f = flags_for({"sh"});
  f.resources.cpu_shares = "512";
  f.resources.cpuset_cpus = "0-1,3";
  f.resources.cpuset_mems = "0";
  auto r = resources_of(f);
  ASSERT_TRUE(r.cpu);
  EXPECT_EQ(r.cpu->shares, 512u);
  EXPECT_EQ(r.cpu->cpus, "0-1,3");
  EXPECT_EQ(r.cpu->mems, "0");
  EXPECT_EQ(r.cpu->quota, std::nullopt);
}

TEST(HuskResourceFlags, MemoryWithDockersSwapRules) {
  RunFlags f = flags_for({"sh"});
  f.resources.memory = "64m";
  auto r = resources_of(f);
  ASSERT_TRUE(r.memory);
  EXPECT_EQ(r.memory->limit, 64 << 20);
  EXPECT_EQ(r.memory->swap, 128 << 20);  // unset: as much swap as memory
  EXPECT_EQ(resources_of(f, caller_with_host(false)).memory->swap, std::nullopt);
  f.resources.memory_swap = "96m";
  EXPECT_EQ(resources_of(f).memory->swap, 96 << 20);
  f.resources.memory_swap = "64m";  // equal: no swap at all
  EXPECT_EQ(resources_of(f).memory->swap, 64 << 20);
  f.resources.memory_swap = "-1";
  EXPECT_EQ(resources_of(f).memory->swap, -1);
  f.resources.memory_reservation = "32m";
  EXPECT_EQ(resources_of(f).memory->reservation, 32 << 20);
}

TEST(HuskResourceFlags, PidsAndBlockIo) {
  RunFlags f = flags_for({"sh"});
  f.resources.pids = "100";
  f.resources.io_weight = "300";
  f.resources.device_read_bps = {"/dev/vda:1mb"};
  f.resources.device_write_bps = {"/dev/disk/by-path/pci-0000:00:05.0:512k"};
  f.resources.device_read_iops = {"/dev/vda:100"};
  f.resources.device_write_iops = {"/dev/vda:50"};
  auto r = resources_of(f);
  EXPECT_EQ(r.pids->limit, 100);
  ASSERT_TRUE(r.block_io);
  EXPECT_EQ(r.block_io->weight, 300);
  ASSERT_EQ(r.block_io->throttle_read_bps_device.size(), 1u);
  EXPECT_EQ(r.block_io->throttle_read_bps_device[0].major, 254);
  EXPECT_EQ(r.block_io->throttle_read_bps_device[0].minor, 0);
  EXPECT_EQ(r.block_io->throttle_read_bps_device[0].rate, 1u << 20);
  ASSERT_EQ(r.block_io->throttle_write_bps_device.size(), 1u);
  EXPECT_EQ(r.block_io->throttle_write_bps_device[0].minor, 16);
  EXPECT_EQ(r.block_io->throttle_write_bps_device[0].rate, 512u << 10);
  EXPECT_EQ(r.block_io->throttle_read_iops_device[0].rate, 100u);
  EXPECT_EQ(r.block_io->throttle_write_iops_device[0].rate, 50u);
  f = flags_for({"sh"});
  f.resources.pids = "-1";
  EXPECT_EQ(resources_of(f).pids->limit, -1);
  f.resources.pids = "0";  // docker: unlimited too
  EXPECT_EQ(resources_of(f).pids->limit, -1);
}

TEST(HuskResourceFlags, BadValuesAreOneLineNamingTheFlag) {
  auto error_with = [](auto set) {
    RunFlags f = flags_for({"sh"});
    set(f.resources);
    return error_of(f, caller_with_host());
  };
  EXPECT_EQ(error_with([](auto& r) { r.memory = "12q"; }), "--memory: invalid size \"12q\"");
  EXPECT_EQ(error_with([](auto& r) { r.memory = "-1"; }), "--memory: invalid size \"-1\"");
  EXPECT_EQ(error_with([](auto& r) { r.memory = "1m"; }),
            "--memory: \"1m\" is below the minimum of 6m");
  EXPECT_EQ(error_with([](auto& r) { r.memory_swap = "1g"; }),
            "--memory-swap: needs --memory as well");
  EXPECT_EQ(error_with([](auto& r) {
              r.memory = "64m";
              r.memory_swap = "32m";
            }),
            "--memory-swap: \"32m\" is less than --memory \"64m\" (it counts memory + swap)");
  EXPECT_EQ(error_with([](auto& r) {
              r.memory = "64m";
              r.memory_reservation = "1g";
            }),
            "--memory-reservation: \"1g\" is more than --memory \"64m\"");
  EXPECT_EQ(error_with([](auto& r) { r.cpus = "abc"; }), "--cpus: invalid number \"abc\"");
  EXPECT_EQ(error_with([](auto& r) { r.cpus = "-1"; }), "--cpus: invalid number \"-1\"");
  EXPECT_EQ(error_with([](auto& r) { r.cpus = "0.001"; }),
            "--cpus: \"0.001\" is below the minimum of 0.01");
  EXPECT_EQ(error_with([](auto& r) { r.cpus = "4.5"; }),
            "--cpus: \"4.5\" is more than the 4 CPUs available");
  EXPECT_EQ(error_with([](auto& r) { r.cpus = "0.0000000001"; }),
            "--cpus: invalid number \"0.0000000001\"");
  EXPECT_EQ(error_with([](auto& r) { r.pids = "many"; }), "--pids: invalid number \"many\"");
  EXPECT_EQ(error_with([](auto& r) { r.cpu_shares = "-2"; }),
            "--cpu-shares: invalid number \"-2\"");
  EXPECT_EQ(error_with([](auto& r) { r.cpuset_cpus = "0-"; }),
            "--cpuset-cpus: invalid list \"0-\" (like \"0-3,6\")");
  EXPECT_EQ(error_with([](auto& r) { r.io_weight = "5"; }),
            "--io-weight: 5 is not in the range 10..1000");
  EXPECT_EQ(error_with([](auto& r) { r.device_read_bps = {"/dev/vda"}; }),
            "--device-read-bps \"/dev/vda\": expected DEVICE-PATH:RATE, like /dev/sda:1mb");
  EXPECT_EQ(error_with([](auto& r) { r.device_read_bps = {"sda:1mb"}; }),
            "--device-read-bps \"sda:1mb\": expected DEVICE-PATH:RATE, like /dev/sda:1mb");
  EXPECT_EQ(error_with([](auto& r) { r.device_write_bps = {"/dev/vda:fast"}; }),
            "--device-write-bps \"/dev/vda:fast\": invalid rate \"fast\" (a number with an "
            "optional unit kb, mb or gb)");
  EXPECT_EQ(error_with([](auto& r) { r.device_read_iops = {"/dev/vda:1k"}; }),
            "--device-read-iops \"/dev/vda:1k\": invalid rate \"1k\" (a number of operations "
            "per second)");
  EXPECT_EQ(error_with([](auto& r) { r.device_write_iops = {"/dev/null:10"}; }),
            "--device-write-iops \"/dev/null:10\": /dev/null is not a block device");
  EXPECT_EQ(error_with([](auto& r) { r.device_write_iops = {"/dev/nope:10"}; }),
            "--device-write-iops \"/dev/nope:10\": /dev/nope: No such file or directory");
}

}  // namespace
}  // namespace husk::cli
