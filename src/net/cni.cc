// CNI ADD, DEL and CHECK over a network configuration list (cni.h), with the
// result cached per network and container for DEL and CHECK.
//
// The cache, <cache_dir>/<network>-<container>.json, is written before the
// first plugin runs (config list, runtime values, netns, no result) and again
// with the final result: a husk killed during ADD leaves what DEL needs to
// undo it with the same config and the same portMappings.
#include "net/cni.h"

#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/file.h"
#include "base/log.h"
#include "net/cni_detail.h"

namespace husk::net::cni {
namespace {

using detail::ConfList;
using detail::Json;

constexpr const char* kCacheKind = "husk-cni-cache/1";

struct NetnsId {
  uint64_t dev = 0, ino = 0;
};

struct Cache {
  ConfList list;
  Json values = Json::object();  // detail::runtime_values of the ADD
  std::string ifname;
  std::string netns;
  std::optional<NetnsId> netns_id;
  std::optional<Json> result;
};

Result<void> check_request(const Request& r) {
  if (!detail::is_valid_name(r.network))
    return fail(0, "not a valid network name (a letter or digit, then letters, digits, _ . -)");
  if (!detail::is_valid_name(r.container_id))
    return fail(0, "container ID \"{}\" is not valid", r.container_id);
  if (r.ifname.empty() || r.ifname.size() > 15 || r.ifname == "." || r.ifname == ".." ||
      r.ifname.find_first_of("/: \t\n") != std::string::npos)
    return fail(0, "interface name \"{}\" is not valid", r.ifname);
  if (r.cache_dir.empty()) return fail(0, "no cache directory given");
  return ok();
}

std::string cache_path(const Request& r) {
  return fmt::format("{}/{}-{}.json", r.cache_dir, r.network, r.container_id);
}

Result<void> save_cache(const Request& r, const Cache& c) {
  Json j = {{"kind", kCacheKind},
            {"network", r.network},
            {"containerId", r.container_id},
            {"ifName", c.ifname},
            {"netns", {{"path", c.netns}}},
            {"config", c.list.json},
            {"runtimeValues", c.values},
            {"result", c.result ? *c.result : Json(nullptr)}};
  if (c.netns_id) {
    j["netns"]["dev"] = c.netns_id->dev;
    j["netns"]["ino"] = c.netns_id->ino;
  }
  HUSK_TRY(make_dirs(r.cache_dir, 0700));
  return write_file_atomic(cache_path(r), detail::dump(j), 0600);
}

Result<Cache> parse_cache(std::string_view text) {
  HUSK_TRY_ASSIGN(Json j, detail::parse_json(text));
  auto kind = j.is_object() ? j.find("kind") : j.end();
  if (kind == j.end() || *kind != kCacheKind) return fail(0, "not a husk CNI cache");
  Cache c;
  auto config = j.find("config");
  if (config == j.end()) return fail(0, "no \"config\"");
  HUSK_TRY_ASSIGN(c.list, std::move(detail::conf_list_from_json(*config)).context("config"));
  if (auto v = j.find("runtimeValues"); v != j.end() && v->is_object()) c.values = *v;
  auto ifname = j.find("ifName");
  if (ifname == j.end() || !ifname->is_string()) return fail(0, "no \"ifName\"");
  c.ifname = ifname->get<std::string>();
  if (auto ns = j.find("netns"); ns != j.end() && ns->is_object()) {
    if (auto p = ns->find("path"); p != ns->end() && p->is_string())
      c.netns = p->get<std::string>();
    auto dev = ns->find("dev"), ino = ns->find("ino");
    if (dev != ns->end() && ino != ns->end() && dev->is_number_unsigned() &&
        ino->is_number_unsigned())
      c.netns_id = NetnsId{dev->get<uint64_t>(), ino->get<uint64_t>()};
  }
  if (auto res = j.find("result"); res != j.end() && res->is_object()) c.result = *res;
  return c;
}

// The cache of an earlier ADD; none when there is no file, or one we cannot
// read (then the config file is used, as with no cache).
std::optional<Cache> load_cache(const Request& r) {
  std::string path = cache_path(r);
  auto text = read_file(path);
  if (!text) {
    if (text.error().code != ENOENT) log::warn("cni \"{}\": {}", r.network, text.error().what());
    return std::nullopt;
  }
  auto c = parse_cache(*text);
  if (!c) {
    log::warn("cni \"{}\": {}: {}", r.network, path, c.error().what());
    return std::nullopt;
  }
  return std::move(*c);
}

// Runs the plugins of one list for one container.
class Runner {
 public:
  Runner(const ConfList& list, Request r, std::string netns, Json values)
      : list_(list),
        r_(std::move(r)),
        netns_(std::move(netns)),
        values_(std::move(values)),
        search_(detail::search_path(r_)) {}

  size_t size() const { return list_.json.at("plugins").size(); }
  std::string type(size_t i) const {
    return list_.json.at("plugins").at(i).at("type").get<std::string>();
  }
  Result<void> find(size_t i) const {
    HUSK_TRY(detail::find_plugin(type(i), search_));
    return ok();
  }

  Result<std::string> run(std::string_view command, size_t i, const Json* prev) const {
    std::string t = type(i);
    HUSK_TRY_ASSIGN(std::string path, detail::find_plugin(t, search_));
    detail::Invocation inv{t, std::move(path), detail::plugin_env(command, r_, netns_, search_),
                           detail::plugin_stdin(list_, i, prev, values_)};
    return detail::run_plugin(inv);
  }

  // DEL and CHECK get the cached result from 0.4.0 on (before, DEL had none
  // and there was no CHECK).
  const Json* prev_for(const std::optional<Json>& result) const {
    return result && detail::version_at_least(list_.cni_version, 0, 4) ? &*result : nullptr;
  }

