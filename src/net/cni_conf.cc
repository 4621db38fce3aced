// CNI network configuration lists: discovery in a conf dir, validation, and
// the stdin each plugin gets (cni_detail.h).
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>

#include "base/file.h"
#include "base/json_depth.h"
#include "net/cni_detail.h"

namespace husk::net::cni::detail {
namespace {

// A plugin's result deeper than this is refused (base/json_depth.h).
constexpr size_t kMaxDepth = 512;


bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// A string member of obj: missing and wrong type are errors naming the key.
Result<std::string> string_member(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) return fail(0, "\"{}\" is missing", key);
  if (!it->is_string()) return fail(0, "\"{}\" is not a string", key);
  return it->get<std::string>();
}

Result<void> check_plugin(const Json& p, const std::string& where) {
  if (!p.is_object()) return fail(0, "{}not an object", where);
  auto type = p.find("type");
  if (type == p.end()) return fail(0, "{}no \"type\"", where);
  if (!type->is_string()) return fail(0, "{}\"type\" is not a string", where);
  const auto& t = type->get_ref<const std::string&>();
  // The type names an executable in CNI_PATH: never a path out of it.
  if (t.empty() || t == "." || t == ".." || t.find('/') != std::string::npos ||
      t.find('\0') != std::string::npos)
    return fail(0, "{}\"type\" \"{}\" is not a plain file name", where, t);
  auto caps = p.find("capabilities");
  if (caps != p.end() && !caps->is_object())
    return fail(0, "{}\"capabilities\" is not an object", where);
  return ok();
}

// Reads a candidate config: regular files only (a FIFO would block us).
Result<std::string> read_regular(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) < 0) return fail_errno("{}", path);
  if (!S_ISREG(st.st_mode)) return fail(0, "{}: not a regular file", path);
  return read_file(path);
}

}  // namespace

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

Result<Json> parse_json(std::string_view text) {
  if (json_nesting_depth(text) > kMaxDepth)
    return fail(0, "invalid JSON: nested deeper than {} levels", kMaxDepth);
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    // what() is "[json.exception.parse_error.101] parse error at line 1, ...".
    std::string_view what = e.what();
    if (auto end = what.find("] "); end != std::string_view::npos) what.remove_prefix(end + 2);
    return fail(0, "invalid JSON: {}", what);
  }
}

std::optional<std::array<int, 3>> parse_version(std::string_view v) {
  std::array<int, 3> out{};
  for (size_t i = 0; i < 3; ++i) {
    size_t dot = i < 2 ? v.find('.') : v.size();
    if (dot == std::string_view::npos || dot == 0) return std::nullopt;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + dot, out[i]);
    if (ec != std::errc() || ptr != v.data() + dot || out[i] < 0) return std::nullopt;
    v.remove_prefix(i < 2 ? dot + 1 : dot);
  }
  return out;
}

bool version_at_least(std::string_view v, int major, int minor) {
  auto p = parse_version(v);
  return p && ((*p)[0] > major || ((*p)[0] == major && (*p)[1] >= minor));
}

bool is_valid_name(std::string_view s) {
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (s.empty() || !alnum(s[0])) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return alnum(c) || c == '_' || c == '.' || c == '-'; });
}

Result<ConfList> conf_list_from_json(Json json) {
  if (!json.is_object()) return fail(0, "not a JSON object");
  ConfList list;
  HUSK_TRY_ASSIGN(list.cni_version, string_member(json, "cniVersion"));
  if (!parse_version(list.cni_version))
    return fail(0, "\"cniVersion\" \"{}\" is not a version", list.cni_version);
  HUSK_TRY_ASSIGN(list.name, string_member(json, "name"));
  if (!is_valid_name(list.name))
    return fail(0, "\"name\" \"{}\" is not a valid network name", list.name);
  if (auto dc = json.find("disableCheck"); dc != json.end()) {
    if (!dc->is_boolean()) return fail(0, "\"disableCheck\" is not a boolean");
    list.disable_check = dc->get<bool>();
  }
  auto plugins = json.find("plugins");
  if (plugins == json.end()) {
    // A .conf: one plugin, the whole object.
    if (!json.contains("type")) return fail(0, "no \"plugins\" and no \"type\"");
    HUSK_TRY(check_plugin(json, ""));
    Json one = json;
    list.json = Json{{"cniVersion", list.cni_version}, {"name", list.name}};
    list.json["plugins"] = Json::array({std::move(one)});
    return list;
  }
  if (!plugins->is_array()) return fail(0, "\"plugins\" is not a list");
  if (plugins->empty()) return fail(0, "\"plugins\" is empty");
  for (size_t i = 0; i < plugins->size(); ++i)
    HUSK_TRY(check_plugin((*plugins)[i], fmt::format("plugins[{}]: ", i)));
  list.json = std::move(json);
  return list;
}

