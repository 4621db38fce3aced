// image/registry.h against Debian's reference registry (docker-registry) on 127.0.0.1, started
// by tests/fixtures/registry in its four setups (plain HTTP, TLS with a test CA, htpasswd basic
// auth, bearer tokens from tests/fixtures/token-server), with a busybox image pushed by skopeo.
// Corrupt and truncated blobs are made by editing the registry's own storage on disk: it serves
// what is there without checking. Each suite starts its registry once and stops it by pid.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <variant>

#include "base/file.h"
#include "base/unique_fd.h"
#include "image/manifest.h"
#include "image/registry.h"
#include "temp_dir_util.h"

namespace husk::image {
namespace {

const std::string kFixture = HUSK_TESTDATA_DIR "/../../fixtures/registry";

// Runs a shell command; its stdout, trailing newline dropped, or nullopt when it failed.
std::optional<std::string> run(const std::string& cmd) {
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return std::nullopt;
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  if (::pclose(p) != 0) return std::nullopt;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool have_tools() {
  for (const char* tool : {"/usr/bin/docker-registry", "/usr/bin/skopeo", "/usr/bin/umoci"})
    if (::access(tool, X_OK) != 0) return false;
  return ::geteuid() == 0;  // umoci unpacks as root (it keeps owners)
}

// One registry, started in `mode`, with busybox pushed as x:1; stopped and removed at the end.
class LiveRegistry {
 public:
  explicit LiveRegistry(const std::string& mode) {
    dir_ = tmp_.path() + "/reg";
    auto a = run(fmt::format("{} start {} {} 2>&1", kFixture, mode, dir_));
    if (!a) return;
    addr_ = *a;
    auto d = run(fmt::format("{} push {} x:1 2>&1", kFixture, dir_));
    if (d) digest_ = *d;
  }
  ~LiveRegistry() { (void)run(fmt::format("{} stop {}", kFixture, dir_)); }
  bool up() const { return !addr_.empty() && digest_.starts_with("sha256:"); }
  const std::string& addr() const { return addr_; }
  const std::string& digest() const { return digest_; }
  const std::string& dir() const { return dir_; }
  Reference ref(const std::string& rest) const { return *Reference::parse(addr_ + "/" + rest); }
  // The file the registry serves a blob from.
  std::string blob_path(const Digest& d) const {
    return fmt::format("{}/data/docker/registry/v2/blobs/sha256/{}/{}/data", dir_,
                       d.hex().substr(0, 2), d.hex());
  }

 private:
  test::TempDir tmp_{"husk-registry"};
  std::string dir_, addr_, digest_;
};

ImageManifest manifest_of(const FetchedManifest& m) {
  auto parsed = parse_manifest(m.bytes, m.content_type);
  EXPECT_TRUE(parsed) << parsed.error().what();
  EXPECT_TRUE(std::holds_alternative<ImageManifest>(*parsed));
  return std::get<ImageManifest>(*parsed);
}

// Downloads blob into a new file and returns the file's bytes (or the error's text as
// "error: ...").
std::string fetch_blob(RegistryClient& c, const Descriptor& blob, const std::string& file) {
  UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  auto r = c.get_blob(blob, fd.get());
  if (!r) return "error: " + r.error().what();
  return *read_file(file);
}

class RegistryPlainTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (have_tools()) reg_ = new LiveRegistry("plain");
  }
  static void TearDownTestSuite() {
    delete reg_;
    reg_ = nullptr;
  }
  void SetUp() override {
    if (reg_ == nullptr) GTEST_SKIP() << "needs root, docker-registry, skopeo and umoci";
    ASSERT_TRUE(reg_->up()) << "fixture failed: " << reg_->dir();
  }
  static LiveRegistry* reg_;
  test::TempDir tmp_{"husk-registry-test"};
};
LiveRegistry* RegistryPlainTest::reg_ = nullptr;

TEST_F(RegistryPlainTest, ManifestByTagAndByDigest) {
  RegistryClient by_tag(reg_->ref("x:1"), {});
  auto m = by_tag.get_manifest();
  ASSERT_TRUE(m) << m.error().what();
  EXPECT_EQ(m->digest.str(), reg_->digest());
  EXPECT_EQ(sha256_of(m->bytes).str(), reg_->digest());
  EXPECT_EQ(m->content_type, media::kOciManifest);
  EXPECT_EQ(by_tag.scheme(), "http");  // 127.0.0.1 may fall back from https to http
  ImageManifest im = manifest_of(*m);
  EXPECT_EQ(im.layers.size(), 1u);

  RegistryClient by_digest(reg_->ref("x@" + reg_->digest()), {});
  auto again = by_digest.get_manifest();
  ASSERT_TRUE(again) << again.error().what();
  EXPECT_EQ(again->bytes, m->bytes);
  auto child = by_tag.get_manifest(m->digest);
  ASSERT_TRUE(child) << child.error().what();
  EXPECT_EQ(child->bytes, m->bytes);
}

TEST_F(RegistryPlainTest, BlobsStreamIntoTheFileVerified) {
  RegistryClient c(reg_->ref("x:1"), {});
  ImageManifest im = manifest_of(*c.get_manifest());
  for (const Descriptor& d : {im.config, im.layers[0]}) {
    std::string file = tmp_.path() + "/blob";
    std::string bytes = fetch_blob(c, d, file);
    ASSERT_EQ(bytes.size(), static_cast<size_t>(d.size)) << bytes.substr(0, 300);
    EXPECT_EQ(sha256_of(bytes), d.digest);
    EXPECT_EQ(bytes, *read_file(reg_->blob_path(d.digest)));
  }
}

TEST_F(RegistryPlainTest, OneClientManyThreads) {
  RegistryClient c(reg_->ref("x:1"), {});
  ImageManifest im = manifest_of(*c.get_manifest());
  std::vector<Descriptor> blobs;
  for (int i = 0; i < 4; ++i) blobs.push_back(i % 2 ? im.config : im.layers[0]);
  std::vector<std::string> got(blobs.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < blobs.size(); ++i)
    threads.emplace_back([&, i] {
      auto r = c.get_blob(blobs[i], [&](std::span<const uint8_t> b) -> Result<void> {
        got[i].append(reinterpret_cast<const char*>(b.data()), b.size());
        return ok();
      });
      if (!r) got[i] = r.error().what();
    });
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < blobs.size(); ++i) EXPECT_EQ(sha256_of(got[i]), blobs[i].digest) << i;
}

