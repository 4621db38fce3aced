#include <gtest/gtest.h>

#include <string>

#include "image/reference.h"

namespace husk::image {
namespace {

constexpr char kHex[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string canon(std::string_view text) {
  auto r = Reference::parse(text);
  return r ? r->str() : "error: " + r.error().what();
}

std::string error_of(std::string_view text) {
  auto r = Reference::parse(text);
  return r ? "parsed as " + r->str() : r.error().what();
}

TEST(ImageReference, ShortNamesAreDockerHubLibraryLatest) {
  auto r = Reference::parse("alpine");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->domain(), "docker.io");
  EXPECT_EQ(r->registry_host(), "registry-1.docker.io");
  EXPECT_EQ(r->path(), "library/alpine");
  EXPECT_EQ(r->tag(), "latest");
  EXPECT_FALSE(r->digest());
  EXPECT_EQ(r->name(), "docker.io/library/alpine");
  EXPECT_EQ(r->str(), "docker.io/library/alpine:latest");
  EXPECT_EQ(r->familiar(), "alpine:latest");
  EXPECT_EQ(canon("docker.io/alpine"), "docker.io/library/alpine:latest");
  EXPECT_EQ(canon("index.docker.io/library/alpine:3.19"), "docker.io/library/alpine:3.19");
  EXPECT_EQ(*Reference::parse("docker.io/library/alpine"), *Reference::parse("alpine"));
}

TEST(ImageReference, UserRepositoriesKeepTheirNamespace) {
  auto r = Reference::parse("user/app:1.2");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->path(), "user/app");
  EXPECT_EQ(r->tag(), "1.2");
  EXPECT_EQ(r->str(), "docker.io/user/app:1.2");
  EXPECT_EQ(r->familiar(), "user/app:1.2");
  // library/ is only dropped from a two-component name.
  EXPECT_EQ(Reference::parse("library/a/b")->familiar(), "library/a/b:latest");
  // A Hub namespace that reads as a registry keeps docker.io/, so the familiar form parses
  // back to the same image.
  EXPECT_EQ(Reference::parse("docker.io/localhost/x")->familiar(), "docker.io/localhost/x:latest");
  EXPECT_EQ(Reference::parse("docker.io/a.b/c")->familiar(), "docker.io/a.b/c:latest");
  // Found by fuzz_reference: library/<64 hex> is a name, its short form an image id.
  EXPECT_EQ(Reference::parse(std::string("library/") + kHex)->familiar(),
            std::string("library/") + kHex + ":latest");
}

TEST(ImageReference, TheFirstComponentIsARegistryOnlyWhenItLooksLikeOne) {
  auto r = Reference::parse("localhost:5000/a/b@sha256:" + std::string(kHex));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->domain(), "localhost:5000");
  EXPECT_EQ(r->registry_host(), "localhost:5000");
  EXPECT_EQ(r->path(), "a/b");
  EXPECT_EQ(r->tag(), "");  // a digest without a tag gets no :latest
  EXPECT_EQ(r->digest()->hex(), kHex);
  EXPECT_EQ(r->familiar(), "localhost:5000/a/b@sha256:" + std::string(kHex));

  EXPECT_EQ(canon("localhost/x"), "localhost/x:latest");
  EXPECT_EQ(canon("registry.example.com:443/x:tag@sha256:" + std::string(kHex)),
            "registry.example.com:443/x:tag@sha256:" + std::string(kHex));
  EXPECT_EQ(canon("quay.io/coreos/etcd:v3.5"), "quay.io/coreos/etcd:v3.5");
  EXPECT_EQ(canon("[::1]:5000/x:t"), "[::1]:5000/x:t");
  EXPECT_EQ(canon("[fe80::1]/x"), "[fe80::1]/x:latest");
  EXPECT_EQ(canon("10.0.0.1:5000/x"), "10.0.0.1:5000/x:latest");
  // No dot, no colon, not localhost: a Docker Hub namespace.
  EXPECT_EQ(canon("myregistry/x"), "docker.io/myregistry/x:latest");
  // "localhost:5000" alone is the image localhost, tag 5000, as docker reads it.
  EXPECT_EQ(canon("localhost:5000"), "docker.io/library/localhost:5000");
  EXPECT_EQ(Reference::parse("ghcr.io/a/b:c")->familiar(), "ghcr.io/a/b:c");
}

