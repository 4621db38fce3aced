// The image store: content-addressed, daemonless and crash-safe, under <root>/image/
// (root: HUSK_ROOT, default /var/lib/husk), modelled on containerd's content store and
// containers/storage's overlay driver:
//
//   blobs/sha256/<hex>      manifests, configs and compressed layer blobs, verified on the way in
//   layers/<chain hex>/     one per layer stack position (OCI ChainID):
//     diff/                   the unpacked tree (an overlayfs lowerdir)
//     layer.json              {chain_id, diff_id, parent, blob, compressed_size, size, link}
//   l/<short> -> ../layers/<chain>/diff   short links, so overlayfs' one-page mount data
//                                         holds 128+ lowerdirs (lowerdir_option)
//   images/<config hex>.json  the image record (id = config digest)
//   tags.json               canonical name -> image id, rewritten atomically
//   holds/<container>       the image a container uses and its owner "PID START" (acquire)
//   tmp/                    staging: everything lands here first, then rename()
//   lock                    flock for metadata changes (short critical sections)
//   pull.lock               shared by writers between their first put and put_image; prune
//                           waits for it, rmi leaves layers alone while it is held
//
//   HUSK_TRY_ASSIGN(Store s, Store::open(Store::default_root()));
//   Store::Lease lease = HUSK_TRY(s.lease());
//   HUSK_TRY(s.put_blob(fd, layer.digest, layer.size));
//   HUSK_TRY_ASSIGN(LayerInfo l, s.put_layer(parent, layer.digest, diff_id));
//   HUSK_TRY_ASSIGN(ImageRecord r, s.put_image({manifest, mdigest, config, cdigest, tags}));
//
// Crash safety: a blob or layer is either wholly in place (renamed in) or only in tmp/;
// records are written with write_file_atomic (fsynced); kill -9 at any moment leaves a store
// the next command can use, and prune() removes what a killed writer left in tmp/.
// Locking: see docs/images.md, "The store".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "image/digest.h"

namespace husk::image {

inline constexpr const char* kDefaultRoot = "/var/lib/husk";
// Short link names: 16 base32 characters (80 random bits; a clash is retried). containers/storage
// uses 26; 16 leave room for upperdir/workdir with 128 layers in one page (see the test).
inline constexpr size_t kShortLinkLength = 16;
inline constexpr size_t kMaxRecordBytes = 1 << 20;

// OCI ChainID: chain(L1) = diff_id1, chain(Ln) = sha256(chain(Ln-1) + " " + diff_idn).
Digest chain_id(const std::optional<Digest>& parent, const Digest& diff_id);
std::vector<Digest> chain_ids(const std::vector<Digest>& diff_ids);

struct LayerInfo {
  Digest chain_id, diff_id;
  std::optional<Digest> parent;  // the chain id below, none for a base layer
  Digest blob;                   // the compressed blob it was unpacked from
  uint64_t compressed_size = 0, size = 0;  // size: bytes of the uncompressed tar
  std::string link;                        // the short link name under l/
  bool unpacked = false;  // put_layer only: this call did the unpacking
};

struct ImageRecord {
  Digest id;  // the config digest
  Digest manifest;
  std::string manifest_media_type;
  std::vector<Digest> layers;  // chain ids, base first
  std::vector<Digest> layer_blobs;  // the manifest's layer blobs, base first
  std::vector<std::string> repo_digests;  // "docker.io/library/alpine@sha256:..."
  std::string created;                    // the config's, as written
  uint64_t size = 0;                      // sum of the layers' sizes
  // Filled by list_images()/resolve(), not stored: tags.json says them.
  std::vector<std::string> repo_tags;
  // list_images() only: bytes of layers other images share, and the rest.
  uint64_t shared_size = 0, unique_size = 0;
};

struct ImageInput {
  std::string_view manifest;  // the manifest bytes (sha256 must be manifest_digest)
  Digest manifest_digest;
  std::string_view config;  // the config bytes (sha256 must be the manifest's config digest)
  std::vector<std::string> tags;   // canonical references to point at the image
  std::vector<std::string> repos;  // repository names for repo_digests (name@manifest)
};

struct StoreUsage {
  std::vector<ImageRecord> images;  // by created, newest first
  uint64_t total_size = 0;          // every layer once
  uint64_t shared_size = 0;         // layers in more than one image, once
};

struct PruneReport {
  std::vector<Digest> images, layers, blobs;
  size_t tmp_entries = 0;
  uint64_t reclaimed = 0;  // bytes of layers (uncompressed) and blobs removed
};

// A blob being written: bytes in, verified at commit(). Holds the blob's lock, so a concurrent
// writer of the same digest waits and then finds it present. Dropped uncommitted: the temp
// file goes.
class BlobWriter {
 public:
  BlobWriter(BlobWriter&&) noexcept = default;
  BlobWriter& operator=(BlobWriter&&) noexcept = default;
  ~BlobWriter();
  // More bytes than the expected size is an error at once.
  Result<void> write(std::string_view bytes);
  // Size and digest checked, fsync, rename into blobs/. The error names both digests:
  // `blob sha256:<want>: digest mismatch: got sha256:<got>`.
  Result<void> commit();
  uint64_t written() const { return written_; }  // for progress displays

