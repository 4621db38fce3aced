// Image records, tags.json, resolving names and container holds (store.h).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "base/file.h"
#include "image/config.h"
#include "image/json_read.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "image/store.h"
#include "image/store_images.h"
#include "image/store_util.h"
#include "sys/process.h"

namespace husk::image {

namespace su = store_util;

namespace store_records {

std::string record_json(const ImageRecord& r) {
  json::Json j = {{"id", r.id.str()},
                  {"manifest", r.manifest.str()},
                  {"manifest_media_type", r.manifest_media_type},
                  {"layers", json::Json::array()},
                  {"layer_blobs", json::Json::array()},
                  {"repo_digests", r.repo_digests},
                  {"created", r.created},
                  {"size", r.size}};
  for (const Digest& d : r.layers) j["layers"].push_back(d.str());
  for (const Digest& d : r.layer_blobs) j["layer_blobs"].push_back(d.str());
  return j.dump(2) + "\n";
}

namespace {

Result<std::vector<Digest>> digests_at(const json::Json& j, const char* key,
                                       const std::string& what) {
  HUSK_TRY_ASSIGN(auto texts, json::strings_at(j, key, what, kMaxLayers));
  std::vector<Digest> out;
  for (const std::string& t : texts.value_or(std::vector<std::string>{})) {
    HUSK_TRY_ASSIGN(Digest d, Digest::parse(t).context("{}: {}", what, key));
    out.push_back(d);
  }
  return out;
}

}  // namespace

Result<ImageRecord> parse_record(std::string_view text, const std::string& what) {
  HUSK_TRY_ASSIGN(json::Json j, json::parse_object(text, what, kMaxRecordBytes));
  ImageRecord r;
  HUSK_TRY_ASSIGN(std::string id, json::string_at(j, "id", what));
  HUSK_TRY_ASSIGN(r.id, Digest::parse(id).context("{}: id", what));
  HUSK_TRY_ASSIGN(std::string manifest, json::string_at(j, "manifest", what));
  HUSK_TRY_ASSIGN(r.manifest, Digest::parse(manifest).context("{}: manifest", what));
  HUSK_TRY_ASSIGN(r.manifest_media_type, json::string_at(j, "manifest_media_type", what));
  HUSK_TRY_ASSIGN(r.layers, digests_at(j, "layers", what));
  HUSK_TRY_ASSIGN(r.layer_blobs, digests_at(j, "layer_blobs", what));
  HUSK_TRY_ASSIGN(auto repo_digests, json::strings_at(j, "repo_digests", what, kMaxConfigItems));
  r.repo_digests = repo_digests.value_or(std::vector<std::string>{});
  HUSK_TRY_ASSIGN(r.created, json::string_at(j, "created", what));
  HUSK_TRY_ASSIGN(int64_t size, json::int_at(j, "size", what, 0, INT64_MAX));
  r.size = static_cast<uint64_t>(size);
  if (r.layers.size() != r.layer_blobs.size())
    return fail_quiet(EINVAL, "{}: layers and layer_blobs differ in length", what);
  return r;
}

Result<Tags> read_tags(const std::string& path) {
  Tags tags;
  auto text = read_file(path);
  if (!text) {
    if (text.error().code == ENOENT) return tags;
    return std::unexpected(text.error());
  }
  HUSK_TRY_ASSIGN(json::Json j, json::parse_object(*text, path, 16 * kMaxRecordBytes));
  for (const auto& [name, id] : j.items()) {
    if (!id.is_string()) return fail_quiet(EINVAL, "{}: {}: not a string", path, name);
    HUSK_TRY_ASSIGN(Digest d, Digest::parse(id.get<std::string>()).context("{}: {}", path, name));
    tags[name] = d;
  }
  return tags;
}

Result<void> write_tags(const std::string& path, const Tags& tags) {
  json::Json j = json::Json::object();
  for (const auto& [name, id] : tags) j[name] = id.str();
  return write_file_atomic(path, j.dump(2) + "\n", 0600);
}

std::vector<std::string> tags_of(const Tags& tags, const Digest& id) {
  std::vector<std::string> out;
  for (const auto& [name, d] : tags)
    if (d == id) out.push_back(name);
  return out;
}

Result<void> check_container_name(std::string_view c) {
  bool good = !c.empty() && c.size() <= 128 && std::isalnum(static_cast<unsigned char>(c[0]));
  for (char ch : c)
    good = good && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' ||
                    ch == '-');
  if (!good) return fail_quiet(EINVAL, "container \"{}\": not a valid container name", c);
  return ok();
}

}  // namespace store_records

