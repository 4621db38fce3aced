// unpack_layer against hostile layers built here: each attack runs on a real
// directory with a sentinel directory next to it, and the test checks that
// nothing outside the layer changed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/file.h"
#include "image/unpack.h"
#include "image_tar_util.h"
#include "temp_dir_util.h"

namespace husk::image {
namespace {

using test::Compression;
using test::TarSpec;

class Unpack : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (chown, mknod, trusted xattrs)";
    layer_ = tmp_.path() + "/layer";
    outside_ = tmp_.path() + "/outside";
    ASSERT_EQ(::mkdir(layer_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(outside_.c_str(), 0755), 0);
    ASSERT_TRUE(write_file_atomic(outside_ + "/keep", "sentinel"));
    ASSERT_EQ(::mkdir((outside_ + "/sub").c_str(), 0755), 0);
    before_ = test::tree_of(outside_);
    struct stat st;
    ASSERT_EQ(::stat("/etc/passwd", &st), 0);
    passwd_ = st;
    dest_.reset(::open(layer_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  void TearDown() override {
    if (::geteuid() != 0) return;
    // The sentinel, and the host's /etc/passwd, are as they were.
    EXPECT_EQ(test::tree_of(outside_), before_);
    struct stat st;
    ASSERT_EQ(::stat("/etc/passwd", &st), 0);
    EXPECT_EQ(st.st_nlink, passwd_.st_nlink);
    EXPECT_EQ(st.st_mtim.tv_sec, passwd_.st_mtim.tv_sec);
  }

  Result<LayerDigests> unpack(const std::vector<TarSpec>& entries,
                              Compression c = Compression::kNone, UnpackOptions o = {}) {
    return unpack_bytes(test::make_tar(entries, c), o);
  }
  Result<LayerDigests> unpack_bytes(const std::string& bytes, UnpackOptions o = {}) {
    UniqueFd fd = test::blob_fd(tmp_.path() + "/blob", bytes);
    if (o.name.empty()) o.name = "test";
    return unpack_layer(fd.get(), dest_.get(), o);
  }
  std::string at(const std::string& rel) const { return layer_ + "/" + rel; }
  struct stat lstat_of(const std::string& rel) const {
    struct stat st {};
    EXPECT_EQ(::lstat(at(rel).c_str(), &st), 0) << rel;
    return st;
  }
  bool exists(const std::string& rel) const {
    struct stat st;
    return ::lstat(at(rel).c_str(), &st) == 0;
  }
  std::string content(const std::string& rel) const {
    auto r = read_file(at(rel));
    return r ? *r : "<error: " + r.error().what() + ">";
  }
  std::string outside_link(const std::string& sub = "") const { return outside_ + sub; }

  test::TempDir tmp_{"husk-unpack"};
  std::string layer_, outside_;
  std::map<std::string, std::string> before_;
  struct stat passwd_ {};
  UniqueFd dest_;
};

TEST_F(Unpack, FilesDirsAndDigestsForEachCompression) {
  std::vector<TarSpec> entries = {test::dir("etc/"), test::file("etc/hostname", "husk\n"),
                                  test::file("bin/sh", std::string(300000, 'x'), 0755)};
  std::string tar = test::make_tar(entries);
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    std::string blob = test::make_tar(entries, c);
    if (c != Compression::kNone) {
      ASSERT_NE(blob, tar);
    }
    auto d = unpack_bytes(blob);
    ASSERT_TRUE(d) << d.error().what();
    EXPECT_EQ(d->compressed, sha256_of(blob));
    EXPECT_EQ(d->compressed_size, blob.size());
    EXPECT_EQ(d->diff_id, sha256_of(tar));  // padding included: the whole stream
    EXPECT_EQ(d->size, tar.size());
    EXPECT_EQ(content("etc/hostname"), "husk\n");
    EXPECT_EQ(content("bin/sh"), std::string(300000, 'x'));
    EXPECT_EQ(lstat_of("bin/sh").st_mode, S_IFREG | 0755u);
    EXPECT_EQ(lstat_of("bin").st_mode, S_IFDIR | 0755u);  // made for its child
    std::filesystem::remove_all(layer_ + "/etc");
    std::filesystem::remove_all(layer_ + "/bin");
  }
}

TEST_F(Unpack, DigestMismatchNamesBothDigests) {
  std::string blob = test::make_tar({test::file("a", "1")}, Compression::kGzip);
  Digest want = sha256_of("something else");
  auto d = unpack_bytes(blob, {.digest = want});
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().what(),
            "layer " + want.str() + ": digest mismatch: got " + sha256_of(blob).str());

  std::string tar = test::make_tar({test::file("a", "1")});
  auto ok_d = unpack_bytes(
      blob, {.digest = sha256_of(blob), .compressed_size = blob.size(), .diff_id = sha256_of(tar)});
  EXPECT_TRUE(ok_d) << ok_d.error().what();
  auto bad_diff = unpack_bytes(blob, {.digest = sha256_of(blob), .diff_id = want});
  ASSERT_FALSE(bad_diff);
  EXPECT_EQ(bad_diff.error().what(), "layer " + sha256_of(blob).str() + ": diff_id " + want.str() +
                                         ": digest mismatch: got " + sha256_of(tar).str());
  auto bad_size = unpack_bytes(blob, {.digest = sha256_of(blob), .compressed_size = 10});
  ASSERT_FALSE(bad_size);
  EXPECT_NE(bad_size.error().what().find("longer than its 10 bytes"), std::string::npos)
      << bad_size.error().what();
}

TEST_F(Unpack, NamesAreNormalisedOrRefused) {
  auto d = unpack({test::file("/abs", "1"), test::file("./dot/./x", "2"),
                   test::file("a//b///c", "3"), test::file("q/../inside", "4")});
  ASSERT_TRUE(d) << d.error().what();
  EXPECT_EQ(content("abs"), "1");
  EXPECT_EQ(content("dot/x"), "2");
  EXPECT_EQ(content("a/b/c"), "3");
  EXPECT_EQ(content("inside"), "4");
  for (const char* bad : {"../outside/keep", "../x", "a/../../outside/pwned", "/../outside/pwned",
                          "./../outside/keep"}) {
    auto r = unpack({test::file(bad, "pwned")});
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().what(),
              fmt::format("layer test: entry \"{}\": path escapes the layer", bad));
  }
}

TEST_F(Unpack, NeverWritesThroughASymlinkedParent) {
  for (std::string target : {outside_, std::string("../outside"), std::string("/"),
                             std::string(".."), std::string("/tmp")}) {
    std::filesystem::remove_all(layer_ + "/link");
    auto r = unpack({test::symlink("link", target), test::file("link/pwned", "x"),
                     test::file("link/sub/pwned", "x")});
    ASSERT_FALSE(r) << target;
    EXPECT_EQ(r.error().what(), "layer test: entry \"link/pwned\": parent \"link\" is a symlink");
    EXPECT_EQ(::access("/tmp/pwned", F_OK), -1);
    EXPECT_EQ(::access("/pwned", F_OK), -1);
  }
  // Deeper: the symlink in the middle of the chain, reached from a cached parent.
  auto r = unpack({test::dir("d/"), test::symlink("d/l", outside_), test::file("d/l/pwned", "x")});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("parent \"d/l\" is a symlink"), std::string::npos);
}

