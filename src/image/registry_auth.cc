// The registry client's parsing (image/registry_detail.h) and credentials from auth files.
#include <sys/stat.h>

#include <cctype>
#include <cstdlib>

#include "base/file.h"
#include "image/json_read.h"
#include "image/registry.h"
#include "image/registry_detail.h"

namespace husk::image {
namespace detail {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

void skip_spaces(std::string_view s, size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
}

// A quoted-string starting at s[i] == '"'; i ends after the closing quote.
Result<std::string> quoted(std::string_view s, size_t& i) {
  std::string out;
  for (++i; i < s.size(); ++i) {
    if (s[i] == '"') {
      ++i;
      return out;
    }
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out.push_back(s[i]);
  }
  return fail_quiet(EINVAL, "WWW-Authenticate: unterminated quoted string");
}

}  // namespace

Result<Challenge> parse_challenge(std::string_view h) {
  if (h.size() > 8192) return fail_quiet(EINVAL, "WWW-Authenticate: header too long");
  Challenge c;
  size_t i = 0;
  skip_spaces(h, i);
  size_t start = i;
  while (i < h.size() && is_token_char(h[i])) ++i;
  if (i == start) return fail_quiet(EINVAL, "WWW-Authenticate: no auth scheme");
  c.scheme = lower(h.substr(start, i - start));
  while (true) {
    skip_spaces(h, i);
    while (i < h.size() && h[i] == ',') ++i;
    skip_spaces(h, i);
    if (i >= h.size()) break;
    start = i;
    while (i < h.size() && is_token_char(h[i])) ++i;
    std::string name = lower(h.substr(start, i - start));
    skip_spaces(h, i);
    if (name.empty() || i >= h.size() || h[i] != '=')
      return fail_quiet(EINVAL, "WWW-Authenticate: malformed parameter at offset {}", start);
    ++i;
    skip_spaces(h, i);
    std::string value;
    if (i < h.size() && h[i] == '"') {
      value = HUSK_TRY(quoted(h, i));
    } else {
      start = i;
      while (i < h.size() && h[i] != ',' && h[i] != ' ' && h[i] != '\t') ++i;
      value = std::string(h.substr(start, i - start));
    }
    c.params[name] = std::move(value);
  }
  return c;
}

Result<std::string> parse_token_response(std::string_view body) {
  HUSK_TRY_ASSIGN(json::Json doc, json::parse_object(body, "token response", 1 << 20));
  HUSK_TRY_ASSIGN(std::string token, json::string_at(doc, "token", "token response"));
  if (token.empty()) token = HUSK_TRY(json::string_at(doc, "access_token", "token response"));
  if (token.empty()) return fail_quiet(EINVAL, "token response: no token");
  if (token.size() > 64 * 1024) return fail_quiet(EINVAL, "token response: token too long");
  for (char c : token)
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e)
      return fail_quiet(EINVAL, "token response: token holds a character a header cannot");
  return token;
}

std::string registry_error_message(std::string_view body) {
  auto doc = json::parse_object(body, "error", 64 * 1024);
  if (!doc) return "";
  const json::Json* errors = json::member(*doc, "errors");
  if (errors == nullptr || !errors->is_array() || errors->empty()) return "";
  const json::Json& first = (*errors)[0];
  if (!first.is_object()) return "";
  std::string out;
  for (const char* key : {"message", "code"}) {
    const json::Json* v = json::member(first, key);
    if (v != nullptr && v->is_string() && !v->get_ref<const std::string&>().empty()) {
      out = v->get<std::string>();
      break;
    }
  }
  // One line, printable, short: it is the server's text.
  std::string clean;
  for (char c : out.substr(0, 200))
    clean.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c);
  return clean;
}

Result<std::string> decode_base64(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = value(c);
    if (v < 0) return fail_quiet(EINVAL, "not base64");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (bits >= 6) return fail_quiet(EINVAL, "not base64");
  return out;
}

std::string url_scheme(std::string_view url) {
  size_t p = url.find("://");
  return p == std::string_view::npos ? "" : lower(url.substr(0, p));
}

std::string url_authority(std::string_view url) {
  size_t p = url.find("://");
  if (p == std::string_view::npos) return "";
  url.remove_prefix(p + 3);
  url = url.substr(0, url.find_first_of("/?#"));
  if (size_t at = url.rfind('@'); at != std::string_view::npos) url.remove_prefix(at + 1);
  return lower(url);
}

bool is_loopback_host(std::string_view host) {
  if (host.starts_with("[")) return host.starts_with("[::1]");
  host = host.substr(0, host.find(':'));
  if (host == "localhost") return true;
  if (!host.starts_with("127.")) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.')
      ++dots;
    else if (!std::isdigit(static_cast<unsigned char>(c)))
      return false;
  }
  return dots == 3;
}

}  // namespace detail