TEST(ImageReference, PathComponentSeparators) {
  for (const char* good : {"a.b", "a_b", "a__b", "a-b", "a---b", "a.b-c_d__e", "0", "9a"})
    EXPECT_EQ(canon(std::string("x.io/") + good), std::string("x.io/") + good + ":latest");
  for (const char* bad :
       {"a..b", "a___b", "a-_b", ".a", "a.", "-a", "a-", "_a", "a/", "a//b", "a b", "a%b"})
    EXPECT_TRUE(error_of(std::string("x.io/") + bad).starts_with("reference \"x.io/")) << bad;
}

TEST(ImageReference, TagsAndDigests) {
  EXPECT_EQ(canon("a:_x.Y-9"), "docker.io/library/a:_x.Y-9");
  EXPECT_EQ(error_of("a:.x"), "reference \"a:.x\": invalid tag \".x\"");
  EXPECT_EQ(error_of("a:-x"), "reference \"a:-x\": invalid tag \"-x\"");
  EXPECT_EQ(error_of("a:"), "reference \"a:\": invalid tag \"\"");
  EXPECT_EQ(error_of("a:b:c"), "reference \"a:b:c\": invalid repository name component \"a:b\"");
  std::string tag128(128, 't'), tag129(129, 't');
  EXPECT_EQ(canon("a:" + tag128), "docker.io/library/a:" + tag128);
  EXPECT_EQ(error_of("a:" + tag129),
            "reference \"a:" + tag129 + "\": tag longer than 128 characters");
  EXPECT_EQ(error_of("a@sha512:00"),
            "reference \"a@sha512:00\": digest \"sha512:00\": unsupported algorithm \"sha512\"");
  EXPECT_EQ(error_of("a@sha256:abc"),
            "reference \"a@sha256:abc\": digest \"sha256:abc\": not 64 hex digits");
  EXPECT_FALSE(Reference::parse("a@sha256:" + std::string(kHex) + "@x"));
  auto both = Reference::parse("alpine:3.19@sha256:" + std::string(kHex));
  ASSERT_TRUE(both);
  EXPECT_EQ(both->familiar(), "alpine:3.19@sha256:" + std::string(kHex));
}

TEST(ImageReference, RefusesWhatDockerRefuses) {
  EXPECT_EQ(error_of("Alpine"), "reference \"Alpine\": repository name must be lowercase");
  // An uppercase first component is a host name (Hub namespaces are lowercase), as in docker.
  EXPECT_EQ(Reference::parse("Foo/bar")->domain(), "Foo");
  EXPECT_EQ(error_of("Foo/Bar"), "reference \"Foo/Bar\": repository name must be lowercase");
  EXPECT_EQ(error_of("x.io/Foo"), "reference \"x.io/Foo\": repository name must be lowercase");
  EXPECT_EQ(error_of(""), "reference \"\": empty");
  EXPECT_EQ(error_of(":tag"), "reference \":tag\": no repository name");
  EXPECT_EQ(error_of(kHex), std::string("reference \"") + kHex +
                                "\": a 64-hex-digit string names an image id, not a repository");
  EXPECT_EQ(error_of("-x.io/a"), "reference \"-x.io/a\": invalid registry \"-x.io\"");
  EXPECT_EQ(error_of("x.io:0/a"), "reference \"x.io:0/a\": invalid registry \"x.io:0\"");
  EXPECT_EQ(error_of("x.io:65536/a"),
            "reference \"x.io:65536/a\": invalid registry \"x.io:65536\"");
  EXPECT_EQ(error_of("x.io:/a"), "reference \"x.io:/a\": invalid registry \"x.io:\"");
  EXPECT_EQ(error_of("[::1/a"), "reference \"[::1/a\": invalid registry \"[::1\"");
  EXPECT_EQ(error_of("[zz]:1/a"), "reference \"[zz]:1/a\": invalid registry \"[zz]:1\"");
  EXPECT_EQ(error_of("x..io/a"), "reference \"x..io/a\": invalid registry \"x..io\"");
  EXPECT_FALSE(Reference::parse("a b"));
  EXPECT_FALSE(Reference::parse("a\n"));
  EXPECT_FALSE(Reference::parse(std::string("a\0b", 3)));
}

TEST(ImageReference, NameLengthCountsTheNormalisedName) {
  // docker.io/library/ is 18 characters: 237 is the longest one-component Hub name.
  std::string longest(237, 'a');
  EXPECT_EQ(canon(longest), "docker.io/library/" + longest + ":latest");
  EXPECT_EQ(error_of(longest + "a"),
            "reference \"" + longest + "a\": repository name longer than 255 characters");
  std::string huge(5000, 'a');
  EXPECT_TRUE(error_of(huge).ends_with("longer than any valid reference"));
  EXPECT_LT(error_of(huge).size(), 200u);
}

}  // namespace
}  // namespace husk::image
