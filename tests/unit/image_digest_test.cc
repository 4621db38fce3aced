#include "image/digest.h"

#include <gtest/gtest.h>

namespace husk::image {
namespace {

TEST(Digest, ParsesSha256) {
  auto d = Digest::parse("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  ASSERT_TRUE(d) << d.error().what();
  EXPECT_EQ(d->hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Digest, RefusesWhatCouldNotNameAFile) {
  for (const char* bad : {"", "sha256:", "e3b0", "md5:abc", "sha512:00",
                          "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                          "sha256:../../../../etc/passwd0000000000000000000000000000000000000000",
                          "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85"}) {
    auto d = Digest::parse(bad);
    EXPECT_FALSE(d) << bad;
  }
  EXPECT_EQ(Digest::parse("md5:abc").error().what(), "digest \"md5:abc\": unsupported algorithm \"md5\"");
}

TEST(Sha256, KnownValuesAndStreaming) {
  EXPECT_EQ(sha256_of("").str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 h;
  h.update("a");
  h.update("bc");
  EXPECT_EQ(h.finish().str(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace husk::image
