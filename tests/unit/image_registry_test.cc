// image/registry.h without a real registry: challenge and token parsing, error bodies, auth
// files, and redirects (against tests/fixtures/fake-registry, a scripted server on 127.0.0.1).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "base/file.h"
#include "image/registry.h"
#include "image/registry_detail.h"
#include "temp_dir_util.h"

namespace husk::image {
namespace {

using detail::parse_challenge;

TEST(RegistryChallenge, BearerWithQuotedParameters) {
  auto c =
      parse_challenge(R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",)"
                      R"(scope="repository:library/alpine:pull")");
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_EQ(c->scheme, "bearer");
  EXPECT_EQ(c->params.at("realm"), "https://auth.docker.io/token");
  EXPECT_EQ(c->params.at("service"), "registry.docker.io");
  EXPECT_EQ(c->params.at("scope"), "repository:library/alpine:pull");
}

TEST(RegistryChallenge, BasicUnquotedEscapesAndCase) {
  auto c = parse_challenge(R"(BASIC Realm=plain, other="a \"q\" b")");
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_EQ(c->scheme, "basic");
  EXPECT_EQ(c->params.at("realm"), "plain");
  EXPECT_EQ(c->params.at("other"), R"(a "q" b)");
}

TEST(RegistryChallenge, MalformedIsRefused) {
  EXPECT_FALSE(parse_challenge(""));
  EXPECT_FALSE(parse_challenge(R"(Bearer realm="unterminated)"));
  EXPECT_FALSE(parse_challenge("Bearer realm"));
  EXPECT_FALSE(parse_challenge("Bearer " + std::string(9000, 'a')));
}

TEST(RegistryToken, TokenThenAccessToken) {
  EXPECT_EQ(*detail::parse_token_response(R"({"token":"abc","access_token":"xyz"})"), "abc");
  EXPECT_EQ(*detail::parse_token_response(R"({"access_token":"xyz"})"), "xyz");
  EXPECT_EQ(detail::parse_token_response("{}").error().what(), "token response: no token");
  EXPECT_FALSE(detail::parse_token_response(R"({"token":"a\r\nX-Evil: 1"})"));
  EXPECT_FALSE(detail::parse_token_response(R"({"token":7})"));
  EXPECT_FALSE(detail::parse_token_response("not json"));
}

TEST(RegistryErrors, FirstErrorMessageOneLine) {
  EXPECT_EQ(detail::registry_error_message(
                R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})"),
            "manifest unknown");
  EXPECT_EQ(detail::registry_error_message(R"({"errors":[{"code":"DENIED"}]})"), "DENIED");
  EXPECT_EQ(detail::registry_error_message(R"({"errors":[{"message":"a\nb"}]})"), "a b");
  EXPECT_EQ(detail::registry_error_message("<html>502</html>"), "");
  EXPECT_EQ(detail::registry_error_message(R"({"errors":[]})"), "");
}

TEST(RegistryHelpers, Base64UrlsLoopback) {
  EXPECT_EQ(*detail::decode_base64("aHVzazpzZWNyZXQ="), "husk:secret");
  EXPECT_EQ(*detail::decode_base64("aHVzazpzZWNyZXQ"), "husk:secret");
  EXPECT_FALSE(detail::decode_base64("a*b"));
  EXPECT_EQ(detail::url_authority("https://u:p@A.example:5000/v2/x?q"), "a.example:5000");
  EXPECT_EQ(detail::url_authority("/relative"), "");
  EXPECT_EQ(detail::url_scheme("HTTPS://x"), "https");
  for (const char* h : {"localhost", "localhost:5000", "127.0.0.1", "127.1.2.3:80", "[::1]:5000"})
    EXPECT_TRUE(detail::is_loopback_host(h)) << h;
  for (const char* h : {"127.0.0.1.example.com", "10.0.0.1:5000", "localhost.evil", "[::2]"})
    EXPECT_FALSE(detail::is_loopback_host(h)) << h;
}

class RegistryAuthFileTest : public ::testing::Test {
 protected:
  std::string file(const std::string& name, const std::string& text) {
    std::string path = tmp_.path() + "/" + name;
    EXPECT_TRUE(write_file_atomic(path, text));
    return path;
  }
  static Reference ref(const char* text) { return *Reference::parse(text); }
  test::TempDir tmp_{"husk-auth"};
};

TEST_F(RegistryAuthFileTest, HostKeysSchemesAndDockerHub) {
  // "husk:secret", "hub:pw", "repo:pw2"
  std::string a = file("auth.json", R"({"auths":{
      "https://127.0.0.1:5000/v1/": {"auth": "aHVzazpzZWNyZXQ="},
      "https://index.docker.io/v1/": {"auth": "aHViOnB3"},
      "quay.io/org/app": {"auth": "cmVwbzpwdzI="}}})");
  auto c = credentials_from_auth_files(ref("127.0.0.1:5000/x:1"), {a});
  ASSERT_TRUE(c && *c) << (c ? "none" : c.error().what());
  EXPECT_EQ(**c, (Credentials{"husk", "secret"}));
  EXPECT_EQ(**credentials_from_auth_files(ref("alpine"), {a}), (Credentials{"hub", "pw"}));
  EXPECT_EQ(**credentials_from_auth_files(ref("quay.io/org/app:1"), {a}),
            (Credentials{"repo", "pw2"}));
  EXPECT_FALSE(*credentials_from_auth_files(ref("quay.io/org/other:1"), {a}));
  EXPECT_FALSE(*credentials_from_auth_files(ref("127.0.0.1:5001/x"), {a}));
}

