// spec::parse_config error paths: each names the JSON path and the reason,
// with code 0 so no strerror text is appended.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "spec/config.h"
#include "spec_test_util.h"

namespace husk::spec {
namespace {

using namespace husk::spec::testing;

std::string error_without(const std::string& pointer) {
  Json doc = minimal();
  Json::json_pointer p(pointer);
  doc[p.parent_pointer()].erase(p.back());
  return error_of(doc);
}

TEST(SpecConfigErrors, MinimalParses) { EXPECT_EQ(error_of(minimal()), "<parsed>"); }

TEST(SpecConfigErrors, Document) {
  EXPECT_EQ(error_of(Json::array()), "config.json: expected an object, got array");
  auto r = parse_config("{\"root\": ", "/b");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(),
            "config.json: invalid JSON at line 1, column 10: syntax error while parsing value - "
            "unexpected end of input; expected '[', '{', or a literal");
  r = parse_config("{\n\n  \"a\": 1,,\n}", "/b");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what().substr(0, 50), "config.json: invalid JSON at line 3, column 10: sy");
}

// linux.resources is kept as text (dump), which recursed once per level: a
// 200 KB config.json of nested arrays overflowed the stack of husk-oci.
// Found while writing tests/fuzz (fuzz_config; its inputs are too short to
// nest this deep). Go's encoding/json limit applies, as for runc.
TEST(SpecConfigErrors, NestingDeeperThanGoAllowsIsRefused) {
  auto nested = [](size_t depth) {
    return R"({"root":{"path":"r"},"process":{"args":["sh"],"cwd":"/"},)"
           R"("linux":{"resources":{"x":)" +
           std::string(depth, '[') + std::string(depth, ']') + "}}}";
  };
  auto r = parse_config(nested(100000), "/b");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "config.json: invalid JSON: nested deeper than 10000 levels");
  EXPECT_TRUE(parse_config(nested(9997), "/b"));  // 10000 with the three objects around it
  // Brackets inside strings do not nest.
  EXPECT_TRUE(parse_config(R"({"root":{"path":")" + std::string(20000, '[') +
                               R"("},"process":{"args":["sh"],"cwd":"/"}})",
                           "/b"));
}

TEST(SpecConfigErrors, TypeMismatchesNameTheField) {
  EXPECT_EQ(error_with("/process/user/uid", "0"),
            "config.json: process.user.uid: expected a number, got string");
  EXPECT_EQ(error_with("/process/user/uid", 1.5),
            "config.json: process.user.uid: expected an integer, got 1.5");
  EXPECT_EQ(error_with("/process/user/uid", -1),
            "config.json: process.user.uid: -1 is out of range");
  EXPECT_EQ(error_with("/process/user/gid", 4294967296),
            "config.json: process.user.gid: 4294967296 is out of range");
  EXPECT_EQ(error_with("/process/terminal", "yes"),
            "config.json: process.terminal: expected a boolean, got string");
  EXPECT_EQ(error_with("/process/args", "sh"),
            "config.json: process.args: expected an array, got string");
  EXPECT_EQ(error_with("/process/args/1", 7),
            "config.json: process.args[1]: expected a string, got number");
  EXPECT_EQ(error_with("/mounts", Json::object()),
            "config.json: mounts: expected an array, got object");
  EXPECT_EQ(error_with("/hostname", false),
            "config.json: hostname: expected a string, got boolean");
  EXPECT_EQ(error_with("/annotations", {{"a.b", 1}}),
            "config.json: annotations[\"a.b\"]: expected a string, got number");
  EXPECT_EQ(error_with("/linux", Json::array()),
            "config.json: linux: expected an object, got array");
}

TEST(SpecConfigErrors, RootAndProcess) {
  EXPECT_EQ(error_without("/root"), "config.json: root: field is required");
  EXPECT_EQ(error_with("/root/path", ""), "config.json: root.path: must not be empty");
  EXPECT_EQ(error_without("/process"), "config.json: process: field is required");
  EXPECT_EQ(error_with("/process/args", Json::array()),
            "config.json: process.args: must not be empty");
  EXPECT_EQ(error_without("/process/cwd"), "config.json: process.cwd: field is required");
  EXPECT_EQ(error_with("/process/cwd", "work"),
            "config.json: process.cwd: must be an absolute path");
  EXPECT_EQ(error_with("/process/env", {"A=1", "FOO"}),
            "config.json: process.env[1]: invalid environment variable \"FOO\": missing '='");
  EXPECT_EQ(error_with("/process/env", {"=1"}),
            "config.json: process.env[0]: invalid environment variable \"=1\": empty name");
  EXPECT_EQ(error_with("/process/oomScoreAdj", 1001),
            "config.json: process.oomScoreAdj: 1001 is outside -1000..1000");
  EXPECT_EQ(error_with("/process/user/umask", 01000),
            "config.json: process.user.umask: 01000 is not a valid umask");
  EXPECT_EQ(error_with("/process/consoleSize", {{"height", 10}}),
            "config.json: process.consoleSize.width: field is required");
}

