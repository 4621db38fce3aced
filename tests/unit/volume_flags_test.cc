// -v, --tmpfs and --mount (front/volume_flags.h), and the volume store's
// records and use rules (storage/volume.h) in a temp dir.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "base/file.h"
#include "cli/husk/volume_run.h"
#include "front/volume_flags.h"
#include "storage/volume.h"

namespace husk::cli {
namespace {

using Kind = VolumeMount::Kind;

std::string error_of(const Result<VolumeMount>& r) { return r ? "" : r.error().what(); }

TEST(VolumeFlags, BindWithOptions) {
  auto m = parse_volume_flag("/srv/www:/www:ro,rslave");
  ASSERT_TRUE(m) << m.error().what();
  EXPECT_EQ(m->kind, Kind::kBind);
  EXPECT_EQ(m->source, "/srv/www");
  EXPECT_EQ(m->target, "/www");
  EXPECT_TRUE(m->readonly);
  EXPECT_EQ(m->propagation, "rslave");
  config::Mount c = to_config_mount(*m, m->source);
  EXPECT_EQ(c.type, "bind");
  EXPECT_TRUE(c.bind());
  EXPECT_NE(c.flags & MS_RDONLY, 0u);
  EXPECT_EQ(c.propagation & ~static_cast<unsigned long>(MS_REC), MS_SLAVE);
}

TEST(VolumeFlags, NamedAnonymousAndNocopy) {
  auto named = parse_volume_flag("data:/var/lib/app");
  ASSERT_TRUE(named);
  EXPECT_EQ(named->kind, Kind::kVolume);
  EXPECT_EQ(named->source, "data");
  EXPECT_FALSE(named->readonly);
  auto anon = parse_volume_flag("/cache");
  ASSERT_TRUE(anon);
  EXPECT_EQ(anon->kind, Kind::kVolume);
  EXPECT_EQ(anon->source, "");
  EXPECT_EQ(anon->target, "/cache");
  auto anon_ro = parse_volume_flag("/cache:ro");
  ASSERT_TRUE(anon_ro);
  EXPECT_TRUE(anon_ro->readonly);
  auto nocopy = parse_volume_flag("data:/d:nocopy");
  ASSERT_TRUE(nocopy);
  EXPECT_TRUE(nocopy->nocopy);
  config::Mount c = to_config_mount(*named, "/v/data/_data");
  EXPECT_EQ(c.source, "/v/data/_data");
  EXPECT_EQ(c.flags & MS_RDONLY, 0u);
}

TEST(VolumeFlags, VolumeErrorsAreOneLineNamingTheFlag) {
  EXPECT_EQ(error_of(parse_volume_flag("../x:/d")).rfind("-v \"../x:/d\": volume name \"../x\"", 0),
            0u)
      << error_of(parse_volume_flag("../x:/d"));
  EXPECT_NE(error_of(parse_volume_flag("data:rel")), "");
  EXPECT_NE(error_of(parse_volume_flag("/h:/d/")).find("clean path"), std::string::npos);
  EXPECT_NE(error_of(parse_volume_flag("/h:/a/../b")), "");
  EXPECT_NE(error_of(parse_volume_flag("/h:/")).find("root"), std::string::npos);
  EXPECT_NE(error_of(parse_volume_flag("/h:/d:bogus")).find("unknown option \"bogus\""),
            std::string::npos);
  EXPECT_NE(error_of(parse_volume_flag("/h:/d:ro,rw")), "");
  EXPECT_NE(error_of(parse_volume_flag("/h:/d:nocopy")), "");  // nocopy: volumes only
  EXPECT_NE(error_of(parse_volume_flag("a:/b:ro:x")), "");
  EXPECT_NE(error_of(parse_volume_flag(":/d")), "");
  EXPECT_NE(error_of(parse_volume_flag("/h:/d:")), "");
  EXPECT_NE(error_of(parse_volume_flag("")), "");
  for (const char* bad : {"../x:/d", "/h:/d/", "/h:/d:bogus"})
    EXPECT_EQ(error_of(parse_volume_flag(bad)).find('\n'), std::string::npos);
}

TEST(VolumeFlags, Tmpfs) {
  auto m = parse_tmpfs_flag("/scratch:size=64m,mode=1777,exec");
  ASSERT_TRUE(m) << m.error().what();
  EXPECT_EQ(m->kind, Kind::kTmpfs);
  config::Mount c = to_config_mount(*m, "");
  EXPECT_EQ(c.type, "tmpfs");
  EXPECT_NE(c.data.find("size=64m"), std::string::npos) << c.data;
  EXPECT_NE(c.data.find("mode=1777"), std::string::npos) << c.data;
  EXPECT_EQ(c.flags & MS_NOEXEC, 0u);  // "exec" overrides docker's default noexec
  EXPECT_NE(c.flags & MS_NOSUID, 0u);
  auto plain = parse_tmpfs_flag("/t");
  ASSERT_TRUE(plain);
  EXPECT_NE(to_config_mount(*plain, "").flags & MS_NOEXEC, 0u);
  EXPECT_NE(error_of(parse_tmpfs_flag("rel")), "");
  EXPECT_NE(error_of(parse_tmpfs_flag("/t:")), "");
}

TEST(VolumeFlags, MountOfEachType) {
  auto b = parse_mount_flag("type=bind,source=/srv,target=/srv,readonly,bind-propagation=rshared");
  ASSERT_TRUE(b) << b.error().what();
  EXPECT_EQ(b->kind, Kind::kBind);
  EXPECT_TRUE(b->readonly);
  EXPECT_EQ(b->propagation, "rshared");
  auto v = parse_mount_flag("type=volume,src=cache,dst=/cache,volume-nocopy");
  ASSERT_TRUE(v) << v.error().what();
  EXPECT_EQ(v->kind, Kind::kVolume);
  EXPECT_EQ(v->source, "cache");
  EXPECT_TRUE(v->nocopy);
  auto dflt = parse_mount_flag("target=/anon");  // docker's default type: volume
  ASSERT_TRUE(dflt);
  EXPECT_EQ(dflt->kind, Kind::kVolume);
  EXPECT_EQ(dflt->source, "");
  auto t = parse_mount_flag("type=tmpfs,target=/t,tmpfs-size=1048576,tmpfs-mode=1770");
  ASSERT_TRUE(t) << t.error().what();
  config::Mount c = to_config_mount(*t, "");
  EXPECT_NE(c.data.find("size=1048576"), std::string::npos) << c.data;
  EXPECT_NE(c.data.find("mode=1770"), std::string::npos) << c.data;
  auto t2 = parse_mount_flag("type=tmpfs,target=/t,tmpfs-size=64m");
  ASSERT_TRUE(t2);
  EXPECT_NE(to_config_mount(*t2, "").data.find("size=64m"), std::string::npos);
}

TEST(VolumeFlags, MountErrors) {
  EXPECT_NE(error_of(parse_mount_flag("type=bind,source=/a,target=/b,colour=red"))
                .find("unknown key \"colour\""),
            std::string::npos);
  EXPECT_NE(error_of(parse_mount_flag("type=nfs,target=/b")), "");
  EXPECT_NE(error_of(parse_mount_flag("type=bind,target=/b")), "");
  EXPECT_NE(error_of(parse_mount_flag("type=bind,source=rel,target=/b")), "");
  EXPECT_NE(error_of(parse_mount_flag("type=bind,source=/a")).find("no target"),
            std::string::npos);
  EXPECT_NE(error_of(parse_mount_flag("type=bind,source=/a,target=/b,volume-nocopy")), "");
  EXPECT_NE(error_of(parse_mount_flag("type=volume,target=/b,tmpfs-size=1m")), "");
  EXPECT_NE(error_of(parse_mount_flag("type=tmpfs,source=x,target=/b")), "");
  EXPECT_NE(error_of(parse_mount_flag("type=tmpfs,target=/b,tmpfs-size=lots")), "");
  EXPECT_NE(error_of(parse_mount_flag("type=tmpfs,target=/b,tmpfs-mode=rwx")), "");
  EXPECT_NE(error_of(parse_mount_flag("type=volume,source=../x,target=/b")), "");
  EXPECT_NE(error_of(parse_mount_flag("target=/a,target=/b")), "");
  EXPECT_NE(error_of(parse_mount_flag("type=bind,source=/a,target=/b,readonly=maybe")), "");
}

TEST(VolumeFlags, DuplicateTargetsAcrossFlags) {
  VolumeFlags f;
  f.volumes = {"/h:/data"};
  f.tmpfs = {"/data"};
  auto r = parse_volume_flags(f);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("duplicate mount target \"/data\""), std::string::npos);
  f.tmpfs = {"/other"};
  f.mounts = {"type=volume,target=/third"};
  auto good = parse_volume_flags(f);
  ASSERT_TRUE(good) << good.error().what();
  EXPECT_EQ(good->size(), 3u);
}

TEST(VolumeName, DockersRule) {
  for (const char* good : {"a", "data", "A1_b.c-d", "0"})
    EXPECT_TRUE(storage::check_volume_name(good)) << good;
  for (const char* bad : {"", "../x", ".x", "_x", "-x", "a/b", "a b", "a:b", ".", ".."})
    EXPECT_FALSE(storage::check_volume_name(bad)) << bad;
  EXPECT_TRUE(storage::check_volume_name(std::string(255, 'a')));
  EXPECT_FALSE(storage::check_volume_name(std::string(256, 'a')));
}

class VolumeStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/husk-volume-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string root_;
};

