// husk pull's engine (image/pull.h): manifest, platform, config, then parallel downloads
// pipelined with in-order extraction.
#include "image/pull.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <variant>
#include <vector>

#include "image/config.h"

namespace husk::image {
namespace {

constexpr int kMaxIndexDepth = 2;  // an index may point at one more index, no deeper

std::string short_id(const Digest& d) { return std::string(d.hex().substr(0, 12)); }

// The manifest the reference names, through at most kMaxIndexDepth indexes.
struct Resolved {
  FetchedManifest top, chosen;
  ImageManifest manifest;
  bool unlabelled = false;  // chosen from an index entry that named no platform
};

Result<Resolved> resolve(RegistryClient& client, const PullOptions& opts) {
  Resolved out;
  HUSK_TRY_ASSIGN(out.top, client.get_manifest());
  out.chosen = out.top;
  HUSK_TRY_ASSIGN(ParsedManifest parsed,
                  parse_manifest(out.chosen.bytes, out.chosen.content_type)
                      .context("manifest {}", out.chosen.digest.str()));
  for (int depth = 0; std::holds_alternative<ImageIndex>(parsed); ++depth) {
    if (depth == kMaxIndexDepth)
      return fail_quiet(ELOOP, "manifest {}: indexes nested deeper than {}",
                        out.chosen.digest.str(), kMaxIndexDepth);
    HUSK_TRY_ASSIGN(Descriptor d, choose_platform(std::get<ImageIndex>(parsed), opts.platform));
    out.unlabelled = !d.platform.has_value();
    HUSK_TRY_ASSIGN(out.chosen, client.get_manifest(d.digest));
    HUSK_TRY_ASSIGN(parsed, parse_manifest(out.chosen.bytes, out.chosen.content_type)
                                .context("manifest {}", d.digest.str()));
    if (opts.note)
      opts.note(fmt::format("{} in the index: {}", normalize_platform(opts.platform).str(),
                            d.digest.str()));
  }
  out.manifest = std::get<ImageManifest>(std::move(parsed));
  return out;
}

Result<std::string> fetch_config(const Store& store, RegistryClient& client,
                                 const Descriptor& config) {
  if (store.has_blob(config.digest)) return store.read_blob(config.digest, kMaxConfigBytes);
  if (config.size > kMaxConfigBytes)
    return fail_quiet(EFBIG, "config {}: {} bytes, more than {}", config.digest.str(), config.size,
                      kMaxConfigBytes);
  std::string bytes;
  HUSK_TRY(client.get_blob(config, [&](std::span<const uint8_t> b) -> Result<void> {
    bytes.append(reinterpret_cast<const char*>(b.data()), b.size());
    return ok();
  }));
  return bytes;
}

// The layers' downloads and extraction, sharing one state.
class LayerJob {
 public:
  LayerJob(const Store& store, RegistryClient& client, const PullOptions& opts,
           const ImageManifest& m, const ImageConfig& cfg)
      : store_(store), client_(client), opts_(opts), m_(m), cfg_(cfg),
        chains_(chain_ids(cfg.diff_ids)),
        already_(m.layers.size(), false),
        blob_ready_(m.layers.size(), false) {}

  Result<void> run(PullResult& result) {
    const size_t n = m_.layers.size();
    std::vector<size_t> to_fetch;
    for (size_t i = 0; i < n; ++i) {
      const Descriptor& d = m_.layers[i];
      if (store_.has_blob(d.digest)) {
        blob_ready_[i] = already_[i] = true;
        ++result.layers_present;
        emit(i, LayerState::kAlreadyExists, static_cast<uint64_t>(d.size));
      } else {
        to_fetch.push_back(i);
        emit(i, LayerState::kWaiting, 0);
      }
    }
    std::vector<std::thread> threads;
    size_t workers = std::min<size_t>(std::max(1u, opts_.parallel), to_fetch.size());
    for (size_t t = 0; t < workers; ++t)
      threads.emplace_back([this, &to_fetch, &result] { download_loop(to_fetch, result); });
    extract_all();
    for (std::thread& t : threads) t.join();
    if (first_error_) return std::unexpected(std::move(*first_error_));
    return ok();
  }

 private:
  void emit(size_t i, LayerState s, uint64_t bytes) {
    if (!opts_.progress) return;
    LayerProgress p{i, short_id(m_.layers[i].digest), s, bytes,
                    static_cast<uint64_t>(m_.layers[i].size)};
    std::lock_guard lock(progress_mu_);
    opts_.progress(p);
  }

  void failed(Error e) {
    std::lock_guard lock(mu_);
    if (!first_error_) first_error_ = std::move(e);
    stop_ = true;
    cv_.notify_all();
  }

  void download_loop(const std::vector<size_t>& to_fetch, PullResult& result) {
    for (;;) {
      size_t i;
      {
        std::lock_guard lock(mu_);
        if (stop_ || next_ >= to_fetch.size()) return;
        i = to_fetch[next_++];
      }
      auto fetched = download(i);
      if (!fetched) return failed(std::move(fetched).error());
      std::lock_guard lock(mu_);
      blob_ready_[i] = true;
      if (*fetched) ++result.layers_fetched; else ++result.layers_present;
      cv_.notify_all();
    }
  }

