#include "image/config.h"

#include <algorithm>
#include <unordered_map>

#include "image/json_read.h"

namespace husk::image {
namespace {

using json::Json;

bool has_nul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

Result<std::vector<std::string>> keys_at(const Json& obj, std::string_view key,
                                         std::string_view where) {
  std::vector<std::string> out;
  const Json* v = json::member(obj, key);
  if (v == nullptr) return out;
  if (!v->is_object()) return fail_quiet(EINVAL, "{}: not an object", json::join(where, key));
  if (v->size() > kMaxConfigItems)
    return fail_quiet(EINVAL, "{}: more than {} entries", json::join(where, key), kMaxConfigItems);
  for (auto it = v->begin(); it != v->end(); ++it) out.push_back(it.key());
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<std::string>> strings_or_empty(const Json& obj, std::string_view key,
                                                  std::string_view where) {
  auto v = HUSK_TRY(json::strings_at(obj, key, where, kMaxConfigItems));
  if (!v) return std::vector<std::string>{};
  for (const std::string& s : *v)
    if (has_nul(s)) return fail_quiet(EINVAL, "{}: holds a NUL byte", json::join(where, key));
  return std::move(*v);
}

Result<void> parse_container_config(const Json& c, ImageConfig& out) {
  constexpr std::string_view w = "image config: config";
  out.user = HUSK_TRY(json::string_at(c, "User", w));
  out.working_dir = HUSK_TRY(json::string_at(c, "WorkingDir", w));
  out.stop_signal = HUSK_TRY(json::string_at(c, "StopSignal", w));
  if (has_nul(out.user) || has_nul(out.working_dir) || has_nul(out.stop_signal))
    return fail_quiet(EINVAL, "{}: User, WorkingDir or StopSignal holds a NUL byte", w);
  out.exposed_ports = HUSK_TRY(keys_at(c, "ExposedPorts", w));
  out.volumes = HUSK_TRY(keys_at(c, "Volumes", w));
  out.entrypoint = HUSK_TRY(strings_or_empty(c, "Entrypoint", w));
  out.cmd = HUSK_TRY(strings_or_empty(c, "Cmd", w));
  out.env = HUSK_TRY(strings_or_empty(c, "Env", w));
  for (size_t i = 0; i < out.env.size(); ++i)
    if (out.env[i].find('=') == std::string::npos || out.env[i].starts_with('='))
      return fail_quiet(EINVAL, "{}.Env[{}] \"{}\": not NAME=VALUE", w, i, out.env[i]);
  if (const Json* labels = json::member(c, "Labels")) {
    if (!labels->is_object()) return fail_quiet(EINVAL, "{}.Labels: not an object", w);
    if (labels->size() > kMaxConfigItems)
      return fail_quiet(EINVAL, "{}.Labels: more than {} entries", w, kMaxConfigItems);
    for (auto it = labels->begin(); it != labels->end(); ++it) {
      if (!it->is_string())
        return fail_quiet(EINVAL, "{}.Labels[\"{}\"]: not a string", w, it.key());
      out.labels[it.key()] = it->get<std::string>();
    }
  }
  return ok();
}

Result<void> parse_rootfs(const Json& doc, ImageConfig& out) {
  const Json* rootfs = json::member(doc, "rootfs");
  if (rootfs == nullptr) return fail_quiet(EINVAL, "image config: rootfs: missing");
  std::string type = HUSK_TRY(json::string_at(*rootfs, "type", "image config: rootfs"));
  if (type != "layers")
    return fail_quiet(EINVAL, "image config: rootfs.type \"{}\": not \"layers\"", type);
  const Json* ids = json::member(*rootfs, "diff_ids");
  if (ids == nullptr) return ok();  // no layers
  if (!ids->is_array()) return fail_quiet(EINVAL, "image config: rootfs.diff_ids: not an array");
  if (ids->size() > kMaxLayers)
    return fail_quiet(EINVAL, "image config: rootfs.diff_ids: more than {} layers", kMaxLayers);
  for (size_t i = 0; i < ids->size(); ++i) {
    const Json& id = (*ids)[i];
    if (!id.is_string())
      return fail_quiet(EINVAL, "image config: rootfs.diff_ids[{}]: not a string", i);
    auto d = Digest::parse(id.get<std::string>());
    if (!d)
      return fail_quiet(EINVAL, "image config: rootfs.diff_ids[{}]: {}", i, d.error().message);
    out.diff_ids.push_back(*d);
  }
  return ok();
}

Result<void> parse_history(const Json& doc, ImageConfig& out) {
  const Json* history = json::member(doc, "history");
  if (history == nullptr) return ok();
  if (!history->is_array()) return fail_quiet(EINVAL, "image config: history: not an array");
  if (history->size() > kMaxConfigItems)
    return fail_quiet(EINVAL, "image config: history: more than {} entries", kMaxConfigItems);
  for (size_t i = 0; i < history->size(); ++i) {
    const Json& h = (*history)[i];
    std::string where = fmt::format("image config: history[{}]", i);
    if (!h.is_object()) return fail_quiet(EINVAL, "{}: not an object", where);
    HistoryEntry e;
    e.created = HUSK_TRY(json::string_at(h, "created", where));
    e.created_by = HUSK_TRY(json::string_at(h, "created_by", where));
    e.comment = HUSK_TRY(json::string_at(h, "comment", where));
    if (const Json* empty = json::member(h, "empty_layer")) {
      if (!empty->is_boolean()) return fail_quiet(EINVAL, "{}.empty_layer: not a boolean", where);
      e.empty_layer = empty->get<bool>();
    }
    out.history.push_back(std::move(e));
  }
  return ok();
}

// Go's path.Clean for an absolute path: no "." or "..", no double or trailing slash.
std::string clean_absolute(std::string_view p) {
  std::vector<std::string_view> parts;
  for (size_t start = 0; start <= p.size();) {
    size_t slash = p.find('/', start);
    if (slash == std::string_view::npos) slash = p.size();
    std::string_view part = p.substr(start, slash - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = slash + 1;
  }
  std::string out;
  for (std::string_view part : parts) out += "/" + std::string(part);
  return out.empty() ? "/" : out;
}

std::string_view env_name(std::string_view entry) { return entry.substr(0, entry.find('=')); }

std::vector<std::string> merge_env(const ImageConfig& config, const ProcessFlags& flags) {
  // moby's merge: the -e entries, then each image entry whose name -e does not set.
  std::vector<std::string> merged = flags.env;
  for (const std::string& e : config.env) {
    bool overridden = std::any_of(flags.env.begin(), flags.env.end(),
                                  [&](const std::string& u) { return env_name(u) == env_name(e); });
    if (!overridden) merged.push_back(e);
  }
  // moby's ReplaceOrAppendEnvValues over [PATH, HOSTNAME]: a name keeps its first place and
  // takes its last value; a bare NAME removes it.
  std::vector<std::string> out = {"PATH=" + std::string(kDefaultPath)};
  if (flags.hostname) out.push_back("HOSTNAME=" + *flags.hostname);
  for (const std::string& e : merged) {
    auto same = [&](const std::string& o) { return env_name(o) == env_name(e); };
    auto it = std::find_if(out.begin(), out.end(), same);
    if (e.find('=') == std::string::npos) {
      out.erase(std::remove_if(out.begin(), out.end(), same), out.end());
    } else if (it != out.end()) {
      *it = e;
    } else {
      out.push_back(e);
    }
  }
  return out;
}

}  // namespace

Result<ImageConfig> parse_config(std::string_view bytes) {
  HUSK_TRY_ASSIGN(Json doc, json::parse_object(bytes, "image config", kMaxConfigBytes));
  ImageConfig out;
  out.architecture = HUSK_TRY(json::string_at(doc, "architecture", "image config"));
  out.os = HUSK_TRY(json::string_at(doc, "os", "image config"));
  out.variant = HUSK_TRY(json::string_at(doc, "variant", "image config"));
  if (const Json* c = json::member(doc, "config")) {
    if (!c->is_object()) return fail_quiet(EINVAL, "image config: config: not an object");
    HUSK_TRY(parse_container_config(*c, out));
  }
  HUSK_TRY(parse_rootfs(doc, out));
  HUSK_TRY(parse_history(doc, out));
  return out;
}

Result<void> check_manifest_config(const ImageManifest& manifest, const ImageConfig& config) {
  if (manifest.layers.size() != config.diff_ids.size())
    return fail_quiet(EINVAL, "image config {}: {} diff_ids for the manifest's {} layers",
                      manifest.config.digest.str(), config.diff_ids.size(), manifest.layers.size());
  return ok();
}

Result<ProcessSpec> resolve_process(const ImageConfig& config, const ProcessFlags& flags) {
  ProcessSpec p;
  if (flags.entrypoint) {
    if (!flags.entrypoint->empty()) p.argv.push_back(*flags.entrypoint);
    p.argv.insert(p.argv.end(), flags.cmd.begin(), flags.cmd.end());
  } else {
    p.argv = config.entrypoint;
    const auto& cmd = flags.cmd.empty() ? config.cmd : flags.cmd;
    p.argv.insert(p.argv.end(), cmd.begin(), cmd.end());
  }
  if (p.argv.empty()) return fail_quiet(EINVAL, "no command specified");
  for (const std::string& a : p.argv)
    if (has_nul(a)) return fail_quiet(EINVAL, "command argument holds a NUL byte");
  for (const std::string& e : flags.env)
    if (e.empty() || e.starts_with('=') || has_nul(e))
      return fail_quiet(EINVAL, "environment variable \"{}\": not NAME=VALUE", e);
  p.env = merge_env(config, flags);
  std::string dir = !flags.workdir.empty() ? flags.workdir : config.working_dir;
  if (dir.empty()) dir = "/";
  if (!dir.starts_with('/') || has_nul(dir))
    return fail_quiet(EINVAL, "working directory \"{}\": not an absolute path", dir);
  p.cwd = clean_absolute(dir);
  p.user = !flags.user.empty() ? flags.user : config.user;
  if (has_nul(p.user)) return fail_quiet(EINVAL, "user holds a NUL byte");
  return p;
}

}  // namespace husk::image
