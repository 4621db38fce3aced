// The image store (image/store.h) on a real directory: the layout on disk, blobs verified on
// the way in, layers and their short links, images and tags, rmi/prune/holds. The fork and
// kill -9 tests are in image_store_live_test.cc.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

#include "base/file.h"
#include "image/store.h"
#include "sys/process.h"
#include "image_store_util.h"
#include "temp_dir_util.h"

namespace husk::image {
namespace {

using test::file_layer;
using test::make_image;
using test::put_test_image;

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// tmp/: empty whenever no writer is at work (lock files included).
std::vector<std::string> staging(const std::string& dir) { return entries(dir + "/tmp"); }

class ImageStore : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (layers keep owners, devices, xattrs)";
    auto s = Store::open(tmp_.path() + "/root");
    ASSERT_TRUE(s) << s.error().what();
    store_.emplace(std::move(*s));
  }
  const Store& s() const { return *store_; }
  std::string at(const std::string& rel) const { return s().dir() + "/" + rel; }
  std::string read(const std::string& rel) const { return read_file(at(rel)).value_or("<none>"); }

  test::TempDir tmp_;
  std::optional<Store> store_;
};

TEST_F(ImageStore, OpenMakesTheLayoutPrivate) {
  EXPECT_EQ(s().dir(), tmp_.path() + "/root/image");
  for (const char* d : {"", "/blobs/sha256", "/layers", "/l", "/images", "/holds", "/tmp"}) {
    struct stat st {};
    ASSERT_EQ(::lstat((s().dir() + d).c_str(), &st), 0) << d;
    EXPECT_TRUE(S_ISDIR(st.st_mode)) << d;
    EXPECT_EQ(st.st_mode & 07777, 0700u) << d;
  }
  EXPECT_TRUE(Store::open(tmp_.path() + "/root")) << "opening again is fine";
}

TEST_F(ImageStore, ChainIdsFollowTheOciRule) {
  Digest a = sha256_of("a"), b = sha256_of("b"), c = sha256_of("c");
  std::vector<Digest> chains = chain_ids({a, b, c});
  ASSERT_EQ(chains.size(), 3u);
  EXPECT_EQ(chains[0], a);
  EXPECT_EQ(chains[1], sha256_of(a.str() + " " + b.str()));
  EXPECT_EQ(chains[2], sha256_of(chains[1].str() + " " + c.str()));
}

TEST_F(ImageStore, BlobsAreVerifiedAndWrittenOnce) {
  std::string bytes = "hello blob";
  Digest d = sha256_of(bytes);
  ASSERT_TRUE(s().put_blob(bytes, d));
  EXPECT_TRUE(s().has_blob(d));
  EXPECT_EQ(read("blobs/sha256/" + std::string(d.hex())), bytes);
  struct stat first {}, again {};
  ASSERT_EQ(::stat(at("blobs/sha256/" + std::string(d.hex())).c_str(), &first), 0);
  UniqueFd fd = test::blob_fd(tmp_.path() + "/b", bytes);
  ASSERT_TRUE(s().put_blob(fd.get(), d, bytes.size()));
  ASSERT_EQ(::stat(at("blobs/sha256/" + std::string(d.hex())).c_str(), &again), 0);
  EXPECT_EQ(first.st_ino, again.st_ino) << "present: not written again";
  EXPECT_EQ(s().read_blob(d, 100).value_or(""), bytes);
  auto big = s().read_blob(d, 3);
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().what().find("more than the 3 allowed"), std::string::npos);
  EXPECT_EQ(staging(s().dir()), std::vector<std::string>{});
}

