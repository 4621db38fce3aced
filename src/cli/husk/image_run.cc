#include "cli/husk/image_run.h"

#include <utility>

#include "base/log.h"
#include "image/config.h"
#include "image/layer_view.h"
#include "image/passwd.h"

namespace husk::cli {

namespace {

constexpr size_t kMaxConfigBytes = 4 << 20;  // image/config.h's bound

}  // namespace

std::string image_layer_root(const std::string& store_root) { return store_root + "/containers"; }

Result<ImageUse> ImageUse::open(const image::Store& store, std::string_view name,
                                const std::string& container, bool hold) {
  ImageUse use(store);
  use.container_ = container;
  use.root_.name = std::string(name);
  HUSK_TRY_ASSIGN(use.record_, store.resolve(name));  // ENOENT: not in the store
  // Past this point a failure is a damaged store or image, never "not found".
  if (auto r = use.fill(); !r) return fail_quiet(EIO, "image {:?}: {}", name, r.error().what());
  if (!hold) return use;  // a look at a running container's image: it holds it already
  HUSK_TRY(store.acquire(use.record_.id, container).context("image {:?}", name));
  use.held_ = true;
  return use;
}

Result<void> ImageUse::fill() {
  const image::ImageRecord& r = record_;
  HUSK_TRY_ASSIGN(std::string config, store_.read_blob(r.id, kMaxConfigBytes).context("config"));
  HUSK_TRY_ASSIGN(root_.config, image::parse_config(config).context("config"));
  if (r.layers.empty()) return fail_quiet(EINVAL, "no layers");
  root_.base = store_.dir();
  for (auto it = r.layers.rbegin(); it != r.layers.rend(); ++it) {
    HUSK_TRY_ASSIGN(image::LayerInfo layer, store_.layer(*it));
    root_.lowers.push_back("l/" + layer.link);
    diffs_.push_back(store_.dir() + "/layers/" + std::string(it->hex()) + "/diff");
  }
  return ok();
}

ImageUse::ImageUse(ImageUse&& o) noexcept
    : store_(std::move(o.store_)),
      record_(std::move(o.record_)),
      root_(std::move(o.root_)),
      diffs_(std::move(o.diffs_)),
      container_(std::move(o.container_)),
      held_(std::exchange(o.held_, false)) {}

ImageUse::~ImageUse() {
  if (!held_) return;
  if (auto r = store_.release(container_); !r) log::warn("{}", r.error().what());
}

AccountFiles ImageUse::account_files() const {
  AccountFiles files;
  // Unreadable counts as absent: a name then fails to resolve, naming the file.
  if (auto t = image::read_layered_file(diffs_, "/etc/passwd", image::kMaxIdFileBytes); t)
    files.passwd = std::move(*t);
  if (auto t = image::read_layered_file(diffs_, "/etc/group", image::kMaxIdFileBytes); t)
    files.group = std::move(*t);
  return files;
}

Result<void> ImageUse::hand_to(pid_t pid) const { return store_.hand_hold(container_, pid); }

}  // namespace husk::cli
