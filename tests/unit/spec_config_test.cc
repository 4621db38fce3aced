// spec::parse_config / load_bundle on valid documents: runc's default specs and
// a config that uses every field husk reads.
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "spec/config.h"

namespace husk::spec {
namespace {

using config::NamespaceType;
using Flags = unsigned long;

std::string testdata(const std::string& name) {
  // An absolute path from CMake: __FILE__ is relative when ccache rewrites paths.
  auto path = std::filesystem::path(HUSK_TESTDATA_DIR) / name;
  auto text = read_file(path.string());
  EXPECT_TRUE(text) << path;
  return text ? *text : std::string();
}

uint64_t caps(std::initializer_list<int> numbers) {
  uint64_t bits = 0;
  for (int n : numbers) bits |= uint64_t{1} << n;
  return bits;
}

TEST(SpecConfig, RuncDefaultSpecParses) {
  auto r = parse_config(testdata("runc_spec.json"), "/b");
  ASSERT_TRUE(r) << r.error().what();
  const config::Container& c = *r;
  EXPECT_EQ(c.oci_version, "1.0.2-dev");
  EXPECT_EQ(c.bundle, "/b");
  EXPECT_EQ(c.root_path, "/b/rootfs");
  EXPECT_TRUE(c.root_readonly);
  EXPECT_EQ(c.hostname, "runc");

  const config::Process& p = c.process;
  EXPECT_TRUE(p.terminal);
  EXPECT_EQ(p.user.uid, 0u);
  EXPECT_EQ(p.args, std::vector<std::string>{"sh"});
  ASSERT_EQ(p.env.size(), 2u);
  EXPECT_EQ(p.env[1], "TERM=xterm");
  EXPECT_EQ(p.cwd, "/");
  ASSERT_TRUE(p.capabilities);
  uint64_t want = caps({29 /*AUDIT_WRITE*/, 5 /*KILL*/, 10 /*NET_BIND_SERVICE*/});
  EXPECT_EQ(p.capabilities->bounding, want);
  EXPECT_EQ(p.capabilities->effective, want);
  EXPECT_EQ(p.capabilities->permitted, want);
  EXPECT_EQ(p.capabilities->ambient, want);
  EXPECT_EQ(p.capabilities->inheritable, 0u);
  ASSERT_EQ(p.rlimits.size(), 1u);
  EXPECT_EQ(p.rlimits[0].resource, RLIMIT_NOFILE);
  EXPECT_EQ(p.rlimits[0].soft, 1024u);
  EXPECT_EQ(p.rlimits[0].hard, 1024u);
  EXPECT_TRUE(p.no_new_privileges);

  ASSERT_EQ(c.mounts.size(), 7u);
  EXPECT_EQ(c.mounts[0].destination, "/proc");
  EXPECT_EQ(c.mounts[0].type, "proc");
  EXPECT_EQ(c.mounts[0].flags, 0u);
  EXPECT_EQ(c.mounts[1].flags, Flags{MS_NOSUID | MS_STRICTATIME});
  EXPECT_EQ(c.mounts[1].data, "mode=755,size=65536k");
  EXPECT_EQ(c.mounts[2].data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
  EXPECT_EQ(c.mounts[5].flags, Flags{MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY});
  EXPECT_EQ(c.mounts[6].type, "cgroup");
  EXPECT_EQ(c.mounts[6].flags & MS_RELATIME, Flags{MS_RELATIME});

  ASSERT_EQ(c.namespaces.size(), 5u);
  EXPECT_EQ(c.namespaces[0].type, NamespaceType::kPid);
  EXPECT_EQ(c.namespaces[1].type, NamespaceType::kNetwork);
  EXPECT_EQ(c.namespaces[4].type, NamespaceType::kMount);
  EXPECT_TRUE(c.namespaces[4].path.empty());
  EXPECT_FALSE(c.has_namespace(NamespaceType::kUser));
  EXPECT_EQ(c.masked_paths.size(), 10u);
  EXPECT_EQ(c.masked_paths[9], "/proc/scsi");
  EXPECT_EQ(c.readonly_paths.size(), 5u);
  EXPECT_EQ(nlohmann::json::parse(c.resources_json),
            nlohmann::json::parse(R"({"devices":[{"allow":false,"access":"rwm"}]})"));
  EXPECT_EQ(c.rootfs_propagation, 0u);
  EXPECT_FALSE(c.seccomp);
}

TEST(SpecConfig, RuncRootlessSpecParses) {
  auto r = parse_config(testdata("runc_spec_rootless.json"), "/b");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_TRUE(r->has_namespace(NamespaceType::kUser));
  EXPECT_FALSE(r->has_namespace(NamespaceType::kNetwork));
  ASSERT_EQ(r->uid_mappings.size(), 1u);
  EXPECT_EQ(r->uid_mappings[0].size, 1u);
  ASSERT_EQ(r->gid_mappings.size(), 1u);
  const config::Mount& sys = r->mounts[5];
  EXPECT_EQ(sys.destination, "/sys");
  EXPECT_EQ(sys.type, "bind");  // "none" in the file: binds ignore the type
  EXPECT_EQ(sys.source, "/sys");
  EXPECT_EQ(sys.flags, Flags{MS_BIND | MS_REC | MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY});
  EXPECT_TRUE(sys.bind());
  EXPECT_EQ(r->mounts[2].data, "newinstance,ptmxmode=0666,mode=0620");
  EXPECT_TRUE(r->resources_json.empty());
}

constexpr const char* kFullConfig = R"({
  "ociVersion": "1.2.0",
  "someFutureField": {"x": 1},
  "root": {"path": "/srv/rootfs"},
  "hostname": "web",
  "domainname": "example.org",
  "mounts": [
    {"destination": "/data", "source": "vol", "options": ["rbind", "ro", "rprivate"]},
    {"destination": "tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "size=1m"]},
    {"destination": "/ids", "type": "bind", "source": "/host/ids", "options": ["bind", "ridmap"],
     "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
     "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}
  ],
  "process": {
    "terminal": false,
    "consoleSize": {"height": 24, "width": 80},
    "user": {"uid": 1000, "gid": 1000, "umask": 18, "additionalGids": [5, 10],
             "username": "app"},
    "args": ["/bin/app", "--flag"],
    "env": ["PATH=/bin", "EMPTY="],
    "cwd": "/work",
    "capabilities": {"bounding": ["CAP_CHOWN", "CAP_FUTURE_THING"], "inheritable": ["CAP_BPF"],
                     "ambient": []},
    "rlimits": [{"type": "RLIMIT_CORE", "soft": 0, "hard": 18446744073709551615}],
    "noNewPrivileges": false,
    "apparmorProfile": "husk-default",
    "selinuxLabel": "system_u:system_r:container_t:s0",
    "oomScoreAdj": -500,
    "scheduler": {"policy": "SCHED_BATCH", "nice": 5},
    "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4},
    "execCPUAffinity": {"initial": "0", "final": "0-1"}
  },
  "hooks": {
    "prestart": [{"path": "/usr/bin/old-hook"}],
    "createRuntime": [{"path": "/usr/bin/net-setup", "args": ["net-setup", "up"],
                       "env": ["A=1"], "timeout": 5}],
    "createContainer": [],
    "startContainer": [{"path": "/bin/true"}],
    "poststart": [{"path": "/bin/true"}, {"path": "/bin/false"}],
    "poststop": [{"path": "/usr/bin/cleanup"}]
  },
  "annotations": {"org.example.key": "value", "b": ""},
  "linux": {
    "namespaces": [{"type": "pid"}, {"type": "network", "path": "/run/netns/web"},
                   {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}, {"type": "user"},
                   {"type": "cgroup"}, {"type": "time"}],
    "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
    "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1},
                    {"containerID": 1, "hostID": 200000, "size": 1000}],
    "timeOffsets": {"monotonic": {"secs": -3600, "nanosecs": 5}, "boottime": {"secs": 86400}},
    "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                 "fileMode": 438, "uid": 0, "gid": 0},
                {"path": "/dev/pipe", "type": "p"}],
    "sysctl": {"net.ipv4.ip_forward": "1", "kernel.shmmax": "4096", "fs.mqueue.msg_max": "20",
               "kernel.domainname": "example.org"},
    "maskedPaths": ["/proc/kcore"],
    "readonlyPaths": ["/proc/sys"],
    "rootfsPropagation": "rslave",
    "mountLabel": "system_u:object_r:container_file_t:s0",
    "cgroupsPath": "/husk/web",
    "resources": {"memory": {"limit": 536870912}, "pids": {"limit": 64}},
    "personality": {"domain": "LINUX32", "flags": []},
    "seccomp": {
      "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
      "architectures": ["SCMP_ARCH_X86_64"], "flags": ["SECCOMP_FILTER_FLAG_LOG"],
      "listenerPath": "/run/seccomp.sock", "listenerMetadata": "meta",
      "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["mount"], "action": "SCMP_ACT_NOTIFY"},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                  {"index": 1, "value": 255, "valueTwo": 8, "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["kexec_load"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}
      ]
    }
  }
})";

