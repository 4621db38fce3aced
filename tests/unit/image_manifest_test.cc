#include <gtest/gtest.h>

#include <string>

#include "image/manifest.h"

namespace husk::image {
namespace {

// "@N" in a fixture stands for the digest sha256:NNNN... (64 times the hex digit N).
std::string dg(char c) { return "sha256:" + std::string(64, c); }
std::string fill(std::string s) {
  for (size_t at = s.find('@'); at != std::string::npos; at = s.find('@', at + 1))
    s.replace(at, 2, dg(s[at + 1]));
  return s;
}

// Modelled on what docker.io serves for busybox (a Docker manifest list).
const std::string kBusyboxList = fill(R"({
  "manifests": [
    {"digest": "@1", "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
     "platform": {"architecture": "amd64", "os": "linux"}, "size": 528},
    {"digest": "@2", "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
     "platform": {"architecture": "arm", "os": "linux", "variant": "v5"}, "size": 528},
    {"digest": "@3", "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
     "platform": {"architecture": "arm", "os": "linux", "variant": "v6"}, "size": 528},
    {"digest": "@4", "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
     "platform": {"architecture": "arm", "os": "linux", "variant": "v7"}, "size": 528},
    {"digest": "@5", "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
     "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}, "size": 528},
    {"digest": "@6", "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
     "platform": {"architecture": "386", "os": "linux"}, "size": 528},
    {"digest": "@7", "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
     "platform": {"architecture": "ppc64le", "os": "linux"}, "size": 528},
    {"digest": "@8", "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
     "platform": {"architecture": "riscv64", "os": "linux"}, "size": 528}
  ],
  "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
  "schemaVersion": 2
})");

// Modelled on alpine's OCI index today: images plus buildx attestation manifests.
const std::string kAlpineIndex = fill(R"({
  "manifests": [
    {"annotations": {"com.docker.official-images.bashbrew.arch": "amd64",
                     "org.opencontainers.image.base.name": "scratch"},
     "digest": "@a", "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "platform": {"architecture": "amd64", "os": "linux"}, "size": 1022},
    {"annotations": {"vnd.docker.reference.digest": "@a",
                     "vnd.docker.reference.type": "attestation-manifest"},
     "digest": "@b", "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "platform": {"architecture": "unknown", "os": "unknown"}, "size": 840},
    {"digest": "@c", "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "platform": {"architecture": "arm", "os": "linux", "variant": "v6"}, "size": 1025},
    {"digest": "@d", "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}, "size": 1025},
    {"digest": "@e", "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "platform": {"architecture": "s390x", "os": "linux"}, "size": 1022,
     "urls": ["https://example.invalid/never-fetched"]}
  ],
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "schemaVersion": 2
})");

// A Docker schema 2 manifest as docker.io serves for busybox:latest on amd64.
const std::string kBusyboxManifest = fill(R"({
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 1457,
      "digest": "@9"
   },
   "layers": [
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 2152262,
         "digest": "@f"
      }
   ]
})");

const std::string kOciManifest = fill(R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "@1", "size": 581},
  "layers": [
    {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "@2", "size": 3408729},
    {"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd", "digest": "@3", "size": 10},
    {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "@4", "size": 0}
  ],
  "annotations": {"org.opencontainers.image.created": "2024-01-27T00:00:00Z"}
})");

std::string error_of(std::string_view bytes, std::string_view content_type = {}) {
  auto r = parse_manifest(bytes, content_type);
  return r ? "parsed" : r.error().what();
}

ImageIndex index_of(const std::string& bytes) {
  auto r = parse_manifest(bytes);
  EXPECT_TRUE(r) << r.error().what();
  return std::get<ImageIndex>(*r);
}

std::string chosen(const ImageIndex& idx, std::string_view platform) {
  auto p = parse_platform(platform);
  if (!p) return p.error().what();
  auto d = choose_platform(idx, *p);
  return d ? d->digest.str() : d.error().what();
}

TEST(ImageManifest, ParsesADockerSchema2Manifest) {
  auto r = parse_manifest(kBusyboxManifest);
  ASSERT_TRUE(r) << r.error().what();
  auto& m = std::get<ImageManifest>(*r);
  EXPECT_EQ(m.media_type, media::kDockerManifest);
  EXPECT_EQ(m.config.media_type, media::kDockerConfig);
  EXPECT_EQ(m.config.digest.str(), dg('9'));
  EXPECT_EQ(m.config.size, 1457);
  ASSERT_EQ(m.layers.size(), 1u);
  EXPECT_EQ(m.layers[0].size, 2152262);
  EXPECT_EQ(m.layers[0].digest.str(), dg('f'));
  EXPECT_EQ(*layer_compression(m.layers[0].media_type), Compression::kGzip);
}

