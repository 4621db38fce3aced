// Removing images and pruning the store (store.h). Everything removed is first renamed (under
// the store lock) into tmp/, where it is flocked until its tree is gone: a crash midway leaves
// an unlocked tmp/ entry for the next prune, never a half-deleted layer in layers/.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include <fmt/format.h>

#include "base/file.h"
#include "image/reference.h"
#include "image/store.h"
#include "image/store_images.h"
#include "image/store_util.h"

namespace husk::image {

namespace su = store_util;
using namespace store_records;

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Which image `name_or_id` names, and the tag when it names one by tag.
struct Target {
  Digest id;
  std::string tag;
};

}  // namespace

Result<std::vector<Digest>> Store::remove_image(std::string_view name_or_id, bool force) const {
  Doomed doomed;
  std::vector<Digest> removed;
  {
    HUSK_TRY_ASSIGN(UniqueFd store_lock, lock());
    HUSK_TRY_ASSIGN(Tags tags, read_tags(path("tags.json")));
    Target t;
    auto ref = Reference::parse(name_or_id);
    if (ref && !ref->digest() && tags.contains(ref->str())) {
      t = {tags[ref->str()], ref->str()};
    } else {
      HUSK_TRY_ASSIGN(ImageRecord r, resolve(name_or_id));
      t.id = r.id;
    }
    std::vector<std::string> names = tags_of(tags, t.id);
    if (!t.tag.empty() && names.size() > 1) {  // another tag keeps the image
      tags.erase(t.tag);
      HUSK_TRY(write_tags(path("tags.json"), tags));
      return removed;
    }
    if (t.tag.empty() && names.size() > 1 && !force)
      return fail_quiet(EBUSY, "image {}: tagged {}: remove the tags or use --force", t.id.str(),
                        join(names));
    HUSK_TRY_ASSIGN(std::vector<std::string> users, holders(t.id));
    if (!users.empty() && !force)
      return fail_quiet(EBUSY, "image \"{}\" ({}): in use by container \"{}\"", name_or_id,
                        t.id.str().substr(0, 19), users.front());
    for (const std::string& n : names) tags.erase(n);
    if (!names.empty()) HUSK_TRY(write_tags(path("tags.json"), tags));
    if (!users.empty()) return removed;  // --force: dangling until its holds are released
    std::string record = path("images/" + std::string(t.id.hex()) + ".json");
    if (::unlink(record.c_str()) < 0 && errno != ENOENT) return fail_errno("remove {}", record);
    removed.push_back(t.id);
    // A writer's lease may be about to use these layers: leave them to prune then.
    auto no_lease = lock_file(path("pull.lock"), LOCK_EX | LOCK_NB);
    PruneReport report;
    if (no_lease) HUSK_TRY(collect(report, doomed));
  }
  HUSK_TRY(remove_doomed(doomed));
  return removed;
}