TEST_F(ImageStore, ACorruptBlobLeavesNothingAndNamesBothDigests) {
  std::string bytes = "the real bytes";
  Digest want = sha256_of("other bytes!!!");  // same size, other content
  UniqueFd fd = test::blob_fd(tmp_.path() + "/b", bytes);
  auto r = s().put_blob(fd.get(), want, bytes.size());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), fmt::format("blob {}: digest mismatch: got {}", want.str(),
                                          sha256_of(bytes).str()));
  // Truncated, and too long.
  auto shorter = s().put_blob(std::string_view(bytes).substr(0, 5), sha256_of(bytes));
  EXPECT_FALSE(shorter);
  UniqueFd fd2 = test::blob_fd(tmp_.path() + "/b2", bytes);
  auto longer = s().put_blob(fd2.get(), sha256_of(bytes), 4);
  ASSERT_FALSE(longer);
  EXPECT_NE(longer.error().what().find("more than the expected 4 bytes"), std::string::npos);
  EXPECT_EQ(entries(at("blobs/sha256")), std::vector<std::string>{});
  EXPECT_EQ(entries(at("layers")), std::vector<std::string>{});
  EXPECT_EQ(staging(s().dir()), std::vector<std::string>{});
}

TEST_F(ImageStore, LayersAreUnpackedWithJsonAndShortLinks) {
  auto l1 = file_layer("etc/one", "1");
  auto l2 = file_layer("etc/two", "2");
  ASSERT_TRUE(s().put_blob(l1.blob, l1.digest));
  ASSERT_TRUE(s().put_blob(l2.blob, l2.digest));
  auto a = s().put_layer(std::nullopt, l1.digest, l1.digest);
  ASSERT_TRUE(a) << a.error().what();
  EXPECT_TRUE(a->unpacked);
  EXPECT_EQ(a->chain_id, l1.digest);
  auto b = s().put_layer(a->chain_id, l2.digest, l2.digest);
  ASSERT_TRUE(b) << b.error().what();
  EXPECT_EQ(b->chain_id, chain_id(a->chain_id, l2.digest));
  std::string dir = "layers/" + std::string(b->chain_id.hex());
  EXPECT_EQ(read(dir + "/diff/etc/two"), "2");
  auto j = nlohmann::json::parse(read(dir + "/layer.json"));
  EXPECT_EQ(j["chain_id"], b->chain_id.str());
  EXPECT_EQ(j["diff_id"], l2.digest.str());
  EXPECT_EQ(j["parent"], a->chain_id.str());
  EXPECT_EQ(j["blob"], l2.digest.str());
  EXPECT_EQ(j["size"], l2.blob.size());
  EXPECT_EQ(b->link.size(), kShortLinkLength);
  char target[256] = {};
  ASSERT_GT(::readlink(at("l/" + b->link).c_str(), target, sizeof target), 0);
  EXPECT_EQ(std::string(target), "../" + dir + "/diff");
  EXPECT_EQ(read("l/" + b->link + "/etc/two"), "2") << "the link resolves";
  // Again: found, not unpacked.
  auto again = s().put_layer(a->chain_id, l2.digest, l2.digest);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->unpacked);
  EXPECT_EQ(again->link, b->link);
  EXPECT_EQ(entries(at("l")).size(), 2u);
  EXPECT_EQ(staging(s().dir()), std::vector<std::string>{});
}

TEST_F(ImageStore, AWrongDiffIdLeavesNoLayerAndNamesBothDigests) {
  auto l = file_layer("x", "x");
  ASSERT_TRUE(s().put_blob(l.blob, l.digest));
  Digest wrong = sha256_of("not the tar");
  auto r = s().put_layer(std::nullopt, l.digest, wrong);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find(wrong.str()), std::string::npos) << r.error().what();
  EXPECT_NE(r.error().what().find(l.digest.str()), std::string::npos) << r.error().what();
  EXPECT_EQ(entries(at("layers")), std::vector<std::string>{});
  EXPECT_EQ(entries(at("l")), std::vector<std::string>{});
  EXPECT_EQ(staging(s().dir()), std::vector<std::string>{});
  // A missing parent or blob is refused before any work.
  auto orphan = s().put_layer(sha256_of("nope"), l.digest, l.digest);
  ASSERT_FALSE(orphan);
  EXPECT_NE(orphan.error().what().find("parent layer"), std::string::npos);
}