TEST_F(RegistryPlainTest, CorruptTruncatedAndOversizeBlobsAreRefused) {
  RegistryClient c(reg_->ref("x:1"), {});
  Descriptor layer = manifest_of(*c.get_manifest()).layers[0];
  std::string path = reg_->blob_path(layer.digest);
  std::string good = *read_file(path);
  std::string file = tmp_.path() + "/blob";

  std::string bad = good;
  bad[bad.size() / 2] ^= 0x20;
  ASSERT_TRUE(write_file(path, bad));
  std::string err = fetch_blob(c, layer, file);
  std::string actual = sha256_of(bad).str();
  EXPECT_EQ(err, fmt::format("error: blob {0}: digest mismatch: expected {0}, got {1}",
                             layer.digest.str(), actual));
  EXPECT_EQ(*read_file(file), bad) << "the partial file stays, the caller removes it";

  std::error_code ec;
  std::filesystem::resize_file(path, good.size() / 2, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(fetch_blob(c, layer, file),
            fmt::format("error: blob {}: truncated: got {} of {} bytes", layer.digest.str(),
                        good.size() / 2, good.size()));

  std::filesystem::remove(path);
  { std::ofstream(path, std::ios::binary) << good; }
  Descriptor small = layer;
  small.size = layer.size - 1;
  EXPECT_EQ(fetch_blob(c, small, file),
            fmt::format("error: blob {}: more than the {} bytes its descriptor gives",
                        layer.digest.str(), small.size));
  EXPECT_EQ(fetch_blob(c, layer, file), good) << "restored";
}

TEST_F(RegistryPlainTest, UnknownThingsAreOneLineErrors) {
  RegistryClient c(reg_->ref("x:nope"), {});
  auto m = c.get_manifest();
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().what(), "manifest unknown (404)");
  EXPECT_EQ(m.error().code, ENOENT);

  Descriptor missing{std::string(media::kOciLayerGzip), sha256_of("nothing"), 7, {}};
  std::string err = fetch_blob(c, missing, tmp_.path() + "/blob");
  EXPECT_EQ(err,
            fmt::format("error: blob {}: blob unknown to registry (404)", missing.digest.str()));

  RegistryClient other(reg_->ref("nosuchrepo:1"), {});
  auto n = other.get_manifest();
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().what(), "manifest unknown (404)");  // distribution 2.8 says the same
}

