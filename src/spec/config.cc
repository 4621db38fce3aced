#include "spec/config.h"

#include <sys/stat.h>

#include <cstdlib>
#include <memory>

#include "base/file.h"
#include "base/log.h"
#include "spec/config_parts.h"
#include "spec/mount_options.h"
#include "spec/validate.h"

namespace husk::spec {
namespace {

using detail::Node;

Result<void> parse_root(const Node& n, const std::string& bundle, config::Container& c) {
  // runc refuses a config without root; the path may be relative to the bundle.
  if (!n.present()) return n.fail("field is required");
  HUSK_TRY(n.expect_object());
  HUSK_TRY_ASSIGN(std::string path, n["path"].str());
  if (path.empty()) return n["path"].fail("must not be empty");
  c.root_path = path.front() == '/' ? path : detail::join_path(bundle, path);
  c.root_readonly = HUSK_TRY(n["readonly"].boolean_or(false));
  return ok();
}

Result<config::Mount> parse_mount(const Node& n, const std::string& bundle) {
  HUSK_TRY(n.expect_object());
  if (!n.present()) return n.type_error("an object");
  config::Mount m;
  HUSK_TRY_ASSIGN(m.destination, n["destination"].str());
  if (m.destination.empty()) return n["destination"].fail("must not be empty");
  if (m.destination.front() != '/') {
    // runc accepts these with a warning and resolves them from the root.
    log::warn("{}: mount destination {:?} is not absolute", n["destination"].path(), m.destination);
    m.destination = detail::clean_path("/" + m.destination);
  }
  HUSK_TRY_ASSIGN(m.type, n["type"].str_or(""));
  HUSK_TRY_ASSIGN(m.source, n["source"].str_or(""));
  HUSK_TRY_ASSIGN(m.options, n["options"].strings());
  HUSK_TRY_ASSIGN(m.uid_mappings, detail::parse_id_mappings(n["uidMappings"]));
  HUSK_TRY_ASSIGN(m.gid_mappings, detail::parse_id_mappings(n["gidMappings"]));
  if (m.uid_mappings.empty() != m.gid_mappings.empty())
    return n.fail("uidMappings and gidMappings must be given together");
  m.idmap = !m.uid_mappings.empty();
  apply_mount_options(m);
  if (m.idmap && !m.bind()) return n.fail("id-mapped mounts are only supported for bind mounts");
  if (m.bind() && (m.source.empty() || m.source.front() != '/'))
    m.source = detail::join_path(bundle, m.source);
  return m;
}

Result<std::vector<config::Mount>> parse_mounts(const Node& n, const std::string& bundle) {
  HUSK_TRY_ASSIGN(size_t count, n.size());
  std::vector<config::Mount> mounts;
  mounts.reserve(count);
  for (size_t i = 0; i < count; ++i) mounts.push_back(HUSK_TRY(parse_mount(n.at(i), bundle)));
  return mounts;
}

Result<config::Hook> parse_hook(const Node& n) {
  if (!n.present()) return n.type_error("an object");
  HUSK_TRY(n.expect_object());
  config::Hook h;
  HUSK_TRY_ASSIGN(h.path, n["path"].str());
  if (h.path.empty() || h.path.front() != '/') return n["path"].fail("must be an absolute path");
  HUSK_TRY_ASSIGN(h.args, n["args"].strings());
  HUSK_TRY_ASSIGN(h.env, n["env"].strings());
  HUSK_TRY_ASSIGN(h.timeout, n["timeout"].optional_integer<int>());
  if (h.timeout && *h.timeout <= 0) return n["timeout"].fail("must be greater than zero");
  return h;
}

Result<std::vector<config::Hook>> parse_hook_list(const Node& n) {
  HUSK_TRY_ASSIGN(size_t count, n.size());
  std::vector<config::Hook> hooks;
  hooks.reserve(count);
  for (size_t i = 0; i < count; ++i) hooks.push_back(HUSK_TRY(parse_hook(n.at(i))));
  return hooks;
}

Result<config::Hooks> parse_hooks(const Node& n) {
  HUSK_TRY(n.expect_object());
  config::Hooks h;
  HUSK_TRY_ASSIGN(h.prestart, parse_hook_list(n["prestart"]));  // deprecated, still run
  HUSK_TRY_ASSIGN(h.create_runtime, parse_hook_list(n["createRuntime"]));
  HUSK_TRY_ASSIGN(h.create_container, parse_hook_list(n["createContainer"]));
  HUSK_TRY_ASSIGN(h.start_container, parse_hook_list(n["startContainer"]));
  HUSK_TRY_ASSIGN(h.poststart, parse_hook_list(n["poststart"]));
  HUSK_TRY_ASSIGN(h.poststop, parse_hook_list(n["poststop"]));
  return h;
}

Result<void> parse_document(const Node& root, const std::string& bundle, config::Container& c) {
  if (!root.present() || !root.json().is_object()) return root.type_error("an object");
  c.bundle = bundle;
  HUSK_TRY_ASSIGN(c.oci_version, root["ociVersion"].str_or(""));
  HUSK_TRY(parse_root(root["root"], bundle, c));
  HUSK_TRY_ASSIGN(c.hostname, root["hostname"].str_or(""));
  HUSK_TRY_ASSIGN(c.domainname, root["domainname"].str_or(""));
  HUSK_TRY_ASSIGN(c.mounts, parse_mounts(root["mounts"], bundle));
  HUSK_TRY_ASSIGN(c.process, detail::parse_process(root["process"]));
  HUSK_TRY_ASSIGN(c.hooks, parse_hooks(root["hooks"]));
  HUSK_TRY_ASSIGN(c.annotations, detail::parse_string_map(root["annotations"]));
  HUSK_TRY(detail::parse_linux(root["linux"], c));
  return ok();
}

}  // namespace

// The keys parse_hooks reads, in lifecycle order.
std::vector<std::string_view> detail::hook_names() {
  return {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"};
}

Result<config::Container> parse_config(std::string_view json, const std::string& bundle_dir) {
  HUSK_TRY_ASSIGN(detail::Json doc, detail::parse_json(json, "config.json"));
  config::Container c;
  HUSK_TRY(parse_document(Node(&doc, ""), bundle_dir, c));
  HUSK_TRY(validate(c).context("config.json"));
  return c;
}

Result<config::Process> parse_process_json(std::string_view json, std::string_view doc) {
  HUSK_TRY_ASSIGN(detail::Json value, detail::parse_json(json, doc));
  HUSK_TRY_ASSIGN(config::Process p, detail::parse_process(Node(&value, "", doc)));
  auto checked = validate_process(p);
  if (!checked) {
    // validate_process names "process.x"; here the document is the process.
    std::string msg = checked.error().message;
    if (msg.starts_with("process.")) msg.erase(0, 8);
    return fail(0, "{}: {}", doc, msg);
  }
  return p;
}

Result<config::Container> load_bundle(const std::string& bundle_dir) {
  std::string dir = bundle_dir.empty() ? "." : bundle_dir;
  std::unique_ptr<char, decltype(&std::free)> real(::realpath(dir.c_str(), nullptr), &std::free);
  if (!real) return fail_errno("bundle {:?}", dir);
  struct stat st {};
  if (::stat(real.get(), &st) < 0) return fail_errno("bundle {:?}", dir);
  if (!S_ISDIR(st.st_mode)) return fail(ENOTDIR, "bundle {:?}", dir);
  std::string bundle = real.get();
  HUSK_TRY_ASSIGN(std::string text, read_file(bundle + "/config.json"));
  HUSK_TRY_ASSIGN(config::Container c, parse_config(text, bundle));
  c.spec_json = std::move(text);
  return c;
}

}  // namespace husk::spec
