#include "image/archive.h"

#include "image/lazy_libs.h"  // <archive.h>, <archive_entry.h>, loaded on first use
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "base/cleanup.h"
#include "base/file.h"
#include "base/time.h"
#include "image/config.h"
#include "image/json_read.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "image/store_util.h"

namespace husk::image {

namespace su = store_util;
using Json = nlohmann::json;

namespace {

constexpr size_t kBlock = 1u << 20;
using ReadPtr = std::unique_ptr<archive, std::decay_t<decltype(archive_read_free)>>;
using WritePtr = std::unique_ptr<archive, std::decay_t<decltype(archive_write_free)>>;

std::string one_line(const char* text) {
  std::string s = text ? text : "unknown error";
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

// Lenient normalisation of an entry's own name, for lookups only: "./a" and "/a" are "a".
std::string entry_key(std::string_view name) {
  std::string out;
  size_t i = 0;
  while (i <= name.size()) {
    size_t j = name.find('/', i);
    if (j == std::string_view::npos) j = name.size();
    std::string_view c = name.substr(i, j - i);
    if (!c.empty() && c != ".") out += (out.empty() ? "" : "/") + std::string(c);
    i = j + 1;
  }
  return out;
}

struct Entry {
  std::string file;  // staged name, "" for a non-regular entry
  uint64_t size = 0;
  Digest digest;
  bool regular = false;
  int count = 0;
  // A symlink's target (relative to its directory), a hardlink's (from the archive's top).
  std::optional<std::string> symlink, hardlink;
};

// tmp/<prefix>-<random>/, flocked while in use (so prune leaves it alone), removed at the end.
class Staging {
 public:
  // A prune between mkdir and flock may take the new directory for a dead writer's: once
  // locked, a directory that is no longer linked is given up and another one made.
  static Result<Staging> make(const Store& store, std::string_view prefix) {
    for (int attempt = 0;; ++attempt) {
      Staging s;
      HUSK_TRY_ASSIGN(std::string rnd, su::random_name(16));
      s.tmp_ = store.dir() + "/tmp";
      std::string p = s.tmp_ + "/" + std::string(prefix) + "-" + rnd;
      if (::mkdir(p.c_str(), 0700) < 0) return fail_errno("create {}", p);
      s.dir_ = UniqueFd(::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!s.dir_) {
        if (errno == ENOENT && attempt < 3) continue;
        return fail_errno("open {}", p);
      }
      if (::flock(s.dir_.get(), LOCK_EX) < 0) return fail_errno("lock {}", p);
      struct stat st {};
      if (::fstat(s.dir_.get(), &st) < 0) return fail_errno("stat {}", p);
      if (st.st_nlink == 0 && attempt < 3) continue;
      if (st.st_nlink == 0) return fail(0, "{}: removed by a concurrent prune", p);
      s.name_ = p.substr(s.tmp_.size() + 1);
      return s;
    }
  }
  Staging() = default;
  Staging(Staging&&) = default;
  ~Staging() {
    if (name_.empty()) return;
    UniqueFd tmp(::open(tmp_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (tmp) (void)su::remove_tree_at(tmp.get(), name_);
  }
  int fd() const { return dir_.get(); }
  Result<UniqueFd> create(const std::string& name) const {
    UniqueFd f(::openat(dir_.get(), name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!f) return fail_errno("create staging file {}", name);
    return f;
  }
  Result<UniqueFd> open(const std::string& name) const {
    UniqueFd f(::openat(dir_.get(), name.c_str(), O_RDONLY | O_CLOEXEC));
    if (!f) return fail_errno("open staging file {}", name);
    return f;
  }

 private:
  std::string tmp_, name_;
  UniqueFd dir_;
};

// Copies a stream of blocks into fd, hashing it.
struct HashingFile {
  int fd;
  Sha256 hash;
  uint64_t size = 0;
  Result<void> write(const void* buf, size_t n) {
    hash.update({static_cast<const uint8_t*>(buf), n});
    size += n;
    return write_all(fd, {static_cast<const char*>(buf), n});
  }
};

// Reads every entry of the archive on fd into the staging dir, regular files by number.
Result<std::map<std::string, Entry>> stage_archive(int fd, const Staging& st) {
  ReadPtr a(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_fd(a.get(), fd, kBlock) != ARCHIVE_OK)
    return fail(0, "not a tar archive: {}", one_line(archive_error_string(a.get())));
  std::map<std::string, Entry> entries;
  std::vector<char> buf(kBlock);
  for (size_t n = 0;; ++n) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return fail(0, "{}", one_line(archive_error_string(a.get())));
    if (n >= kMaxArchiveEntries) return fail(0, "more than {} entries", kMaxArchiveEntries);
    const char* raw = archive_entry_pathname(e);
    std::string key = entry_key(raw ? raw : "");
    Entry& ent = entries[key];
    ent.count++;
    if (const char* h = archive_entry_hardlink(e)) {
      ent.hardlink = h;
      continue;
    }
    if (archive_entry_filetype(e) == AE_IFLNK) {
      const char* t = archive_entry_symlink(e);
      ent.symlink = t ? t : "";
      continue;
    }
    if (archive_entry_filetype(e) != AE_IFREG) continue;
    if (archive_entry_size(e) > kMaxBlobSize)
      return fail(0, "entry \"{}\": {} bytes is too big", key, archive_entry_size(e));
    ent.regular = true;
    ent.file = "e" + std::to_string(n);
    HUSK_TRY_ASSIGN(UniqueFd out, st.create(ent.file));
    HashingFile h{out.get()};
    for (;;) {
      la_ssize_t got = archive_read_data(a.get(), buf.data(), buf.size());
      if (got < 0) return fail(0, "entry \"{}\": {}", key, one_line(archive_error_string(a.get())));
      if (got == 0) break;
      HUSK_TRY(h.write(buf.data(), static_cast<size_t>(got)));
    }
    ent.size = h.size;
    ent.digest = h.hash.finish();
  }
  return entries;
}

// The stream from `in` decompressed (gzip, zstd, xz or none) into `out` when out >= 0.
// Returns the sha256 and size of the uncompressed bytes.
Result<std::pair<Digest, uint64_t>> decompress(int in, int out) {
  ReadPtr a(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());
  archive_entry* e = nullptr;
  if (archive_read_open_fd(a.get(), in, kBlock) != ARCHIVE_OK ||
      archive_read_next_header(a.get(), &e) != ARCHIVE_OK)
    return fail(0, "{}", one_line(archive_error_string(a.get())));
  Sha256 hash;
  uint64_t size = 0;
  std::vector<char> buf(kBlock);
  for (;;) {
    la_ssize_t got = archive_read_data(a.get(), buf.data(), buf.size());
    if (got < 0) return fail(0, "{}", one_line(archive_error_string(a.get())));
    if (got == 0) break;
    hash.update(std::string_view(buf.data(), static_cast<size_t>(got)));
    size += static_cast<uint64_t>(got);
    if (out >= 0) HUSK_TRY(write_all(out, {buf.data(), static_cast<size_t>(got)}));
  }
  return std::pair{hash.finish(), size};
}

// A symlink's target, relative to its directory `dir`, as an archive path: "a/../b" is "b";
// one that climbs above the archive's top is an error.
Result<std::string> link_target(std::string_view dir, std::string_view target) {
  std::vector<std::string> parts;
  std::string joined = std::string(dir) + "/" + std::string(target);
  size_t i = 0;
  while (i <= joined.size()) {
    size_t j = joined.find('/', i);
    if (j == std::string::npos) j = joined.size();
    std::string c = joined.substr(i, j - i);
    if (c == "..") {
      if (parts.empty()) return fail(0, "\"{}\": path escapes the archive", target);
      parts.pop_back();
    } else if (!c.empty() && c != ".") {
      parts.push_back(std::move(c));
    }
    i = j + 1;
  }
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : "/") + p;
  if (out.empty()) return fail(0, "\"{}\": names no file", target);
  return out;
}

// An image of the archive, checked and ready to go into the store.
struct Planned {
  std::string manifest, config;
  Digest manifest_digest;
  struct Layer {
    std::string file;  // staged
    Digest blob, diff_id;
    uint64_t size;
  };
  std::vector<Layer> layers;
  std::vector<std::string> tags;
};

class Loader {
 public:
  Loader(const Staging& st, std::map<std::string, Entry> entries)
      : st_(st), entries_(std::move(entries)) {}

  // The regular entry a JSON name refers to. A link entry (docker 20.10 saves a layer that
  // several images share once, and links the others to it) is followed once, by name inside
  // the archive, never on the host: its target must stay in the archive and be a regular entry.
  Result<const Entry*> find(std::string_view name, bool follow = true) const {
    HUSK_TRY_ASSIGN(std::string key, archive_path(name));
    auto it = entries_.find(key);
    if (it == entries_.end()) return fail(0, "\"{}\": no such entry in the archive", key);
    const Entry& e = it->second;
    if (e.count > 1) return fail(0, "\"{}\": appears {} times", key, e.count);
    if (e.regular) return &e;
    if (!follow || (!e.symlink && !e.hardlink)) return fail(0, "\"{}\": not a regular file", key);
    std::string target = e.hardlink ? *e.hardlink : *e.symlink;
    if (e.symlink) {
      if (target.starts_with('/'))
        return fail(0, "\"{}\": a symlink to an absolute path ({})", key, target);
      size_t slash = key.rfind('/');
      HUSK_TRY_ASSIGN(target,
                      link_target(slash == std::string::npos ? "" : key.substr(0, slash), target)
                          .context("\"{}\": a link", key));
    }
    auto t = find(target, false);
    if (!t) {
      t.error().wrap(fmt::format("\"{}\": a link", key));
      return std::unexpected(std::move(t.error()));
    }
    return *t;
  }
  bool has(const std::string& key) const { return entries_.contains(key); }

  Result<std::string> read(std::string_view name, size_t max) const {
    HUSK_TRY_ASSIGN(const Entry* e, find(name));
    if (e->size > max) return fail(0, "\"{}\": {} bytes is too big", name, e->size);
    HUSK_TRY_ASSIGN(UniqueFd f, st_.open(e->file));
    return read_all(f.get());
  }

  Result<std::vector<Planned>> plan_docker() const {
    HUSK_TRY_ASSIGN(std::string text, read("manifest.json", kMaxArchiveJson));
    Json doc = Json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_array() || doc.empty())
      return fail(0, "manifest.json: not a non-empty JSON array");
    std::vector<Planned> out;
    for (size_t i = 0; i < doc.size(); ++i) {
      std::string where = fmt::format("manifest.json: [{}]", i);
      auto p = plan_docker_one(doc[i]);
      if (!p) {
        p.error().wrap(where);
        return std::unexpected(std::move(p.error()));
      }
      out.push_back(std::move(*p));
    }
    return out;
  }

  Result<std::vector<Planned>> plan_oci() const {
    HUSK_TRY_ASSIGN(std::string layout, read("oci-layout", 4096));
    Json l = Json::parse(layout, nullptr, false);
    if (l.is_discarded() || !l.is_object() || !l.contains("imageLayoutVersion"))
      return fail(0, "oci-layout: not an OCI image layout");
    HUSK_TRY_ASSIGN(std::string text, read("index.json", kMaxArchiveJson));
    HUSK_TRY_ASSIGN(ParsedManifest parsed,
                    parse_manifest(text, media::kOciIndex).context("index.json"));
    auto* index = std::get_if<ImageIndex>(&parsed);
    if (!index) return fail(0, "index.json: not an index");
    Json raw = Json::parse(text, nullptr, false);
    std::vector<Planned> out;
    for (size_t i = 0; i < index->manifests.size(); ++i) {
      std::vector<std::string> tags;
      const Json& m = raw["manifests"][i];
      if (m.contains("annotations") && m["annotations"].is_object()) {
        for (const char* k : {"io.containerd.image.name", "org.opencontainers.image.ref.name"}) {
          auto it = m["annotations"].find(k);
          if (it == m["annotations"].end() || !it->is_string()) continue;
          auto ref = Reference::parse(it->get<std::string>());
          if (ref && !ref->tag().empty() && !ref->digest() &&
              it->get<std::string>().find_first_of("/:") != std::string::npos) {
            tags.push_back(ref->str());
            break;
          }
        }
      }
      auto p = plan_oci_one(index->manifests[i], 0);
      if (!p) {
        p.error().wrap(fmt::format("index.json: manifests[{}]", i));
        return std::unexpected(std::move(p.error()));
      }
      p->tags = std::move(tags);
      out.push_back(std::move(*p));
    }
    return out;
  }

 private:
  Result<const Entry*> blob(const Digest& d, std::optional<int64_t> size) const {
    HUSK_TRY_ASSIGN(const Entry* e, find("blobs/sha256/" + std::string(d.hex())));
    if (e->digest != d)
      return fail(0, "blob {}: digest mismatch: got {}", d.str(), e->digest.str());
    if (size && static_cast<uint64_t>(*size) != e->size)
      return fail(0, "blob {}: size {} but the descriptor says {}", d.str(), e->size, *size);
    return e;
  }

  Result<Planned> plan_oci_one(const Descriptor& desc, int depth) const {
    HUSK_TRY_ASSIGN(const Entry* me, blob(desc.digest, desc.size));
    if (me->size > kMaxManifestBytes) return fail(0, "manifest {}: too big", desc.digest.str());
    HUSK_TRY_ASSIGN(UniqueFd mf, st_.open(me->file));
    HUSK_TRY_ASSIGN(std::string mtext, read_all(mf.get()));
    HUSK_TRY_ASSIGN(ParsedManifest parsed, parse_manifest(mtext, desc.media_type));
    if (auto* idx = std::get_if<ImageIndex>(&parsed)) {
      if (depth > 2) return fail(0, "indexes nested too deep");
      HUSK_TRY_ASSIGN(Descriptor d, choose_platform(*idx, default_platform()));
      return plan_oci_one(d, depth + 1);
    }
    const ImageManifest& man = std::get<ImageManifest>(parsed);
    Planned p;
    p.manifest = std::move(mtext);
    p.manifest_digest = desc.digest;
    HUSK_TRY_ASSIGN(const Entry* ce, blob(man.config.digest, man.config.size));
    if (ce->size > kMaxArchiveJson) return fail(0, "config: too big");
    HUSK_TRY_ASSIGN(UniqueFd cf, st_.open(ce->file));
    HUSK_TRY_ASSIGN(p.config, read_all(cf.get()));
    HUSK_TRY_ASSIGN(ImageConfig cfg, parse_config(p.config));
    HUSK_TRY(check_manifest_config(man, cfg));
    for (size_t i = 0; i < man.layers.size(); ++i) {
      const Descriptor& ld = man.layers[i];
      HUSK_TRY_ASSIGN(const Entry* le, blob(ld.digest, ld.size));
      HUSK_TRY_ASSIGN(Compression c, layer_compression(ld.media_type));
      Digest diff = le->digest;
      if (c != Compression::kNone) {
        HUSK_TRY_ASSIGN(UniqueFd lf, st_.open(le->file));
        HUSK_TRY_ASSIGN(auto d, decompress(lf.get(), -1).context("layer {}", ld.digest.str()));
        diff = d.first;
      }
      if (diff != cfg.diff_ids[i])
        return fail(0, "layer {}: diff_id mismatch: config says {}, got {}", ld.digest.str(),
                    cfg.diff_ids[i].str(), diff.str());
      p.layers.push_back({le->file, ld.digest, diff, le->size});
    }
    return p;
  }

  Result<Planned> plan_docker_one(const Json& m) const {
    if (!m.is_object()) return fail(0, "not an object");
    HUSK_TRY_ASSIGN(std::string config_name, json::string_at(m, "Config", "Config"));
    if (config_name.empty()) return fail(0, "Config: missing");
    HUSK_TRY_ASSIGN(auto layer_names, json::strings_at(m, "Layers", "Layers", kMaxLayers));
    HUSK_TRY_ASSIGN(auto repo_tags, json::strings_at(m, "RepoTags", "RepoTags", 1000));
    Planned p;
    HUSK_TRY_ASSIGN(p.config, read(config_name, kMaxArchiveJson).context("Config"));
    HUSK_TRY_ASSIGN(ImageConfig cfg, parse_config(p.config).context("Config \"{}\"", config_name));
    std::vector<std::string> layers = layer_names.value_or(std::vector<std::string>{});
    if (layers.size() != cfg.diff_ids.size())
      return fail(0, "{} layers but the config has {} diff_ids", layers.size(),
                  cfg.diff_ids.size());
    Json man = {{"schemaVersion", 2},
                {"mediaType", media::kDockerManifest},
                {"config",
                 {{"mediaType", media::kDockerConfig},
                  {"size", p.config.size()},
                  {"digest", sha256_of(p.config).str()}}},
                {"layers", Json::array()}};
    for (size_t i = 0; i < layers.size(); ++i) {
      auto le = find(layers[i]);
      if (!le) {
        le.error().wrap(fmt::format("Layers[{}]", i));
        return std::unexpected(std::move(le.error()));
      }
      if ((*le)->digest != cfg.diff_ids[i])
        return fail(0, "layer \"{}\": sha256 {} but the config's diff_id is {}", layers[i],
                    (*le)->digest.str(), cfg.diff_ids[i].str());
      p.layers.push_back({(*le)->file, cfg.diff_ids[i], cfg.diff_ids[i], (*le)->size});
      man["layers"].push_back({{"mediaType", media::kDockerLayer},
                               {"size", (*le)->size},
                               {"digest", cfg.diff_ids[i].str()}});
    }
    p.manifest = man.dump();
    p.manifest_digest = sha256_of(p.manifest);
    for (const std::string& t : repo_tags.value_or(std::vector<std::string>{})) {
      HUSK_TRY_ASSIGN(Reference ref, Reference::parse(t).context("RepoTags"));
      if (ref.tag().empty() || ref.digest()) return fail(0, "RepoTags: \"{}\" is not a tag", t);
      p.tags.push_back(ref.str());
    }
    return p;
  }

  const Staging& st_;
  std::map<std::string, Entry> entries_;
};

// What this load put into the store, taken out again when it fails before put_image.
struct Added {
  const Store& store;
  std::vector<Digest> blobs, layers;
  bool done = false;
  ~Added() {
    if (!done) (void)store.discard(blobs, layers);
  }
};

Result<ImageRecord> commit(const Store& store, const Staging& st, const Planned& p) {
  Added added{store};
  std::optional<Digest> parent;
  for (const Planned::Layer& l : p.layers) {
    if (!store.has_blob(l.blob)) {
      HUSK_TRY(store.adopt_blob(st.fd(), l.file, l.blob, l.size));
      added.blobs.push_back(l.blob);
    }
    HUSK_TRY_ASSIGN(LayerInfo info, store.put_layer(parent, l.blob, l.diff_id));
    if (info.unpacked) added.layers.push_back(info.chain_id);
    parent = info.chain_id;
  }
  added.done = true;
  return store.put_image({.manifest = p.manifest,
                          .manifest_digest = p.manifest_digest,
                          .config = p.config,
                          .tags = p.tags,
                          .repos = {}});
}

}  // namespace

Result<std::string> archive_path(std::string_view name) {
  if (name.empty()) return fail(0, "empty name");
  if (name.find('\0') != std::string_view::npos) return fail(0, "name holds a NUL byte");
  if (name.front() == '/') return fail(0, "\"{}\": absolute path", name);
  std::string out;
  size_t i = 0;
  while (i <= name.size()) {
    size_t j = name.find('/', i);
    if (j == std::string_view::npos) j = name.size();
    std::string_view c = name.substr(i, j - i);
    if (c == "..") return fail(0, "\"{}\": path escapes the archive", name);
    if (!c.empty() && c != ".") out += (out.empty() ? "" : "/") + std::string(c);
    i = j + 1;
  }
  if (out.empty()) return fail(0, "\"{}\": names no file", name);
  return out;
}

Result<std::vector<ImageRecord>> load_archive(const Store& store, int fd, std::string_view what) {
  auto run = [&]() -> Result<std::vector<ImageRecord>> {
    HUSK_TRY_ASSIGN(Staging st, Staging::make(store, "load"));
    HUSK_TRY_ASSIGN(auto entries, stage_archive(fd, st));
    Loader loader(st, std::move(entries));
    std::vector<Planned> plan;
    if (loader.has("manifest.json")) {
      HUSK_TRY_ASSIGN(plan, loader.plan_docker());
    } else if (loader.has("index.json")) {
      HUSK_TRY_ASSIGN(plan, loader.plan_oci());
    } else {
      return fail(0,
                  "neither a docker-archive (no manifest.json) nor an oci-archive (no index.json)");
    }
    // Everything is checked: now the store.
    HUSK_TRY_ASSIGN(Store::Lease lease, store.lease());
    std::vector<ImageRecord> out;
    for (const Planned& p : plan) {
      HUSK_TRY_ASSIGN(ImageRecord r, commit(store, st, p));
      out.push_back(std::move(r));
    }
    return out;
  };
  auto r = run();
  if (!r && !what.empty()) r.error().wrap(what);
  return r;
}

namespace {

Result<void> write_entry(archive* a, const std::string& name, std::string_view data) {
  std::unique_ptr<archive_entry, std::decay_t<decltype(archive_entry_free)>> e(archive_entry_new(),
                                                                  archive_entry_free);
  archive_entry_set_pathname(e.get(), name.c_str());
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0644);
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(data.size()));
  if (archive_write_header(a, e.get()) != ARCHIVE_OK ||
      archive_write_data(a, data.data(), data.size()) != static_cast<la_ssize_t>(data.size()))
    return fail(0, "write {}: {}", name, one_line(archive_error_string(a)));
  return ok();
}

Result<void> write_dir(archive* a, const std::string& name) {
  std::unique_ptr<archive_entry, std::decay_t<decltype(archive_entry_free)>> e(archive_entry_new(),
                                                                  archive_entry_free);
  archive_entry_set_pathname(e.get(), name.c_str());
  archive_entry_set_filetype(e.get(), AE_IFDIR);
  archive_entry_set_perm(e.get(), 0755);
  if (archive_write_header(a, e.get()) != ARCHIVE_OK)
    return fail(0, "write {}: {}", name, one_line(archive_error_string(a)));
  return ok();
}

// A store layer's blob, decompressed, as <diff hex>/layer.tar; checked against its diff_id.
Result<void> write_layer(archive* a, const Store& store, const Digest& blob, const LayerInfo& l) {
  std::string dir = std::string(l.diff_id.hex());
  HUSK_TRY(write_dir(a, dir));
  std::string name = dir + "/layer.tar";
  std::unique_ptr<archive_entry, std::decay_t<decltype(archive_entry_free)>> e(archive_entry_new(),
                                                                  archive_entry_free);
  archive_entry_set_pathname(e.get(), name.c_str());
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0644);
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(l.size));
  if (archive_write_header(a, e.get()) != ARCHIVE_OK)
    return fail(0, "write {}: {}", name, one_line(archive_error_string(a)));
  HUSK_TRY_ASSIGN(UniqueFd in, store.open_blob(blob));
  ReadPtr r(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(r.get());
  archive_read_support_format_raw(r.get());
  archive_entry* re = nullptr;
  if (archive_read_open_fd(r.get(), in.get(), kBlock) != ARCHIVE_OK ||
      archive_read_next_header(r.get(), &re) != ARCHIVE_OK)
    return fail(0, "blob {}: {}", blob.str(), one_line(archive_error_string(r.get())));
  Sha256 hash;
  uint64_t size = 0;
  std::vector<char> buf(kBlock);
  for (;;) {
    la_ssize_t got = archive_read_data(r.get(), buf.data(), buf.size());
    if (got < 0) return fail(0, "blob {}: {}", blob.str(), one_line(archive_error_string(r.get())));
    if (got == 0) break;
    size += static_cast<uint64_t>(got);
    if (size > l.size)
      return fail(0, "layer {}: longer than its {} bytes", l.diff_id.str(), l.size);
    hash.update(std::string_view(buf.data(), static_cast<size_t>(got)));
    if (archive_write_data(a, buf.data(), static_cast<size_t>(got)) != got)
      return fail(0, "write {}: {}", name, one_line(archive_error_string(a)));
  }
  Digest got = hash.finish();
  if (size != l.size || got != l.diff_id)
    return fail(0, "layer {}: the store's blob gives {} ({} bytes)", l.diff_id.str(), got.str(),
                size);
  return ok();
}

}  // namespace