namespace {

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

// An auths key reduced to host[/path]: scheme and a trailing "/v1/" or "/v2/" dropped.
std::string normalize_key(std::string_view key) {
  if (size_t p = key.find("://"); p != std::string_view::npos) key.remove_prefix(p + 3);
  while (key.ends_with('/')) key.remove_suffix(1);
  for (std::string_view v : {"/v1", "/v2"})
    if (key.ends_with(v)) key.remove_suffix(v.size());
  std::string out(key);
  for (std::string_view hub : {"index.docker.io", "registry-1.docker.io"})
    if (out == hub || out.starts_with(std::string(hub) + "/"))
      out = std::string(kDockerHubDomain) + out.substr(hub.size());
  return out;
}

Result<std::optional<Credentials>> decode_entry(const json::Json& entry, const std::string& where) {
  HUSK_TRY_ASSIGN(std::string auth, json::string_at(entry, "auth", where));
  if (auth.empty()) return std::optional<Credentials>{};
  HUSK_TRY_ASSIGN(std::string plain, detail::decode_base64(auth).context("{}.auth", where));
  size_t colon = plain.find(':');
  if (colon == std::string::npos) return fail_quiet(EINVAL, "{}.auth: no \"user:password\"", where);
  return std::optional<Credentials>(Credentials{plain.substr(0, colon), plain.substr(colon + 1)});
}

// The credentials in one auth file for `name` (domain/path), longest key prefix first.
Result<std::optional<Credentials>> from_file(const std::string& path, const Reference& ref) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::optional<Credentials>{};
  HUSK_TRY_ASSIGN(std::string text, read_file(path).context("auth file {}", path));
  HUSK_TRY_ASSIGN(json::Json doc,
                  json::parse_object(text, "auth file", 1 << 20).context("{}", path));
  std::string name = ref.name();
  const json::Json* auths = json::member(doc, "auths");
  bool entry_without_auth = false;
  if (auths != nullptr && auths->is_object()) {
    std::optional<std::string> best_key;
    size_t best_len = 0;
    for (const auto& [key, entry] : auths->items()) {
      std::string k = normalize_key(key);
      bool match = k == name || k == ref.domain() || name.starts_with(k + "/");
      if (match && entry.is_object() && k.size() >= best_len) best_key = key, best_len = k.size();
    }
    if (best_key) {
      std::string where = fmt::format("auth file {}: auths[\"{}\"]", path, *best_key);
      HUSK_TRY_ASSIGN(auto creds, decode_entry((*auths)[*best_key], where));
      if (creds) return creds;
      entry_without_auth = true;
    }
  }
  // docker login with a credsStore leaves an empty entry for the host; credHelpers name it.
  const json::Json* helpers = json::member(doc, "credHelpers");
  bool helper = helpers != nullptr && helpers->is_object() && helpers->contains(ref.domain());
  if (helper || (entry_without_auth && json::member(doc, "credsStore") != nullptr))
    return fail_quiet(ENOTSUP, "auth file {}: credential helpers are not supported (for {})", path,
                      ref.domain());
  return std::optional<Credentials>{};
}

}  // namespace

std::string detail::normalize_auth_key(std::string_view key) { return normalize_key(key); }

std::string login_auth_file() {
  if (const char* f = std::getenv("REGISTRY_AUTH_FILE"); f != nullptr && *f != '\0') return f;
  if (const char* r = std::getenv("XDG_RUNTIME_DIR"); r != nullptr && *r != '\0')
    return std::string(r) + "/containers/auth.json";
  return fmt::format("/run/containers/{}/auth.json", ::getuid());
}

std::vector<std::string> auth_file_paths() {
  std::string home = env_or("HOME", "/root");
  std::vector<std::string> out;
  out.push_back(login_auth_file());
  out.push_back(env_or("XDG_CONFIG_HOME", home + "/.config") + "/containers/auth.json");
  out.push_back(env_or("DOCKER_CONFIG", home + "/.docker") + "/config.json");
  return out;
}

Result<std::optional<Credentials>> credentials_from_auth_files(
    const Reference& ref, const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    HUSK_TRY_ASSIGN(auto creds, from_file(path, ref));
    if (creds) return creds;
  }
  return std::optional<Credentials>{};
}

std::string default_cert_dir(std::string_view host) {
  for (std::string_view base : {"/etc/containers/certs.d/", "/etc/docker/certs.d/"}) {
    std::string dir = fmt::format("{}{}", base, host);
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return dir;
  }
  return "";
}

}  // namespace husk::image
