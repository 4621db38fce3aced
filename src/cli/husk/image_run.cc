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
                                const std::string& container) {
  ImageUse use(store);
  use.container_ = container;
  use.root_.name = std::string(name);
  HUSK_TRY_ASSIGN(use.record_, store.resolve(name));
  const image::ImageRecord& r = use.record_;
  HUSK_TRY_ASSIGN(std::string config, store.read_blob(r.id, kMaxConfigBytes)
                                          .context("image {:?}: config", name));
  HUSK_TRY_ASSIGN(use.root_.config,
                  image::parse_config(config).context("image {:?}: config", name));
  if (r.layers.empty()) return fail(EINVAL, "image {:?}: has no layers", name);
  use.root_.base = store.dir();
  for (auto it = r.layers.rbegin(); it != r.layers.rend(); ++it) {
    HUSK_TRY_ASSIGN(image::LayerInfo layer, store.layer(*it).context("image {:?}", name));
    use.root_.lowers.push_back("l/" + layer.link);
    use.diffs_.push_back(store.dir() + "/layers/" + std::string(it->hex()) + "/diff");
  }
  HUSK_TRY(store.acquire(r.id, container).context("image {:?}", name));
  use.held_ = true;
  return use;
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
