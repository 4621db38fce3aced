// spec::features_json: the runtime-spec features document. Every name list
// is checked against what the parser (or the seccomp compiler) really takes.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "linux/seccomp_filter.h"
#include "spec/config.h"
#include "spec/default_spec.h"
#include "spec/features.h"
#include "spec/mount_options.h"
#include "spec/names.h"

namespace husk::spec {
namespace {

using Json = nlohmann::json;

// The facts the CLI gathers, with the seccomp lists from the linux layer.
FeatureFacts real_seccomp_facts() {
  FeatureFacts f;
  f.cgroup = {.v1 = true, .v2 = true, .systemd = false, .systemd_user = false, .rdma = true};
  f.seccomp = true;
  f.seccomp_archs = linux::seccomp_architecture_names();
  for (auto n : linux::seccomp_flag_names()) f.seccomp_known_flags.emplace_back(n);
  for (auto n : linux::supported_seccomp_flag_names()) f.seccomp_supported_flags.emplace_back(n);
  f.libseccomp_version = linux::libseccomp_version();
  return f;
}

Json features(const FeatureFacts& f) {
  Json j = Json::parse(features_json(f), nullptr, /*allow_exceptions=*/false);
  EXPECT_TRUE(j.is_object());
  return j;
}

std::set<std::string> keys(const Json& obj) {
  std::set<std::string> out;
  for (auto& [k, v] : obj.items()) out.insert(k);
  return out;
}

std::vector<std::string> strings(const Json& arr) {
  EXPECT_TRUE(arr.is_array());
  return arr.get<std::vector<std::string>>();
}

bool has_duplicates(std::vector<std::string> v) {
  std::ranges::sort(v);
  return std::ranges::adjacent_find(v) != v.end();
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::ranges::find(v, s) != v.end();
}

// A config.json that parse_config takes, to which a test adds what it checks.
Json base_config() {
  return {{"ociVersion", kOciVersion},
          {"root", {{"path", "/rootfs"}}},
          {"process", {{"args", {"sh"}}, {"cwd", "/"}}},
          {"linux", Json::object()}};
}

Result<config::Container> parse(const Json& doc) { return parse_config(doc.dump(), "/b"); }

TEST(SpecFeatures, SchemaKeys) {
  Json j = features(real_seccomp_facts());
  EXPECT_EQ(keys(j), (std::set<std::string>{"ociVersionMin", "ociVersionMax", "hooks",
                                            "mountOptions", "linux", "annotations"}));
  EXPECT_EQ(j["ociVersionMin"], "1.0.0");
  EXPECT_EQ(j["ociVersionMax"], kOciVersion);
  const Json& l = j["linux"];
  EXPECT_EQ(keys(l), (std::set<std::string>{"namespaces", "capabilities", "cgroup", "seccomp",
                                            "apparmor", "selinux", "intelRdt",
                                            "mountExtensions"}));
  EXPECT_EQ(keys(l["cgroup"]),
            (std::set<std::string>{"v1", "v2", "systemd", "systemdUser", "rdma"}));
  EXPECT_EQ(keys(l["seccomp"]), (std::set<std::string>{"enabled", "actions", "operators", "archs",
                                                       "knownFlags", "supportedFlags"}));
  EXPECT_EQ(l["mountExtensions"]["idmap"]["enabled"], false);
  EXPECT_EQ(j["annotations"]["io.github.seccomp.libseccomp.version"],
            linux::libseccomp_version());
}

TEST(SpecFeatures, RuncLayout) {
  std::string text = features_json(real_seccomp_facts());
  EXPECT_TRUE(text.starts_with("{\n    \"ociVersionMin\": \"1.0.0\",\n    \"ociVersionMax\": "));
  EXPECT_TRUE(text.ends_with("}\n"));
  EXPECT_NE(text.find("\n    \"linux\": {\n        \"namespaces\": [\n            \"cgroup\","),
            std::string::npos);
}

TEST(SpecFeatures, NoListHasDuplicates) {
  const Json j = features(real_seccomp_facts());
  const Json& l = j["linux"];
  const Json& s = l["seccomp"];
  for (const Json* arr : {&j["hooks"], &j["mountOptions"], &l["namespaces"], &l["capabilities"],
                          &s["actions"], &s["operators"], &s["archs"], &s["knownFlags"],
                          &s["supportedFlags"]}) {
    EXPECT_FALSE(strings(*arr).empty()) << *arr;
    EXPECT_FALSE(has_duplicates(strings(*arr))) << *arr;
  }
}

TEST(SpecFeatures, EveryCapabilityInNumberOrder) {
  auto caps = strings(features(real_seccomp_facts())["linux"]["capabilities"]);
  ASSERT_EQ(caps.size(), static_cast<size_t>(last_known_capability() + 1));
  for (int i = 0; i <= last_known_capability(); ++i)
    EXPECT_EQ(caps[static_cast<size_t>(i)], capability_name(i));
  EXPECT_TRUE(contains(caps, "CAP_BPF"));
  EXPECT_TRUE(contains(caps, "CAP_CHECKPOINT_RESTORE"));
}

TEST(SpecFeatures, EveryNamespaceParses) {
  auto names = strings(features(real_seccomp_facts())["linux"]["namespaces"]);
  EXPECT_EQ(names, (std::vector<std::string>{"cgroup", "ipc", "mount", "network", "pid", "time",
                                             "user", "uts"}));
  Json doc = base_config();
  for (const auto& n : names) doc["linux"]["namespaces"].push_back({{"type", n}});
  Json map = Json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
  doc["linux"]["uidMappings"] = map;
  doc["linux"]["gidMappings"] = map;
  auto c = parse(doc);
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_EQ(c->namespaces.size(), names.size());
}

TEST(SpecFeatures, EveryHookParsesIntoItsOwnList) {
  auto hooks = strings(features(real_seccomp_facts())["hooks"]);
  EXPECT_EQ(hooks, (std::vector<std::string>{"prestart", "createRuntime", "createContainer",
                                             "startContainer", "poststart", "poststop"}));
  for (size_t i = 0; i < hooks.size(); ++i) {
    Json doc = base_config();
    doc["hooks"][hooks[i]] = Json::array();
    for (size_t k = 0; k <= i; ++k) doc["hooks"][hooks[i]].push_back({{"path", "/bin/true"}});
    auto c = parse(doc);
    ASSERT_TRUE(c) << hooks[i] << ": " << c.error().what();
    const config::Hooks& h = c->hooks;
    // Hook i was given i+1 entries: the list holding that many is the one it went to.
    std::vector<size_t> sizes = {h.prestart.size(),         h.create_runtime.size(),
                                 h.create_container.size(), h.start_container.size(),
                                 h.poststart.size(),        h.poststop.size()};
    EXPECT_EQ(std::ranges::count(sizes, i + 1), 1) << hooks[i];
    EXPECT_EQ(std::ranges::count(sizes, 0), 5) << hooks[i];
  }
}

TEST(SpecFeatures, EverySeccompActionAndOperatorParses) {
  const Json s = features(real_seccomp_facts())["linux"]["seccomp"];
  EXPECT_EQ(s["enabled"], true);
  auto actions = strings(s["actions"]);
  auto ops = strings(s["operators"]);
  EXPECT_TRUE(std::ranges::is_sorted(actions));
  EXPECT_TRUE(contains(actions, "SCMP_ACT_KILL_PROCESS"));
  EXPECT_TRUE(contains(ops, "SCMP_CMP_MASKED_EQ"));
  for (const auto& a : actions) {
    Json doc = base_config();
    // NOTIFY is refused as the default action and needs a listener path.
    doc["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                               {"listenerPath", "/run/l.sock"},
                               {"syscalls", {{{"names", {"getpid"}}, {"action", a}}}}};
    auto c = parse(doc);
    EXPECT_TRUE(c) << a << ": " << c.error().what();
  }
  for (const auto& op : ops) {
    Json doc = base_config();
    Json arg = {{"index", 0}, {"value", 1}, {"valueTwo", 1}, {"op", op}};
    doc["linux"]["seccomp"] = {
        {"defaultAction", "SCMP_ACT_ALLOW"},
        {"syscalls", {{{"names", {"getpid"}}, {"action", "SCMP_ACT_ERRNO"}, {"args", {arg}}}}}};
    auto c = parse(doc);
    EXPECT_TRUE(c) << op << ": " << c.error().what();
  }
  Json bad = base_config();
  bad["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_NOPE"}};
  EXPECT_FALSE(parse(bad));  // the check above can fail
}

TEST(SpecFeatures, ArchsAreWhatTheFilterCompilerTakes) {
  auto archs = strings(features(real_seccomp_facts())["linux"]["seccomp"]["archs"]);
  EXPECT_TRUE(contains(archs, "SCMP_ARCH_X86_64"));
  EXPECT_TRUE(contains(archs, "SCMP_ARCH_X86"));
  EXPECT_TRUE(contains(archs, "SCMP_ARCH_AARCH64"));
  EXPECT_TRUE(std::ranges::is_sorted(archs));
  for (const auto& a : archs) {
    config::Seccomp s;
    s.architectures = {a};
    auto f = linux::build_seccomp_filter(s);
    // Foreign byte orders are known but cannot join a native filter.
    if (!f) {
      EXPECT_EQ(f.error().message.find("unknown"), std::string::npos) << f.error().what();
    }
  }
  config::Seccomp unknown;
  unknown.architectures = {"SCMP_ARCH_VAX"};
  auto f = linux::build_seccomp_filter(unknown);
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("unknown seccomp architecture"), std::string::npos);
}