TEST_F(ImageStore, ABlobDamagedOnDiskIsCaughtWhenUnpacked) {
  auto l = file_layer("x", "the real content");
  ASSERT_TRUE(s().put_blob(l.blob, l.digest));
  std::string bad = l.blob;
  bad[bad.find("real")] = 'R';  // bit rot in file data: the tar still parses
  std::string p = at("blobs/sha256/" + std::string(l.digest.hex()));
  ASSERT_TRUE(write_file_atomic(p, bad));
  auto r = s().put_layer(std::nullopt, l.digest, l.digest);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find(l.digest.str()), std::string::npos) << r.error().what();
  EXPECT_NE(r.error().what().find(sha256_of(bad).str()), std::string::npos) << r.error().what();
  EXPECT_EQ(r.error().what().find('\n'), std::string::npos);
  EXPECT_EQ(entries(at("layers")), std::vector<std::string>{});
  EXPECT_EQ(entries(at("l")), std::vector<std::string>{});
  EXPECT_EQ(staging(s().dir()), std::vector<std::string>{});
}

TEST_F(ImageStore, LowerdirsOf128LayersFitInOnePageOfMountData) {
  std::vector<test::TestLayer> layers;
  for (int i = 0; i < 128; ++i) layers.push_back(file_layer(fmt::format("f{}", i), "x"));
  auto img = make_image(layers);
  auto r = put_test_image(s(), img, {"big:latest"});
  ASSERT_TRUE(r) << r.error().what();
  auto opt = s().lowerdir_option(r->layers);
  ASSERT_TRUE(opt) << opt.error().what();
  // Top layer first.
  EXPECT_TRUE(opt->starts_with("lowerdir=l/" + s().layer(r->layers.back())->link + ":"));
  EXPECT_TRUE(opt->ends_with(":l/" + s().layer(r->layers.front())->link));
  // What the rest of a container's mount data takes: upper and work dirs by absolute path
  // under the default root, with a 64-hex container id, and the usual options.
  std::string rest = fmt::format(",upperdir=/var/lib/husk/containers/{0}/upper"
                                 ",workdir=/var/lib/husk/containers/{0}/work"
                                 ",index=off,xino=off,redirect_dir=off,metacopy=off",
                                 std::string(64, 'a'));
  EXPECT_LT(opt->size() + rest.size() + 1, 4096u) << opt->size();
  EXPECT_EQ(opt->size(), 9 + 128 * (2 + kShortLinkLength) + 127);
}

TEST_F(ImageStore, ImagesAreRecordedTaggedAndResolved) {
  auto img = make_image({file_layer("a", "1"), file_layer("b", "22")});
  auto r = put_test_image(s(), img, {"alpine", "example.com/app:v1"}, {"alpine"});
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->id, img.config_digest);
  EXPECT_EQ(r->size, img.layers[0].blob.size() + img.layers[1].blob.size());
  EXPECT_TRUE(s().has_blob(img.manifest_digest));
  EXPECT_TRUE(s().has_blob(img.config_digest));
  auto rec = nlohmann::json::parse(read("images/" + std::string(r->id.hex()) + ".json"));
  EXPECT_EQ(rec["manifest"], img.manifest_digest.str());
  EXPECT_EQ(rec["created"], "2024-01-01T00:00:00Z");
  EXPECT_EQ(rec["repo_digests"][0], "docker.io/library/alpine@" + img.manifest_digest.str());
  auto tags = nlohmann::json::parse(read("tags.json"));
  EXPECT_EQ(tags["docker.io/library/alpine:latest"], r->id.str());
  EXPECT_EQ(tags["example.com/app:v1"], r->id.str());
  for (const std::string& name : std::vector<std::string>{"alpine", "alpine:latest", "docker.io/library/alpine",
                           "example.com/app:v1", std::string(r->id.hex().substr(0, 6)),
                           r->id.str(), "alpine@" + img.manifest_digest.str()}) {
    auto found = s().resolve(name);
    ASSERT_TRUE(found) << name << ": " << found.error().what();
    EXPECT_EQ(found->id, r->id) << name;
    EXPECT_EQ(found->repo_tags.size(), 2u);
  }
  auto missing = s().resolve("busybox");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().what(), "image \"busybox\": not found");
}

