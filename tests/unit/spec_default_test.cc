// spec::default_config_json against `runc spec` output checked in under
// testdata/ (runc 1.1.5), and the state documents against `runc state`.
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "spec/config.h"
#include "spec/default_spec.h"
#include "spec/state.h"

namespace husk::spec {
namespace {

std::string testdata(const std::string& name) {
  // An absolute path from CMake: __FILE__ is relative when ccache rewrites paths.
  auto path = std::filesystem::path(HUSK_TESTDATA_DIR) / name;
  auto text = read_file(path.string());
  EXPECT_TRUE(text) << path;
  return text ? *text : std::string();
}

// runc's file with its ociVersion replaced by ours.
std::string runc_output(const std::string& name) {
  std::string text = testdata(name);
  const std::string old = "\"ociVersion\": \"1.0.2-dev\"";
  auto pos = text.find(old);
  EXPECT_NE(pos, std::string::npos);
  if (pos != std::string::npos)
    text.replace(pos, old.size(), fmt::format("\"ociVersion\": \"{}\"", kOciVersion));
  return text;
}

TEST(SpecDefault, MatchesRuncSpecByteForByte) {
  EXPECT_EQ(default_config_json(false, 0, 0), runc_output("runc_spec.json"));
}

TEST(SpecDefault, RootlessMatchesRuncSpecRootless) {
  EXPECT_EQ(default_config_json(true, 0, 0), runc_output("runc_spec_rootless.json"));
}

TEST(SpecDefault, RootlessMapsTheGivenIds) {
  auto doc = nlohmann::json::parse(default_config_json(true, 1000, 1001));
  EXPECT_EQ(doc["linux"]["uidMappings"][0]["hostID"], 1000);
  EXPECT_EQ(doc["linux"]["gidMappings"][0]["hostID"], 1001);
  EXPECT_EQ(doc["linux"]["uidMappings"][0]["containerID"], 0);
}

TEST(SpecDefault, ParsesBackWithOurParser) {
  for (bool rootless : {false, true}) {
    auto r = parse_config(default_config_json(rootless, 1000, 1000), "/b");
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->oci_version, kOciVersion);
    EXPECT_EQ(r->process.args, std::vector<std::string>{"sh"});
    EXPECT_EQ(r->mounts.size(), 7u);
    EXPECT_EQ(r->has_namespace(config::NamespaceType::kUser), rootless);
    EXPECT_EQ(r->has_namespace(config::NamespaceType::kNetwork), !rootless);
    EXPECT_EQ(r->resources_json.empty(), rootless);
  }
}

TEST(SpecDefault, ParsedValuesEqualThoseOfRuncsFile) {
  auto ours = parse_config(default_config_json(false, 0, 0), "/b");
  auto theirs = parse_config(testdata("runc_spec.json"), "/b");
  ASSERT_TRUE(ours && theirs);
  EXPECT_EQ(ours->hostname, theirs->hostname);
  EXPECT_EQ(ours->process.env, theirs->process.env);
  EXPECT_EQ(ours->process.capabilities->bounding, theirs->process.capabilities->bounding);
  EXPECT_EQ(ours->masked_paths, theirs->masked_paths);
  EXPECT_EQ(ours->readonly_paths, theirs->readonly_paths);
  EXPECT_EQ(ours->resources_json, theirs->resources_json);
  for (size_t i = 0; i < ours->mounts.size(); ++i) {
    EXPECT_EQ(ours->mounts[i].destination, theirs->mounts[i].destination);
    EXPECT_EQ(ours->mounts[i].flags, theirs->mounts[i].flags);
    EXPECT_EQ(ours->mounts[i].data, theirs->mounts[i].data);
  }
}

OciState sample_state() {
  OciState s;
  s.oci_version = "1.2.0";
  s.id = "web";
  s.pid = 5693;
  s.status = "created";
  s.bundle = "/tmp/b";
  s.rootfs = "/tmp/b/rootfs";
  s.created = "2026-11-28T23:34:17.205111236Z";
  return s;
}

TEST(SpecState, PrettyMatchesRuncState) {
  OciState s = sample_state();
  s.annotations = {{"a<b", "x&y"}, {"0", "z\n"}};
  EXPECT_EQ(to_json(s),
            "{\n"
            "  \"ociVersion\": \"1.2.0\",\n"
            "  \"id\": \"web\",\n"
            "  \"pid\": 5693,\n"
            "  \"status\": \"created\",\n"
            "  \"bundle\": \"/tmp/b\",\n"
            "  \"rootfs\": \"/tmp/b/rootfs\",\n"
            "  \"created\": \"2026-11-28T23:34:17.205111236Z\",\n"
            "  \"annotations\": {\n"
            "    \"0\": \"z\\n\",\n"
            "    \"a\\u003cb\": \"x\\u0026y\"\n"
            "  },\n"
            "  \"owner\": \"\"\n"
            "}");
}

TEST(SpecState, PrettyOmitsEmptyAnnotations) {
  std::string out = to_json(sample_state());
  EXPECT_EQ(out.find("annotations"), std::string::npos);
  auto doc = nlohmann::json::parse(out);
  EXPECT_EQ(doc["pid"], 5693);
  EXPECT_EQ(doc["owner"], "");
}

TEST(SpecState, HookStateIsCompact) {
  OciState s = sample_state();
  EXPECT_EQ(to_hook_json(s), R"({"ociVersion":"1.2.0","id":"web","status":"created","pid":5693,)"
                             R"("bundle":"/tmp/b"})");
  s.pid = 0;
  s.status = "stopped";
  s.annotations = {{"k", "v"}};
  EXPECT_EQ(to_hook_json(s),
            R"({"ociVersion":"1.2.0","id":"web","status":"stopped","bundle":"/tmp/b",)"
            R"("annotations":{"k":"v"}})");
}

TEST(SpecState, ContainerProcessStateInRuncsOrder) {
  ContainerProcessState p{.oci_version = "1.2.0",
                          .fds = {"seccompFd"},
                          .pid = 77,
                          .metadata = "m<1>",
                          .state = to_hook_json(sample_state())};
  EXPECT_EQ(to_json(p), R"({"ociVersion":"1.2.0","fds":["seccompFd"],"pid":77,)"
                        R"("metadata":"m\u003c1\u003e","state":{"ociVersion":"1.2.0","id":"web",)"
                        R"("status":"created","pid":5693,"bundle":"/tmp/b"}})");
  p.metadata.clear();  // omitted when empty, as runc's omitempty
  EXPECT_EQ(nlohmann::json::parse(to_json(p)).contains("metadata"), false);
}

TEST(SpecState, StringsEscapedLikeGo) {
  OciState s = sample_state();
  s.id = "q\"\\\t\x01<>&\xe2\x80\xa8\xc3\xa9\xff";
  auto out = to_hook_json(s);
  EXPECT_NE(out.find(R"("id":"q\"\\\t\u0001\u003c\u003e\u0026\u2028)"
                     "\xc3\xa9"
                     R"(\ufffd")"),
            std::string::npos)
      << out;
}

TEST(SpecState, Rfc3339Nano) {
  EXPECT_EQ(format_rfc3339_nano(0, 0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339_nano(1800000000, 205111236), "2027-01-15T08:00:00.205111236Z");
  EXPECT_EQ(format_rfc3339_nano(1800000000, 500000000), "2027-01-15T08:00:00.5Z");
  EXPECT_EQ(format_rfc3339_nano(1800000000, 1000), "2027-01-15T08:00:00.000001Z");
}

}  // namespace
}  // namespace husk::spec