Result<void> save_archive(const Store& store, const std::vector<std::string>& names,
                          const std::string& path) {
  std::string tmp = path + kAtomicTempInfix + "husk-save-" + std::to_string(::getpid());
  UniqueFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!out) return fail_errno("create {}", tmp);
  Cleanup drop([&] { ::unlink(tmp.c_str()); });
  WritePtr a(archive_write_new(), archive_write_free);
  archive_write_set_format_pax_restricted(a.get());
  archive_write_set_bytes_in_last_block(a.get(), 1);
  if (archive_write_open_fd(a.get(), out.get()) != ARCHIVE_OK)
    return fail(0, "{}: {}", tmp, one_line(archive_error_string(a.get())));
  Json manifest = Json::array(), repositories = Json::object();
  std::set<Digest> written_layers, written_configs;
  for (const std::string& name : names) {
    HUSK_TRY_ASSIGN(ImageRecord r, store.resolve(name));
    HUSK_TRY_ASSIGN(std::string config, store.read_blob(r.id, kMaxConfigBytes));
    std::string config_name = std::string(r.id.hex()) + ".json";
    if (written_configs.insert(r.id).second) HUSK_TRY(write_entry(a.get(), config_name, config));
    Json layers = Json::array();
    for (size_t i = 0; i < r.layers.size(); ++i) {
      HUSK_TRY_ASSIGN(LayerInfo l, store.layer(r.layers[i]));
      if (written_layers.insert(l.diff_id).second)
        HUSK_TRY(write_layer(a.get(), store, r.layer_blobs[i], l).context("image {}", name));
      layers.push_back(std::string(l.diff_id.hex()) + "/layer.tar");
    }
    // The tags: those the name gives, else all of the image's (docker save's rule).
    std::vector<std::string> tags;
    auto ref = Reference::parse(name);
    if (ref && !ref->digest() &&
        std::find(r.repo_tags.begin(), r.repo_tags.end(), ref->str()) != r.repo_tags.end())
      tags.push_back(ref->str());
    else
      tags = r.repo_tags;
    Json repo_tags = Json::array();
    for (const std::string& t : tags) {
      HUSK_TRY_ASSIGN(Reference tr, Reference::parse(t));
      repo_tags.push_back(tr.familiar());
      repositories[tr.familiar_name()][tr.tag()] = std::string(r.id.hex());
    }
    manifest.push_back({{"Config", config_name}, {"RepoTags", repo_tags}, {"Layers", layers}});
  }
  HUSK_TRY(write_entry(a.get(), "manifest.json", manifest.dump()));
  HUSK_TRY(write_entry(a.get(), "repositories", repositories.dump()));
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    return fail(0, "{}: {}", tmp, one_line(archive_error_string(a.get())));
  if (::fsync(out.get()) < 0) return fail_errno("fsync {}", tmp);
  if (::rename(tmp.c_str(), path.c_str()) < 0) return fail_errno("rename {} to {}", tmp, path);
  drop.cancel();
  return ok();
}