 private:
  friend class Store;
  explicit BlobWriter(std::string root) : root_(std::move(root)) {}
  std::string root_;
  Digest want_;
  uint64_t want_size_ = 0, written_ = 0;
  UniqueFd file_, lock_;
  std::string temp_name_, lock_path_;
  std::unique_ptr<Sha256> hash_;
};

class Store {
 public:
  // Held (shared) from a writer's first put to its put_image: prune waits for it, rmi leaves
  // layers and blobs alone while one is held (they may be the pull's).
  using Lease = UniqueFd;

  static std::string default_root();  // $HUSK_ROOT, else /var/lib/husk
  // Makes <root>/image and its layout (0700).
  static Result<Store> open(const std::string& root);
  const std::string& dir() const { return dir_; }  // <root>/image

  Result<Lease> lease() const;

  // Blobs.
  bool has_blob(const Digest& d) const;
  // nullopt: the blob is present (maybe after waiting for a concurrent writer).
  Result<std::optional<BlobWriter>> begin_blob(const Digest& d, uint64_t size) const;
  Result<void> put_blob(int fd, const Digest& d, uint64_t size) const;
  Result<void> put_blob(std::string_view bytes, const Digest& d) const;
  // A file already written under tmp/ (a load's staging): hashed and checked as put_blob
  // does, then renamed into blobs/ rather than copied (copied when on another file system).
  Result<void> adopt_blob(int dirfd, const std::string& name, const Digest& d,
                          uint64_t size) const;
  Result<UniqueFd> open_blob(const Digest& d) const;
  // The whole blob, refused when larger than max_bytes.
  Result<std::string> read_blob(const Digest& d, size_t max_bytes) const;

  // Layers. put_layer unpacks blob (already in blobs/) over parent, checks its diff_id and
  // renames it in; concurrent callers for one layer unpack it once (the second waits).
  bool has_layer(const Digest& chain) const;
  Result<LayerInfo> layer(const Digest& chain) const;
  Result<LayerInfo> put_layer(const std::optional<Digest>& parent, const Digest& blob,
                              const Digest& diff_id) const;
  // "lowerdir=l/TOP:...:l/BASE" for chains given base first, relative to dir() (mount with
  // that as the working directory).
  Result<std::string> lowerdir_option(const std::vector<Digest>& chains) const;

  // Images.
  Result<ImageRecord> put_image(const ImageInput& in) const;
  Result<std::vector<ImageRecord>> list_images() const;
  Result<StoreUsage> usage() const;
  // A name (alpine, alpine:3, x@sha256:...), a full id or a unique id prefix (>= 4 hex).
  Result<ImageRecord> resolve(std::string_view name_or_id) const;
  // Untags name; removes the image when no tag is left (or when given by id, with force if it
  // has several tags). An image a container holds is refused naming the container; force
  // untags and keeps it (dangling) until the hold is released. Returns the removed ids.
  Result<std::vector<Digest>> remove_image(std::string_view name_or_id, bool force) const;
  // Undoes a failed writer's puts: removes those of `blobs` and `layers` (chain ids) that no
  // image record refers to. Only for what this writer itself added (put_blob/put_layer made
  // them), between its lease and its put_image.
  Result<void> discard(const std::vector<Digest>& blobs, const std::vector<Digest>& layers) const;
  // Removes dangling images no container holds, layers and blobs no image refers to, and
  // tmp/ entries nobody holds. Waits for running writers' leases.
  Result<PruneReport> prune() const;

  // Holds: container -> image. A hold names its owner process (pid and start time; none: this
  // process), moved to the container's init with hand_hold once it runs: a hold whose owner is
  // gone (a kill -9 of husk and its container) counts for nothing and prune removes it.
  Result<void> acquire(const Digest& image, std::string_view container, pid_t owner = 0) const;
  Result<void> hand_hold(std::string_view container, pid_t owner) const;
  Result<void> release(std::string_view container) const;
  // The containers holding image with a live owner (or no owner recorded).
  Result<std::vector<std::string>> holders(const Digest& image) const;

 private:
  explicit Store(std::string dir) : dir_(std::move(dir)) {}
  std::string path(std::string_view rel) const { return dir_ + "/" + std::string(rel); }
  Result<UniqueFd> lock() const;
  Result<LayerInfo> unpack_into_place(const std::optional<Digest>& parent, const Digest& blob,
                                      const Digest& diff_id, const Digest& chain) const;
  // Layers and blobs no record refers to; the caller holds lock().
  // Each is renamed into tmp/ and flocked; the caller removes it after unlocking.
  using Doomed = std::vector<std::pair<std::string, UniqueFd>>;
  Result<void> collect(PruneReport& report, Doomed& doomed) const;
  Result<void> remove_doomed(Doomed& doomed) const;
  Result<std::vector<ImageRecord>> read_records() const;
  Result<void> drop_dead_holds() const;

  std::string dir_;
};

}  // namespace husk::image