TEST_F(Unpack, HardlinksStayInTheLayer) {
  auto d = unpack({test::file("a", "data"), test::hardlink("b", "a"), test::hardlink("dir/c", "/a"),
                   test::symlink("s", "/etc/passwd"), test::hardlink("s2", "s")});
  ASSERT_TRUE(d) << d.error().what();
  EXPECT_EQ(lstat_of("a").st_ino, lstat_of("b").st_ino);
  EXPECT_EQ(lstat_of("a").st_ino, lstat_of("dir/c").st_ino);
  EXPECT_EQ(lstat_of("a").st_nlink, 3u);
  // A link to a symlink is the symlink itself, never what it points at.
  EXPECT_TRUE(S_ISLNK(lstat_of("s2").st_mode));
  EXPECT_EQ(lstat_of("s").st_ino, lstat_of("s2").st_ino);

  struct Case {
    std::vector<TarSpec> entries;
    std::string error;
  };
  std::vector<Case> cases = {
      {{test::hardlink("h", "../outside/keep")},
       "entry \"h\": hardlink target \"../outside/keep\": path escapes the layer"},
      {{test::hardlink("h", "/etc/passwd")},
       "entry \"h\": hardlink target \"/etc/passwd\": No such file or directory"},
      {{test::symlink("o", outside_), test::hardlink("h", "o/keep")},
       "entry \"h\": hardlink target \"o/keep\": through a symlink or a non-directory"},
      {{test::symlink("e", "/etc"), test::hardlink("h", "e/passwd")},
       "entry \"h\": hardlink target \"e/passwd\": through a symlink or a non-directory"},
      {{test::dir("dd/"), test::hardlink("h", "dd")},
       "entry \"h\": hardlink target \"dd\": a directory"},
  };
  for (const Case& c : cases) {
    auto r = unpack(c.entries);
    ASSERT_FALSE(r) << c.error;
    EXPECT_NE(r.error().what().find(c.error), std::string::npos) << r.error().what();
  }
}