using namespace store_records;

Result<std::vector<ImageRecord>> Store::read_records() const {
  std::vector<ImageRecord> out;
  HUSK_TRY_ASSIGN(auto names, list_dir(path("images")));
  for (const std::string& name : names) {
    if (!name.ends_with(".json")) continue;  // write_file_atomic's temp files
    std::string p = path("images/" + name);
    HUSK_TRY_ASSIGN(std::string text, read_file(p));
    HUSK_TRY_ASSIGN(ImageRecord r, parse_record(text, p));
    if (name != std::string(r.id.hex()) + ".json")
      return fail_quiet(EINVAL, "{}: holds image {}", p, r.id.str());
    out.push_back(std::move(r));
  }
  return out;
}

namespace {

struct CheckedImage {
  ImageManifest manifest;
  ImageConfig config;
  std::string created;
};

Result<CheckedImage> check_input(const ImageInput& in) {
  Digest got = sha256_of(in.manifest);
  if (got != in.manifest_digest)
    return fail_quiet(EINVAL, "manifest {}: digest mismatch: got {}", in.manifest_digest.str(),
                      got.str());
  HUSK_TRY_ASSIGN(ParsedManifest parsed, parse_manifest(in.manifest));
  auto* m = std::get_if<ImageManifest>(&parsed);
  if (m == nullptr)
    return fail_quiet(EINVAL, "manifest {}: an index, not an image manifest", got.str());
  Digest config_got = sha256_of(in.config);
  if (config_got != m->config.digest)
    return fail_quiet(EINVAL, "image config {}: digest mismatch: got {}", m->config.digest.str(),
                      config_got.str());
  CheckedImage c{.manifest = *m};
  HUSK_TRY_ASSIGN(c.config, parse_config(in.config));
  HUSK_TRY(check_manifest_config(c.manifest, c.config));
  HUSK_TRY_ASSIGN(json::Json j, json::parse_object(in.config, "image config", kMaxConfigBytes));
  HUSK_TRY_ASSIGN(c.created, json::string_at(j, "created", "image config"));
  return c;
}

}  // namespace