TEST(SpecConfigErrors, Capabilities) {
  EXPECT_EQ(error_with("/process/capabilities", {{"bounding", {"CAP_KILL", "foo"}}}),
            "config.json: process.capabilities.bounding[1]: unknown capability \"foo\"");
  EXPECT_EQ(error_with("/process/capabilities", {{"ambient", {"cap_kill"}}}),
            "config.json: process.capabilities.ambient[0]: unknown capability \"cap_kill\"");
  EXPECT_EQ(error_with("/process/capabilities", {{"permitted", {"CAP_"}}}),
            "config.json: process.capabilities.permitted[0]: unknown capability \"CAP_\"");
  // Well-formed names this runtime does not know are skipped, as runc does.
  EXPECT_EQ(error_with("/process/capabilities", {{"effective", {"CAP_NEW_IN_LINUX_9"}}}),
            "<parsed>");
}

TEST(SpecConfigErrors, Rlimits) {
  auto rlimit = [](const char* type, uint64_t soft, uint64_t hard) {
    return Json{{"type", type}, {"soft", soft}, {"hard", hard}};
  };
  EXPECT_EQ(error_with("/process/rlimits", Json::array({rlimit("RLIMIT_FOO", 1, 1)})),
            "config.json: process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"");
  EXPECT_EQ(error_with("/process/rlimits", Json::array({rlimit("RLIMIT_NOFILE", 2048, 1024)})),
            "config.json: process.rlimits[0]: soft limit 2048 is greater than hard limit 1024");
  EXPECT_EQ(error_with("/process/rlimits",
                       {rlimit("RLIMIT_NOFILE", 1, 1), rlimit("RLIMIT_NOFILE", 2, 2)}),
            "config.json: process.rlimits[1].type: duplicate rlimit \"RLIMIT_NOFILE\"");
  EXPECT_EQ(error_with("/process/rlimits", {{{"type", "RLIMIT_CPU"}, {"hard", 1}}}),
            "config.json: process.rlimits[0].soft: field is required");
}

TEST(SpecConfigErrors, Mounts) {
  Json proc = {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}};
  Json bad = proc;
  bad["destination"] = "";
  EXPECT_EQ(error_with("/mounts", {proc, proc, proc, bad}),
            "config.json: mounts[3].destination: must not be empty");
  bad.erase("destination");
  EXPECT_EQ(error_with("/mounts", Json::array({bad})),
            "config.json: mounts[0].destination: field is required");
  EXPECT_EQ(error_with("/mounts", {proc, nullptr}),
            "config.json: mounts[1]: expected an object, got null");
  EXPECT_EQ(error_with("/mounts/0", {{"destination", "/x"}, {"options", {"ro", 1}}}),
            "config.json: mounts[0].options[1]: expected a string, got number");
  Json idmapped = {{"destination", "/x"}, {"type", "tmpfs"}, {"options", {"idmap"}}};
  EXPECT_EQ(error_with("/mounts", Json::array({idmapped})),
            "config.json: mounts[0]: id-mapped mounts are only supported for bind mounts");
  Json half = {{"destination", "/x"},
               {"source", "/y"},
               {"options", {"bind"}},
               {"uidMappings", {{{"containerID", 0}, {"hostID", 1}, {"size", 1}}}}};
  EXPECT_EQ(error_with("/mounts", Json::array({half})),
            "config.json: mounts[0]: uidMappings and gidMappings must be given together");
}

TEST(SpecConfigErrors, Hooks) {
  EXPECT_EQ(error_with("/hooks", {{"prestart", {{{"path", "hook"}}}}}),
            "config.json: hooks.prestart[0].path: must be an absolute path");
  EXPECT_EQ(error_with("/hooks", {{"poststop", {{{"args", {"x"}}}}}}),
            "config.json: hooks.poststop[0].path: field is required");
  EXPECT_EQ(error_with("/hooks", {{"createRuntime", {{{"path", "/h"}, {"timeout", 0}}}}}),
            "config.json: hooks.createRuntime[0].timeout: must be greater than zero");
  EXPECT_EQ(error_with("/hooks/startContainer", "x"),
            "config.json: hooks.startContainer: expected an array, got string");
}