TEST_F(Unpack, LaterEntriesReplaceEarlierOnesAndDirectoriesMerge) {
  auto d = unpack({
      test::file("f2d", "file"),
      test::dir("f2d/"),
      test::file("f2d/in", "1"),
      test::dir("d2f/"),
      test::file("d2f/deep/x", "gone"),
      test::file("d2f", "now a file"),
      test::dir("merge/", 0755),
      test::file("merge/old", "kept"),
      test::dir("merge/", 0700),
      test::file("merge/new", "added"),
      test::symlink("l2d", outside_),
      test::dir("l2d/"),
      test::file("l2d/safe", "in layer"),
      test::file("same", "first"),
      test::file("same", "second"),
  });
  ASSERT_TRUE(d) << d.error().what();
  EXPECT_TRUE(S_ISDIR(lstat_of("f2d").st_mode));
  EXPECT_EQ(content("f2d/in"), "1");
  EXPECT_TRUE(S_ISREG(lstat_of("d2f").st_mode));
  EXPECT_EQ(content("d2f"), "now a file");
  EXPECT_EQ(content("merge/old"), "kept");
  EXPECT_EQ(content("merge/new"), "added");
  EXPECT_EQ(lstat_of("merge").st_mode, S_IFDIR | 0700u);  // the later entry's metadata
  EXPECT_TRUE(S_ISDIR(lstat_of("l2d").st_mode));
  EXPECT_EQ(content("l2d/safe"), "in layer");
  EXPECT_EQ(content("same"), "second");
}

TEST_F(Unpack, DevicesFifosAndSpecialBitsAreKept) {
  TarSpec null{.path = "dev/null", .type = AE_IFCHR, .mode = 0666, .rmajor = 1, .rminor = 3};
  TarSpec blk{
      .path = "dev/loop9", .type = AE_IFBLK, .mode = 0660, .gid = 6, .rmajor = 7, .rminor = 9};
  TarSpec fifo{.path = "run/fifo", .type = AE_IFIFO, .mode = 0620};
  TarSpec suid = test::file("bin/su", "elf", 04755);
  suid.uid = 1000;  // chown after chmod would clear the bit
  suid.gid = 1000;
  TarSpec sgid = test::file("bin/wall", "elf", 02755);
  sgid.gid = 5;
  TarSpec sticky = test::dir("tmp/", 01777);
  auto d = unpack({null, blk, fifo, suid, sgid, sticky});
  ASSERT_TRUE(d) << d.error().what();
  struct stat st = lstat_of("dev/null");
  EXPECT_EQ(st.st_mode, S_IFCHR | 0666u);
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  st = lstat_of("dev/loop9");
  EXPECT_EQ(st.st_mode, S_IFBLK | 0660u);
  EXPECT_EQ(st.st_rdev, makedev(7, 9));
  EXPECT_EQ(st.st_gid, 6u);
  EXPECT_EQ(lstat_of("run/fifo").st_mode, S_IFIFO | 0620u);
  st = lstat_of("bin/su");
  EXPECT_EQ(st.st_mode, S_IFREG | 04755u);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 1000u);
  EXPECT_EQ(lstat_of("bin/wall").st_mode, S_IFREG | 02755u);
  EXPECT_EQ(lstat_of("tmp").st_mode, S_IFDIR | 01777u);
}

