#include "front/ps_format.h"

#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace husk::front {
namespace {

std::string plural(int64_t n, std::string_view unit) {
  return fmt::format("{} {}{}", n, unit, n == 1 ? "" : "s");
}

std::string join(const std::vector<std::string>& words, std::string_view sep) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += sep;
    out += w;
  }
  return out;
}

std::string short_id(const std::string& id, bool full) { return full ? id : id.substr(0, 12); }

// docker shows the command quoted, cut to 20 characters with an ellipsis.
std::string command_text(const manage::Container& c, bool full) {
  std::string cmd = "\"" + join(c.record.command, " ") + "\"";
  if (full || cmd.size() <= 20) return cmd;
  return cmd.substr(0, 19) + "…";
}

std::string image_text(const manage::Container& c) {
  if (!c.record.image.empty()) return c.record.image;
  if (!c.record.rootfs.empty()) return c.record.rootfs;
  return "/";  // the host's root
}

std::string labels_text(const manage::Container& c) {
  std::string out;
  for (const auto& [k, v] : c.record.labels) {
    if (!out.empty()) out += ",";
    out += k + "=" + v;
  }
  return out;
}

std::string created_at(const manage::Container& c) {
  time_t t = epoch_seconds(c.record.created);
  tm utc{};
  gmtime_r(&t, &utc);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S +0000 UTC", &utc);
  return buf;
}

std::string field(const manage::Container& c, std::string_view name, int64_t now, bool full) {
  if (name == "ID") return short_id(c.record.id, full);
  if (name == "Names") return c.record.name;
  if (name == "Image") return image_text(c);
  if (name == "Command") return command_text(c, full);
  if (name == "CreatedAt") return created_at(c);
  if (name == "RunningFor") return human_duration(now - epoch_seconds(c.record.created)) + " ago";
  if (name == "Status") return status_text(c, now);
  if (name == "State") return std::string(manage::state_name(c.state));
  if (name == "Ports") return join(c.record.ports, ", ");
  if (name == "Labels") return labels_text(c);
  return {};
}

constexpr std::string_view kFields[] = {"ID",         "Names",  "Image", "Command", "CreatedAt",
                                        "RunningFor", "Status", "State", "Ports",   "Labels"};

// A template's pieces: literal text and {{.Field}} names.
struct Piece {
  bool is_field = false;
  std::string text;
};

Result<std::vector<Piece>> parse_template(std::string_view t) {
  std::vector<Piece> out;
  std::string lit;
  for (size_t i = 0; i < t.size();) {
    if (t.substr(i, 2) == "{{") {
      size_t end = t.find("}}", i);
      if (end == std::string_view::npos) return fail(0, "--format {:?}: an unclosed {{{{", t);
      std::string_view inner = t.substr(i + 2, end - i - 2);
      while (!inner.empty() && inner.front() == ' ') inner.remove_prefix(1);
      while (!inner.empty() && inner.back() == ' ') inner.remove_suffix(1);
      if (!inner.starts_with(".")) return fail(0, "--format {:?}: {{{{{}}}}} is not a .Field", t, inner);
      std::string_view name = inner.substr(1);
      bool known = false;
      for (auto f : kFields) known = known || f == name;
      if (!known)
        return fail(0, "--format {:?}: no field {:?} (ID, Names, Image, Command, CreatedAt, "
                    "RunningFor, Status, State, Ports, Labels)", t, name);
      if (!lit.empty()) out.push_back({false, std::exchange(lit, {})});
      out.push_back({true, std::string(name)});
      i = end + 2;
    } else if (t.substr(i, 2) == "\\t") {
      lit += '\t';
      i += 2;
    } else if (t.substr(i, 2) == "\\n") {
      lit += '\n';
      i += 2;
    } else {
      lit += t[i++];
    }
  }
  if (!lit.empty()) out.push_back({false, lit});
  return out;
}

