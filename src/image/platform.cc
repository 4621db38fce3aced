// Platforms (manifest.h): parsing `--platform`, normalising, and choosing an index's entry.
#include <algorithm>
#include <limits>

#include "image/manifest.h"

namespace husk::image {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool valid_word(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

// The rank of `have` for `want` (both normalised): 0 exact, n > 0 an older arm variant that
// still runs, nullopt no match.
std::optional<int> rank(const Platform& have, const Platform& want) {
  if (have.os != want.os || have.architecture != want.architecture) return std::nullopt;
  if (have.variant == want.variant) return 0;
  if (want.architecture != "arm") return std::nullopt;
  // arm/vN runs vN-1 ... v5 code: v7 prefers v7, then v6, then v5.
  auto level = [](const std::string& v) -> int {
    if (v.size() == 2 && v[0] == 'v' && v[1] >= '5' && v[1] <= '8') return v[1] - '0';
    return 0;
  };
  int w = level(want.variant), h = level(have.variant);
  if (w == 0 || h == 0 || h > w) return std::nullopt;
  return w - h;
}

}  // namespace

std::string Platform::str() const {
  std::string s = os + "/" + architecture;
  if (!variant.empty()) s += "/" + variant;
  return s;
}

Platform normalize_platform(Platform p) {
  p.os = lower(p.os);
  p.architecture = lower(p.architecture);
  p.variant = lower(p.variant);
  std::string& a = p.architecture;
  std::string& v = p.variant;
  if (a == "i386" || a == "i686") a = "386";
  if (a == "x86_64" || a == "x86-64") a = "amd64";
  if (a == "aarch64") a = "arm64";
  if (a == "armhf") a = "arm", v = v.empty() ? "v7" : v;
  if (a == "armel") a = "arm", v = v.empty() ? "v6" : v;
  if (v.size() == 1 && v[0] >= '0' && v[0] <= '9') v = "v" + v;  // "7" -> "v7"
  if (a == "amd64" && v == "v1") v.clear();
  if (a == "arm64" && (v.empty() || v == "v8.0")) v = "v8";
  if (a == "arm" && v.empty()) v = "v7";
  return p;
}

Result<Platform> parse_platform(std::string_view text) {
  std::vector<std::string> parts;
  std::string t = lower(text);
  for (size_t start = 0;;) {
    size_t slash = t.find('/', start);
    parts.push_back(t.substr(start, slash == std::string::npos ? slash : slash - start));
    if (slash == std::string::npos || parts.size() > 3) break;
    start = slash + 1;
  }
  if (parts.size() < 2 || parts.size() > 3)
    return fail_quiet(EINVAL, "platform \"{}\": not os/architecture[/variant]", text);
  for (const std::string& p : parts)
    if (!valid_word(p)) return fail_quiet(EINVAL, "platform \"{}\": invalid part \"{}\"", text, p);
  Platform p{parts[0], parts[1], parts.size() == 3 ? parts[2] : ""};
  return normalize_platform(std::move(p));
}

Platform default_platform() {
#if defined(__x86_64__)
  return {"linux", "amd64", ""};
#elif defined(__aarch64__)
  return {"linux", "arm64", "v8"};
#elif defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7
  return {"linux", "arm", "v7"};
#elif defined(__arm__)
  return {"linux", "arm", "v6"};
#elif defined(__i386__)
  return {"linux", "386", ""};
#elif defined(__s390x__)
  return {"linux", "s390x", ""};
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return {"linux", "ppc64le", ""};
#elif defined(__riscv) && __riscv_xlen == 64
  return {"linux", "riscv64", ""};
#else
  return {"linux", "amd64", ""};
#endif
}

Result<Descriptor> choose_platform(const ImageIndex& index, const Platform& want_in) {
  Platform want = normalize_platform(want_in);
  const Descriptor* best = nullptr;
  const Descriptor* unlabelled = nullptr;
  int best_rank = std::numeric_limits<int>::max();
  std::vector<std::string> offers;
  for (const Descriptor& d : index.manifests) {
    if (!is_manifest_type(d.media_type) && !is_index_type(d.media_type)) continue;
    if (!d.platform) {
      if (unlabelled == nullptr) unlabelled = &d;
      continue;
    }
    Platform have = normalize_platform(*d.platform);
    if (have.os == "unknown" && have.architecture == "unknown") continue;  // attestations
    if (std::find(offers.begin(), offers.end(), have.str()) == offers.end())
      offers.push_back(have.str());
    auto r = rank(have, want);
    if (r && *r < best_rank) best = &d, best_rank = *r;
  }
  if (best != nullptr) return *best;
  if (unlabelled != nullptr) return *unlabelled;
  if (offers.empty())
    return fail_quiet(ENOENT, "no image for {} in the index: it lists no images", want.str());
  std::string list;
  for (const std::string& o : offers) list += (list.empty() ? "" : ", ") + o;
  return fail_quiet(ENOENT, "no image for {} in the index: it offers {}", want.str(), list);
}

}  // namespace husk::image