TEST_F(Unpack, XattrsAreKeptButOverlayOnesAreDropped) {
  // A v2 file capability: cap_net_bind_service (bit 10) permitted + effective.
  std::string cap(
      "\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);
  TarSpec f = test::file("bin/ping", "elf", 0755);
  f.uid = 0;
  f.xattrs = {{"security.capability", cap},
              {"user.note", "hello"},
              {"trusted.overlay.redirect", "/etc"},
              {"trusted.overlay.metacopy", ""}};
  TarSpec d = test::dir("forged/");
  d.xattrs = {
      {"trusted.overlay.opaque", "y"}, {"user.overlay.opaque", "y"}, {"trusted.other", "v"}};
  auto r = unpack({f, d, test::file("forged/x", "1")});
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(test::xattr_of(at("bin/ping"), "security.capability"), cap);
  EXPECT_EQ(test::xattr_of(at("bin/ping"), "user.note"), "hello");
  EXPECT_EQ(test::xattr_of(at("bin/ping"), "trusted.overlay.redirect"), "<none>");
  EXPECT_EQ(test::xattr_of(at("bin/ping"), "trusted.overlay.metacopy"), "<none>");
  EXPECT_EQ(test::xattr_of(at("forged"), "trusted.overlay.opaque"), "<none>");
  EXPECT_EQ(test::xattr_of(at("forged"), "user.overlay.opaque"), "<none>");
  EXPECT_EQ(test::xattr_of(at("forged"), "trusted.other"), "v");
}

TEST_F(Unpack, OwnersAndMtimesIncludingDirectoriesAfterTheirContent) {
  TarSpec d = test::dir("home/user/", 0750);
  d.uid = 1000;
  d.gid = 100;
  d.mtime = 1111111111;
  TarSpec f = test::file("home/user/.profile", "x", 0640);
  f.uid = 1000;
  f.gid = 100;
  f.mtime = 1222222222;
  TarSpec l = test::symlink("home/user/link", "/nowhere");
  l.uid = 1000;
  l.gid = 101;
  l.mtime = 1333333333;
  TarSpec root = test::dir("./", 0711);
  root.mtime = 1444444444;
  auto r = unpack({root, d, f, l});
  ASSERT_TRUE(r) << r.error().what();
  struct stat st = lstat_of("home/user");
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 100u);
  EXPECT_EQ(st.st_mode, S_IFDIR | 0750u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1111111111);  // not the time its children were made
  st = lstat_of("home/user/.profile");
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1222222222);
  st = lstat_of("home/user/link");
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(st.st_gid, 101u);  // the link's own owner, not its target's
  EXPECT_EQ(st.st_mtim.tv_sec, 1333333333);
  struct stat rs;
  ASSERT_EQ(::stat(layer_.c_str(), &rs), 0);
  EXPECT_EQ(rs.st_mode, S_IFDIR | 0711u);
  EXPECT_EQ(rs.st_mtim.tv_sec, 1444444444);
}

