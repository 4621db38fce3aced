#include "front/volume_flags.h"

#include <cctype>
#include <map>
#include <optional>
#include <string_view>

#include "spec/mount_options.h"
#include "storage/volume.h"

namespace husk::cli {
namespace {

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find(sep, start);
    out.emplace_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

bool is_propagation(std::string_view o) {
  for (std::string_view p : {"shared", "rshared", "slave", "rslave", "private", "rprivate"})
    if (o == p) return true;
  return false;
}

// Absolute, clean, not "/": "/a/b", never "a", "/a/", "/a//b", "/a/../b".
Result<void> check_target(const std::string& flag, const std::string& t) {
  if (t.empty() || t.front() != '/')
    return fail(0, "{}: target {:?} must be an absolute path", flag, t);
  if (t == "/") return fail(0, "{}: target \"/\": the root cannot be a mount target", flag);
  auto parts = split(std::string_view(t).substr(1), '/');
  for (const auto& p : parts)
    if (p.empty() || p == "." || p == "..")
      return fail(0, "{}: target {:?} must be a clean path (no \"//\", \".\", \"..\" or "
                          "trailing \"/\")", flag, t);
  return ok();
}

Result<bool> parse_bool(const std::string& flag, const std::string& key,
                        const std::optional<std::string>& v) {
  if (!v || *v == "true" || *v == "1") return true;
  if (*v == "false" || *v == "0") return false;
  return fail(0, "{}: {}={:?}: want true or false", flag, key, *v);
}

// docker's size units for tmpfs-size: bytes, or k/m/g (powers of 1024).
Result<std::string> parse_tmpfs_size(const std::string& flag, const std::string& v) {
  if (v.empty()) return fail(0, "{}: tmpfs-size: empty", flag);
  size_t digits = v.find_first_not_of("0123456789");
  if (digits == 0) return fail(0, "{}: tmpfs-size={:?}: not a size", flag, v);
  std::string unit = digits == std::string::npos ? "" : v.substr(digits);
  if (!unit.empty() && unit.size() == 2 && (unit[1] == 'b' || unit[1] == 'B')) unit.pop_back();
  if (!(unit.empty() || unit == "k" || unit == "K" || unit == "m" || unit == "M" ||
        unit == "g" || unit == "G"))
    return fail(0, "{}: tmpfs-size={:?}: not a size (bytes, or k, m, g)", flag, v);
  std::string n = v.substr(0, digits);
  if (n.size() > 15) return fail(0, "{}: tmpfs-size={:?}: too large", flag, v);
  return unit.empty() ? n : n + static_cast<char>(std::tolower(unit[0]));
}

Result<std::string> parse_tmpfs_mode(const std::string& flag, const std::string& v) {
  if (v.empty() || v.size() > 4 || v.find_first_not_of("01234567") != std::string::npos)
    return fail(0, "{}: tmpfs-mode={:?}: want an octal mode such as 1777", flag, v);
  return v;
}

}  // namespace

// -v [SRC:]DST[:OPTS]
Result<VolumeMount> parse_volume_flag(const std::string& v) {
  VolumeMount m;
  m.flag = fmt::format("-v {:?}", v);
  auto parts = split(v, ':');
  if (parts.size() > 3) return fail(0, "{}: too many \":\" (want [SRC:]DST[:OPTS])", m.flag);
  std::string opts;
  bool has_opts = false;
  if (parts.size() == 1) {
    m.target = parts[0];
  } else if (parts.size() == 2 && !parts[1].empty() && parts[1].front() == '/') {
    m.source = parts[0];
    m.target = parts[1];
    if (m.source.empty()) return fail(0, "{}: empty source", m.flag);
  } else if (parts.size() == 2) {
    m.target = parts[0];
    opts = parts[1];
    has_opts = true;
  } else {
    m.source = parts[0];
    m.target = parts[1];
    opts = parts[2];
    has_opts = true;
    if (m.source.empty()) return fail(0, "{}: empty source", m.flag);
  }
  if (!m.source.empty() && m.source.front() == '/') {
    m.kind = VolumeMount::Kind::kBind;
  } else if (!m.source.empty()) {
    if (auto r = storage::check_volume_name(m.source); !r)
      return fail(0, "{}: {}", m.flag, r.error().message);
  }
  HUSK_TRY(check_target(m.flag, m.target));
  if (has_opts && opts.empty()) return fail(0, "{}: empty options", m.flag);
  bool rw_seen = false;
  for (const auto& o : opts.empty() ? std::vector<std::string>{} : split(opts, ',')) {
    if (o == "ro" || o == "rw") {
      if (rw_seen) return fail(0, "{}: \"ro\"/\"rw\" given twice", m.flag);
      rw_seen = true;
      m.readonly = o == "ro";
    } else if (o == "nocopy" && m.kind == VolumeMount::Kind::kVolume) {
      m.nocopy = true;
    } else if (is_propagation(o) && m.kind == VolumeMount::Kind::kBind) {
      if (!m.propagation.empty()) return fail(0, "{}: two propagation modes", m.flag);
      m.propagation = o;
    } else if (o == "z" || o == "Z") {
      // SELinux relabeling: husk does not label; accepted as docker does without SELinux.
    } else {
      return fail(0, "{}: unknown option {:?}", m.flag, o);
    }
  }
  return m;
}

// --tmpfs DST[:OPTS]
Result<VolumeMount> parse_tmpfs_flag(const std::string& v) {
  VolumeMount m;
  m.kind = VolumeMount::Kind::kTmpfs;
  m.flag = fmt::format("--tmpfs {:?}", v);
  size_t colon = v.find(':');
  m.target = v.substr(0, colon);
  HUSK_TRY(check_target(m.flag, m.target));
  // docker's defaults for --tmpfs; later options (exec, suid) override them.
  m.options = {"nosuid", "nodev", "noexec"};
  if (colon != std::string::npos) {
    for (const auto& o : split(std::string_view(v).substr(colon + 1), ',')) {
      if (o.empty()) return fail(0, "{}: empty option", m.flag);
      if (o == "ro") m.readonly = true;
      m.options.push_back(o);
    }
  }
  return m;
}

// --mount KEY=VALUE,...
Result<VolumeMount> parse_mount_flag(const std::string& v) {
  VolumeMount m;
  m.flag = fmt::format("--mount {:?}", v);
  std::map<std::string, std::optional<std::string>> kv;
  for (const auto& field : split(v, ',')) {
    size_t eq = field.find('=');
    std::string key = field.substr(0, eq);
    if (key.empty()) return fail(0, "{}: empty field", m.flag);
    if (key == "src") key = "source";
    if (key == "dst" || key == "destination") key = "target";
    if (key == "ro") key = "readonly";
    if (kv.contains(key)) return fail(0, "{}: {:?} given twice", m.flag, key);
    kv[key] = eq == std::string::npos ? std::nullopt : std::optional(field.substr(eq + 1));
  }
  std::string type = kv.contains("type") && kv["type"] ? *kv["type"] : "volume";
  if (type == "bind") m.kind = VolumeMount::Kind::kBind;
  else if (type == "volume") m.kind = VolumeMount::Kind::kVolume;
  else if (type == "tmpfs") m.kind = VolumeMount::Kind::kTmpfs;
  else return fail(0, "{}: type {:?}: want bind, volume or tmpfs", m.flag, type);
  if (m.kind == VolumeMount::Kind::kTmpfs) m.options = {"nosuid", "nodev"};
  for (const auto& [key, value] : kv) {
    auto need = [&]() -> Result<std::string> {
      if (!value || value->empty()) return fail(0, "{}: {} needs a value", m.flag, key);
      return *value;
    };
    auto only = [&](VolumeMount::Kind k) -> Result<void> {
      if (m.kind != k) return fail(0, "{}: {:?} does not apply to type {}", m.flag, key, type);
      return ok();
    };
    if (key == "type") {
      continue;
    } else if (key == "source") {
      if (m.kind == VolumeMount::Kind::kTmpfs)
        return fail(0, "{}: a tmpfs has no source", m.flag);
      m.source = HUSK_TRY(need());
    } else if (key == "target") {
      m.target = HUSK_TRY(need());
    } else if (key == "readonly") {
      m.readonly = HUSK_TRY(parse_bool(m.flag, key, value));
    } else if (key == "bind-propagation") {
      HUSK_TRY(only(VolumeMount::Kind::kBind));
      m.propagation = HUSK_TRY(need());
      if (!is_propagation(m.propagation))
        return fail(0, "{}: bind-propagation={:?}: unknown mode", m.flag, m.propagation);
    } else if (key == "volume-nocopy") {
      HUSK_TRY(only(VolumeMount::Kind::kVolume));
      m.nocopy = HUSK_TRY(parse_bool(m.flag, key, value));
    } else if (key == "tmpfs-size") {
      HUSK_TRY(only(VolumeMount::Kind::kTmpfs));
      m.options.push_back("size=" + HUSK_TRY(parse_tmpfs_size(m.flag, HUSK_TRY(need()))));
    } else if (key == "tmpfs-mode") {
      HUSK_TRY(only(VolumeMount::Kind::kTmpfs));
      m.options.push_back("mode=" + HUSK_TRY(parse_tmpfs_mode(m.flag, HUSK_TRY(need()))));
    } else {
      return fail(0, "{}: unknown key {:?}", m.flag, key);
    }
  }
  if (!kv.contains("target")) return fail(0, "{}: no target", m.flag);
  HUSK_TRY(check_target(m.flag, m.target));
  if (m.kind == VolumeMount::Kind::kBind) {
    if (m.source.empty()) return fail(0, "{}: a bind mount needs a source", m.flag);
    if (m.source.front() != '/')
      return fail(0, "{}: bind source {:?} must be an absolute path", m.flag, m.source);
  } else if (m.kind == VolumeMount::Kind::kVolume && !m.source.empty()) {
    if (auto r = storage::check_volume_name(m.source); !r)
      return fail(0, "{}: {}", m.flag, r.error().message);
  }
  if (m.readonly && m.kind == VolumeMount::Kind::kTmpfs) m.options.push_back("ro");
  return m;
}

// All three flags, in docker's order (-v, --tmpfs, --mount); a target given
// twice is an error.
Result<std::vector<VolumeMount>> parse_volume_flags(const VolumeFlags& f) {
  std::vector<VolumeMount> out;
  for (const auto& v : f.volumes) out.push_back(HUSK_TRY(parse_volume_flag(v)));
  for (const auto& v : f.tmpfs) out.push_back(HUSK_TRY(parse_tmpfs_flag(v)));
  for (const auto& v : f.mounts) out.push_back(HUSK_TRY(parse_mount_flag(v)));
  for (size_t i = 0; i < out.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (out[i].target == out[j].target)
        return fail(0, "{}: duplicate mount target {:?} (also {})", out[i].flag,
                    out[i].target, out[j].flag);
  return out;
}

// The mount for m, its source (host path or the volume's _data) resolved.
// Options go through the parser config.json's mounts use.
config::Mount to_config_mount(const VolumeMount& m, const std::string& source) {
  config::Mount c;
  c.destination = m.target;
  if (m.kind == VolumeMount::Kind::kTmpfs) {
    c.type = "tmpfs";
    c.source = "tmpfs";
    c.options = m.options;
  } else {
    c.type = "bind";
    c.source = source;
    c.options = {"rbind", m.readonly ? "ro" : "rw"};
    c.options.push_back(m.propagation.empty() ? "rprivate" : m.propagation);
  }
  spec::apply_mount_options(c);
  return c;
}

}  // namespace husk::cli