 private:
  const ConfList& list_;
  Request r_;
  std::string netns_;
  Json values_;
  std::string search_;
};

Result<Json> add_one(const Runner& run, size_t i, const std::optional<Json>& prev) {
  HUSK_TRY_ASSIGN(std::string out, run.run("ADD", i, prev ? &*prev : nullptr));
  auto json = detail::parse_json(out);
  if (!json) return fail(0, "{}: result: {}", run.type(i), json.error().what());
  if (!json->is_object()) return fail(0, "{}: the result is not a JSON object", run.type(i));
  return std::move(*json);
}

// Undoes an ADD that failed at plugin `last` (or after it): DEL from there
// back to the first, best effort.
void roll_back(const Runner& run, const Request& r, size_t last, const std::optional<Json>& prev) {
  for (size_t j = last + 1; j-- > 0;) {
    auto res = run.run("DEL", j, run.prev_for(prev));
    if (!res) log::warn("cni \"{}\": undoing ADD: {}", r.network, res.error().what());
  }
}

Result<AddResult> add_list(const Request& r) {
  HUSK_TRY(check_request(r));
  HUSK_TRY(detail::check_ports(r));
  HUSK_TRY_ASSIGN(ConfList list, detail::find_conf_list(r.conf_dir, r.network));
  struct stat st {};
  if (::stat(r.netns_path.c_str(), &st) < 0) return fail_errno("netns \"{}\"", r.netns_path);
  Cache cache;
  cache.list = std::move(list);
  cache.values = detail::runtime_values(r);
  cache.ifname = r.ifname;
  cache.netns = r.netns_path;
  cache.netns_id = NetnsId{st.st_dev, st.st_ino};
  Runner run(cache.list, r, r.netns_path, cache.values);
  for (size_t i = 0; i < run.size(); ++i) HUSK_TRY(run.find(i));  // all found before one runs
  HUSK_TRY(save_cache(r, cache));
  std::string path = cache_path(r);
  Cleanup drop([&] { ::unlink(path.c_str()); });
  std::optional<Json> prev;
  for (size_t i = 0; i < run.size(); ++i) {
    auto res = add_one(run, i, prev);
    if (!res) {
      roll_back(run, r, i, prev);
      return std::unexpected(std::move(res).error());
    }
    prev = std::move(*res);
  }
  cache.result = prev;
  auto ips = detail::result_ips(*prev);
  Result<void> saved = ips ? save_cache(r, cache) : Result<void>(std::unexpected(ips.error()));
  if (!saved) {
    roll_back(run, r, run.size() - 1, prev);
    return std::unexpected(std::move(saved).error());
  }
  drop.cancel();
  return AddResult{std::move(*ips), detail::dump(*prev)};
}

// The netns DEL names: none when it is gone (plugins then release what they
// can without it) or when it is not the one ADD saw (the pid in
// /proc/<pid>/ns/net was reused: its namespace is a stranger's).
std::string del_netns(const Request& r, const std::optional<Cache>& cache) {
  std::string ns = !r.netns_path.empty() ? r.netns_path : cache ? cache->netns : "";
  struct stat st {};
  if (ns.empty() || ::stat(ns.c_str(), &st) < 0) return "";
  if (cache && cache->netns_id &&
      (st.st_dev != cache->netns_id->dev || st.st_ino != cache->netns_id->ino))
    return "";
  return ns;
}

Result<void> del_list(const Request& r) {
  HUSK_TRY(check_request(r));
  std::optional<Cache> cache = load_cache(r);
  std::optional<ConfList> file_list;
  if (!cache) {
    HUSK_TRY_ASSIGN(file_list, detail::find_conf_list(r.conf_dir, r.network));
  }
  const ConfList& list = cache ? cache->list : *file_list;
  Request eff = r;
  if (cache) eff.ifname = cache->ifname;
  Runner run(list, eff, del_netns(r, cache), cache ? cache->values : detail::runtime_values(r));
  const Json* prev = cache ? run.prev_for(cache->result) : nullptr;
  std::string errors;
  for (size_t j = run.size(); j-- > 0;) {
    auto res = run.run("DEL", j, prev);
    if (!res) errors += (errors.empty() ? "" : "; ") + res.error().what();
  }
  std::string path = cache_path(r);
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) {
    auto e = fail_errno("remove {}", path);
    errors += (errors.empty() ? "" : "; ") + e.error().what();
  }
  if (!errors.empty()) return fail(0, "{}", errors);
  return ok();
}

Result<void> check_list(const Request& r) {
  HUSK_TRY(check_request(r));
  std::optional<Cache> cache = load_cache(r);
  if (!cache || !cache->result)
    return fail(0, "no cached result for container \"{}\"", r.container_id);
  const ConfList& list = cache->list;
  if (!detail::version_at_least(list.cni_version, 0, 4))
    return fail(0, "CHECK needs cniVersion 0.4.0 or later, the config has {}", list.cni_version);
  if (list.disable_check) return ok();
  Request eff = r;
  eff.ifname = cache->ifname;
  Runner run(list, eff, r.netns_path.empty() ? cache->netns : r.netns_path, cache->values);
  for (size_t i = 0; i < run.size(); ++i) HUSK_TRY(run.run("CHECK", i, &*cache->result));
  return ok();
}

}  // namespace

Result<AddResult> add(const Request& r) { return add_list(r).context("cni \"{}\"", r.network); }

Result<void> del(const Request& r) { return del_list(r).context("cni \"{}\"", r.network); }

Result<void> check(const Request& r) { return check_list(r).context("cni \"{}\"", r.network); }

}  // namespace husk::net::cni