TEST_F(ImageStore, PutImageChecksLayersAndDigests) {
  auto img = make_image({file_layer("a", "1")});
  auto no_layer = s().put_image({img.manifest, img.manifest_digest, img.config, {"x"}});
  ASSERT_FALSE(no_layer);
  EXPECT_NE(no_layer.error().what().find("not in the store"), std::string::npos);
  auto bad = s().put_image({img.manifest, sha256_of("x"), img.config, {"x"}});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("digest mismatch"), std::string::npos);
  auto other = make_image({file_layer("a", "1"), file_layer("b", "2")});
  auto wrong_config = s().put_image({img.manifest, img.manifest_digest, other.config, {"x"}});
  ASSERT_FALSE(wrong_config);
  EXPECT_NE(wrong_config.error().what().find("image config"), std::string::npos);
  EXPECT_EQ(entries(at("images")), std::vector<std::string>{});
  EXPECT_FALSE(std::filesystem::exists(at("tags.json")));
}

TEST_F(ImageStore, SharedLayersAreCountedOnce) {
  auto base = file_layer("base", std::string(1000, 'b'));
  auto one = make_image({base, file_layer("one", "1")}, "2024-01-01T00:00:00Z");
  auto two = make_image({base, file_layer("two", "22")}, "2024-02-01T00:00:00Z");
  ASSERT_TRUE(put_test_image(s(), one, {"one"}));
  ASSERT_TRUE(put_test_image(s(), two, {"two"}));
  auto u = s().usage();
  ASSERT_TRUE(u) << u.error().what();
  ASSERT_EQ(u->images.size(), 2u);
  EXPECT_EQ(u->images[0].id, two.config_digest) << "newest first";
  uint64_t b = base.blob.size(), l1 = one.layers[1].blob.size(), l2 = two.layers[1].blob.size();
  EXPECT_EQ(u->total_size, b + l1 + l2);
  EXPECT_EQ(u->shared_size, b);
  EXPECT_EQ(u->images[1].size, b + l1);
  EXPECT_EQ(u->images[1].shared_size, b);
  EXPECT_EQ(u->images[1].unique_size, l1);
}

TEST_F(ImageStore, RmiUntagsThenRemovesWhatNoOtherImageUses) {
  auto base = file_layer("base", "b");
  auto one = make_image({base, file_layer("one", "1")});
  auto two = make_image({base, file_layer("two", "2")});
  auto r1 = put_test_image(s(), one, {"one", "uno"});
  auto r2 = put_test_image(s(), two, {"two"});
  ASSERT_TRUE(r1 && r2);
  auto by_id = s().remove_image(r1->id.str(), false);
  ASSERT_FALSE(by_id) << "two tags: by id needs --force";
  EXPECT_NE(by_id.error().what().find("docker.io/library/one:latest"), std::string::npos);
  auto untag = s().remove_image("uno", false);
  ASSERT_TRUE(untag) << untag.error().what();
  EXPECT_TRUE(untag->empty());
  EXPECT_FALSE(s().resolve("uno"));
  EXPECT_TRUE(s().resolve("one"));
  auto gone = s().remove_image("one", false);
  ASSERT_TRUE(gone) << gone.error().what();
  EXPECT_EQ(*gone, std::vector<Digest>{r1->id});
  EXPECT_FALSE(std::filesystem::exists(at("images/" + std::string(r1->id.hex()) + ".json")));
  EXPECT_TRUE(s().has_layer(r1->layers[0])) << "the base is image two's too";
  EXPECT_FALSE(s().has_layer(r1->layers[1]));
  EXPECT_FALSE(s().has_blob(one.layers[1].digest));
  EXPECT_FALSE(s().has_blob(one.manifest_digest));
  EXPECT_FALSE(s().has_blob(one.config_digest));
  EXPECT_TRUE(s().has_blob(base.digest));
  EXPECT_EQ(entries(at("l")).size(), 2u) << "base, two's layer";
  EXPECT_EQ(entries(at("layers")).size(), 2u);
  EXPECT_EQ(staging(s().dir()), std::vector<std::string>{});
  EXPECT_TRUE(s().lowerdir_option(r2->layers));
}

