// Manifests, indexes and image configs come from registries and archives: hostile bytes.
// The same input is read as a manifest (then a platform is chosen from an index), as an image
// config (then the process is resolved), and as /etc/passwd and /etc/group text.
#include <algorithm>

#include "fuzz_util.h"
#include "image/config.h"
#include "image/manifest.h"
#include "image/passwd.h"

namespace {

using namespace husk;
using namespace husk::image;

void check_descriptor(const Descriptor& d, int64_t max) {
  if (d.size < 0 || d.size > max) fuzz::broken("descriptor size out of bounds");
  if (d.digest.str().size() != 71) fuzz::broken("descriptor digest not sha256:<64 hex>");
}

void manifest(std::string_view text) {
  auto m = parse_manifest(text);
  if (!m) return;
  if (auto* im = std::get_if<ImageManifest>(&*m)) {
    if (im->layers.size() > kMaxLayers) fuzz::broken("too many layers accepted");
    check_descriptor(im->config, kMaxConfigBytes);
    for (const Descriptor& l : im->layers) {
      check_descriptor(l, kMaxBlobSize);
      if (!layer_compression(l.media_type)) fuzz::broken("layer of unknown compression kept");
    }
    return;
  }
  const auto& idx = std::get<ImageIndex>(*m);
  if (idx.manifests.size() > kMaxIndexEntries) fuzz::broken("too many entries accepted");
  for (const char* p : {"linux/amd64", "linux/arm/v7", "linux/arm64", "windows/amd64"}) {
    auto d = choose_platform(idx, *parse_platform(p));
    if (!d) continue;
    bool listed = std::any_of(idx.manifests.begin(), idx.manifests.end(),
                              [&](const Descriptor& e) { return e.digest == d->digest; });
    if (!listed) fuzz::broken("chosen descriptor is not in the index");
  }
}

void config(std::string_view text) {
  auto c = parse_config(text);
  if (!c) return;
  for (const auto& flags : {ProcessFlags{}, ProcessFlags{.entrypoint = "", .cmd = {"x"}}}) {
    auto p = resolve_process(*c, flags);
    if (!p) continue;
    if (p->argv.empty()) fuzz::broken("empty argv accepted");
    if (!p->cwd.starts_with('/')) fuzz::broken("relative cwd");
    for (const std::string& e : p->env)
      if (e.find('=') == std::string::npos) fuzz::broken("env entry without '='");
  }
}

void users(std::string_view text) {
  for (const char* spec : {"", "root", "app:wheel", "1000", "nginx"}) {
    auto u = resolve_user(spec, text, text);
    if (!u) continue;
    if (u->uid > kMaxId || u->gid > kMaxId) fuzz::broken("id out of range");
    for (size_t i = 0; i < u->sgids.size(); ++i)
      if (std::count(u->sgids.begin(), u->sgids.end(), u->sgids[i]) != 1)
        fuzz::broken("supplementary gid listed twice");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::as_text(data, size);
  manifest(text);
  config(text);
  users(text);
  return 0;
}