TEST_F(VolumeStoreTest, CreateGetListRemove) {
  storage::VolumeStore s(root_);
  auto v = s.create("data", {{"app", "web"}});
  ASSERT_TRUE(v) << v.error().what();
  EXPECT_EQ(v->mountpoint, root_ + "/volumes/data/_data");
  EXPECT_EQ(v->labels.at("app"), "web");
  EXPECT_FALSE(v->created.empty());
  struct stat st {};
  ASSERT_EQ(::stat(v->mountpoint.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  auto again = s.create("data", {});  // idempotent, the record unchanged
  ASSERT_TRUE(again);
  EXPECT_EQ(again->created, v->created);
  auto anon = s.create("", {}, true);
  ASSERT_TRUE(anon);
  EXPECT_EQ(anon->name.size(), 64u);
  auto all = s.list();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 2u);
  auto pruned = s.prune(false);  // docker 23+: anonymous only
  ASSERT_TRUE(pruned);
  ASSERT_EQ(pruned->size(), 1u);
  EXPECT_EQ(pruned->front(), anon->name);
  ASSERT_TRUE(s.remove("data"));
  EXPECT_FALSE(std::filesystem::exists(root_ + "/volumes/data"));
  auto gone = s.get("data");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ENOENT);
  EXPECT_FALSE(s.create("../x", {}));
  EXPECT_FALSE(std::filesystem::exists(root_ + "/x"));
}