TEST_F(RegistryPlainTest, NothingListeningIsConnectionRefused) {
  auto port =
      run("python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\",0)); "
          "print(s.getsockname()[1])'");
  ASSERT_TRUE(port);
  RegistryClient c(*Reference::parse(fmt::format("127.0.0.1:{}/x:1", *port)), {});
  auto m = c.get_manifest();
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().what(), fmt::format("127.0.0.1:{}: Connection refused", *port));
}

// Each suite below starts its own registry: the setups are exclusive.
class RegistryModeTest : public ::testing::Test {
 protected:
  void start(const std::string& mode) {
    if (!have_tools()) GTEST_SKIP() << "needs root, docker-registry, skopeo and umoci";
    reg_ = std::make_unique<LiveRegistry>(mode);
    ASSERT_TRUE(reg_->up()) << "fixture failed: " << reg_->dir();
  }
  Result<FetchedManifest> fetch(RegistryOptions opts) {
    RegistryClient c(reg_->ref("x:1"), std::move(opts));
    return c.get_manifest();
  }
  std::unique_ptr<LiveRegistry> reg_;
};

TEST_F(RegistryModeTest, BasicAuthNeedsTheCredentials) {
  start("basic");
  RegistryOptions opts;
  opts.credentials = Credentials{"husk", "secret"};
  auto m = fetch(opts);
  ASSERT_TRUE(m) << m.error().what();
  EXPECT_EQ(m->digest.str(), reg_->digest());
  {  // blobs too, on the same client: the Authorization header goes along
    RegistryClient c(reg_->ref("x:1"), opts);
    Descriptor cfg = manifest_of(*c.get_manifest()).config;
    std::string bytes;
    ASSERT_TRUE(c.get_blob(cfg, [&](std::span<const uint8_t> b) -> Result<void> {
      bytes.append(reinterpret_cast<const char*>(b.data()), b.size());
      return ok();
    }));
    EXPECT_EQ(sha256_of(bytes), cfg.digest);
  }

  auto anonymous = fetch({});
  ASSERT_FALSE(anonymous);
  EXPECT_EQ(anonymous.error().what(), "unauthorized: authentication required (401)");
  EXPECT_EQ(anonymous.error().code, EACCES);
  opts.credentials->password = "wrong";
  auto wrong = fetch(opts);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().what(), "unauthorized: authentication required (401)");
}

TEST_F(RegistryModeTest, TlsVerifiesAgainstTheCaDir) {
  start("tls");
  RegistryOptions opts;
  opts.ca_dir = reg_->dir() + "/ca";
  RegistryClient c(reg_->ref("x:1"), opts);
  auto m = c.get_manifest();
  ASSERT_TRUE(m) << m.error().what();
  EXPECT_EQ(m->digest.str(), reg_->digest());
  EXPECT_EQ(c.scheme(), "https");

  // Without the CA: a verification failure, and no fallback to HTTP even on 127.0.0.1.
  RegistryClient untrusted(reg_->ref("x:1"), {});
  auto bad = untrusted.get_manifest();
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().what().starts_with(reg_->addr() + ": TLS: SSL certificate problem"))
      << bad.error().what();
  EXPECT_EQ(untrusted.scheme(), "");

  RegistryOptions insecure;
  insecure.tls_verify = false;
  RegistryClient unverified(reg_->ref("x:1"), insecure);
  auto u = unverified.get_manifest();
  ASSERT_TRUE(u) << u.error().what();
  EXPECT_EQ(unverified.scheme(), "https");
}

TEST_F(RegistryModeTest, BearerTokensFromTheTokenServer) {
  start("token");
  RegistryOptions opts;
  opts.credentials = Credentials{"husk", "secret"};
  RegistryClient c(reg_->ref("x:1"), opts);
  auto m = c.get_manifest();
  ASSERT_TRUE(m) << m.error().what();
  EXPECT_EQ(m->digest.str(), reg_->digest());
  Descriptor layer = manifest_of(*m).layers[0];
  std::string file = reg_->dir() + "/../layer";
  EXPECT_EQ(sha256_of(fetch_blob(c, layer, file)), layer.digest);

  auto anonymous = fetch({});
  ASSERT_FALSE(anonymous);
  std::string token_addr = *read_file(reg_->dir() + "/token-addr");
  token_addr.pop_back();
  EXPECT_EQ(anonymous.error().what(),
            fmt::format("token from http://{}/token: unauthorized: token server: bad "
                        "credentials (401)",
                        token_addr));
}

}  // namespace
}  // namespace husk::image