TEST(SpecConfig, FullConfigTopAndMounts) {
  auto r = parse_config(kFullConfig, "/bundles/web");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->root_path, "/srv/rootfs");
  EXPECT_FALSE(r->root_readonly);
  EXPECT_EQ(r->domainname, "example.org");
  ASSERT_EQ(r->mounts.size(), 3u);
  const auto& data = r->mounts[0];
  EXPECT_EQ(data.type, "bind");                // no type given, options say bind
  EXPECT_EQ(data.source, "/bundles/web/vol");  // relative bind source: from the bundle
  EXPECT_EQ(data.flags, Flags{MS_BIND | MS_REC | MS_RDONLY});
  EXPECT_EQ(data.propagation, Flags{MS_PRIVATE | MS_REC});
  const auto& tmp = r->mounts[1];
  EXPECT_EQ(tmp.destination, "/tmp");  // relative destination: from the root
  EXPECT_EQ(tmp.source, "tmpfs");      // not a bind: source left alone
  EXPECT_EQ(tmp.data, "size=1m");
  const auto& ids = r->mounts[2];
  EXPECT_TRUE(ids.idmap);
  EXPECT_TRUE(ids.idmap_recursive);
  ASSERT_EQ(ids.uid_mappings.size(), 1u);
  EXPECT_EQ(ids.uid_mappings[0].host_id, 100000u);
  EXPECT_EQ(ids.gid_mappings[0].size, 65536u);
  EXPECT_EQ(r->annotations.size(), 2u);
  EXPECT_EQ(r->annotations.at("org.example.key"), "value");
}

