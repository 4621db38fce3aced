// Pulling an image from a registry into the store (docs/images.md, "Pulling"):
//
//   HUSK_TRY_ASSIGN(Store store, Store::open(Store::default_root()));
//   PullOptions opts;
//   opts.progress = [](const LayerProgress& p) { ... };  // one call per layer event
//   HUSK_TRY_ASSIGN(ImageRecord image, pull_image(store, ref, opts));
//
// The flow: the reference's manifest; an index (manifest list) resolved to opts.platform;
// the config fetched (or found in the store) and checked against the manifest; then, for the
// layers, `parallel` download threads and one extractor run together:
//
//   downloaders: blob i missing? -> Store::begin_blob -> get_blob streams into it (hashed on
//                the way) -> commit;  present (or a concurrent pull wrote it): "already exists"
//   extractor:   layer 0, 1, 2 ... in order, each as soon as its blob is in: Store::put_layer
//                over the one below (a layer already in the store is kept as it is)
//
// then Store::put_image with the tag and the repository digest. A Store::lease() is held
// throughout, so prune and rmi leave the pull's blobs and layers alone.
//
// Failure: the first error stops the other transfers and the extractor; every piece stays in
// the store's tmp/ until it is whole, so nothing half-made is left (a killed pull's tmp/ files
// go at the next prune). Errors read `pull <ref>: <reason>`, e.g.
//   pull 127.0.0.1:5000/x:1: manifest unknown (404)
//   pull 127.0.0.1:5000/x:1: blob sha256:ab..: digest mismatch: expected sha256:ab.., got ...
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "image/registry.h"
#include "image/store.h"

namespace husk::image {

enum class LayerState { kWaiting, kDownloading, kVerifying, kExtracting, kAlreadyExists, kDone };
// "waiting", "downloading", "verifying", "extracting", "already exists", "done".
std::string_view layer_state_name(LayerState s);

struct LayerProgress {
  size_t index = 0;       // in the manifest, base layer first
  std::string id;         // the blob's short digest: 12 hex digits
  LayerState state = LayerState::kWaiting;
  uint64_t bytes = 0;     // downloaded so far (kDownloading), else total when known
  uint64_t total = 0;     // the blob's size
};

// Called for each event, from the pull's threads, never two calls at once. Downloading is
// reported at most every kProgressStepBytes (and at its end), not for every chunk.
using ProgressFn = std::function<void(const LayerProgress&)>;
inline constexpr uint64_t kProgressStepBytes = 256 << 10;

struct PullOptions {
  RegistryOptions registry;
  Platform platform = default_platform();
  unsigned parallel = 3;  // download threads
  ProgressFn progress;
  // Lines for the user: the manifest an index resolved to ("linux/arm64/v8 in the index:
  // sha256:.."), a warning when a lone manifest's config is for another platform.
  std::function<void(std::string_view)> note;
};

struct PullResult {
  ImageRecord image;
  Digest manifest;  // the digest the reference resolved to (an index's, for a list)
  size_t layers_fetched = 0, layers_present = 0;
};

Result<PullResult> pull_image(const Store& store, const Reference& ref, const PullOptions& opts);

struct ImageConfig;
// Whether a config's os and architecture (normalised; the variant is not compared) are
// `want`'s: an index entry without a platform must pass this; for a lone manifest a mismatch
// is only a warning through opts.note, as podman does. The error:
// `image is linux/arm64/v8, not linux/amd64`.
Result<void> check_config_platform(const ImageConfig& config, const Platform& want);

}  // namespace husk::image
