// husk run IMAGE: the image found in the store, held for the container's life,
// and turned into an overlay root (build_config.h's ImageRoot).
//
//   HUSK_TRY_ASSIGN(ImageUse use, ImageUse::open(store, "busybox", container_id));
//   caller.image = use.root();  caller.account_files = use.account_files();
//   ... once the init waits: use.hand_to(pid) ... after the run: ~ImageUse (release)
//
// The hold keeps `husk rmi` and `husk image prune` off the image's layers while
// the container uses them (store.h). It names its owner, husk first and then
// the container's init, so a kill -9 of both never pins the image.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "front/build_config.h"
#include "image/store.h"

namespace husk::cli {

// Where the layers of containers run from images live: <root>/containers/<id>
// (storage::ContainerLayer), on the store's disk rather than tmpfs.
std::string image_layer_root(const std::string& store_root);

class ImageUse {
 public:
  // Resolves name (a reference, an id or an id prefix), reads and checks the
  // image's config and its layers, and takes a hold for container.
  static Result<ImageUse> open(const image::Store& store, std::string_view name,
                               const std::string& container, bool hold = true);
  ImageUse(ImageUse&& o) noexcept;
  ImageUse& operator=(ImageUse&&) = delete;
  ~ImageUse();  // releases the hold

  const ImageRoot& root() const { return root_; }
  const image::ImageRecord& record() const { return record_; }
  // The layers' diff directories, absolute, top first.
  const std::vector<std::string>& diffs() const { return diffs_; }
  // The image's /etc/passwd and /etc/group, read through its layers.
  AccountFiles account_files() const;
  // The hold passes to the container's init.
  Result<void> hand_to(pid_t pid) const;
  // Keeps the hold (handed to the init) past this object.
  void release() { held_ = false; }

 private:
  explicit ImageUse(const image::Store& store) : store_(store) {}
  Result<void> fill();  // config, lowers and diffs from record_
  image::Store store_;
  image::ImageRecord record_;
  ImageRoot root_;
  std::vector<std::string> diffs_;
  std::string container_;
  bool held_ = false;
};

}  // namespace husk::cli
