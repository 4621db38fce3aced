#include "cgroup/layout.h"

#include <algorithm>
#include <mutex>
#include <optional>

#include "base/file.h"
#include "cgroup/text.h"

namespace husk::cgroup {
namespace {

// cgroup v1 super options that are not controllers.
bool is_mount_option(std::string_view opt) {
  static constexpr std::string_view kOptions[] = {
      "rw", "ro", "noprefix", "xattr", "none", "clone_children", "cpuset_v2_mode", "favordynmods"};
  for (auto o : kOptions)
    if (opt == o) return true;
  return opt.starts_with("release_agent=");
}

struct MountLine {
  std::string root;
  std::string mount_point;
  std::string fs_type;
  std::string super_options;
};

// "36 25 0:31 / /sys/fs/cgroup/cpu rw,nosuid - cgroup cgroup rw,cpu"
std::optional<MountLine> parse_mount_line(std::string_view line) {
  std::vector<std::string_view> f = split_fields(line);
  auto dash = std::find(f.begin(), f.end(), std::string_view("-"));
  // After "-": type, source, super options (dash[3], the controllers).
  if (f.size() < 6 || dash == f.end() || f.end() - dash < 4) return std::nullopt;
  MountLine m;
  m.root = unescape_mountinfo(f[3]);
  m.mount_point = unescape_mountinfo(f[4]);
  m.fs_type = std::string(dash[1]);
  m.super_options = std::string(dash[3]);
  return m;
}

Result<void> add_v1(Layout& out, const MountLine& m) {
  V1Hierarchy h{m.mount_point, m.root, {}};
  for (auto opt : split(m.super_options, ',')) {
    if (opt.empty() || is_mount_option(opt)) continue;
    h.controllers.emplace_back(opt);
  }
  if (h.controllers.empty()) return ok();
  for (const auto& existing : out.v1)
    if (existing.key() == h.key()) return ok();  // a bind mount of a known hierarchy
  out.v1.push_back(std::move(h));
  return ok();
}

}  // namespace

std::string_view mode_name(Mode m) {
  switch (m) {
    case Mode::kV1: return "v1";
    case Mode::kV2: return "v2";
    case Mode::kHybrid: return "hybrid";
  }
  return "unknown";
}

bool V1Hierarchy::has(std::string_view controller) const {
  return std::find(controllers.begin(), controllers.end(), controller) != controllers.end();
}

std::string V1Hierarchy::key() const {
  std::string k;
  for (const auto& c : controllers) {
    if (!k.empty()) k += ',';
    k += c;
  }
  return k;
}

const V1Hierarchy* Layout::v1_for(std::string_view controller) const {
  for (const auto& h : v1)
    if (h.has(controller)) return &h;
  return nullptr;
}

bool Layout::v2_has(std::string_view controller) const {
  return has_v2() && std::find(v2_controllers.begin(), v2_controllers.end(), controller) !=
                         v2_controllers.end();
}

std::string unescape_mountinfo(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      std::string_view oct = field.substr(i + 1, 3);
      if (oct.size() == 3 &&
          std::all_of(oct.begin(), oct.end(), [](char c) { return c >= '0' && c <= '7'; })) {
        out += static_cast<char>((oct[0] - '0') * 64 + (oct[1] - '0') * 8 + (oct[2] - '0'));
        i += 3;
        continue;
      }
    }
    out += field[i];
  }
  return out;
}

Result<Layout> parse_layout(std::string_view mountinfo, const FileReader& read) {
  Layout out;
  for (auto line : split(mountinfo, '\n')) {
    auto m = parse_mount_line(line);
    if (!m) continue;
    if (m->fs_type == "cgroup") {
      HUSK_TRY(add_v1(out, *m));
    } else if (m->fs_type == "cgroup2" && out.v2_mount.empty()) {
      out.v2_mount = m->mount_point;
      out.v2_root = m->root;
    }
  }
  if (out.has_v2()) {
    HUSK_TRY_ASSIGN(
        std::string text,
        read(out.v2_mount + "/cgroup.controllers").context("read the cgroup2 controllers"));
    for (auto c : split_fields(text)) out.v2_controllers.emplace_back(c);
  }
  bool v1_controllers = std::any_of(out.v1.begin(), out.v1.end(), [](const V1Hierarchy& h) {
    return !(h.controllers.size() == 1 && h.controllers[0].starts_with("name="));
  });
  if (!v1_controllers && out.has_v2()) {
    out.mode = Mode::kV2;
  } else if (v1_controllers) {
    out.mode = out.has_v2() ? Mode::kHybrid : Mode::kV1;
  } else {
    return fail(ENOENT, "no cgroup hierarchy is mounted");
  }
  return out;
}

Result<OwnCgroups> parse_proc_cgroup(std::string_view text) {
  OwnCgroups out;
  for (auto line : split(text, '\n')) {
    if (line.empty()) continue;
    size_t a = line.find(':');
    size_t b = a == std::string_view::npos ? a : line.find(':', a + 1);
    if (b == std::string_view::npos)
      return fail(EINVAL, "/proc/self/cgroup: malformed line {:?}", line);
    std::string_view ids = line.substr(0, a);
    std::string_view controllers = line.substr(a + 1, b - a - 1);
    std::string path(line.substr(b + 1));
    if (ids == "0" && controllers.empty()) {
      out[""] = path;
      continue;
    }
    for (auto c : split(controllers, ','))
      if (!c.empty()) out[std::string(c)] = path;
  }
  return out;
}

Result<Layout> host_layout() {
  static std::once_flag once;
  static Result<Layout>* cached = nullptr;
  std::call_once(once, [] {
    auto text = read_file("/proc/self/mountinfo");
    cached = new Result<Layout>(
        text ? parse_layout(*text, [](const std::string& p) { return read_file(p); })
             : Result<Layout>(std::unexpected(text.error())));
  });
  return *cached;
}

Result<OwnCgroups> self_cgroups() {
  static std::once_flag once;
  static Result<OwnCgroups>* cached = nullptr;
  std::call_once(once, [] {
    auto text = read_file("/proc/self/cgroup");
    cached = new Result<OwnCgroups>(text ? parse_proc_cgroup(*text)
                                         : Result<OwnCgroups>(std::unexpected(text.error())));
  });
  return *cached;
}

}  // namespace husk::cgroup