Result<ImageRecord> import_rootfs(const Store& store, int fd, std::string_view source,
                                  std::string_view tag) {
  std::vector<std::string> tags;
  if (!tag.empty()) {
    HUSK_TRY_ASSIGN(Reference ref, Reference::parse(tag));
    if (ref.digest()) return fail(0, "\"{}\": a name and a tag, no digest", tag);
    tags.push_back(ref.str());
  }
  HUSK_TRY_ASSIGN(Staging st, Staging::make(store, "import"));
  HUSK_TRY_ASSIGN(UniqueFd layer, st.create("layer.tar"));
  HUSK_TRY_ASSIGN(auto diff, decompress(fd, layer.get()));
  // A tar, checked by its headers before anything goes into the store.
  {
    if (::lseek(layer.get(), 0, SEEK_SET) < 0) return fail_errno("seek");
    ReadPtr a(archive_read_new(), archive_read_free);
    archive_read_support_format_tar(a.get());
    if (archive_read_open_fd(a.get(), layer.get(), kBlock) != ARCHIVE_OK)
      return fail(0, "not a tar archive: {}", one_line(archive_error_string(a.get())));
    archive_entry* e = nullptr;
    int r;
    while ((r = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK)
      archive_read_data_skip(a.get());
    if (r != ARCHIVE_EOF)
      return fail(0, "not a tar archive: {}", one_line(archive_error_string(a.get())));
  }
  std::string now = now_rfc3339();
  Platform host = default_platform();
  Json cfg = {{"created", now},
              {"architecture", host.architecture},
              {"os", host.os},
              {"config", Json::object()},
              {"rootfs", {{"type", "layers"}, {"diff_ids", {diff.first.str()}}}},
              {"history",
               {{{"created", now},
                 {"created_by", "husk import " + std::string(source)},
                 {"comment", "imported from " + std::string(source)}}}}};
  if (!host.variant.empty()) cfg["variant"] = host.variant;
  std::string config = cfg.dump();
  Json man = {
      {"schemaVersion", 2},
      {"mediaType", media::kOciManifest},
      {"config",
       {{"mediaType", media::kOciConfig},
        {"size", config.size()},
        {"digest", sha256_of(config).str()}}},
      {"layers",
       {{{"mediaType", media::kOciLayer}, {"size", diff.second}, {"digest", diff.first.str()}}}}};
  std::string manifest = man.dump();
  HUSK_TRY_ASSIGN(Store::Lease lease, store.lease());
  Added added{store};
  if (!store.has_blob(diff.first)) {
    HUSK_TRY(store.adopt_blob(st.fd(), "layer.tar", diff.first, diff.second));
    added.blobs.push_back(diff.first);
  }
  HUSK_TRY_ASSIGN(LayerInfo info, store.put_layer(std::nullopt, diff.first, diff.first));
  if (info.unpacked) added.layers.push_back(info.chain_id);
  added.done = true;
  return store.put_image({.manifest = manifest,
                          .manifest_digest = sha256_of(manifest),
                          .config = config,
                          .tags = tags,
                          .repos = {}});
}

}  // namespace husk::image