TEST(SpecConfig, FullConfigProcess) {
  auto r = parse_config(kFullConfig, "/bundles/web");
  ASSERT_TRUE(r) << r.error().what();
  const config::Process& p = r->process;
  EXPECT_FALSE(p.terminal);
  ASSERT_TRUE(p.console_size);
  EXPECT_EQ(p.console_size->first, 24u);
  EXPECT_EQ(p.console_size->second, 80u);
  EXPECT_EQ(p.user.uid, 1000u);
  EXPECT_EQ(p.user.gid, 1000u);
  EXPECT_EQ(p.user.umask, 022u);
  EXPECT_EQ(p.user.additional_gids, (std::vector<uint32_t>{5, 10}));
  EXPECT_EQ(p.user.username, "app");
  EXPECT_EQ(p.args, (std::vector<std::string>{"/bin/app", "--flag"}));
  EXPECT_EQ(p.cwd, "/work");
  ASSERT_TRUE(p.capabilities);
  EXPECT_EQ(p.capabilities->bounding, caps({0}));  // CAP_FUTURE_THING warned and skipped
  EXPECT_EQ(p.capabilities->inheritable, caps({39}));
  EXPECT_EQ(p.capabilities->effective, 0u);
  ASSERT_EQ(p.rlimits.size(), 1u);
  EXPECT_EQ(p.rlimits[0].resource, RLIMIT_CORE);
  EXPECT_EQ(p.rlimits[0].hard, UINT64_MAX);
  EXPECT_EQ(p.apparmor_profile, "husk-default");
  EXPECT_EQ(p.selinux_label, "system_u:system_r:container_t:s0");
  EXPECT_EQ(p.oom_score_adj, -500);
  ASSERT_TRUE(p.scheduler);
  EXPECT_EQ(p.scheduler->policy, 3u);  // SCHED_BATCH
  EXPECT_EQ(p.scheduler->nice, 5);
  ASSERT_TRUE(p.io_priority);
  EXPECT_EQ(p.io_priority->io_class, 2);  // IOPRIO_CLASS_BE
  EXPECT_EQ(p.io_priority->level, 4);
  ASSERT_TRUE(p.exec_cpus_initial && p.exec_cpus_final);
  EXPECT_EQ(p.exec_cpus_initial->words, std::vector<uint64_t>{1});
  EXPECT_EQ(p.exec_cpus_final->words, std::vector<uint64_t>{3});

  const config::Hooks& h = r->hooks;
  ASSERT_EQ(h.prestart.size(), 1u);
  EXPECT_EQ(h.prestart[0].path, "/usr/bin/old-hook");
  ASSERT_EQ(h.create_runtime.size(), 1u);
  EXPECT_EQ(h.create_runtime[0].args, (std::vector<std::string>{"net-setup", "up"}));
  EXPECT_EQ(h.create_runtime[0].env, std::vector<std::string>{"A=1"});
  EXPECT_EQ(h.create_runtime[0].timeout, 5);
  EXPECT_TRUE(h.create_container.empty());
  EXPECT_EQ(h.start_container.size(), 1u);
  EXPECT_EQ(h.poststart.size(), 2u);
  EXPECT_FALSE(h.poststart[1].timeout);
  EXPECT_EQ(h.poststop[0].path, "/usr/bin/cleanup");
}

