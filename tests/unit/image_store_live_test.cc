// The image store under fire: processes racing for one layer, writers killed with SIGKILL at
// random moments, and a real overlayfs mount of 128 layers through the short links. Forks
// (tests may; src/image never does). Needs root.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "base/file.h"
#include "child_test_util.h"
#include "image/store.h"
#include "image_store_util.h"
#include "temp_dir_util.h"

namespace husk::image {
namespace {

using test::file_layer;
using test::make_image;
using test::put_test_image;

class ImageStoreLive : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    root_ = tmp_.path() + "/root";
    auto s = Store::open(root_);
    ASSERT_TRUE(s) << s.error().what();
    store_.emplace(std::move(*s));
  }
  const Store& s() const { return *store_; }

  test::TempDir tmp_;
  std::string root_;
  std::optional<Store> store_;
};

// Two processes put the same (large) layer at the same moment: one unpacks, the other waits
// on the layer's lock and finds it; both see the same diff directory.
TEST_F(ImageStoreLive, TwoProcessesPuttingOneLayerUnpackItOnce) {
  std::vector<test::TarSpec> files;
  for (int i = 0; i < 64; ++i)
    files.push_back(test::file(fmt::format("f{}", i), std::string(256 << 10, char('a' + i % 26))));
  auto layer = test::make_layer(files);
  ASSERT_TRUE(s().put_blob(layer.blob, layer.digest));
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  std::vector<int> outs;
  std::vector<pid_t> pids;
  for (int i = 0; i < 2; ++i) {
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(go[1]);
      char c;
      (void)::read(go[0], &c, 1);  // both start together
      auto st = Store::open(root_);
      auto r = st->put_layer(std::nullopt, layer.digest, layer.digest);
      struct stat sb {};
      std::string diff = st->dir() + "/layers/" + std::string(layer.digest.hex()) + "/diff";
      ::stat(diff.c_str(), &sb);
      std::string msg = r ? fmt::format("{} {} {}", r->unpacked ? 1 : 0, sb.st_ino, r->link)
                          : "error " + r.error().what();
      (void)write_all(out[1], msg);
      ::_exit(0);
    }
    ::close(out[1]);
    outs.push_back(out[0]);
    pids.push_back(pid);
  }
  ::close(go[0]);
  ::close(go[1]);  // EOF: go
  std::vector<std::string> results;
  for (size_t i = 0; i < 2; ++i) {
    results.push_back(read_all(outs[i]).value_or("read failed"));
    ::close(outs[i]);
    int status = 0;
    ::waitpid(pids[i], &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  int unpacked = 0;
  for (const std::string& r : results) unpacked += r.starts_with("1 ");
  EXPECT_EQ(unpacked, 1) << results[0] << " | " << results[1];
  EXPECT_EQ(results[0].substr(2), results[1].substr(2)) << "same inode, same link";
  auto l = s().layer(layer.digest);
  ASSERT_TRUE(l);
  size_t links = 0;
  for (auto& e : std::filesystem::directory_iterator(s().dir() + "/l")) links += e.is_symlink();
  EXPECT_EQ(links, 1u);
  EXPECT_TRUE(std::filesystem::is_empty(s().dir() + "/tmp")) << "lock files go with their holder";
}

// Checks what must hold after any crash; returns the problems found, one a line.
std::string check_invariants(const Store& s) {
  std::string bad;
  auto images = s.list_images();  // reads every record and every layer.json they name
  if (!images) return "list_images: " + images.error().what() + "\n";
  for (const ImageRecord& r : *images) {
    for (const Digest& c : r.layers)
      if (!s.has_layer(c)) bad += fmt::format("image {}: layer {} missing\n", r.id.str(), c.str());
    for (const Digest& b : r.layer_blobs)
      if (!s.has_blob(b)) bad += fmt::format("image {}: blob {} missing\n", r.id.str(), b.str());
    if (!s.has_blob(r.manifest) || !s.has_blob(r.id)) bad += "manifest or config blob missing\n";
    if (auto opt = s.lowerdir_option(r.layers); !opt) bad += opt.error().what() + "\n";
  }
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(s.dir() + "/layers", ec)) {
    auto d = Digest::parse("sha256:" + e.path().filename().string());
    auto l = d ? s.layer(*d) : Result<LayerInfo>(std::unexpected(d.error()));
    if (!l) bad += "layer: " + l.error().what() + "\n";
    else if (!std::filesystem::exists(s.dir() + "/l/" + l->link + "/"))
      bad += "layer " + d->str() + ": link does not resolve\n";
  }
  for (auto& e : std::filesystem::directory_iterator(s.dir() + "/blobs/sha256", ec)) {
    auto bytes = read_file(e.path().string());
    if (!bytes || std::string(sha256_of(*bytes).hex()) != e.path().filename().string())
      bad += "blob " + e.path().filename().string() + ": content does not match its name\n";
  }
  return bad;
}