TEST(SpecConfigErrors, Namespaces) {
  EXPECT_EQ(error_with("/linux/namespaces/2/type", "foo"),
            "config.json: linux.namespaces[2].type: unknown namespace \"foo\"");
  EXPECT_EQ(error_with("/linux/namespaces/5", {{"type", "pid"}}),
            "config.json: linux.namespaces[5].type: duplicate namespace \"pid\"");
  EXPECT_EQ(error_with("/linux/namespaces/1/path", "run/netns/x"),
            "config.json: linux.namespaces[1].path: must be an absolute path");
  EXPECT_EQ(error_with("/linux/namespaces/0", {{"path", "/proc/1/ns/pid"}}),
            "config.json: linux.namespaces[0].type: field is required");
}

TEST(SpecConfigErrors, UserAndTimeNamespaces) {
  EXPECT_EQ(error_with("/linux/namespaces/5", {{"type", "user"}}),
            "config.json: linux.uidMappings: a new user namespace needs uid mappings");
  Json map = {{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}};
  Json doc = minimal();
  doc["linux"]["namespaces"].push_back({{"type", "user"}});
  doc["linux"]["uidMappings"] = map;
  EXPECT_EQ(error_of(doc),
            "config.json: linux.gidMappings: a new user namespace needs gid mappings");
  doc["linux"]["gidMappings"] = map;
  EXPECT_EQ(error_of(doc), "<parsed>");
  // Joining a user namespace needs no mappings.
  EXPECT_EQ(error_with("/linux/namespaces/5", {{"type", "user"}, {"path", "/proc/1/ns/user"}}),
            "<parsed>");
  EXPECT_EQ(error_with("/linux/gidMappings", map),
            "config.json: linux.gidMappings: user namespace mappings specified, but the user "
            "namespace is not enabled");
  EXPECT_EQ(error_with("/linux/uidMappings/0", {{"containerID", 0}, {"size", 1}}),
            "config.json: linux.uidMappings[0].hostID: field is required");

  Json offsets = {{"monotonic", {{"secs", 10}}}};
  EXPECT_EQ(error_with("/linux/timeOffsets", offsets),
            "config.json: linux.timeOffsets: time namespace offsets specified, but the time "
            "namespace is not enabled");
  doc = minimal();
  doc["linux"]["timeOffsets"] = offsets;
  doc["linux"]["namespaces"].push_back({{"type", "time"}, {"path", "/proc/1/ns/time"}});
  EXPECT_EQ(error_of(doc),
            "config.json: linux.timeOffsets: offsets cannot be set when joining an existing "
            "time namespace");
  EXPECT_EQ(error_with("/linux/timeOffsets", {{"realtime", {{"secs", 1}}}}),
            "config.json: linux.timeOffsets[\"realtime\"]: unknown clock, expected "
            "\"monotonic\" or \"boottime\"");
}

TEST(SpecConfigErrors, HostnameNeedsUts) {
  Json doc = minimal();
  doc["linux"]["namespaces"].erase(3);  // uts
  EXPECT_EQ(error_of(doc), "<parsed>");
  doc["hostname"] = "web";
  EXPECT_EQ(error_of(doc),
            "config.json: hostname: unable to set hostname without a new UTS namespace");
  doc.erase("hostname");
  doc["domainname"] = "example.org";
  EXPECT_EQ(error_of(doc),
            "config.json: domainname: unable to set domainname without a new UTS namespace");
}

TEST(SpecConfigErrors, SysctlNeedsItsNamespace) {
  auto without = [](const char* ns, const char* key) {
    Json doc = minimal();
    auto& list = doc["linux"]["namespaces"];
    for (size_t i = 0; i < list.size(); ++i)
      if (list[i]["type"] == ns) list.erase(i);
    doc["linux"]["sysctl"] = {{key, "1"}};
    return error_of(doc);
  };
  EXPECT_EQ(without("network", "net.ipv4.ip_forward"),
            "config.json: linux.sysctl[\"net.ipv4.ip_forward\"]: not allowed in the host's "
            "network namespace");
  EXPECT_EQ(without("ipc", "kernel.shmmax"),
            "config.json: linux.sysctl[\"kernel.shmmax\"]: not allowed in the host's IPC "
            "namespace");
  EXPECT_EQ(without("ipc", "fs.mqueue.msg_max"),
            "config.json: linux.sysctl[\"fs.mqueue.msg_max\"]: not allowed in the host's IPC "
            "namespace");
  EXPECT_EQ(without("uts", "kernel.domainname"),
            "config.json: linux.sysctl[\"kernel.domainname\"]: not in a separate kernel "
            "namespace");
  EXPECT_EQ(without("time", "kernel.hostname"),
            "config.json: linux.sysctl[\"kernel.hostname\"]: conflicts with the OCI "
            "\"hostname\" field");
  EXPECT_EQ(without("time", "vm.swappiness"),
            "config.json: linux.sysctl[\"vm.swappiness\"]: not in a separate kernel namespace");
  EXPECT_EQ(without("time", "kernel.msgmax"), "<parsed>");
  EXPECT_EQ(without("time", "net.core.somaxconn"), "<parsed>");
  EXPECT_EQ(without("time", "kernel.domainname"), "<parsed>");
}