TEST_F(VolumeStoreTest, PruneSparesWhatTheCallerKeeps) {
  // A stopped container's anonymous volume has no live use, but its record names it.
  storage::VolumeStore s(root_);
  auto kept = s.create("", {}, true);
  auto loose = s.create("", {}, true);
  ASSERT_TRUE(kept && loose);
  auto pruned = s.prune(true, {kept->name});
  ASSERT_TRUE(pruned);
  EXPECT_EQ(*pruned, std::vector<std::string>{loose->name});
  EXPECT_TRUE(s.get(kept->name));
  EXPECT_FALSE(s.get(loose->name));
}

TEST_F(VolumeStoreTest, InUseByALiveOwnerOnly) {
  storage::VolumeStore s(root_);
  ASSERT_TRUE(s.create("data", {}));
  {
    auto use = s.use("data", "husk-c1");
    ASSERT_TRUE(use) << use.error().what();
    auto r = s.remove("data");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what(), "volume \"data\" is in use by container husk-c1");
    auto p = s.prune(true);
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->empty());
  }
  EXPECT_TRUE(s.users("data").empty());  // the use ended with its VolumeUse
  // A use whose owner is gone (pid 1's start time never matches this one) does not count.
  ASSERT_TRUE(husk::write_file_atomic(root_ + "/volumes/data/users/husk-dead", "1 1\n"));
  EXPECT_TRUE(s.users("data").empty());
  EXPECT_TRUE(s.remove("data"));
}

}  // namespace
}  // namespace husk::cli

namespace husk::cli {
namespace {

TEST(VolumeRun, AbsoluteLowersTakeRelativeOnesFromBase) {
  config::RootOverlay o{.lower = {"l/AAA", "/abs/dir", "l/BBB"}, .base = "/var/lib/husk/image"};
  EXPECT_EQ(absolute_lowers(o), (std::vector<std::string>{"/var/lib/husk/image/l/AAA", "/abs/dir",
                                                          "/var/lib/husk/image/l/BBB"}));
}

}  // namespace
}  // namespace husk::cli