TEST(ImageManifest, ParsesAnOciManifestWithEveryCompression) {
  auto r = parse_manifest(kOciManifest);
  ASSERT_TRUE(r) << r.error().what();
  auto& m = std::get<ImageManifest>(*r);
  EXPECT_EQ(m.media_type, media::kOciManifest);
  ASSERT_EQ(m.layers.size(), 3u);
  EXPECT_EQ(*layer_compression(m.layers[0].media_type), Compression::kGzip);
  EXPECT_EQ(*layer_compression(m.layers[1].media_type), Compression::kZstd);
  EXPECT_EQ(*layer_compression(m.layers[2].media_type), Compression::kNone);
  EXPECT_EQ(*layer_compression(media::kDockerLayer), Compression::kNone);
  EXPECT_EQ(*layer_compression(media::kDockerLayerZstd), Compression::kZstd);
}

TEST(ImageManifest, TheKindComesFromMediaTypeThenContentTypeThenShape) {
  std::string no_type = kOciManifest;
  no_type.erase(no_type.find("\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\","), 59);
  ASSERT_EQ(no_type.find("manifest.v1+json"), std::string::npos) << no_type;
  auto by_shape = parse_manifest(no_type);
  ASSERT_TRUE(by_shape) << by_shape.error().what();
  EXPECT_EQ(std::get<ImageManifest>(*by_shape).media_type, media::kOciManifest);
  auto by_header = parse_manifest(
      no_type, "application/vnd.docker.distribution.manifest.v2+json; charset=utf-8");
  ASSERT_TRUE(by_header) << by_header.error().what();
  EXPECT_EQ(std::get<ImageManifest>(*by_header).media_type, media::kDockerManifest);
  // The document's own mediaType wins over the header.
  auto r = parse_manifest(kBusyboxList, "application/vnd.oci.image.manifest.v1+json");
  ASSERT_TRUE(r);
  EXPECT_EQ(std::get<ImageIndex>(*r).media_type, media::kDockerManifestList);
  EXPECT_EQ(error_of(R"({"schemaVersion":2,"mediaType":"application/vnd.foo+json"})"),
            "manifest: unsupported media type \"application/vnd.foo+json\"");
}

TEST(ImageManifest, RefusesSchema1ForeignLayersAndArtifacts) {
  std::string schema1 = R"({"schemaVersion": 1, "name": "library/busybox", "tag": "latest",
    "architecture": "amd64", "fsLayers": [{"blobSum": "sha256:00"}], "history": []})";
  EXPECT_EQ(error_of(schema1),
            "manifest: Docker schema 1 is deprecated and not supported (push the image again "
            "with a current docker, podman or skopeo)");
  EXPECT_TRUE(error_of("{}", "application/vnd.docker.distribution.manifest.v1+prettyjws")
                  .starts_with("manifest: Docker schema 1"));

  std::string foreign = kBusyboxManifest;
  foreign.replace(foreign.find("rootfs.diff.tar.gzip"), 20, "rootfs.foreign.diff.tar.gzip");
  EXPECT_EQ(error_of(foreign), "manifest: layers[0] (" + dg('f') +
                                   "): foreign layer "
                                   "\"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip\" "
                                   "refused: its content lives outside the registry (a Windows "
                                   "base layer)");
  std::string nondist = kOciManifest;
  nondist.replace(nondist.find("layer.v1.tar+zstd"), 17, "layer.nondistributable.v1.tar+gzip");
  EXPECT_TRUE(error_of(nondist).starts_with("manifest: layers[1] (" + dg('3') + "): foreign layer"))
      << error_of(nondist);
  std::string odd = kOciManifest;
  odd.replace(odd.find("layer.v1.tar\""), 13, "layer.v1.tar+bzip2\"");
  EXPECT_EQ(error_of(odd), "manifest: layers[2] (" + dg('4') +
                               "): unsupported layer media type "
                               "\"application/vnd.oci.image.layer.v1.tar+bzip2\"");
  std::string helm = kOciManifest;
  helm.replace(helm.find("application/vnd.oci.image.config.v1+json"), 40,
               "application/vnd.cncf.helm.config.v1+json");
  EXPECT_EQ(error_of(helm),
            "manifest: config media type \"application/vnd.cncf.helm.config.v1+json\": not a "
            "container image (an OCI artifact?)");
}

