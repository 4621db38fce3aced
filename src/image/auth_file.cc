// husk login / logout's side of the auth file (image/auth_file.h).
#include "image/auth_file.h"

#include <sys/stat.h>

#include "image/lazy_libs.h"  // <openssl/evp.h>, loaded on first use

#include "base/file.h"
#include "image/json_read.h"
#include "image/reference.h"
#include "image/registry_detail.h"

namespace husk::image {
namespace {

constexpr size_t kMaxAuthFile = 1 << 20;

std::string base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// The file's object, or an empty one when the file does not exist.
Result<json::Json> read_doc(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return json::Json::object();
    return fail_errno("auth file {}", path);
  }
  HUSK_TRY_ASSIGN(std::string text, read_file(path).context("auth file {}", path));
  HUSK_TRY_ASSIGN(json::Json doc,
                  json::parse_object(text, "auth file", kMaxAuthFile).context("{}", path));
  if (doc.contains("auths") && !doc["auths"].is_object())
    return fail_quiet(EINVAL, "auth file {}: auths: not an object", path);
  return doc;
}

Result<void> write_doc(const std::string& path, const json::Json& doc) {
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0)
    HUSK_TRY(make_dirs(path.substr(0, slash), 0700).context("auth file {}", path));
  return write_file_atomic(path, doc.dump(1, '\t') + "\n", 0600).context("auth file {}", path);
}

}  // namespace

Result<std::string> auth_key(std::string_view registry) {
  std::string key = detail::normalize_auth_key(registry);
  if (key.empty()) return fail_quiet(EINVAL, "registry \"{}\": empty", registry);
  // The host (and path) must make a reference: host/path:tag.
  std::string probe = key.find('/') == std::string::npos ? key + "/husk" : key;
  auto ref = Reference::parse(probe);
  if (!ref || (ref->domain() != key.substr(0, key.find('/')) && key != kDockerHubDomain))
    return fail_quiet(EINVAL, "registry \"{}\": not a registry host[:port][/path]", registry);
  return key;
}

Result<void> store_credentials(const std::string& path, const std::string& key,
                               const Credentials& creds) {
  HUSK_TRY_ASSIGN(json::Json doc, read_doc(path));
  json::Json& entry = doc["auths"][key];
  if (!entry.is_object()) entry = json::Json::object();
  entry["auth"] = base64(creds.username + ":" + creds.password);
  return write_doc(path, doc);
}

Result<bool> remove_credentials(const std::string& path, const std::string& key) {
  HUSK_TRY_ASSIGN(json::Json doc, read_doc(path));
  if (!doc.contains("auths")) return false;
  json::Json& auths = doc["auths"];
  std::vector<std::string> gone;
  for (const auto& [k, v] : auths.items())
    if (k == key || detail::normalize_auth_key(k) == key) gone.push_back(k);
  if (gone.empty()) return false;
  for (const std::string& k : gone) auths.erase(k);
  HUSK_TRY(write_doc(path, doc));
  return true;
}

}  // namespace husk::image
