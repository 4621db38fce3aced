// The pure parts of husk pull and login: progress lines, auth-file keys, and writing and
// removing auth-file entries (image/pull_progress.h, image/auth_file.h).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "image/auth_file.h"
#include "image/config.h"
#include "image/pull.h"
#include "image/pull_progress.h"
#include "image/reference.h"
#include "temp_dir_util.h"

namespace husk::image {
namespace {

TEST(PullProgress, HumanSizes) {
  EXPECT_EQ(progress_size(0), "0 B");
  EXPECT_EQ(progress_size(1023), "1023 B");
  EXPECT_EQ(progress_size(1024), "1.0 KiB");
  EXPECT_EQ(progress_size(1536), "1.5 KiB");
  EXPECT_EQ(progress_size(12 * 1024 * 1024 + 300 * 1024), "12.3 MiB");
  EXPECT_EQ(progress_size(uint64_t{3} << 30), "3.0 GiB");
  EXPECT_EQ(progress_size(uint64_t{5} << 40), "5.0 TiB");
  EXPECT_EQ(progress_size(uint64_t{5000} << 40), "5000.0 TiB");
}

TEST(PullProgress, Rates) {
  EXPECT_EQ(progress_rate(1 << 20, 2.0), "512.0 KiB/s");
  EXPECT_EQ(progress_rate(100, 0.0), "");
  EXPECT_EQ(progress_rate(100, -1.0), "");
}

TEST(PullProgress, LinesPerState) {
  LayerProgress p{0, "3f4b1c2d9a0e", LayerState::kDownloading, 1536 * 1024, 3 << 20};
  EXPECT_EQ(progress_line(p, 2.0), "3f4b1c2d9a0e: downloading       1.5 MiB / 3.0 MiB  768.0 KiB/s");
  EXPECT_EQ(progress_line(p, 0), "3f4b1c2d9a0e: downloading       1.5 MiB / 3.0 MiB");
  p.state = LayerState::kWaiting;
  EXPECT_EQ(progress_line(p, 1), "3f4b1c2d9a0e: waiting");
  p.state = LayerState::kAlreadyExists;
  EXPECT_EQ(progress_line(p, 1), "3f4b1c2d9a0e: already exists");
  p.state = LayerState::kDone;
  EXPECT_EQ(progress_line(p, 1), "3f4b1c2d9a0e: done              3.0 MiB");
  EXPECT_EQ(layer_state_name(LayerState::kVerifying), "verifying");
  EXPECT_EQ(layer_state_name(LayerState::kExtracting), "extracting");
}

TEST(PullPlatform, ConfigMustMatchOsAndArchitecture) {
  ImageConfig c;
  c.os = "linux";
  c.architecture = "aarch64";  // normalised: arm64/v8
  EXPECT_TRUE(check_config_platform(c, {"linux", "arm64", ""}));
  EXPECT_TRUE(check_config_platform(c, {"linux", "arm64", "v8"}));
  auto r = check_config_platform(c, {"linux", "amd64", ""});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "image is linux/arm64/v8, not linux/amd64");
  c.architecture = "x86_64";
  EXPECT_TRUE(check_config_platform(c, {"linux", "amd64", ""}));
  c.os = "windows";
  EXPECT_FALSE(check_config_platform(c, {"linux", "amd64", ""}));
}

TEST(AuthFile, Keys) {
  EXPECT_EQ(*auth_key("127.0.0.1:5000"), "127.0.0.1:5000");
  EXPECT_EQ(*auth_key("https://reg.example:5000/"), "reg.example:5000");
  EXPECT_EQ(*auth_key("https://index.docker.io/v1/"), "docker.io");
  EXPECT_EQ(*auth_key("docker.io"), "docker.io");
  EXPECT_EQ(*auth_key("reg.example/team"), "reg.example/team");
  for (const char* bad : {"", "UPPER case", "reg.example/../x", "a b:5000"})
    EXPECT_FALSE(auth_key(bad)) << bad;
}

TEST(AuthFile, StoreKeepsOtherEntriesAndIs0600) {
  test::TempDir tmp;
  std::string path = tmp.path() + "/sub/auth.json";  // the directory is made
  ASSERT_TRUE(store_credentials(path, "a:5000", {"u", "p"}));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_TRUE(write_file_atomic(path, R"({"auths":{"other":{"auth":"eDp5","email":"e"}},"credHelpers":{}})"));
  ASSERT_TRUE(store_credentials(path, "a:5000", {"alice", "s:ecret"}));
  auto doc = nlohmann::json::parse(*read_file(path));
  EXPECT_EQ(doc["auths"]["a:5000"]["auth"], "YWxpY2U6czplY3JldA==");  // alice:s:ecret
  EXPECT_EQ(doc["auths"]["other"]["auth"], "eDp5");
  EXPECT_EQ(doc["auths"]["other"]["email"], "e");
  EXPECT_TRUE(doc.contains("credHelpers"));
  // Read back the way pull reads it.
  auto creds = credentials_from_auth_files(*Reference::parse("a:5000/x"), {path});
  ASSERT_TRUE(creds && *creds);
  EXPECT_EQ(**creds, (Credentials{"alice", "s:ecret"}));

  ASSERT_TRUE(store_credentials(path, "https://b:1/", {"b", "c"}));
  EXPECT_TRUE(*remove_credentials(path, "a:5000"));
  EXPECT_FALSE(*remove_credentials(path, "a:5000"));
  EXPECT_TRUE(*remove_credentials(path, "b:1"));  // a key with a scheme normalises to it
  doc = nlohmann::json::parse(*read_file(path));
  EXPECT_EQ(doc["auths"].size(), 1u);
  EXPECT_FALSE(*remove_credentials(tmp.path() + "/missing.json", "a:5000"));
}

TEST(AuthFile, MalformedFileIsAnErrorAndLeftAlone) {
  test::TempDir tmp;
  std::string path = tmp.path() + "/auth.json";
  for (const char* text : {"{", "[1]", R"({"auths": 3})"}) {
    ASSERT_TRUE(write_file_atomic(path, text));
    auto r = store_credentials(path, "a:5000", {"u", "p"});
    ASSERT_FALSE(r) << text;
    EXPECT_NE(r.error().what().find(path), std::string::npos) << r.error().what();
    EXPECT_EQ(*read_file(path), text);
    EXPECT_FALSE(remove_credentials(path, "a:5000"));
  }
}

TEST(AuthFile, LoginFileWherePodmanWritesIt) {
  ::unsetenv("REGISTRY_AUTH_FILE");
  ::unsetenv("XDG_RUNTIME_DIR");
  EXPECT_EQ(login_auth_file(), fmt::format("/run/containers/{}/auth.json", ::getuid()));
  ::setenv("XDG_RUNTIME_DIR", "/run/user/7", 1);
  EXPECT_EQ(login_auth_file(), "/run/user/7/containers/auth.json");
  ::setenv("REGISTRY_AUTH_FILE", "/x/a.json", 1);
  EXPECT_EQ(login_auth_file(), "/x/a.json");
  EXPECT_EQ(auth_file_paths()[0], "/x/a.json");
  ::unsetenv("REGISTRY_AUTH_FILE");
  ::unsetenv("XDG_RUNTIME_DIR");
}

}  // namespace
}  // namespace husk::image