  // true: fetched by this pull; false: present after all (a concurrent pull wrote it).
  Result<bool> download(size_t i) {
    const Descriptor& d = m_.layers[i];
    const uint64_t total = static_cast<uint64_t>(d.size);
    HUSK_TRY_ASSIGN(std::optional<BlobWriter> w, store_.begin_blob(d.digest, total));
    if (!w) {
      emit(i, LayerState::kAlreadyExists, total);
      return false;
    }
    emit(i, LayerState::kDownloading, 0);
    uint64_t reported = 0;
    HUSK_TRY(client_.get_blob(d, [&](std::span<const uint8_t> b) -> Result<void> {
      if (stopping()) return fail_quiet(ECANCELED, "cancelled");
      HUSK_TRY(w->write({reinterpret_cast<const char*>(b.data()), b.size()}));
      if (w->written() - reported >= kProgressStepBytes) {
        reported = w->written();
        emit(i, LayerState::kDownloading, reported);
      }
      return ok();
    }));
    if (reported != w->written()) emit(i, LayerState::kDownloading, w->written());
    emit(i, LayerState::kVerifying, total);
    HUSK_TRY(w->commit());
    return true;
  }

  bool stopping() {
    std::lock_guard lock(mu_);
    return stop_;
  }

  // Layer by layer, base first: each waits for its blob, then unpacks over the one below.
  void extract_all() {
    for (size_t i = 0; i < m_.layers.size(); ++i) {
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stop_ || blob_ready_[i]; });
        if (stop_) return;
      }
      if (store_.has_layer(chains_[i])) {
        if (!reported_present(i)) emit(i, LayerState::kDone, m_.layers[i].size);
        continue;
      }
      emit(i, LayerState::kExtracting, m_.layers[i].size);
      std::optional<Digest> parent;
      if (i > 0) parent = chains_[i - 1];
      auto l = store_.put_layer(parent, m_.layers[i].digest, cfg_.diff_ids[i]);
      if (!l) return failed(std::move(l).error());
      emit(i, LayerState::kDone, m_.layers[i].size);
    }
  }

  // A layer whose blob was in the store before the pull started and is unpacked already:
  // its "already exists" was its last word.
  bool reported_present(size_t i) const { return already_[i]; }

  const Store& store_;
  RegistryClient& client_;
  const PullOptions& opts_;
  const ImageManifest& m_;
  const ImageConfig& cfg_;
  std::vector<Digest> chains_;
  std::vector<bool> already_;

  std::mutex mu_;  // guards what follows
  std::condition_variable cv_;
  std::vector<bool> blob_ready_;
  size_t next_ = 0;
  bool stop_ = false;
  std::optional<Error> first_error_;

  std::mutex progress_mu_;
};

Result<PullResult> pull(const Store& store, const Reference& ref, const PullOptions& opts) {
  HUSK_TRY_ASSIGN(Store::Lease lease, store.lease());
  RegistryClient client(ref, opts.registry);
  HUSK_TRY_ASSIGN(Resolved r, resolve(client, opts));
  const ImageManifest& m = r.manifest;
  HUSK_TRY_ASSIGN(std::string config_bytes, fetch_config(store, client, m.config));
  HUSK_TRY_ASSIGN(ImageConfig cfg,
                  parse_config(config_bytes).context("config {}", m.config.digest.str()));
  HUSK_TRY(check_manifest_config(m, cfg).context("config {}", m.config.digest.str()));
  if (auto p = check_config_platform(cfg, opts.platform); !p) {
    if (r.unlabelled) return std::unexpected(std::move(p).error());  // the index did not say
    if (r.chosen.digest == r.top.digest && opts.note) opts.note("warning: " + p.error().what());
  }

  PullResult result;
  result.manifest = r.top.digest;
  LayerJob job(store, client, opts, m, cfg);
  HUSK_TRY(job.run(result));

  ImageInput in;
  in.manifest = r.chosen.bytes;
  in.manifest_digest = r.chosen.digest;
  in.config = config_bytes;
  if (!ref.tag().empty()) in.tags.push_back(ref.name() + ":" + ref.tag());
  in.repos.push_back(ref.name());
  HUSK_TRY_ASSIGN(result.image, store.put_image(in));
  return result;
}

}  // namespace

Result<void> check_config_platform(const ImageConfig& config, const Platform& want) {
  Platform w = normalize_platform(want);
  Platform have = normalize_platform({config.os, config.architecture, config.variant});
  if (have.os != w.os || have.architecture != w.architecture)
    return fail_quiet(ENOENT, "image is {}, not {}", have.str(), w.str());
  return ok();
}

std::string_view layer_state_name(LayerState s) {
  switch (s) {
    case LayerState::kWaiting: return "waiting";
    case LayerState::kDownloading: return "downloading";
    case LayerState::kVerifying: return "verifying";
    case LayerState::kExtracting: return "extracting";
    case LayerState::kAlreadyExists: return "already exists";
    case LayerState::kDone: return "done";
  }
  return "?";
}

Result<PullResult> pull_image(const Store& store, const Reference& ref, const PullOptions& opts) {
  return pull(store, ref, opts).context("pull {}", ref.familiar());
}

}  // namespace husk::image