TEST(ImageManifest, DescriptorsAreChecked) {
  auto with = [](std::string from, std::string_view what, std::string_view by) {
    from.replace(from.find(what), what.size(), by);
    return error_of(from);
  };
  EXPECT_EQ(with(kBusyboxManifest, "\"size\": 2152262", "\"size\": -1"),
            "manifest: layers[0].size: -1 is outside 0..1099511627776");
  EXPECT_EQ(with(kBusyboxManifest, "\"size\": 2152262", "\"size\": 2152262.5"),
            "manifest: layers[0].size: not an integer");
  EXPECT_EQ(with(kBusyboxManifest, "\"size\": 2152262", "\"size\": \"12\""),
            "manifest: layers[0].size: not an integer");
  EXPECT_EQ(with(kBusyboxManifest, "\"size\": 2152262", "\"size\": 18446744073709551615"),
            "manifest: layers[0].size: 18446744073709551615 is more than 1099511627776");
  EXPECT_EQ(with(kBusyboxManifest, "\"size\": 1457", "\"size\": 4194305"),
            "manifest: config.size: 4194305 is more than 4194304");
  EXPECT_EQ(with(kBusyboxManifest, "\"size\": 1457,", ""), "manifest: config.size: missing");
  EXPECT_EQ(with(kBusyboxManifest, dg('f'), "sha256:../../etc"),
            "manifest: layers[0].digest \"sha256:../../etc\": not 64 hex digits");
  EXPECT_EQ(with(kBusyboxManifest, dg('f'), "md5:00"),
            "manifest: layers[0].digest \"md5:00\": unsupported algorithm \"md5\"");
  EXPECT_EQ(with(kBusyboxManifest, "\"digest\": \"" + dg('f') + "\"", "\"digest\": 5"),
            "manifest: layers[0].digest: not a string");
  EXPECT_EQ(with(kBusyboxManifest, "\"schemaVersion\": 2", "\"schemaVersion\": 3"),
            "manifest: schemaVersion 3: not 2");
  EXPECT_EQ(with(kBusyboxList, "\"size\": 528", "\"size\": 4194305"),
            "index: manifests[0].size: 4194305 is more than 4194304");
  EXPECT_EQ(with(kBusyboxList, "\"os\": \"linux\"}", "\"os\": 7}"),
            "index: manifests[0].platform.os: not a string");
  EXPECT_EQ(with(kBusyboxList, "\"os\": \"linux\"}", "\"os\": \"\"}"),
            "index: manifests[0].platform: os and architecture are required");
}

TEST(ImageManifest, BoundsSizeDepthLayersAndEntries) {
  std::string big(kMaxManifestBytes + 1, ' ');
  EXPECT_EQ(error_of(big), "manifest: 4194305 bytes, more than the 4194304 allowed");
  EXPECT_EQ(error_of(std::string(100, '[') + std::string(100, ']')),
            "manifest: invalid JSON: nested deeper than 32 levels");
  EXPECT_EQ(error_of("{\"a\":"), "manifest: invalid JSON");
  EXPECT_EQ(error_of("[]"), "manifest: not a JSON object");

  std::string layer = fill(
      R"({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "@2", "size": 1})");
  auto manifest_with = [&](size_t n) {
    std::string layers;
    for (size_t i = 0; i < n; ++i) layers += (i ? "," : "") + layer;
    return fill(R"({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "@1",
      "size": 5}, "layers": [)") +
           layers + "]}";
  };
  auto ok = parse_manifest(manifest_with(1000));
  ASSERT_TRUE(ok) << ok.error().what();
  EXPECT_EQ(std::get<ImageManifest>(*ok).layers.size(), 1000u);
  EXPECT_EQ(error_of(manifest_with(1001)), "manifest: 1001 layers, more than the 1000 allowed");
  EXPECT_TRUE(parse_manifest(manifest_with(0)));  // FROM scratch with only metadata

  std::string entry = fill(
      R"({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "@2", "size": 1})");
  std::string entries;
  for (size_t i = 0; i < 1001; ++i) entries += (i ? "," : "") + entry;
  EXPECT_EQ(error_of(R"({"schemaVersion": 2, "manifests": [)" + entries + "]}"),
            "index: 1001 entries, more than the 1000 allowed");
}