// Columns padded to their widest cell, three spaces apart (docker's tabwriter).
std::string columns(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  auto cells = [](const std::string& s) {
    size_t n = 0;  // count code points: "…" is one column
    for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
    return n;
  };
  for (const auto& r : rows) {
    if (width.size() < r.size()) width.resize(r.size());
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], cells(r[i]));
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line.append(width[i] - cells(r[i]) + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

// podman's `ps --format json`: an array of objects with its keys (those of
// pods, health and sizes as podman shows them for a container without).
std::string json_of(const std::vector<manage::Container>& cs, int64_t now) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& c : cs) {
    bool exited = c.state == manage::State::kExited;
    std::string image_id = c.record.image_id;
    if (image_id.starts_with("sha256:")) image_id.erase(0, 7);
    nlohmann::json labels = c.record.labels.empty() ? nlohmann::json(nullptr)
                                                     : nlohmann::json(c.record.labels);
    nlohmann::json ports = c.record.ports.empty() ? nlohmann::json(nullptr)
                                                   : nlohmann::json(c.record.ports);
    nlohmann::json j = {
        {"Id", c.record.id},
        {"Names", {c.record.name}},
        {"Image", image_text(c)},
        {"ImageID", image_id},
        {"Command", c.record.command},
        {"Created", epoch_seconds(c.record.created)},
        {"CreatedAt", human_duration(now - epoch_seconds(c.record.created)) + " ago"},
        {"State", std::string(manage::state_name(c.state))},
        {"Status", status_text(c, now)},
        {"Exited", exited},
        {"ExitCode", exited ? c.status.exit_code : 0},
        {"ExitedAt", exited ? epoch_seconds(c.status.finished_at) : 0},
        {"StartedAt", epoch_seconds(c.status.started_at)},
        {"Pid", exited ? 0 : c.status.pid},
        {"Labels", labels},
        {"Ports", ports},
        {"Restarts", c.status.restarts},
        {"AutoRemove", c.record.auto_remove},
        {"Mounts", nlohmann::json::array()},
        {"Networks", nlohmann::json::array()},
        {"Namespaces", nlohmann::json::object()},
        {"Pod", ""},
        {"PodName", ""},
        {"IsInfra", false},
        {"Size", nullptr},
    };
    arr.push_back(std::move(j));
  }
  return arr.dump(2) + "\n";
}

}  // namespace

std::string human_duration(int64_t s) {
  if (s < 1) return "Less than a second";
  if (s < 60) return plural(s, "second");
  int64_t m = s / 60;
  if (m == 1) return "About a minute";
  if (m < 60) return plural(m, "minute");
  int64_t h = m / 60;
  if (h == 1) return "About an hour";
  if (h < 48) return plural(h, "hour");
  if (h < 24 * 7 * 2) return plural(h / 24, "day");
  if (h < 24 * 30 * 2) return plural(h / 24 / 7, "week");
  if (h < 24 * 365 * 2) return plural(h / 24 / 30, "month");
  return plural(h / 24 / 365, "year");
}

int64_t epoch_seconds(std::string_view t) {
  // 2024-05-01T12:00:00[.fraction]Z: husk writes UTC only.
  if (t.size() < 19) return 0;
  tm parts{};
  std::string head(t.substr(0, 19));
  if (strptime(head.c_str(), "%Y-%m-%dT%H:%M:%S", &parts) == nullptr) return 0;
  return static_cast<int64_t>(timegm(&parts));
}

std::string status_text(const manage::Container& c, int64_t now) {
  switch (c.state) {
    case manage::State::kCreated: return "Created";
    case manage::State::kRunning:
      return "Up " + human_duration(now - epoch_seconds(c.status.started_at));
    case manage::State::kPaused:
      return "Up " + human_duration(now - epoch_seconds(c.status.started_at)) + " (Paused)";
    case manage::State::kRestarting:
      return fmt::format("Restarting ({}) {} ago", c.status.exit_code,
                         human_duration(now - epoch_seconds(c.status.finished_at)));
    case manage::State::kExited:
      if (c.status.finished_at.empty()) return fmt::format("Exited ({})", c.status.exit_code);
      return fmt::format("Exited ({}) {} ago", c.status.exit_code,
                         human_duration(now - epoch_seconds(c.status.finished_at)));
    case manage::State::kRemoving: return "Removal In Progress";
  }
  return "Unknown";
}

