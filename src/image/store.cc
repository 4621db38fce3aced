// The store's layout, blobs and layers (store.h). Images, tags and holds are in
// store_images.cc; removal and prune in store_gc.cc.
#include "image/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "base/cleanup.h"
#include "base/file.h"
#include "image/json_read.h"
#include "image/manifest.h"
#include "image/store_util.h"
#include "image/unpack.h"

namespace husk::image {

namespace su = store_util;

namespace {

constexpr const char* kSubdirs[] = {"blobs", "blobs/sha256", "layers", "l", "images", "holds", "tmp"};
// overlayfs' OVL_MAX_STACK.
constexpr size_t kMaxLowerDirs = 500;

std::string layer_json(const LayerInfo& l) {
  json::Json j = {{"chain_id", l.chain_id.str()},
                  {"diff_id", l.diff_id.str()},
                  {"parent", l.parent ? json::Json(l.parent->str()) : json::Json(nullptr)},
                  {"blob", l.blob.str()},
                  {"compressed_size", l.compressed_size},
                  {"size", l.size},
                  {"link", l.link}};
  return j.dump(2) + "\n";
}

Result<Digest> digest_at(const json::Json& j, const char* key, std::string_view where) {
  HUSK_TRY_ASSIGN(std::string text, json::string_at(j, key, where));
  return Digest::parse(text).context("{}", json::join(where, key));
}

bool valid_link(std::string_view link) {
  if (link.size() != kShortLinkLength) return false;
  for (char c : link)
    if (!((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7'))) return false;
  return true;
}

Result<LayerInfo> parse_layer_json(std::string_view text, const std::string& what) {
  HUSK_TRY_ASSIGN(json::Json j, json::parse_object(text, what, kMaxRecordBytes));
  LayerInfo l;
  HUSK_TRY_ASSIGN(l.chain_id, digest_at(j, "chain_id", what));
  HUSK_TRY_ASSIGN(l.diff_id, digest_at(j, "diff_id", what));
  HUSK_TRY_ASSIGN(l.blob, digest_at(j, "blob", what));
  if (json::member(j, "parent") != nullptr) {
    HUSK_TRY_ASSIGN(l.parent, digest_at(j, "parent", what));
  }
  HUSK_TRY_ASSIGN(int64_t csize, json::int_at(j, "compressed_size", what, 0, kMaxBlobSize));
  HUSK_TRY_ASSIGN(int64_t size, json::int_at(j, "size", what, 0, INT64_MAX));
  l.compressed_size = static_cast<uint64_t>(csize);
  l.size = static_cast<uint64_t>(size);
  HUSK_TRY_ASSIGN(l.link, json::string_at(j, "link", what));
  if (!valid_link(l.link)) return fail_quiet(EINVAL, "{}: link: not a short link name", what);
  return l;
}

}  // namespace

Digest chain_id(const std::optional<Digest>& parent, const Digest& diff_id) {
  if (!parent) return diff_id;
  return sha256_of(parent->str() + " " + diff_id.str());
}

std::vector<Digest> chain_ids(const std::vector<Digest>& diff_ids) {
  std::vector<Digest> out;
  std::optional<Digest> parent;
  for (const Digest& d : diff_ids) {
    out.push_back(chain_id(parent, d));
    parent = out.back();
  }
  return out;
}

std::string Store::default_root() {
  const char* root = std::getenv("HUSK_ROOT");
  return root != nullptr && *root != '\0' ? root : kDefaultRoot;
}

Result<Store> Store::open(const std::string& root) {
  HUSK_TRY(make_dirs(root, 0711).context("image store"));
  Store s(root + "/image");
  if (::mkdir(s.dir_.c_str(), 0700) < 0 && errno != EEXIST)
    return fail_errno("image store: create {}", s.dir_);
  for (const char* sub : kSubdirs) {
    std::string p = s.path(sub);
    if (::mkdir(p.c_str(), 0700) < 0 && errno != EEXIST)
      return fail_errno("image store: create {}", p);
  }
  return s;
}

Result<UniqueFd> Store::lock() const { return lock_file(path("lock"), LOCK_EX); }

Result<Store::Lease> Store::lease() const { return lock_file(path("pull.lock"), LOCK_SH); }

// ---- blobs ----

bool Store::has_blob(const Digest& d) const {
  return ::faccessat(AT_FDCWD, path("blobs/sha256/" + std::string(d.hex())).c_str(), F_OK,
                     AT_SYMLINK_NOFOLLOW) == 0;
}

BlobWriter::~BlobWriter() {
  if (file_ && !temp_name_.empty()) ::unlink((root_ + "/tmp/" + temp_name_).c_str());
  if (lock_) ::unlink(lock_path_.c_str());  // while held: see store_util::lock_file
}

Result<void> BlobWriter::write(std::string_view bytes) {
  if (written_ + bytes.size() > want_size_)
    return fail_quiet(EFBIG, "blob {}: more than the expected {} bytes", want_.str(), want_size_);
  HUSK_TRY(write_all(file_.get(), bytes).context("blob {}", want_.str()));
  hash_->update(bytes);
  written_ += bytes.size();
  return ok();
}

Result<void> BlobWriter::commit() {
  if (written_ != want_size_)
    return fail_quiet(EIO, "blob {}: {} bytes, expected {}", want_.str(), written_, want_size_);
  Digest got = hash_->finish();
  if (got != want_)
    return fail_quiet(EIO, "blob {}: digest mismatch: got {}", want_.str(), got.str());
  if (::fsync(file_.get()) < 0) return fail_errno("blob {}: sync", want_.str());
  std::string dest = root_ + "/blobs/sha256/" + std::string(want_.hex());
  if (::rename((root_ + "/tmp/" + temp_name_).c_str(), dest.c_str()) < 0)
    return fail_errno("blob {}: rename into the store", want_.str());
  temp_name_.clear();
  return su::fsync_dir(root_ + "/blobs/sha256");
}

Result<std::optional<BlobWriter>> Store::begin_blob(const Digest& d, uint64_t size) const {
  if (has_blob(d)) return std::optional<BlobWriter>();
  BlobWriter w(dir_);
  w.lock_path_ = path("tmp/blob-" + std::string(d.hex()) + ".lock");
  HUSK_TRY_ASSIGN(w.lock_, lock_file(w.lock_path_, LOCK_EX));
  if (has_blob(d)) return std::optional<BlobWriter>();  // w unlinks the lock file
  w.want_ = d;
  w.want_size_ = size;
  w.hash_ = std::make_unique<Sha256>();
  // Made and flocked under the store lock, so prune never sees it unlocked.
  HUSK_TRY_ASSIGN(UniqueFd store_lock, lock());
  HUSK_TRY_ASSIGN(std::string name, su::random_name(16));
  w.temp_name_ = "part-" + name;
  std::string temp = path("tmp/" + w.temp_name_);
  w.file_.reset(::open(temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!w.file_) return fail_errno("blob {}: create {}", d.str(), temp);
  if (::flock(w.file_.get(), LOCK_EX | LOCK_NB) < 0) return fail_errno("lock {}", temp);
  return std::optional<BlobWriter>(std::move(w));
}

Result<void> Store::put_blob(int fd, const Digest& d, uint64_t size) const {
  HUSK_TRY_ASSIGN(std::optional<BlobWriter> w, begin_blob(d, size));
  if (!w) return ok();
  std::string buf(1 << 20, '\0');
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("blob {}: read", d.str());
    if (n == 0) break;
    HUSK_TRY(w->write(std::string_view(buf.data(), static_cast<size_t>(n))));
  }
  return w->commit();
}

Result<void> Store::adopt_blob(int dirfd, const std::string& name, const Digest& d,
                              uint64_t size) const {
  HUSK_TRY_ASSIGN(std::optional<BlobWriter> w, begin_blob(d, size));
  if (!w) return ok();
  UniqueFd f(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!f) return fail_errno("blob {}: open {}", d.str(), name);
  Sha256 hash;
  uint64_t got_size = 0;
  std::string buf(1 << 20, '\0');
  for (;;) {
    ssize_t n = ::read(f.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("blob {}: read", d.str());
    if (n == 0) break;
    hash.update(std::string_view(buf.data(), static_cast<size_t>(n)));
    got_size += static_cast<uint64_t>(n);
  }
  if (got_size != size)
    return fail_quiet(EIO, "blob {}: {} bytes, expected {}", d.str(), got_size, size);
  if (Digest got = hash.finish(); got != d)
    return fail_quiet(EIO, "blob {}: digest mismatch: got {}", d.str(), got.str());
  if (::fsync(f.get()) < 0) return fail_errno("blob {}: sync", d.str());
  std::string dest = path("blobs/sha256/" + std::string(d.hex()));
  if (::renameat(dirfd, name.c_str(), AT_FDCWD, dest.c_str()) == 0)
    return su::fsync_dir(path("blobs/sha256"));  // w removes its unused temp file and lock
  if (errno != EXDEV) return fail_errno("blob {}: rename into the store", d.str());
  if (::lseek(f.get(), 0, SEEK_SET) < 0) return fail_errno("blob {}: seek", d.str());
  for (;;) {
    ssize_t n = ::read(f.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("blob {}: read", d.str());
    if (n == 0) break;
    HUSK_TRY(w->write(std::string_view(buf.data(), static_cast<size_t>(n))));
  }
  return w->commit();
}

Result<void> Store::put_blob(std::string_view bytes, const Digest& d) const {
  HUSK_TRY_ASSIGN(std::optional<BlobWriter> w, begin_blob(d, bytes.size()));
  if (!w) return ok();
  HUSK_TRY(w->write(bytes));
  return w->commit();
}

Result<UniqueFd> Store::open_blob(const Digest& d) const {
  std::string p = path("blobs/sha256/" + std::string(d.hex()));
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (errno == ENOENT) return fail_quiet(ENOENT, "blob {}: not in the store", d.str());
    return fail_errno("blob {}: open", d.str());
  }
  return fd;
}

Result<std::string> Store::read_blob(const Digest& d, size_t max_bytes) const {
  HUSK_TRY_ASSIGN(UniqueFd fd, open_blob(d));
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) return fail_errno("blob {}: stat", d.str());
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    return fail_quiet(EFBIG, "blob {}: {} bytes, more than the {} allowed", d.str(), st.st_size,
                      max_bytes);
  return read_all(fd.get()).context("blob {}", d.str());
}

// ---- layers ----

bool Store::has_layer(const Digest& chain) const {
  return ::faccessat(AT_FDCWD, path("layers/" + std::string(chain.hex()) + "/layer.json").c_str(),
                     F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

Result<LayerInfo> Store::layer(const Digest& chain) const {
  std::string p = path("layers/" + std::string(chain.hex()) + "/layer.json");
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (errno == ENOENT) return fail_quiet(ENOENT, "layer {}: not in the store", chain.str());
    return fail_errno("layer {}: open", chain.str());
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0 || st.st_size > static_cast<off_t>(kMaxRecordBytes))
    return fail(EFBIG, "layer {}: layer.json too large or unreadable", chain.str());
  HUSK_TRY_ASSIGN(std::string text, read_all(fd.get()));
  HUSK_TRY_ASSIGN(LayerInfo l, parse_layer_json(text, p));
  if (l.chain_id != chain) return fail_quiet(EINVAL, "{}: chain_id is {}", p, l.chain_id.str());
  return l;
}

Result<LayerInfo> Store::put_layer(const std::optional<Digest>& parent, const Digest& blob,
                                   const Digest& diff_id) const {
  Digest chain = chain_id(parent, diff_id);
  if (has_layer(chain)) return layer(chain);
  if (parent && !has_layer(*parent))
    return fail_quiet(ENOENT, "layer {}: parent layer {} is not in the store", chain.str(),
                      parent->str());
  if (!has_blob(blob))
    return fail_quiet(ENOENT, "layer {}: blob {} is not in the store", chain.str(), blob.str());
  // One unpacker per layer: the second caller waits here and then finds the layer.
  std::string lock_path = path("tmp/layer-" + std::string(chain.hex()) + ".lock");
  HUSK_TRY_ASSIGN(UniqueFd layer_lock, lock_file(lock_path, LOCK_EX));
  // Unlinked while held (before layer_lock closes): waiters notice and lock afresh.
  Cleanup drop_lock([&] { ::unlink(lock_path.c_str()); });
  if (has_layer(chain)) return layer(chain);
  return unpack_into_place(parent, blob, diff_id, chain);
}

Result<LayerInfo> Store::unpack_into_place(const std::optional<Digest>& parent, const Digest& blob,
                                           const Digest& diff_id, const Digest& chain) const {
  UniqueFd tmp(::open(path("tmp").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!tmp) return fail_errno("open {}", path("tmp"));
  HUSK_TRY_ASSIGN(std::string stage, su::random_name(16));
  stage = "stage-" + stage;
  UniqueFd stage_fd;
  {  // Made and flocked under the store lock, so prune never sees it unlocked.
    HUSK_TRY_ASSIGN(UniqueFd store_lock, lock());
    if (::mkdirat(tmp.get(), stage.c_str(), 0700) < 0) return fail_errno("create tmp/{}", stage);
    stage_fd.reset(::openat(tmp.get(), stage.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!stage_fd || ::flock(stage_fd.get(), LOCK_EX | LOCK_NB) < 0)
      return fail_errno("lock tmp/{}", stage);
  }
  Cleanup remove_stage([&] { (void)su::remove_tree_at(tmp.get(), stage); });
  if (::mkdirat(stage_fd.get(), "diff", 0755) < 0) return fail_errno("create tmp/{}/diff", stage);
  UniqueFd diff(::openat(stage_fd.get(), "diff", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!diff) return fail_errno("open tmp/{}/diff", stage);
  HUSK_TRY_ASSIGN(UniqueFd blob_fd, open_blob(blob));
  HUSK_TRY_ASSIGN(LayerDigests got,
                  unpack_layer(blob_fd.get(), diff.get(), {.digest = blob, .diff_id = diff_id}));
  // Durable before it is renamed in: one syncfs rather than an fsync a file.
  if (::syncfs(stage_fd.get()) < 0) return fail_errno("sync tmp/{}", stage);
  LayerInfo info{.chain_id = chain, .diff_id = diff_id, .parent = parent, .blob = blob,
                 .compressed_size = got.compressed_size, .size = got.size, .unpacked = true};
  HUSK_TRY_ASSIGN(UniqueFd store_lock, lock());
  if (parent && !has_layer(*parent))
    return fail_quiet(ENOENT, "layer {}: parent layer {} was removed", chain.str(), parent->str());
  std::string target = "../layers/" + std::string(chain.hex()) + "/diff";
  for (int attempt = 0;; ++attempt) {
    HUSK_TRY_ASSIGN(info.link, su::random_name(kShortLinkLength));
    if (::symlink(target.c_str(), path("l/" + info.link).c_str()) == 0) break;
    if (errno != EEXIST || attempt == 8) return fail_errno("layer {}: link", chain.str());
  }
  Cleanup remove_link([&] { ::unlink(path("l/" + info.link).c_str()); });
  HUSK_TRY(write_file_atomic(path("tmp/" + stage + "/layer.json"), layer_json(info), 0600));
  std::string dest = path("layers/" + std::string(chain.hex()));
  if (::renameat(tmp.get(), stage.c_str(), AT_FDCWD, dest.c_str()) < 0)
    return fail_errno("layer {}: rename into the store", chain.str());
  remove_link.cancel();
  remove_stage.cancel();
  HUSK_TRY(su::fsync_dir(path("l")));
  HUSK_TRY(su::fsync_dir(path("layers")));
  return info;
}

Result<std::string> Store::lowerdir_option(const std::vector<Digest>& chains) const {
  if (chains.empty()) return fail_quiet(EINVAL, "an overlay needs at least one layer");
  if (chains.size() > kMaxLowerDirs)
    return fail_quiet(E2BIG, "{} layers: overlayfs stacks at most {}", chains.size(),
                      kMaxLowerDirs);
  std::string out = "lowerdir=";
  for (size_t i = chains.size(); i-- > 0;) {
    HUSK_TRY_ASSIGN(LayerInfo l, layer(chains[i]));
    out += "l/" + l.link;
    if (i > 0) out += ':';
  }
  return out;
}

}  // namespace husk::image
