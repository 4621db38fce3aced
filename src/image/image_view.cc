#include "image/image_view.h"

#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "image/config.h"

namespace husk::image {

std::string human_size(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  double v = static_cast<double>(bytes);
  size_t i = 0;
  while (v >= 1000.0 && i + 1 < std::size(kUnits)) {
    v /= 1000.0;
    ++i;
  }
  return fmt::format("{:.4g}{}", v, kUnits[i]);
}

namespace {

// "2024-05-01T12:00:00[.frac](Z|+hh:mm)" as seconds since the epoch.
std::optional<std::time_t> parse_time(std::string_view t) {
  std::tm tm{};
  int y, mo, d, h, mi, s, n = 0;
  std::string text(t);
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) != 6)
    return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  std::time_t v = timegm(&tm);
  size_t i = static_cast<size_t>(n);
  if (i < text.size() && text[i] == '.')
    while (++i < text.size() && text[i] >= '0' && text[i] <= '9') {
    }
  if (i + 6 <= text.size() && (text[i] == '+' || text[i] == '-')) {
    int oh = 0, om = 0;
    if (std::sscanf(text.c_str() + i + 1, "%2d:%2d", &oh, &om) == 2)
      v -= (text[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
  }
  return v;
}

}  // namespace

std::string time_ago(std::string_view rfc3339, std::time_t now) {
  auto t = parse_time(rfc3339);
  if (!t) return "N/A";
  double s = std::difftime(now, *t);
  if (s < 1) return "Less than a second ago";
  auto plural = [](long n, const char* unit) {
    return fmt::format("{} {}{} ago", n, unit, n == 1 ? "" : "s");
  };
  if (s < 60) return plural(static_cast<long>(s), "second");
  if (s < 60 * 60)
    return s < 120 ? "About a minute ago" : plural(static_cast<long>(s / 60), "minute");
  double h = s / 3600;
  if (h < 48) return h < 2 ? "About an hour ago" : plural(static_cast<long>(h), "hour");
  if (h < 24 * 7 * 2) return plural(static_cast<long>(h / 24), "day");
  if (h < 24 * 30 * 2) return plural(static_cast<long>(h / 24 / 7), "week");
  if (h < 24 * 365 * 2) return plural(static_cast<long>(h / 24 / 30), "month");
  return plural(static_cast<long>(h / 24 / 365), "year");
}

Result<std::string> inspect_json(const ImageRecord& r, std::string_view config) {
  using Json = nlohmann::ordered_json;
  HUSK_TRY_ASSIGN(ImageConfig c, parse_config(config).context("image {}: config", r.id.str()));
  auto list_or_null = [](const std::vector<std::string>& v) -> Json {
    return v.empty() ? Json(nullptr) : Json(v);
  };
  auto set_of = [](const std::vector<std::string>& v) -> Json {
    if (v.empty()) return nullptr;
    Json o = Json::object();
    for (const std::string& k : v) o[k] = Json::object();
    return o;
  };
  Json labels = c.labels.empty() ? Json(nullptr) : Json(c.labels);
  Json cfg = {{"User", c.user},
              {"ExposedPorts", set_of(c.exposed_ports)},
              {"Env", list_or_null(c.env)},
              {"Cmd", list_or_null(c.cmd)},
              {"Volumes", set_of(c.volumes)},
              {"WorkingDir", c.working_dir},
              {"Entrypoint", list_or_null(c.entrypoint)},
              {"Labels", labels}};
  if (!c.stop_signal.empty()) cfg["StopSignal"] = c.stop_signal;
  Json layers = Json::array();
  for (const Digest& d : c.diff_ids) layers.push_back(d.str());
  Json out = {{"Id", r.id.str()},
              {"RepoTags", r.repo_tags},
              {"RepoDigests", r.repo_digests},
              {"Created", r.created},
              {"Config", cfg},
              {"Architecture", c.architecture},
              {"Os", c.os},
              {"Size", r.size},
              {"RootFS", {{"Type", "layers"}, {"Layers", layers}}}};
  if (!c.variant.empty()) out["Variant"] = c.variant;
  return out.dump(4);
}

}  // namespace husk::image