TEST_F(ImageStore, HeldImagesAreKeptUntilReleased) {
  auto img = make_image({file_layer("a", "1")});
  auto r = put_test_image(s(), img, {"app"});
  ASSERT_TRUE(r);
  ASSERT_TRUE(s().acquire(r->id, "web1"));
  auto self = sys::process_ref(::getpid());
  ASSERT_TRUE(self);
  EXPECT_EQ(read("holds/web1"), r->id.str() + "\n" + sys::format_ref(*self) + "\n");
  auto refused = s().remove_image("app", false);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().what(),
            fmt::format("image \"app\" ({}): in use by container \"web1\"", r->id.str().substr(0, 19)));
  EXPECT_TRUE(s().resolve("app")) << "refused: nothing changed";
  auto forced = s().remove_image("app", true);
  ASSERT_TRUE(forced) << forced.error().what();
  EXPECT_TRUE(forced->empty());
  EXPECT_FALSE(s().resolve("app")) << "untagged";
  EXPECT_TRUE(s().resolve(r->id.str())) << "kept, dangling";
  auto pruned = s().prune();
  ASSERT_TRUE(pruned);
  EXPECT_TRUE(pruned->images.empty());
  EXPECT_TRUE(s().has_layer(r->layers[0]));
  EXPECT_TRUE(s().lowerdir_option(r->layers));
  EXPECT_FALSE(s().acquire(sha256_of("nope"), "web2"));
  EXPECT_FALSE(s().acquire(r->id, "../x"));
  ASSERT_TRUE(s().release("web1"));
  EXPECT_FALSE(std::filesystem::exists(at("holds/web1")));
  auto after = s().prune();
  ASSERT_TRUE(after) << after.error().what();
  EXPECT_EQ(after->images, std::vector<Digest>{r->id});
  EXPECT_EQ(after->layers, std::vector<Digest>{r->layers[0]});
  EXPECT_EQ(entries(at("layers")), std::vector<std::string>{});
  EXPECT_EQ(entries(at("blobs/sha256")), std::vector<std::string>{});
  EXPECT_EQ(entries(at("l")), std::vector<std::string>{});
}

// A hold whose owner is gone (husk and its container killed) pins nothing: rmi goes through and
// prune drops the record. A hold handed to a live process still counts.
TEST_F(ImageStore, HoldsOfDeadOwnersCountForNothing) {
  auto img = make_image({file_layer("a", "1")});
  auto r = put_test_image(s(), img, {"app"});
  ASSERT_TRUE(r);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  ASSERT_TRUE(s().acquire(r->id, "web1"));
  ASSERT_TRUE(s().hand_hold("web1", child));
  EXPECT_EQ(*s().holders(r->id), std::vector<std::string>{"web1"});
  EXPECT_FALSE(s().remove_image("app", false)) << "the owner lives";
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_EQ(*s().holders(r->id), std::vector<std::string>{}) << "owner reaped";
  ASSERT_TRUE(s().prune());
  EXPECT_FALSE(std::filesystem::exists(at("holds/web1")));
  auto removed = s().remove_image("app", false);
  ASSERT_TRUE(removed) << removed.error().what();
  EXPECT_EQ(*removed, std::vector<Digest>{r->id});
}