TEST(ImagePlatform, ParsesAndNormalises) {
  auto str = [](std::string_view t) {
    auto p = parse_platform(t);
    return p ? p->str() : p.error().what();
  };
  EXPECT_EQ(str("linux/amd64"), "linux/amd64");
  EXPECT_EQ(str("Linux/X86_64"), "linux/amd64");
  EXPECT_EQ(str("linux/amd64/v1"), "linux/amd64");
  EXPECT_EQ(str("linux/amd64/v3"), "linux/amd64/v3");
  EXPECT_EQ(str("linux/aarch64"), "linux/arm64/v8");
  EXPECT_EQ(str("linux/arm64"), "linux/arm64/v8");
  EXPECT_EQ(str("linux/arm"), "linux/arm/v7");
  EXPECT_EQ(str("linux/arm/6"), "linux/arm/v6");
  EXPECT_EQ(str("linux/armhf"), "linux/arm/v7");
  EXPECT_EQ(str("linux/armel"), "linux/arm/v6");
  EXPECT_EQ(str("linux/i386"), "linux/386");
  EXPECT_EQ(str("amd64"), "platform \"amd64\": not os/architecture[/variant]");
  EXPECT_EQ(str("linux/arm/v7/x"), "platform \"linux/arm/v7/x\": not os/architecture[/variant]");
  EXPECT_EQ(str("linux//v7"), "platform \"linux//v7\": invalid part \"\"");
  EXPECT_EQ(str("linux/a b"), "platform \"linux/a b\": invalid part \"a b\"");
  EXPECT_EQ(default_platform().os, "linux");
#if defined(__x86_64__)
  EXPECT_EQ(default_platform().str(), "linux/amd64");
#endif
}

TEST(ImagePlatform, ChoosesFromADockerManifestList) {
  ImageIndex list = index_of(kBusyboxList);
  EXPECT_EQ(list.manifests.size(), 8u);
  EXPECT_EQ(chosen(list, "linux/amd64"), dg('1'));
  EXPECT_EQ(chosen(list, "linux/arm64"), dg('5'));
  EXPECT_EQ(chosen(list, "linux/arm64/v8"), dg('5'));
  EXPECT_EQ(chosen(list, "linux/arm"), dg('4'));
  EXPECT_EQ(chosen(list, "linux/arm/v6"), dg('3'));
  EXPECT_EQ(chosen(list, "linux/arm/v5"), dg('2'));
  EXPECT_EQ(chosen(list, "linux/386"), dg('6'));
  EXPECT_EQ(chosen(list, "linux/s390x"),
            "no image for linux/s390x in the index: it offers linux/amd64, linux/arm/v5, "
            "linux/arm/v6, linux/arm/v7, linux/arm64/v8, linux/386, linux/ppc64le, "
            "linux/riscv64");
  EXPECT_EQ(chosen(list, "windows/amd64").substr(0, 44),
            "no image for windows/amd64 in the index: it ");
  // amd64/v3 hosts are not assumed: plain amd64 does not take a v3-only image.
  EXPECT_EQ(chosen(list, "linux/amd64/v3").substr(0, 36), "no image for linux/amd64/v3 in the i");
}

TEST(ImagePlatform, ArmFallsBackToOlderVariantsInOrder) {
  ImageIndex alpine = index_of(kAlpineIndex);
  EXPECT_EQ(chosen(alpine, "linux/arm/v7"), dg('c'));  // only v6 there
  EXPECT_EQ(chosen(alpine, "linux/arm/v5"),
            "no image for linux/arm/v5 in the index: it offers linux/amd64, linux/arm/v6, "
            "linux/arm64/v8, linux/s390x");  // the attestation is not offered
  EXPECT_EQ(chosen(alpine, "linux/arm64"), dg('d'));
  EXPECT_EQ(chosen(alpine, "linux/s390x"), dg('e'));
  // v7 before v5, whatever the order in the index.
  ImageIndex reordered = alpine;
  reordered.manifests = {index_of(kBusyboxList).manifests[1], index_of(kBusyboxList).manifests[3],
                         index_of(kBusyboxList).manifests[2]};
  EXPECT_EQ(chosen(reordered, "linux/arm/v8"), dg('4'));
  EXPECT_EQ(chosen(reordered, "linux/arm/v7"), dg('4'));
  EXPECT_EQ(chosen(reordered, "linux/arm/v6"), dg('3'));
}

TEST(ImagePlatform, UnlabelledEntriesAreTheLastResortAndOthersAreSkipped) {
  ImageIndex idx;
  Descriptor bare{std::string(media::kOciManifest), *Digest::parse(dg('1')), 10, std::nullopt};
  Descriptor blob{"application/vnd.oci.image.layer.v1.tar", *Digest::parse(dg('2')), 10,
                  Platform{"linux", "amd64", ""}};
  Descriptor arm{std::string(media::kOciIndex), *Digest::parse(dg('3')), 10,
                 Platform{"linux", "arm64", ""}};
  idx.manifests = {bare, blob, arm};
  EXPECT_EQ(chosen(idx, "linux/arm64"), dg('3'));
  EXPECT_EQ(chosen(idx, "linux/amd64"), dg('1'));  // not the blob: it is no manifest
  idx.manifests = {blob};
  EXPECT_EQ(chosen(idx, "linux/amd64"),
            "no image for linux/amd64 in the index: it lists no images");
}

}  // namespace
}  // namespace husk::image