Result<void> Store::collect(PruneReport& report, Doomed& doomed) const {
  HUSK_TRY_ASSIGN(std::vector<ImageRecord> records, read_records());
  std::set<std::string> layers, blobs;
  for (const ImageRecord& r : records) {
    for (const Digest& d : r.layers) layers.insert(std::string(d.hex()));
    for (const Digest& d : r.layer_blobs) blobs.insert(std::string(d.hex()));
    blobs.insert(std::string(r.id.hex()));
    blobs.insert(std::string(r.manifest.hex()));
  }
  HUSK_TRY_ASSIGN(auto layer_dirs, list_dir(path("layers")));
  for (const std::string& name : layer_dirs) {
    if (layers.contains(name)) continue;
    auto d = Digest::parse("sha256:" + name);
    std::optional<LayerInfo> info;
    if (d) {
      if (auto l = layer(*d)) info = *l;
      report.layers.push_back(*d);
    }
    HUSK_TRY_ASSIGN(std::string del, su::random_name(16));
    del = "del-" + del;
    // The layer goes first, its link after: a crash between leaves a dangling link (removed
    // below by the next prune), never a layer without its link.
    if (::rename(path("layers/" + name).c_str(), path("tmp/" + del).c_str()) < 0)
      return fail_errno("remove layer {}", name);
    if (info) {
      ::unlink(path("l/" + info->link).c_str());
      report.reclaimed += info->size;
    }
    UniqueFd fd(::open(path("tmp/" + del).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd) (void)::flock(fd.get(), LOCK_EX | LOCK_NB);
    doomed.emplace_back(del, std::move(fd));
  }
  HUSK_TRY_ASSIGN(auto blob_files, list_dir(path("blobs/sha256")));
  for (const std::string& name : blob_files) {
    if (blobs.contains(name)) continue;
    std::string p = path("blobs/sha256/" + name);
    struct stat st {};
    if (::lstat(p.c_str(), &st) == 0) report.reclaimed += static_cast<uint64_t>(st.st_size);
    if (::unlink(p.c_str()) < 0 && errno != ENOENT) return fail_errno("remove {}", p);
    if (auto d = Digest::parse("sha256:" + name)) report.blobs.push_back(*d);
  }
  // Links whose layer is gone (a writer killed between link and rename, or junk).
  HUSK_TRY_ASSIGN(auto links, list_dir(path("l")));
  for (const std::string& name : links) {
    if (::faccessat(AT_FDCWD, path("l/" + name).c_str(), F_OK, 0) < 0)
      ::unlink(path("l/" + name).c_str());
  }
  return ok();
}

Result<void> Store::discard(const std::vector<Digest>& blobs,
                            const std::vector<Digest>& layers) const {
  Doomed doomed;
  {
    HUSK_TRY_ASSIGN(UniqueFd store_lock, lock());
    HUSK_TRY_ASSIGN(std::vector<ImageRecord> records, read_records());
    std::set<Digest> used;
    for (const ImageRecord& r : records) {
      used.insert(r.layers.begin(), r.layers.end());
      used.insert(r.layer_blobs.begin(), r.layer_blobs.end());
    }
    for (const Digest& d : layers) {
      if (used.contains(d) || !has_layer(d)) continue;
      auto info = layer(d);
      HUSK_TRY_ASSIGN(std::string del, su::random_name(16));
      del = "del-" + del;
      if (::rename(path("layers/" + std::string(d.hex())).c_str(), path("tmp/" + del).c_str()) < 0)
        return fail_errno("remove layer {}", d.str());
      if (info) ::unlink(path("l/" + info->link).c_str());
      UniqueFd fd(::open(path("tmp/" + del).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (fd) (void)::flock(fd.get(), LOCK_EX | LOCK_NB);
      doomed.emplace_back(del, std::move(fd));
    }
    for (const Digest& d : blobs) {
      if (used.contains(d)) continue;
      std::string p = path("blobs/sha256/" + std::string(d.hex()));
      if (::unlink(p.c_str()) < 0 && errno != ENOENT) return fail_errno("remove {}", p);
    }
  }
  return remove_doomed(doomed);
}

Result<void> Store::remove_doomed(Doomed& doomed) const {
  UniqueFd tmp(::open(path("tmp").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!tmp) return fail_errno("open {}", path("tmp"));
  for (auto& [name, fd] : doomed) HUSK_TRY(su::remove_tree_at(tmp.get(), name));
  doomed.clear();
  return ok();
}

namespace {

// Entries of tmp/ that nobody holds: lock files (unlinked while held, see lock_file) and
// staging entries (flocked by their writer). Each one taken is moved to `doomed`.
Result<size_t> take_tmp_leftovers(const std::string& tmp,
                                  std::vector<std::pair<std::string, UniqueFd>>& doomed) {
  size_t n = 0;
  HUSK_TRY_ASSIGN(auto names, list_dir(tmp));
  for (const std::string& name : names) {
    std::string p = tmp + "/" + name;
    if (name.ends_with(".lock")) {
      auto held = lock_file(p, LOCK_EX | LOCK_NB);
      if (!held) continue;
      ::unlink(p.c_str());
      ++n;
      continue;
    }
    UniqueFd fd(::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (fd && ::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) continue;  // in use
    doomed.emplace_back(name, std::move(fd));
    ++n;
  }
  return n;
}

// write_file_atomic's temp files in dir: their writers held the store lock, as the caller does.
Result<void> remove_atomic_leftovers(const std::string& dir) {
  HUSK_TRY_ASSIGN(auto names, list_dir(dir));
  for (const std::string& name : names)
    if (name.find(kAtomicTempInfix) != std::string::npos) ::unlink((dir + "/" + name).c_str());
  return ok();
}

}  // namespace

Result<PruneReport> Store::prune() const {
  PruneReport report;
  Doomed doomed;
  // Waits for writers between their first put and their put_image.
  HUSK_TRY_ASSIGN(UniqueFd no_lease, lock_file(path("pull.lock"), LOCK_EX));
  {
    HUSK_TRY_ASSIGN(UniqueFd store_lock, lock());
    HUSK_TRY(remove_atomic_leftovers(dir_));
    HUSK_TRY(remove_atomic_leftovers(path("images")));
    HUSK_TRY(remove_atomic_leftovers(path("holds")));
    HUSK_TRY(drop_dead_holds());
    HUSK_TRY_ASSIGN(Tags tags, read_tags(path("tags.json")));
    HUSK_TRY_ASSIGN(std::vector<ImageRecord> records, read_records());
    for (const ImageRecord& r : records) {
      if (!tags_of(tags, r.id).empty()) continue;
      HUSK_TRY_ASSIGN(std::vector<std::string> users, holders(r.id));
      if (!users.empty()) continue;
      std::string p = path("images/" + std::string(r.id.hex()) + ".json");
      if (::unlink(p.c_str()) < 0) return fail_errno("remove {}", p);
      report.images.push_back(r.id);
    }
    HUSK_TRY(collect(report, doomed));
    HUSK_TRY_ASSIGN(report.tmp_entries, take_tmp_leftovers(path("tmp"), doomed));
  }
  HUSK_TRY(remove_doomed(doomed));
  return report;
}

}  // namespace husk::image