Result<ImageRecord> Store::put_image(const ImageInput& in) const {
  HUSK_TRY_ASSIGN(CheckedImage c, check_input(in));
  std::vector<std::string> tags, repo_digests;
  for (const std::string& t : in.tags) {
    HUSK_TRY_ASSIGN(Reference ref, Reference::parse(t));
    if (ref.tag().empty() || ref.digest())
      return fail_quiet(EINVAL, "tag \"{}\": a tag is a name and a tag, no digest", t);
    tags.push_back(ref.str());
  }
  for (const std::string& repo : in.repos) {
    HUSK_TRY_ASSIGN(Reference ref, Reference::parse(repo));
    repo_digests.push_back(ref.name() + "@" + in.manifest_digest.str());
  }
  HUSK_TRY(put_blob(in.manifest, in.manifest_digest));
  HUSK_TRY(put_blob(in.config, c.manifest.config.digest));
  ImageRecord r{.id = c.manifest.config.digest, .manifest = in.manifest_digest,
                .manifest_media_type = c.manifest.media_type, .layers = chain_ids(c.config.diff_ids),
                .created = c.created};
  HUSK_TRY_ASSIGN(UniqueFd store_lock, lock());
  for (size_t i = 0; i < r.layers.size(); ++i) {
    const Digest& blob = c.manifest.layers[i].digest;
    HUSK_TRY_ASSIGN(LayerInfo l, layer(r.layers[i]).context("image {}", r.id.str()));
    if (!has_blob(blob))
      return fail_quiet(ENOENT, "image {}: layer blob {} is not in the store", r.id.str(),
                        blob.str());
    r.layer_blobs.push_back(blob);
    r.size += l.size;
  }
  std::string record_path = path("images/" + std::string(r.id.hex()) + ".json");
  if (auto old_text = read_file(record_path)) {
    if (auto old = parse_record(*old_text, record_path)) r.repo_digests = old->repo_digests;
  }
  for (std::string& rd : repo_digests)
    if (std::find(r.repo_digests.begin(), r.repo_digests.end(), rd) == r.repo_digests.end())
      r.repo_digests.push_back(std::move(rd));
  HUSK_TRY(write_file_atomic(record_path, record_json(r), 0600));
  HUSK_TRY_ASSIGN(Tags all, read_tags(path("tags.json")));
  for (const std::string& t : tags) all[t] = r.id;
  if (!tags.empty()) HUSK_TRY(write_tags(path("tags.json"), all));
  r.repo_tags = tags_of(all, r.id);
  return r;
}

Result<std::vector<ImageRecord>> Store::list_images() const {
  HUSK_TRY_ASSIGN(StoreUsage u, usage());
  return u.images;
}

Result<StoreUsage> Store::usage() const {
  StoreUsage u;
  HUSK_TRY_ASSIGN(Tags tags, read_tags(path("tags.json")));
  HUSK_TRY_ASSIGN(u.images, read_records());
  std::map<Digest, std::pair<int, uint64_t>> layers;  // chain -> (images, size)
  for (const ImageRecord& r : u.images)
    for (const Digest& d : std::set<Digest>(r.layers.begin(), r.layers.end()))
      layers[d].first++;
  for (auto& [d, use] : layers) {
    HUSK_TRY_ASSIGN(LayerInfo l, layer(d));
    use.second = l.size;
    u.total_size += l.size;
    if (use.first > 1) u.shared_size += l.size;
  }
  for (ImageRecord& r : u.images) {
    r.repo_tags = tags_of(tags, r.id);
    for (const Digest& d : std::set<Digest>(r.layers.begin(), r.layers.end()))
      (layers[d].first > 1 ? r.shared_size : r.unique_size) += layers[d].second;
  }
  std::stable_sort(u.images.begin(), u.images.end(),
                   [](const ImageRecord& a, const ImageRecord& b) { return a.created > b.created; });
  return u;
}

Result<ImageRecord> Store::resolve(std::string_view name_or_id) const {
  HUSK_TRY_ASSIGN(Tags tags, read_tags(path("tags.json")));
  HUSK_TRY_ASSIGN(std::vector<ImageRecord> records, read_records());
  auto found = [&](ImageRecord r) -> Result<ImageRecord> {
    r.repo_tags = tags_of(tags, r.id);
    return r;
  };
  if (auto ref = Reference::parse(name_or_id)) {
    if (ref->digest()) {
      std::string rd = ref->name() + "@" + ref->digest()->str();
      for (const ImageRecord& r : records)
        if (std::find(r.repo_digests.begin(), r.repo_digests.end(), rd) != r.repo_digests.end())
          return found(r);
    } else if (auto it = tags.find(ref->str()); it != tags.end()) {
      for (const ImageRecord& r : records)
        if (r.id == it->second) return found(r);
    }
  }
  std::string_view hex = name_or_id;
  if (hex.starts_with("sha256:")) hex.remove_prefix(7);
  bool is_hex = !hex.empty() && hex.size() <= 64 &&
                hex.find_first_not_of("0123456789abcdef") == std::string_view::npos;
  const ImageRecord* match = nullptr;
  for (const ImageRecord& r : records) {
    if (!is_hex || !r.id.hex().starts_with(hex)) continue;
    if (match != nullptr)
      return fail_quiet(EINVAL, "image id prefix \"{}\" is ambiguous", name_or_id);
    match = &r;
  }
  if (match == nullptr) return fail_quiet(ENOENT, "image \"{}\": not found", name_or_id);
  return found(*match);
}