Result<std::vector<Filter>> parse_filters(const std::vector<std::string>& flags) {
  std::vector<Filter> out;
  for (const auto& f : flags) {
    size_t eq = f.find('=');
    if (eq == std::string::npos || eq == 0)
      return fail(0, "--filter {:?}: not KEY=VALUE", f);
    Filter filter{f.substr(0, eq), f.substr(eq + 1)};
    const auto& k = filter.key;
    if (k != "id" && k != "name" && k != "status" && k != "label" && k != "exited" &&
        k != "ancestor")
      return fail(0, "--filter {:?}: no filter {:?} (id, name, status, label, exited, "
                  "ancestor)", f, k);
    if (k == "status") {
      static constexpr std::string_view kStates[] = {"created", "running", "paused",
                                                     "restarting", "exited", "removing"};
      bool known = false;
      for (auto s : kStates) known = known || s == filter.value;
      if (!known)
        return fail(0, "--filter {:?}: status is created, running, paused, restarting, "
                    "exited or removing", f);
    }
    if (k == "exited" && (filter.value.empty() ||
                          filter.value.find_first_not_of("0123456789") != std::string::npos))
      return fail(0, "--filter {:?}: exited takes an exit code", f);
    out.push_back(std::move(filter));
  }
  return out;
}

bool matches(const manage::Container& c, const std::vector<Filter>& filters) {
  // docker: values of one key are alternatives; different keys must all match.
  auto key_matches = [&](std::string_view key) {
    bool any = false, hit = false;
    for (const auto& f : filters) {
      if (f.key != key) continue;
      any = true;
      if (key == "id") hit = hit || c.record.id.starts_with(f.value);
      if (key == "name") hit = hit || c.record.name.find(f.value) != std::string::npos;
      if (key == "status") hit = hit || manage::state_name(c.state) == f.value;
      if (key == "exited")
        hit = hit || (c.state == manage::State::kExited &&
                      std::to_string(c.status.exit_code) == f.value);
      if (key == "ancestor")
        hit = hit || c.record.image == f.value ||
              (!c.record.image_id.empty() && (c.record.image_id.starts_with(f.value) ||
                                              c.record.image_id.starts_with("sha256:" + f.value)));
      if (key == "label") {
        size_t eq = f.value.find('=');
        auto it = c.record.labels.find(f.value.substr(0, eq));
        hit = hit || (it != c.record.labels.end() &&
                      (eq == std::string::npos || it->second == f.value.substr(eq + 1)));
      }
    }
    return !any || hit;
  };
  for (auto key : {"id", "name", "status", "label", "exited", "ancestor"})
    if (!key_matches(key)) return false;
  return true;
}

Result<std::string> render_ps(const std::vector<manage::Container>& cs, const PsOptions& o,
                              int64_t now) {
  if (o.quiet) {
    std::string out;
    for (const auto& c : cs) out += short_id(c.record.id, o.no_trunc) + "\n";
    return out;
  }
  if (o.format == "json") return json_of(cs, now);
  if (o.format.empty() || o.format == "table") {
    std::vector<std::vector<std::string>> rows = {
        {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"}};
    for (const auto& c : cs)
      rows.push_back({short_id(c.record.id, o.no_trunc), image_text(c), command_text(c, o.no_trunc),
                      field(c, "RunningFor", now, o.no_trunc), status_text(c, now),
                      join(c.record.ports, ", "), c.record.name});
    return columns(rows);
  }
  // A template; "table " before it adds a header of the field names.
  std::string_view t = o.format;
  bool table = t.starts_with("table ");
  if (table) t.remove_prefix(6);
  HUSK_TRY_ASSIGN(std::vector<Piece> pieces, parse_template(t));
  std::string out;
  if (table) {
    std::string header;
    for (const auto& p : pieces) {
      if (!p.is_field) {
        header += p.text;
        continue;
      }
      std::string up;
      for (char ch : p.text) up += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      header += up == "ID" ? "CONTAINER ID" : up;
    }
    out += header + "\n";
  }
  for (const auto& c : cs) {
    for (const auto& p : pieces) out += p.is_field ? field(c, p.text, now, o.no_trunc) : p.text;
    out += "\n";
  }
  return out;
}

}  // namespace husk::front