TEST_F(ImageStore, PruneRemovesUnlockedTmpLeftoversOnly) {
  auto l = file_layer("a", "1");
  ASSERT_TRUE(s().put_blob(l.blob, l.digest));  // no image refers to it
  ASSERT_EQ(::mkdir(at("tmp/stage-DEAD").c_str(), 0700), 0);
  ASSERT_TRUE(write_file_atomic(at("tmp/stage-DEAD/f"), "x"));
  ASSERT_TRUE(write_file_atomic(at("tmp/part-DEAD"), "x"));
  ASSERT_TRUE(write_file_atomic(at("tmp/layer-dead.lock"), ""));
  ASSERT_TRUE(write_file_atomic(at("images/x.json.tmp-1-1"), "{"));
  ASSERT_EQ(::mkdir(at("tmp/stage-LIVE").c_str(), 0700), 0);
  UniqueFd live(::open(at("tmp/stage-LIVE").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_EQ(::flock(live.get(), LOCK_EX), 0);
  ASSERT_EQ(::symlink("../layers/gone/diff", at("l/DANGLINGDANGLING").c_str()), 0);
  auto r = s().prune();
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->tmp_entries, 3u);
  EXPECT_EQ(r->blobs, std::vector<Digest>{l.digest});
  EXPECT_EQ(entries(at("tmp")), std::vector<std::string>{"stage-LIVE"});
  EXPECT_EQ(entries(at("images")), std::vector<std::string>{});
  EXPECT_EQ(entries(at("l")), std::vector<std::string>{});
  live.reset();
  ASSERT_TRUE(s().prune());
  EXPECT_EQ(entries(at("tmp")), std::vector<std::string>{});
}

TEST_F(ImageStore, ALeaseKeepsLayersFromRmiAndPruneWaitsForIt) {
  auto img = make_image({file_layer("a", "1")});
  auto r = put_test_image(s(), img, {"app"});
  ASSERT_TRUE(r);
  {
    auto lease = s().lease();
    ASSERT_TRUE(lease);
    auto gone = s().remove_image("app", false);
    ASSERT_TRUE(gone) << gone.error().what();
    EXPECT_EQ(gone->size(), 1u);
    EXPECT_TRUE(s().has_layer(r->layers[0])) << "a writer may be using it";
  }
  auto pruned = s().prune();
  ASSERT_TRUE(pruned);
  EXPECT_FALSE(s().has_layer(r->layers[0]));
}

TEST_F(ImageStore, DiscardTakesOutAFailedWritersPutsButNotWhatAnImageUses) {
  auto img = make_image({file_layer("a", "1")});
  auto r = put_test_image(s(), img, {"app"});
  ASSERT_TRUE(r);
  auto extra = file_layer("b", "2");
  ASSERT_TRUE(s().put_blob(extra.blob, extra.digest));
  auto l = s().put_layer(std::nullopt, extra.digest, extra.digest);
  ASSERT_TRUE(l) << l.error().what();
  ASSERT_TRUE(s().discard({extra.digest, img.layers[0].digest}, {l->chain_id, r->layers[0]}));
  EXPECT_FALSE(s().has_blob(extra.digest));
  EXPECT_FALSE(s().has_layer(l->chain_id));
  EXPECT_EQ(entries(at("l")).size(), 1u) << "the discarded layer's link goes too";
  EXPECT_TRUE(s().has_blob(img.layers[0].digest)) << "an image uses it";
  EXPECT_TRUE(s().has_layer(r->layers[0])) << "an image uses it";
  EXPECT_EQ(entries(at("tmp")), std::vector<std::string>{});
}

TEST_F(ImageStore, AdoptBlobChecksTheFileThenRenamesItIn) {
  auto l = file_layer("a", "1");
  ASSERT_EQ(::mkdir(at("tmp/load-TEST").c_str(), 0700), 0);
  UniqueFd dir(::open(at("tmp/load-TEST").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(write_file_atomic(at("tmp/load-TEST/bad"), l.blob + "x"));
  auto bad = s().adopt_blob(dir.get(), "bad", l.digest, l.blob.size());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("expected"), std::string::npos) << bad.error().what();
  ASSERT_TRUE(write_file_atomic(at("tmp/load-TEST/bad"), "y" + l.blob.substr(1)));
  bad = s().adopt_blob(dir.get(), "bad", l.digest, l.blob.size());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("digest mismatch"), std::string::npos) << bad.error().what();
  EXPECT_FALSE(s().has_blob(l.digest));
  ASSERT_TRUE(write_file_atomic(at("tmp/load-TEST/good"), l.blob));
  ASSERT_TRUE(s().adopt_blob(dir.get(), "good", l.digest, l.blob.size()));
  EXPECT_TRUE(s().has_blob(l.digest));
  EXPECT_EQ(entries(at("tmp/load-TEST")), std::vector<std::string>{"bad"}) << "renamed, not copied";
  EXPECT_EQ(entries(at("tmp")), std::vector<std::string>{"load-TEST"}) << "no part- file left";
}

}  // namespace
}  // namespace husk::image