Result<ConfList> parse_conf_list(std::string_view text) {
  HUSK_TRY_ASSIGN(Json json, parse_json(text));
  return conf_list_from_json(std::move(json));
}

Result<ConfList> find_conf_list(const std::string& conf_dir, const std::string& name) {
  std::string own = conf_dir + "/" + name + ".conflist";
  if (auto text = read_regular(own)) {
    HUSK_TRY_ASSIGN(ConfList list, std::move(parse_conf_list(*text)).context("{}", own));
    if (list.name != name)
      return fail(0, "{}: \"name\" is \"{}\", not \"{}\"", own, list.name, name);
    return list;
  } else if (text.error().code != ENOENT) {
    return std::unexpected(std::move(text).error());
  }
  DIR* dir = ::opendir(conf_dir.c_str());
  if (dir == nullptr) return fail_errno("{}", conf_dir);
  std::vector<std::string> files;
  while (dirent* e = ::readdir(dir)) {
    std::string_view f = e->d_name;
    if (ends_with(f, ".conflist") || ends_with(f, ".conf") || ends_with(f, ".json"))
      files.emplace_back(f);
  }
  ::closedir(dir);
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::string path = conf_dir + "/" + f;
    if (path == own) continue;
    auto text = read_regular(path);
    if (!text) continue;
    auto json = parse_json(*text);  // another file's broken JSON is not ours to report
    if (!json || !json->is_object()) continue;
    auto n = json->find("name");
    if (n == json->end() || !n->is_string() || n->get_ref<const std::string&>() != name) continue;
    return conf_list_from_json(std::move(*json)).context("{}", path);
  }
  return fail(
      0, "no config in {} ({}.conflist, or a .conflist, .conf or .json whose \"name\" is \"{}\")",
      conf_dir, name, name);
}

Result<void> check_ports(const Request& r) {
  for (const auto& p : r.ports)
    if (p.host_port == 0)
      return fail(0, "port {}/{} has no host port (CNI's portmap cannot choose one)",
                  p.container_port, proto_name(p.proto));
  return ok();
}

Json runtime_values(const Request& r) {
  Json v = Json::object();
  if (!r.ports.empty()) {
    Json ports = Json::array();
    for (const auto& p : r.ports) {
      Json m = {{"hostPort", p.host_port},
                {"containerPort", p.container_port},
                {"protocol", proto_name(p.proto)}};
      if (!p.host_ip.empty()) m["hostIP"] = p.host_ip;
      ports.push_back(std::move(m));
    }
    v["portMappings"] = std::move(ports);
  }
  if (r.bandwidth) {
    const Bandwidth& b = *r.bandwidth;
    v["bandwidth"] = {{"ingressRate", b.ingress_rate},
                      {"ingressBurst", b.ingress_burst},
                      {"egressRate", b.egress_rate},
                      {"egressBurst", b.egress_burst}};
  }
  if (!r.ips.empty()) v["ips"] = r.ips;
  return v;
}

std::string plugin_stdin(const ConfList& list, size_t index, const Json* prev_result,
                         const Json& values) {
  Json conf = list.json["plugins"][index];
  conf["name"] = list.name;
  conf["cniVersion"] = list.cni_version;
  if (prev_result != nullptr) conf["prevResult"] = *prev_result;
  Json rc = Json::object();
  if (auto caps = conf.find("capabilities"); caps != conf.end()) {
    for (const auto& [cap, on] : caps->items()) {
      if (!on.is_boolean() || !on.get<bool>()) continue;
      if (auto v = values.find(cap); v != values.end()) rc[cap] = *v;
    }
  }
  if (!rc.empty()) conf["runtimeConfig"] = std::move(rc);
  return dump(conf);
}

Result<std::vector<std::string>> result_ips(const Json& result) {
  if (!result.is_object()) return fail(0, "the result is not a JSON object");
  std::vector<std::string> ips;
  if (auto list = result.find("ips"); list != result.end()) {
    if (!list->is_array()) return fail(0, "result: \"ips\" is not a list");
    for (size_t i = 0; i < list->size(); ++i) {
      const Json& e = (*list)[i];
      auto a = e.is_object() ? e.find("address") : e.end();
      if (!e.is_object() || a == e.end() || !a->is_string())
        return fail(0, "result: ips[{}]: no \"address\"", i);
      ips.push_back(a->get<std::string>());
    }
    return ips;
  }
  for (const char* key : {"ip4", "ip6"}) {  // results of 0.1.0 and 0.2.0
    auto e = result.find(key);
    if (e == result.end()) continue;
    auto ip = e->is_object() ? e->find("ip") : e->end();
    if (!e->is_object() || ip == e->end() || !ip->is_string())
      return fail(0, "result: \"{}\": no \"ip\"", key);
    ips.push_back(ip->get<std::string>());
  }
  return ips;
}

}  // namespace husk::net::cni::detail
