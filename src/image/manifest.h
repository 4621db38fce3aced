// Image manifests and indexes (OCI image-spec v1, Docker schema 2), parsed from a registry's
// or an archive's bytes, and the choice of one platform's image from an index.
//
//   HUSK_TRY_ASSIGN(ParsedManifest m, parse_manifest(body, content_type));
//   if (auto* index = std::get_if<ImageIndex>(&m)) {
//     HUSK_TRY_ASSIGN(Descriptor d, choose_platform(*index, want));  // then fetch d.digest
//   }
//
// Everything here is hostile input. A manifest over 4 MiB, nested over 32 levels, with over
// 1000 layers or entries is refused before it is used; a descriptor's digest is a strict
// sha256 (image/digest.h), its size a non-negative integer below kMaxBlobSize (4 MiB for a
// manifest or a config); `urls` are ignored (never fetched). Refused outright: Docker schema 1
// (deprecated, unsigned content), foreign/non-distributable layers (their bytes live outside the
// registry), configs that are not image configs (OCI artifacts: helm charts, signatures).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/error.h"
#include "image/digest.h"

namespace husk::image {

namespace media {
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerSchema1 =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr std::string_view kDockerLayerGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerLayerZstd =
    "application/vnd.docker.image.rootfs.diff.tar.zstd";
inline constexpr std::string_view kDockerForeignLayer =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kOciForeignLayerPrefix =
    "application/vnd.oci.image.layer.nondistributable.";
}  // namespace media

inline constexpr size_t kMaxManifestBytes = 4 << 20;
inline constexpr int64_t kMaxConfigBytes = 4 << 20;
inline constexpr int64_t kMaxBlobSize = int64_t{1} << 40;  // 1 TiB; 1000 of them fit in int64
inline constexpr size_t kMaxLayers = 1000;
inline constexpr size_t kMaxIndexEntries = 1000;

bool is_manifest_type(std::string_view media_type);  // an image manifest (Docker or OCI)
bool is_index_type(std::string_view media_type);     // a manifest list or an OCI index
bool is_config_type(std::string_view media_type);

enum class Compression { kNone, kGzip, kZstd };
// The compression of a layer media type; foreign and unknown layer types are errors.
Result<Compression> layer_compression(std::string_view media_type);

struct Platform {
  std::string os, architecture, variant;
  // "linux/arm64/v8", "linux/amd64".
  std::string str() const;
  friend bool operator==(const Platform&, const Platform&) = default;
};

// `--platform os/arch[/variant]`, lowercase, with the usual aliases (x86_64 -> amd64,
// aarch64 -> arm64, armhf -> arm/v7, armel -> arm/v6, i386 -> 386), then normalised.
Result<Platform> parse_platform(std::string_view text);
// Defaults filled in: amd64 variant v1 -> "", arm64 "" -> v8, arm "" -> v7, "7" -> v7.
Platform normalize_platform(Platform p);
// linux and the architecture husk was built for.
Platform default_platform();

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::optional<Platform> platform;  // index entries only; as written (not normalised)
};

struct ImageManifest {
  std::string media_type;  // kDockerManifest or kOciManifest
  Descriptor config;
  std::vector<Descriptor> layers;  // base layer first; each has a known compression
};

struct ImageIndex {
  std::string media_type;  // kDockerManifestList or kOciIndex
  std::vector<Descriptor> manifests;
};

using ParsedManifest = std::variant<ImageManifest, ImageIndex>;

// The kind comes from the document's mediaType, else from the HTTP Content-Type (parameters
// ignored), else from its shape ("manifests" -> index, "layers" -> manifest).
Result<ParsedManifest> parse_manifest(std::string_view bytes, std::string_view content_type = {});

// The entry for `want` (normalised first): os, architecture and variant equal after
// normalisation; for arm a lower variant is accepted when no exact one exists (v7, then v6,
// then v5). Among equals the first entry wins. Entries without a platform are taken only when
// nothing matches (the caller then checks the config's os and architecture). Entries that are
// neither manifests nor indexes are skipped. The error lists what the index offers.
Result<Descriptor> choose_platform(const ImageIndex& index, const Platform& want);

}  // namespace husk::image