TEST_F(Unpack, WhiteoutsBecomeOverlayWhiteoutsAndOpaqueDirs) {
  auto r = unpack({test::dir("etc/"), test::file("etc/.wh.motd", ""), test::dir("var/cache/"),
                   test::file("var/cache/.wh..wh..opq", ""), test::file("var/cache/new", "n"),
                   test::file(".wh..wh.plnk", ""), test::file("etc/.wh.shadow", "")});
  ASSERT_TRUE(r) << r.error().what();
  struct stat st = lstat_of("etc/motd");
  EXPECT_EQ(st.st_mode & S_IFMT, static_cast<mode_t>(S_IFCHR));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  EXPECT_FALSE(exists("etc/.wh.motd"));
  EXPECT_TRUE(S_ISCHR(lstat_of("etc/shadow").st_mode));
  EXPECT_EQ(test::xattr_of(at("var/cache"), "trusted.overlay.opaque"), "y");
  EXPECT_FALSE(exists("var/cache/.wh..wh..opq"));
  EXPECT_EQ(content("var/cache/new"), "n");
  EXPECT_FALSE(exists(".wh..wh.plnk"));
  EXPECT_FALSE(exists("plnk"));
  EXPECT_EQ(test::xattr_of(at("etc"), "trusted.overlay.opaque"), "<none>");

  for (const char* bad : {".wh.", "a/.wh..", "a/.wh...", ".wh.dir/x", "a/.wh.b/c"}) {
    auto e = unpack({test::file(bad, "")});
    ASSERT_FALSE(e) << bad;
    EXPECT_NE(e.error().what().find("whiteout"), std::string::npos) << e.error().what();
  }
}

TEST_F(Unpack, HugeNamesAndCountsAreErrors) {
  auto r = unpack({test::file(std::string(5000, 'a'), "x")});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "layer test: entry \"" + std::string(128, 'a') +
                                  "...\" (5000 bytes): name longer than PATH_MAX");
  r = unpack({test::file("new\nline\"/../../x", "x")});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(),
            "layer test: entry \"new\\x0aline\\x22/../../x\": path escapes the layer");
  r = unpack({test::file(std::string(300, 'b'), "x")});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("longer than NAME_MAX"), std::string::npos);
  std::vector<TarSpec> many;
  for (int i = 0; i < 20; ++i) many.push_back(test::file("f" + std::to_string(i), ""));
  r = unpack(many, Compression::kNone, {.max_entries = 10});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "layer test: more than 10 entries");
}

TEST_F(Unpack, TruncatedOrCorruptStreamsAreOneLineErrors) {
  std::string big(2 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    std::string blob = test::make_tar({test::file("big", big)}, c);
    for (size_t cut : {blob.size() / 2, blob.size() - 700, size_t{100}}) {
      auto r = unpack_bytes(blob.substr(0, cut));
      ASSERT_FALSE(r) << static_cast<int>(c) << " " << cut;
      std::string what = r.error().what();
      EXPECT_TRUE(what.starts_with("layer test: ")) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
    // Corrupt compressed data is an error, or else (a zstd frame without a
    // checksum) yields another tar, which the diff_id check refuses.
    std::string text;
    for (int i = 0; i < 20000; ++i) text += "line " + std::to_string(i * 7 % 1000) + "\n";
    std::string good = test::make_tar({test::file("text", text)}, c);
    std::string corrupt = good;
    for (size_t i = good.size() / 3; i < good.size() / 3 + 64; ++i) corrupt[i] ^= 0x5a;
    auto want = sha256_of(test::make_tar({test::file("text", text)}));
    auto r = unpack_bytes(corrupt, {.diff_id = want, .name = "test"});
    ASSERT_FALSE(r) << static_cast<int>(c);
    EXPECT_TRUE(r.error().what().starts_with("layer ")) << r.error().what();
    EXPECT_EQ(r.error().what().find('\n'), std::string::npos) << r.error().what();
  }
  auto r = unpack_bytes("");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "layer test: empty blob");
  r = unpack_bytes(std::string(5000, 'z'));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().what().starts_with("layer test: ")) << r.error().what();
}

}  // namespace
}  // namespace husk::image
