// The parts of cni.h's add/del/check, exposed for tests: config discovery
// and validation, the stdin a plugin gets, plugin lookup and execution.
// Internal to src/net/: nothing outside the layer includes it.
#pragma once

#include <array>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "net/cni.h"

namespace husk::net::cni::detail {

// Key order kept: a plugin sees its config as it was written.
using Json = nlohmann::ordered_json;

// dump() that cannot throw: invalid UTF-8 in a string becomes U+FFFD.
std::string dump(const Json& j);
// Parses a document from a plugin or a file; errors say why and where, e.g.
// `invalid JSON at byte 12: syntax error ...`. Nesting is capped (hostile input).
Result<Json> parse_json(std::string_view text);

// "1.0.0" -> {1, 0, 0}; nothing for anything but three dot-separated numbers.
std::optional<std::array<int, 3>> parse_version(std::string_view v);
// v >= major.minor.0 (false when v does not parse).
bool version_at_least(std::string_view v, int major, int minor);

// The spec's rule for network names and container IDs: an alphanumeric, then
// alphanumerics, '_', '.' or '-'. Both go into the cache file's name.
bool is_valid_name(std::string_view s);

// A validated network configuration list. A single-plugin .conf becomes a
// list of one (the plugin's object is the whole file).
struct ConfList {
  std::string name;
  std::string cni_version;
  bool disable_check = false;
  Json json;  // {"cniVersion", "name", "plugins": [...], ...}
};

// Validates the text of a .conflist, .conf or .json. Errors are one line,
// relative to the document: `plugins[1]: no "type"`, `"cniVersion" is
// missing`, `plugins[0]: "type" "../x" is not a plain file name`.
Result<ConfList> parse_conf_list(std::string_view text);
// The same for a list already parsed (the copy kept in the cache).
Result<ConfList> conf_list_from_json(Json json);
// <conf_dir>/<name>.conflist, else the first (by file name) *.conflist,
// *.conf or *.json in conf_dir whose "name" is name. Files that are not
// JSON are passed over while searching; the one found must validate.
// Errors name the file: `/etc/cni/net.d/x.conflist: plugins[1]: no "type"`.
Result<ConfList> find_conf_list(const std::string& conf_dir, const std::string& name);

// What the runtime passes to plugins that declare the capability, keyed by
// capability: {"portMappings": [...], "bandwidth": {...}, "ips": [...]};
// only the keys the request has. A port with no host port is an error
// (check_ports) because portmap cannot choose one.
Json runtime_values(const Request& r);
Result<void> check_ports(const Request& r);
// The stdin of plugins[index]: its object with the list's "name" and
// "cniVersion", "prevResult" when given, and "runtimeConfig" holding the
// values of the capabilities it declares true (none: no runtimeConfig).
std::string plugin_stdin(const ConfList& list, size_t index, const Json* prev_result,
                         const Json& values);

// The addresses of a result: "ips"[].address (0.3.0 and later), or
// "ip4"/"ip6".ip (0.1.0, 0.2.0). An error for a result that is not an object
// or an entry that has no string address.
Result<std::vector<std::string>> result_ips(const Json& result);

// The search path of a request: r.cni_path, else $CNI_PATH, else kDefaultPath.
std::string search_path(const Request& r);
// The executable of a plugin type in a ':'-separated search path. The type
// must be a plain file name; the file a regular, executable one.
// `plugin "bridge" not found in /usr/lib/cni:/opt/cni/bin`.
Result<std::string> find_plugin(std::string_view type, std::string_view search_path);

struct Invocation {
  std::string type;              // for errors: `bridge: ...`
  std::string path;              // the executable
  std::vector<std::string> env;  // "CNI_COMMAND=ADD", ...
  std::string stdin_text;
};
// The environment of one call: CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS,
// CNI_IFNAME, CNI_ARGS, CNI_PATH and our PATH.
std::vector<std::string> plugin_env(std::string_view command, const Request& r,
                                    std::string_view netns, std::string_view search_path);

inline constexpr int kTimeoutMs = 60'000;
// Runs a plugin (posix_spawn; stdin a socket so an early exit is EPIPE, not
// SIGPIPE; stdout a pipe; stderr ours) and returns its stdout when it exits
// 0. Otherwise an error from its error JSON, `bridge: <msg>; <details> (code
// 7)`, or from how it ended: `bridge: exited with status 2: <first line>`,
// `bridge: killed by signal 9`, `bridge: timed out after 60 s`. A plugin
// past timeout_ms is killed (SIGKILL, by pidfd) and reaped.
Result<std::string> run_plugin(const Invocation& inv, int timeout_ms = kTimeoutMs);
// The message of a failed plugin from its stdout and wait status.
std::string plugin_failure(std::string_view type, int status, std::string_view out);

}  // namespace husk::net::cni::detail
