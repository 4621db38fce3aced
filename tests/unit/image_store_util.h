// Layers and images for the store tests: tar layers with known digests, and a manifest and
// config that name them, put into a store the way a pull would.
#pragma once

#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "image/digest.h"
#include "image/store.h"
#include "image_tar_util.h"

namespace husk::test {

struct TestLayer {
  std::string blob;      // the tar (uncompressed: its digest is its diff_id)
  image::Digest digest;  // = diff_id
};

inline TestLayer make_layer(const std::vector<TarSpec>& entries) {
  TestLayer l;
  l.blob = make_tar(entries);
  l.digest = image::sha256_of(l.blob);
  return l;
}

// One layer holding `name` with `data`.
inline TestLayer file_layer(const std::string& name, const std::string& data) {
  return make_layer({file(name, data)});
}

struct TestImage {
  std::vector<TestLayer> layers;
  std::string config, manifest;
  image::Digest config_digest, manifest_digest;
};

inline TestImage make_image(std::vector<TestLayer> layers, const std::string& created =
                                                               "2024-01-01T00:00:00Z") {
  TestImage t;
  t.layers = std::move(layers);
  nlohmann::json diff_ids = nlohmann::json::array(), descs = nlohmann::json::array();
  for (const TestLayer& l : t.layers) {
    diff_ids.push_back(l.digest.str());
    descs.push_back({{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                     {"digest", l.digest.str()},
                     {"size", l.blob.size()}});
  }
  nlohmann::json config = {{"architecture", "amd64"},
                           {"os", "linux"},
                           {"created", created},
                           {"config", {{"Cmd", {"/bin/sh"}}}},
                           {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
  t.config = config.dump();
  t.config_digest = image::sha256_of(t.config);
  nlohmann::json manifest = {
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
      {"config",
       {{"mediaType", "application/vnd.oci.image.config.v1+json"},
        {"digest", t.config_digest.str()},
        {"size", t.config.size()}}},
      {"layers", descs}};
  t.manifest = manifest.dump();
  t.manifest_digest = image::sha256_of(t.manifest);
  return t;
}

// Blobs, layers (in order), then the image, as a pull does.
inline Result<image::ImageRecord> put_test_image(const image::Store& s, const TestImage& t,
                                                 std::vector<std::string> tags,
                                                 std::vector<std::string> repos = {}) {
  std::optional<image::Digest> parent;
  for (const TestLayer& l : t.layers) {
    HUSK_TRY(s.put_blob(l.blob, l.digest));
    HUSK_TRY_ASSIGN(image::LayerInfo info, s.put_layer(parent, l.digest, l.digest));
    parent = info.chain_id;
  }
  return s.put_image({.manifest = t.manifest,
                      .manifest_digest = t.manifest_digest,
                      .config = t.config,
                      .tags = std::move(tags),
                      .repos = std::move(repos)});
}

}  // namespace husk::test