TEST(SpecConfig, FullConfigLinux) {
  auto r = parse_config(kFullConfig, "/bundles/web");
  ASSERT_TRUE(r) << r.error().what();
  const config::Container& c = *r;
  ASSERT_EQ(c.namespaces.size(), 8u);
  EXPECT_EQ(c.find_namespace(NamespaceType::kNetwork)->path, "/run/netns/web");
  EXPECT_TRUE(c.has_namespace(NamespaceType::kTime));
  EXPECT_EQ(c.gid_mappings.size(), 2u);
  EXPECT_EQ(c.gid_mappings[1].host_id, 200000u);
  EXPECT_EQ(c.time_offsets.at("monotonic").secs, -3600);
  EXPECT_EQ(c.time_offsets.at("monotonic").nanosecs, 5u);
  EXPECT_EQ(c.time_offsets.at("boottime").secs, 86400);
  ASSERT_EQ(c.devices.size(), 2u);
  EXPECT_EQ(c.devices[0].type, 'c');
  EXPECT_EQ(c.devices[0].major, 10);
  EXPECT_EQ(c.devices[0].minor, 229);
  EXPECT_EQ(c.devices[0].file_mode, 0666u);
  EXPECT_EQ(c.devices[1].type, 'p');
  EXPECT_EQ(c.sysctl.size(), 4u);
  EXPECT_EQ(c.rootfs_propagation, Flags{MS_SLAVE | MS_REC});
  EXPECT_EQ(c.mount_label, "system_u:object_r:container_file_t:s0");
  EXPECT_EQ(c.personality, 8u);  // PER_LINUX32
  EXPECT_EQ(c.cgroups_path, "/husk/web");
  EXPECT_EQ(nlohmann::json::parse(c.resources_json)["memory"]["limit"], 536870912);

  ASSERT_TRUE(c.seccomp);
  const config::Seccomp& s = *c.seccomp;
  EXPECT_EQ(s.default_action, config::SeccompAction::kErrno);
  EXPECT_EQ(s.default_errno_ret, 38u);
  EXPECT_EQ(s.architectures, std::vector<std::string>{"SCMP_ARCH_X86_64"});
  EXPECT_EQ(s.flags, std::vector<std::string>{"SECCOMP_FILTER_FLAG_LOG"});
  EXPECT_EQ(s.listener_path, "/run/seccomp.sock");
  EXPECT_EQ(s.listener_metadata, "meta");
  ASSERT_EQ(s.syscalls.size(), 4u);
  EXPECT_EQ(s.syscalls[0].names, (std::vector<std::string>{"read", "write"}));
  EXPECT_EQ(s.syscalls[1].action, config::SeccompAction::kNotify);
  ASSERT_EQ(s.syscalls[2].args.size(), 2u);
  EXPECT_EQ(s.syscalls[2].args[1].index, 1u);
  EXPECT_EQ(s.syscalls[2].args[1].value, 255u);
  EXPECT_EQ(s.syscalls[2].args[1].value_two, 8u);
  EXPECT_EQ(s.syscalls[2].args[1].op, config::SeccompOp::kMaskedEqual);
  EXPECT_EQ(s.syscalls[3].errno_ret, 1u);
}

