#include "image/manifest.h"

#include <algorithm>

#include "image/json_read.h"

namespace husk::image {
namespace {

using json::Json;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

Result<Platform> parse_platform_object(const Json& obj, const std::string& where) {
  if (!obj.is_object()) return fail_quiet(EINVAL, "{}: not an object", where);
  Platform p;
  p.os = HUSK_TRY(json::string_at(obj, "os", where));
  p.architecture = HUSK_TRY(json::string_at(obj, "architecture", where));
  p.variant = HUSK_TRY(json::string_at(obj, "variant", where));
  if (p.os.empty() || p.architecture.empty())
    return fail_quiet(EINVAL, "{}: os and architecture are required", where);
  return p;
}

Result<Descriptor> parse_descriptor(const Json& obj, const std::string& where, int64_t max_size) {
  if (!obj.is_object()) return fail_quiet(EINVAL, "{}: not an object", where);
  Descriptor d;
  d.media_type = HUSK_TRY(json::string_at(obj, "mediaType", where));
  if (d.media_type.empty()) return fail_quiet(EINVAL, "{}.mediaType: missing", where);
  std::string digest = HUSK_TRY(json::string_at(obj, "digest", where));
  auto parsed = Digest::parse(digest);
  if (!parsed) return fail_quiet(EINVAL, "{}.{}", where, parsed.error().message);
  d.digest = *parsed;
  d.size = HUSK_TRY(json::int_at(obj, "size", where, 0, max_size));
  if (const Json* p = json::member(obj, "platform"))
    d.platform = HUSK_TRY(parse_platform_object(*p, where + ".platform"));
  return d;
}

// The document's kind: its mediaType, else the Content-Type, else its shape.
Result<std::string> kind_of(const Json& doc, std::string_view content_type) {
  std::string mt = HUSK_TRY(json::string_at(doc, "mediaType", "manifest"));
  if (mt.empty()) {
    std::string_view ct = content_type.substr(0, content_type.find(';'));
    while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
    mt = lower(ct);
  }
  if (json::member(doc, "schemaVersion") != nullptr &&
      json::member(doc, "schemaVersion")->is_number_integer() &&
      (*json::member(doc, "schemaVersion")).get<int64_t>() == 1)
    mt = media::kDockerSchema1;
  if (mt.empty() || mt == "application/json" || mt == "text/plain" ||
      mt == "application/octet-stream") {
    if (json::member(doc, "manifests") != nullptr) return std::string(media::kOciIndex);
    if (json::member(doc, "layers") != nullptr) return std::string(media::kOciManifest);
    if (json::member(doc, "fsLayers") != nullptr) return std::string(media::kDockerSchema1);
  }
  return mt;
}

Result<ImageManifest> parse_image(const Json& doc, std::string media_type) {
  ImageManifest m;
  m.media_type = std::move(media_type);
  const Json* config = json::member(doc, "config");
  if (config == nullptr) return fail_quiet(EINVAL, "manifest: config: missing");
  m.config = HUSK_TRY(parse_descriptor(*config, "manifest: config", kMaxConfigBytes));
  if (!is_config_type(m.config.media_type))
    return fail_quiet(EINVAL,
                      "manifest: config media type \"{}\": not a container image (an OCI "
                      "artifact?)",
                      m.config.media_type);
  const Json* layers = json::member(doc, "layers");
  if (layers == nullptr || !layers->is_array())
    return fail_quiet(EINVAL, "manifest: layers: missing or not an array");
  if (layers->size() > kMaxLayers)
    return fail_quiet(EINVAL, "manifest: {} layers, more than the {} allowed", layers->size(),
                      kMaxLayers);
  for (size_t i = 0; i < layers->size(); ++i) {
    std::string where = fmt::format("manifest: layers[{}]", i);
    Descriptor d = HUSK_TRY(parse_descriptor((*layers)[i], where, kMaxBlobSize));
    auto c = layer_compression(d.media_type);
    if (!c) return fail_quiet(EINVAL, "{} ({}): {}", where, d.digest.str(), c.error().message);
    m.layers.push_back(std::move(d));
  }
  return m;
}

Result<ImageIndex> parse_index(const Json& doc, std::string media_type) {
  ImageIndex idx;
  idx.media_type = std::move(media_type);
  const Json* entries = json::member(doc, "manifests");
  if (entries == nullptr || !entries->is_array())
    return fail_quiet(EINVAL, "index: manifests: missing or not an array");
  if (entries->size() > kMaxIndexEntries)
    return fail_quiet(EINVAL, "index: {} entries, more than the {} allowed", entries->size(),
                      kMaxIndexEntries);
  for (size_t i = 0; i < entries->size(); ++i) {
    std::string where = fmt::format("index: manifests[{}]", i);
    idx.manifests.push_back(
        HUSK_TRY(parse_descriptor((*entries)[i], where, static_cast<int64_t>(kMaxManifestBytes))));
  }
  return idx;
}

}  // namespace

bool is_manifest_type(std::string_view t) {
  return t == media::kDockerManifest || t == media::kOciManifest;
}
bool is_index_type(std::string_view t) {
  return t == media::kDockerManifestList || t == media::kOciIndex;
}
bool is_config_type(std::string_view t) {
  return t == media::kDockerConfig || t == media::kOciConfig;
}

Result<Compression> layer_compression(std::string_view t) {
  if (t == media::kOciLayer || t == media::kDockerLayer) return Compression::kNone;
  if (t == media::kOciLayerGzip || t == media::kDockerLayerGzip) return Compression::kGzip;
  if (t == media::kOciLayerZstd || t == media::kDockerLayerZstd) return Compression::kZstd;
  if (t == media::kDockerForeignLayer || t.starts_with(media::kOciForeignLayerPrefix))
    return fail_quiet(EOPNOTSUPP,
                      "foreign layer \"{}\" refused: its content lives outside the "
                      "registry (a Windows base layer)",
                      t);
  return fail_quiet(EOPNOTSUPP, "unsupported layer media type \"{}\"", t);
}

Result<ParsedManifest> parse_manifest(std::string_view bytes, std::string_view content_type) {
  HUSK_TRY_ASSIGN(Json doc, json::parse_object(bytes, "manifest", kMaxManifestBytes));
  std::string kind = HUSK_TRY(kind_of(doc, content_type));
  if (kind == media::kDockerSchema1 || kind == media::kDockerSchema1Signed)
    return fail_quiet(EOPNOTSUPP,
                      "manifest: Docker schema 1 is deprecated and not supported "
                      "(push the image again with a current docker, podman or skopeo)");
  int64_t version = HUSK_TRY(json::int_at(doc, "schemaVersion", "manifest", 0, 1000, 2));
  if (version != 2) return fail_quiet(EINVAL, "manifest: schemaVersion {}: not 2", version);
  if (is_manifest_type(kind)) return HUSK_TRY(parse_image(doc, std::move(kind)));
  if (is_index_type(kind)) return HUSK_TRY(parse_index(doc, std::move(kind)));
  return fail_quiet(EOPNOTSUPP, "manifest: unsupported media type \"{}\"", kind);
}

}  // namespace husk::image