// ---- holds ----

namespace {

Result<std::string> hold_text(const Digest& image, pid_t owner) {
  auto ref = sys::process_ref(owner > 0 ? owner : ::getpid());
  if (!ref) return fail(ESRCH, "hold: pid {} is gone", owner);
  return image.str() + "\n" + sys::format_ref(*ref) + "\n";
}

// A hold counts while its owner lives; a record without an owner line always counts.
bool hold_is_live(std::string_view text) {
  size_t eol = text.find('\n');
  if (eol == std::string_view::npos || eol + 1 >= text.size()) return true;
  auto ref = sys::parse_ref(text.substr(eol + 1));
  return !ref || sys::is_alive(*ref);
}

}  // namespace

Result<void> Store::acquire(const Digest& image, std::string_view container, pid_t owner) const {
  HUSK_TRY(check_container_name(container));
  HUSK_TRY_ASSIGN(std::string text, hold_text(image, owner));
  HUSK_TRY_ASSIGN(UniqueFd store_lock, lock());
  std::string record = path("images/" + std::string(image.hex()) + ".json");
  if (::access(record.c_str(), F_OK) < 0)
    return fail_quiet(ENOENT, "image {}: not in the store (removed?)", image.str());
  // Volatile: a hold only matters while its owner runs, and nothing runs after a power cut.
  return write_file_atomic(path("holds/" + std::string(container)), text, 0600,
                           Durability::kVolatile);
}

Result<void> Store::hand_hold(std::string_view container, pid_t owner) const {
  HUSK_TRY(check_container_name(container));
  std::string p = path("holds/" + std::string(container));
  HUSK_TRY_ASSIGN(UniqueFd store_lock, lock());
  HUSK_TRY_ASSIGN(std::string old, read_file(p));
  HUSK_TRY_ASSIGN(Digest image, Digest::parse(old.substr(0, old.find('\n'))));
  HUSK_TRY_ASSIGN(std::string text, hold_text(image, owner));
  return write_file_atomic(p, text, 0600, Durability::kVolatile);
}

Result<void> Store::release(std::string_view container) const {
  HUSK_TRY(check_container_name(container));
  HUSK_TRY_ASSIGN(UniqueFd store_lock, lock());
  std::string p = path("holds/" + std::string(container));
  if (::unlink(p.c_str()) < 0 && errno != ENOENT) return fail_errno("release {}", p);
  return ok();
}

Result<std::vector<std::string>> Store::holders(const Digest& image) const {
  std::vector<std::string> out;
  HUSK_TRY_ASSIGN(auto names, list_dir(path("holds")));
  for (const std::string& name : names) {
    if (name.find(kAtomicTempInfix) != std::string::npos) continue;
    auto text = read_file(path("holds/" + name));
    if (!text) continue;  // released meanwhile
    if (text->starts_with(image.str() + "\n") && hold_is_live(*text)) out.push_back(name);
  }
  return out;
}

// Holds whose owner is gone; the caller holds lock().
Result<void> Store::drop_dead_holds() const {
  HUSK_TRY_ASSIGN(auto names, list_dir(path("holds")));
  for (const std::string& name : names) {
    if (name.find(kAtomicTempInfix) != std::string::npos) continue;
    std::string p = path("holds/" + name);
    auto text = read_file(p);
    if (!text || hold_is_live(*text)) continue;
    if (::unlink(p.c_str()) < 0 && errno != ENOENT) return fail_errno("remove {}", p);
  }
  return ok();
}

}  // namespace husk::image