TEST(SpecConfig, NullMeansAbsent) {
  auto r = parse_config(R"({"root": {"path": "r", "readonly": null}, "mounts": null,
      "process": {"args": ["sh"], "cwd": "/", "env": null, "capabilities": null},
      "hooks": null, "linux": {"namespaces": [{"type": "uts"}], "resources": null}})",
                        "/b");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_FALSE(r->root_readonly);
  EXPECT_TRUE(r->mounts.empty());
  EXPECT_FALSE(r->process.capabilities);
  EXPECT_TRUE(r->resources_json.empty());
}

// A throwaway bundle directory, removed at the end of the test.
class Bundle {
 public:
  Bundle() {
    char tmpl[] = "/tmp/husk-spec-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  ~Bundle() { std::filesystem::remove_all(dir_); }
  const std::string& dir() const { return dir_; }
  void write_config(const std::string& text) {
    ASSERT_TRUE(write_file_atomic(dir_ + "/config.json", text));
  }

 private:
  std::string dir_;
};

TEST(SpecLoadBundle, ReadsConfigAndMakesBundleAbsolute) {
  Bundle b;
  b.write_config(testdata("runc_spec.json"));
  // A path with a "." and a trailing slash still resolves to the directory.
  auto r = load_bundle(b.dir() + "/./");
  ASSERT_TRUE(r) << r.error().what();
  char* real = ::realpath(b.dir().c_str(), nullptr);
  ASSERT_NE(real, nullptr);
  EXPECT_EQ(r->bundle, real);
  EXPECT_EQ(r->root_path, std::string(real) + "/rootfs");
  std::free(real);
}

TEST(SpecLoadBundle, MissingDirectory) {
  auto r = load_bundle("/nonexistent/husk-bundle");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOENT);
  EXPECT_EQ(r.error().what(), "bundle \"/nonexistent/husk-bundle\": No such file or directory");
}

TEST(SpecLoadBundle, BundleIsAFile) {
  Bundle b;
  b.write_config("{}");
  auto r = load_bundle(b.dir() + "/config.json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOTDIR);
}

TEST(SpecLoadBundle, MissingConfig) {
  Bundle b;
  auto r = load_bundle(b.dir());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOENT);
  EXPECT_NE(r.error().what().find("/config.json"), std::string::npos) << r.error().what();
}

TEST(SpecLoadBundle, MalformedJsonNamesLineAndColumn) {
  Bundle b;
  b.write_config("{\n  \"ociVersion\": \"1.2.0\",\n  \"root\": {\"path\": rootfs}\n}\n");
  auto r = load_bundle(b.dir());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, 0);
  EXPECT_EQ(r.error().what(),
            "config.json: invalid JSON at line 3, column 20: syntax error while parsing value - "
            "invalid literal; last read: '\"path\": r'");
}

}  // namespace
}  // namespace husk::spec