TEST_F(RegistryAuthFileTest, FirstFileWithTheHostWinsMissingFilesSkipped) {
  std::string first = file("a.json", R"({"auths":{"other.io":{"auth":"aHViOnB3"}}})");
  std::string second = file("b.json", R"({"auths":{"r.io":{"auth":"aHVzazpzZWNyZXQ="}}})");
  std::string third = file("c.json", R"({"auths":{"r.io":{"auth":"aHViOnB3"}}})");
  auto c =
      credentials_from_auth_files(ref("r.io/x"), {tmp_.path() + "/none", first, second, third});
  ASSERT_TRUE(c && *c);
  EXPECT_EQ(**c, (Credentials{"husk", "secret"}));
}

TEST_F(RegistryAuthFileTest, HelpersAndBadFilesAreErrors) {
  std::string helper = file("h.json", R"({"credHelpers":{"r.io":"ecr-login"}})");
  auto h = credentials_from_auth_files(ref("r.io/x"), {helper});
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().what(),
            fmt::format("auth file {}: credential helpers are not supported (for r.io)", helper));
  std::string store = file("s.json", R"({"credsStore":"desktop","auths":{"r.io":{}}})");
  EXPECT_FALSE(credentials_from_auth_files(ref("r.io/x"), {store}));
  EXPECT_FALSE(*credentials_from_auth_files(ref("other.io/x"), {store}))
      << "a host the helper does not hold is simply anonymous";
  std::string bad = file("bad.json", R"({"auths":{"r.io":{"auth":"bm9jb2xvbg=="}}})");
  auto b = credentials_from_auth_files(ref("r.io/x"), {bad});
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().what().find("no \"user:password\""), std::string::npos) << b.error().what();
  EXPECT_FALSE(credentials_from_auth_files(ref("r.io/x"), {file("j.json", "{")}));
}

TEST(RegistryAuthFiles, PathsFollowTheEnvironment) {
  ::setenv("REGISTRY_AUTH_FILE", "/a/auth.json", 1);
  ::setenv("XDG_CONFIG_HOME", "/cfg", 1);
  ::setenv("DOCKER_CONFIG", "/dk", 1);
  EXPECT_EQ(
      auth_file_paths(),
      (std::vector<std::string>{"/a/auth.json", "/cfg/containers/auth.json", "/dk/config.json"}));
  ::unsetenv("REGISTRY_AUTH_FILE");
  ::setenv("XDG_RUNTIME_DIR", "/run/user/7", 1);
  EXPECT_EQ(auth_file_paths()[0], "/run/user/7/containers/auth.json");
  for (const char* v : {"XDG_CONFIG_HOME", "DOCKER_CONFIG", "XDG_RUNTIME_DIR"}) ::unsetenv(v);
}

// tests/fixtures/fake-registry, killed by pid at the end.
class FakeRegistry {
 public:
  FakeRegistry() {
    std::string cmd = fmt::format(
        "python3 {}/../../fixtures/fake-registry --port-file {}/port --log {}/log "
        ">{}/stderr 2>&1 & echo $!",
        HUSK_TESTDATA_DIR, tmp_.path(), tmp_.path(), tmp_.path());
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr || fscanf(p, "%d", &pid_) != 1) pid_ = -1;
    if (p != nullptr) ::pclose(p);
    for (int i = 0; i < 100 && pid_ > 0; ++i) {
      if (auto port = read_file(tmp_.path() + "/port")) {
        port_ = *port;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~FakeRegistry() {
    if (pid_ > 0) ::kill(pid_, SIGTERM);
  }
  const std::string& port() const { return port_; }
  std::string log() const { return read_file(tmp_.path() + "/log").value_or(""); }

 private:
  test::TempDir tmp_{"husk-fake-registry"};
  int pid_ = -1;
  std::string port_;
};

TEST(RegistryRedirect, AuthorizationStaysWithItsOrigin) {
  FakeRegistry fake;
  ASSERT_FALSE(fake.port().empty()) << "fake-registry did not start";
  RegistryOptions opts;
  opts.credentials = Credentials{"husk", "secret"};
  RegistryClient c(*Reference::parse("127.0.0.1:" + fake.port() + "/x:1"), opts);
  for (std::string content : {"cross blob content\n", "same-origin blob content\n"}) {
    Descriptor d{
        "application/octet-stream", sha256_of(content), static_cast<int64_t>(content.size()), {}};
    std::string got;
    auto r = c.get_blob(d, [&](std::span<const uint8_t> b) -> Result<void> {
      got.append(reinterpret_cast<const char*>(b.data()), b.size());
      return ok();
    });
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(got, content);
  }
  // localhost:PORT is another origin than 127.0.0.1:PORT: the credentials stay behind.
  EXPECT_EQ(fake.log(), "cross -\nsame Basic aHVzazpzZWNyZXQ=\n");
}

}  // namespace
}  // namespace husk::image

namespace husk::image {
namespace {

TEST(RegistryManifest, DockerContentDigestAndSizeAreChecked) {
  FakeRegistry fake;
  ASSERT_FALSE(fake.port().empty()) << "fake-registry did not start";
  RegistryOptions opts;
  opts.credentials = Credentials{"husk", "secret"};
  std::string base = "127.0.0.1:" + fake.port() + "/x:";
  RegistryClient bad(*Reference::parse(base + "baddigest"), opts);
  auto m = bad.get_manifest();
  ASSERT_FALSE(m);
  std::string body = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"})";
  EXPECT_EQ(m.error().what(), fmt::format("digest mismatch: Docker-Content-Digest {}, content {}",
                                          sha256_of("other").str(), sha256_of(body).str()));
  RegistryClient huge(*Reference::parse(base + "huge"), opts);
  auto h = huge.get_manifest();
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().what(), "larger than 4194304 bytes");
}

}  // namespace
}  // namespace husk::image