TEST(SpecFeatures, SeccompFlags) {
  auto s = features(real_seccomp_facts())["linux"]["seccomp"];
  auto known = strings(s["knownFlags"]);
  auto supported = strings(s["supportedFlags"]);
  EXPECT_TRUE(contains(known, "SECCOMP_FILTER_FLAG_LOG"));
  for (const auto& f : supported) EXPECT_TRUE(contains(known, f)) << f;
  for (const auto& f : known) {
    config::Seccomp cfg;
    cfg.flags = {f};
    auto built = linux::build_seccomp_filter(cfg);
    EXPECT_TRUE(built) << f << ": " << built.error().what();
  }
}

TEST(SpecFeatures, MountOptionsAreParsedAndImplemented) {
  FeatureFacts f = real_seccomp_facts();
  auto opts = strings(features(f)["mountOptions"]);
  EXPECT_TRUE(std::ranges::is_sorted(opts));
  for (const char* w : {"rro", "rbind", "nosymfollow", "rprivate", "strictatime"})
    EXPECT_TRUE(contains(opts, w)) << w;
  // Recognized by the parser but not implemented by the mount code.
  for (const char* w : {"idmap", "ridmap", "tmpcopyup"}) EXPECT_FALSE(contains(opts, w)) << w;
  auto known = known_mount_options();
  EXPECT_EQ(opts.size(), known.size() - 3);
  for (const auto& o : opts) {
    EXPECT_NE(std::ranges::find(known, o), known.end()) << o;
    EXPECT_EQ(parse_mount_options({o}).data, "") << o << " would reach mount(2) as data";
  }
  f.idmap_mounts = true;
  f.tmpcopyup = true;
  Json j = features(f);
  EXPECT_EQ(strings(j["mountOptions"]).size(), known.size());
  EXPECT_EQ(j["linux"]["mountExtensions"]["idmap"]["enabled"], true);
}

TEST(SpecFeatures, FactsAreReported) {
  FeatureFacts f;
  f.cgroup.v2 = true;
  f.apparmor = true;
  Json j = features(f);
  const Json& l = j["linux"];
  EXPECT_EQ(l["cgroup"]["v1"], false);
  EXPECT_EQ(l["cgroup"]["v2"], true);
  EXPECT_EQ(l["cgroup"]["systemd"], false);
  EXPECT_EQ(l["apparmor"]["enabled"], true);
  EXPECT_EQ(l["selinux"]["enabled"], false);
  EXPECT_EQ(l["intelRdt"]["enabled"], false);
  // No seccomp support: no seccomp object (unknown, not "none") and no version annotation.
  EXPECT_FALSE(l.contains("seccomp"));
  EXPECT_FALSE(j.contains("annotations"));
}

}  // namespace
}  // namespace husk::spec