// A writer that pulls, tags, removes and prunes images in a loop, killed with SIGKILL at a
// random moment, many times over; after each kill the store must be consistent, and prune
// must leave tmp/ empty.
TEST_F(ImageStoreLive, KillNineAtAnyMomentLeavesAConsistentStore) {
  std::mt19937 rng(std::random_device{}());
  auto base = file_layer("base", std::string(64 << 10, 'b'));
  for (int round = 0; round < 25; ++round) {
    pid_t pid = ::fork();
    if (pid == 0) {
      auto st = Store::open(root_);
      for (int i = 0;; ++i) {
        std::string big(static_cast<size_t>(1 + (i * 7919) % (512 << 10)), char('a' + i % 26));
        auto img = make_image({base, file_layer(fmt::format("r{}-{}", ::getpid(), i), big)});
        auto lease = st->lease();
        (void)put_test_image(*st, img, {fmt::format("app:{}", i % 3)}, {"app"});
        lease->reset();
        if (i % 2 == 1) (void)st->remove_image(fmt::format("app:{}", (i + 1) % 3), false);
        if (i % 5 == 4) (void)st->prune();
      }
    }
    // Mostly within the first image; every fifth round long enough for a few images even on a
    // loaded machine (fork and fsyncs can take tens of ms there), so some images get in.
    std::uniform_int_distribution<int> ms(1, round % 5 == 2 ? 400 : 40);
    timespec ts{0, ms(rng) * 1000000L};
    ::nanosleep(&ts, nullptr);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "round " << round << ": the writer died by itself";
    auto st = Store::open(root_);
    ASSERT_TRUE(st);
    ASSERT_EQ(check_invariants(*st), "") << "round " << round << " (before prune)";
    if (round % 5 == 4) {
      auto r = st->prune();
      ASSERT_TRUE(r) << r.error().what();
      ASSERT_EQ(check_invariants(*st), "") << "round " << round << " (after prune)";
      std::vector<std::string> left;
      for (auto& e : std::filesystem::directory_iterator(st->dir() + "/tmp"))
        left.push_back(e.path().filename().string());
      EXPECT_EQ(left, std::vector<std::string>{}) << "round " << round;
    }
  }
  auto images = s().list_images();
  ASSERT_TRUE(images);
  EXPECT_FALSE(images->empty()) << "the writer got some images in";
}

// `run` (acquire) racing `rmi` (remove_image): either the hold came first and rmi is refused
// with the image intact, or rmi came first and acquire fails; never a hold on a removed image.
TEST_F(ImageStoreLive, RmiRacingRunNeverRemovesAHeldImage) {
  int held_first = 0, removed_first = 0;
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<long> delay_us(0, 700);  // so that both orders happen
  for (int round = 0; round < 30; ++round) {
    auto img = make_image({file_layer("base", "b"), file_layer(fmt::format("r{}", round), "x")});
    auto r = put_test_image(s(), img, {"race"});
    ASSERT_TRUE(r) << r.error().what();
    int go[2], out[2];
    ASSERT_EQ(::pipe(go), 0);
    ASSERT_EQ(::pipe(out), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(go[1]);
      char c;
      (void)::read(go[0], &c, 1);
      auto st = Store::open(root_);
      auto a = st->acquire(r->id, "ctr", ::getppid());  // as husk hands it on
      (void)write_all(out[1], a ? "held" : a.error().what());
      ::_exit(0);
    }
    ::close(go[0]);
    ::close(out[1]);
    ::close(go[1]);
    timespec ts{0, delay_us(rng) * 1000};
    ::nanosleep(&ts, nullptr);
    auto rm = s().remove_image("race", false);
    std::string child = read_all(out[0]).value_or("?");
    ::close(out[0]);
    ::waitpid(pid, nullptr, 0);
    if (child == "held") {
      if (rm) {  // rmi won the lock first: impossible, since then the image was gone
        ADD_FAILURE() << "round " << round << ": held an image rmi removed";
        break;
      }
      EXPECT_NE(rm.error().what().find("in use by container \"ctr\""), std::string::npos);
      EXPECT_TRUE(s().lowerdir_option(r->layers)) << "round " << round;
      ++held_first;
      ASSERT_TRUE(s().release("ctr"));
      ASSERT_TRUE(s().remove_image("race", false));
    } else {
      ASSERT_TRUE(rm) << rm.error().what();
      EXPECT_NE(child.find("not in the store"), std::string::npos) << child;
      ++removed_first;
    }
    EXPECT_FALSE(s().has_layer(r->layers[1])) << "round " << round;
  }
  EXPECT_EQ(held_first + removed_first, 30);
  RecordProperty("hold_first", held_first);  // both orders happen in practice (about 4:1)
  RecordProperty("rmi_first", removed_first);
}

// 128 layers mounted as one overlay, from the store's directory with the relative short links:
// the base's file and the top's are visible, and the mount data fit.
TEST_F(ImageStoreLive, OneHundredTwentyEightLayersMountAsOneOverlay) {
  std::vector<test::TestLayer> layers;
  for (int i = 0; i < 128; ++i) layers.push_back(file_layer(fmt::format("f{}", i), "x"));
  layers.push_back(file_layer("f0", "top wins"));
  auto r = put_test_image(s(), make_image(layers), {"big"});
  ASSERT_TRUE(r) << r.error().what();
  auto opt = s().lowerdir_option(r->layers);
  ASSERT_TRUE(opt);
  std::string target = tmp_.path() + "/mnt";
  ASSERT_EQ(::mkdir(target.c_str(), 0755), 0);
  std::string out = testing::run_in_child([&]() -> std::string {
    if (::unshare(CLONE_NEWNS) < 0) return "unshare failed";
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) return "private";
    if (::chdir(s().dir().c_str()) < 0) return "chdir";
    if (::mount("overlay", target.c_str(), "overlay", MS_RDONLY, opt->c_str()) < 0)
      return fmt::format("mount: {}", std::strerror(errno));
    return read_file(target + "/f0").value_or("?") + "|" + read_file(target + "/f127").value_or("?");
  });
  EXPECT_EQ(out, "top wins|x");
}

}  // namespace
}  // namespace husk::image