TEST(SpecConfigErrors, DevicesAndPaths) {
  Json fuse = {{"path", "/dev/fuse"}, {"type", "c"}, {"major", 10}, {"minor", 229}};
  auto with_device = [&](const char* key, const Json& value) {
    Json d = fuse;
    d[key] = value;
    return error_with("/linux/devices", Json::array({d}));
  };
  EXPECT_EQ(with_device("type", "x"),
            "config.json: linux.devices[0].type: unknown device type \"x\", expected \"c\", "
            "\"b\", \"u\" or \"p\"");
  EXPECT_EQ(with_device("path", "dev/fuse"),
            "config.json: linux.devices[0].path: must be an absolute path");
  EXPECT_EQ(with_device("major", nullptr),
            "config.json: linux.devices[0].major: field is required");
  EXPECT_EQ(with_device("fileMode", 010000),
            "config.json: linux.devices[0].fileMode: 010000 is not a permission mode");
  EXPECT_EQ(error_with("/linux/devices", {{{"path", "/dev/p"}, {"type", "p"}}}), "<parsed>");
  EXPECT_EQ(error_with("/linux/rootfsPropagation", "sideways"),
            "config.json: linux.rootfsPropagation: unknown propagation \"sideways\"");
  Json doc = minimal();
  doc["linux"]["namespaces"].erase(4);  // mount
  doc["linux"]["maskedPaths"] = {"/proc/kcore"};
  EXPECT_EQ(error_of(doc),
            "config.json: linux.maskedPaths: unable to restrict sys entries without a private MNT "
            "namespace (masking paths needs a mount namespace)");
}

TEST(SpecConfigErrors, Seccomp) {
  auto seccomp = [](const Json& changes) {
    Json s = {{"defaultAction", "SCMP_ACT_ALLOW"},
              {"syscalls", {{{"names", {"mount"}}, {"action", "SCMP_ACT_ERRNO"}}}}};
    s.merge_patch(changes);
    return error_with("/linux/seccomp", s);
  };
  EXPECT_EQ(seccomp(Json::object()), "<parsed>");
  EXPECT_EQ(seccomp({{"defaultAction", "SCMP_ACT_MAYBE"}}),
            "config.json: linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_MAYBE\"");
  EXPECT_EQ(seccomp({{"defaultAction", "SCMP_ACT_NOTIFY"}, {"listenerPath", "/s"}}),
            "config.json: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default "
            "action");
  EXPECT_EQ(seccomp({{"syscalls", {{{"names", {"mount"}}, {"action", "SCMP_ACT_NOTIFY"}}}}}),
            "config.json: linux.seccomp: listenerPath is not set (a rule uses SCMP_ACT_NOTIFY)");
  EXPECT_EQ(seccomp({{"listenerPath", "/s"},
                     {"syscalls", {{{"names", {"write"}}, {"action", "SCMP_ACT_NOTIFY"}}}}}),
            "config.json: linux.seccomp.syscalls[0]: SCMP_ACT_NOTIFY cannot be used for the "
            "write syscall");
  EXPECT_EQ(seccomp({{"syscalls",
                      {{{"names", {"mount"}},
                        {"action", "SCMP_ACT_ERRNO"},
                        {"args", {{{"index", 0}, {"value", 1}, {"op", "LT"}}}}}}}}),
            "config.json: linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator \"LT\"");
  EXPECT_EQ(seccomp({{"syscalls", {{{"names", Json::array()}, {"action", "SCMP_ACT_ERRNO"}}}}}),
            "config.json: linux.seccomp.syscalls[0].names: must not be empty");
}

}  // namespace
}  // namespace husk::spec
