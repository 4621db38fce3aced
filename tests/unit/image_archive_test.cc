#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "image/archive.h"
#include "image/image_view.h"

namespace husk::image {
namespace {

TEST(ArchivePath, NormalisesPlainRelativeNames) {
  EXPECT_EQ(*archive_path("manifest.json"), "manifest.json");
  EXPECT_EQ(*archive_path("./blobs//sha256/./ab"), "blobs/sha256/ab");
  EXPECT_EQ(*archive_path("abc/layer.tar"), "abc/layer.tar");
}

TEST(ArchivePath, RefusesNamesThatLeaveTheArchive) {
  using namespace std::literals;
  for (std::string_view bad : {"../../etc/x"sv, "a/../../b"sv, "a/.."sv, ".."sv, "/etc/passwd"sv,
                               ""sv, "."sv, "./"sv, "a\0b"sv}) {
    auto r = archive_path(bad);
    EXPECT_FALSE(r) << bad;
  }
  EXPECT_EQ(archive_path("../x").error().what(), "\"../x\": path escapes the archive");
  EXPECT_EQ(archive_path("/etc/passwd").error().what(), "\"/etc/passwd\": absolute path");
}

TEST(HumanSize, DockersDecimalUnitsFourDigits) {
  EXPECT_EQ(human_size(0), "0B");
  EXPECT_EQ(human_size(999), "999B");
  EXPECT_EQ(human_size(1000), "1kB");
  EXPECT_EQ(human_size(2140160), "2.14MB");
  EXPECT_EQ(human_size(1234567), "1.235MB");
  EXPECT_EQ(human_size(5'300'000'000ull), "5.3GB");
}

TEST(TimeAgo, DockersCreatedColumn) {
  std::time_t now = 1'700'000'000;  // 2023-11-14T22:13:20Z
  EXPECT_EQ(time_ago("2023-11-14T22:13:20Z", now), "Less than a second ago");
  EXPECT_EQ(time_ago("2023-11-14T22:13:10.5Z", now), "10 seconds ago");
  EXPECT_EQ(time_ago("2023-11-14T22:08:20Z", now), "5 minutes ago");
  EXPECT_EQ(time_ago("2023-11-14T21:13:20Z", now), "About an hour ago");
  EXPECT_EQ(time_ago("2023-11-14T23:13:20+01:00", now), "Less than a second ago");
  EXPECT_EQ(time_ago("2023-11-11T22:13:20Z", now), "3 days ago");
  EXPECT_EQ(time_ago("1970-01-01T00:00:00Z", now), "53 years ago");
  EXPECT_EQ(time_ago("yesterday", now), "N/A");
}

TEST(InspectJson, DockersFieldsFromTheConfig) {
  ImageRecord r;
  r.id = *Digest::parse("sha256:" + std::string(64, 'a'));
  r.repo_tags = {"docker.io/library/x:1"};
  r.created = "2024-01-01T00:00:00Z";
  r.size = 42;
  std::string config = R"({"architecture":"amd64","os":"linux",
    "config":{"Env":["A=1"],"Cmd":["sh"],"User":"1000","WorkingDir":"/w",
              "ExposedPorts":{"80/tcp":{}},"Labels":{"k":"v"},"StopSignal":"SIGINT",
              "Volumes":{"/data":{}}},
    "rootfs":{"type":"layers","diff_ids":["sha256:)" +
                       std::string(64, 'b') + R"("]}})";
  auto j = inspect_json(r, config);
  ASSERT_TRUE(j) << j.error().what();
  auto v = nlohmann::json::parse(*j);
  EXPECT_EQ(v["Id"], r.id.str());
  EXPECT_EQ(v["Config"]["Env"][0], "A=1");
  EXPECT_EQ(v["Config"]["User"], "1000");
  EXPECT_TRUE(v["Config"]["ExposedPorts"].contains("80/tcp"));
  EXPECT_TRUE(v["Config"]["Volumes"].contains("/data"));
  EXPECT_EQ(v["Config"]["StopSignal"], "SIGINT");
  EXPECT_EQ(v["Config"]["Labels"]["k"], "v");
  EXPECT_EQ(v["RootFS"]["Layers"][0], "sha256:" + std::string(64, 'b'));
  EXPECT_EQ(v["Size"], 42);
  EXPECT_EQ(v["Os"], "linux");
}

}  // namespace
}  // namespace husk::image
