// The registry client (image/registry.h): HTTP through libcurl easy handles, redirects and
// auth by hand so that what is sent where stays in this file's control.
#include "image/registry.h"

#include "image/lazy_libs.h"  // <curl/curl.h>, loaded on first use
#include <dirent.h>

#include <algorithm>
#include <mutex>

#include "base/file.h"
#include "image/registry_detail.h"

namespace husk::image {
namespace {

constexpr int kMaxRedirects = 10;
constexpr size_t kMaxErrorBody = 64 * 1024;
constexpr size_t kMaxTokenBody = 1 << 20;
constexpr std::string_view kManifestAccept =
    "Accept: application/vnd.oci.image.index.v1+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

std::once_flag g_curl_init;

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  while (out.size() % 4 != 0) out.push_back('=');
  return out;
}

bool is_tls_error(CURLcode c) {
  switch (c) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
      return true;
    default:
      return false;
  }
}

// What the HTTPS attempt to a server that speaks only HTTP ends in: before any certificate.
bool means_no_tls(CURLcode c) {
  return c == CURLE_SSL_CONNECT_ERROR || c == CURLE_RECV_ERROR || c == CURLE_GOT_NOTHING;
}

// One request's state, shared with the write callback.
struct Transfer {
  CURL* curl = nullptr;
  const BlobSink* sink = nullptr;  // gets a 2xx body; others go to body
  size_t max_body = kMaxErrorBody;
  std::string body;
  bool body_overflow = false;
  std::optional<Error> sink_error;
};

size_t on_write(char* data, size_t, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status / 100 == 2 && t->sink != nullptr) {
    auto r = (*t->sink)({reinterpret_cast<const uint8_t*>(data), n});
    if (!r) {
      t->sink_error = std::move(r).error();
      return 0;
    }
    return n;
  }
  if (t->body.size() + n > t->max_body) {
    // A long error page is cut; a 2xx body over its bound stops the transfer.
    if (status / 100 != 2) return n;
    t->body_overflow = true;
    return 0;
  }
  t->body.append(data, n);
  return n;
}

struct Response {
  CURLcode code = CURLE_OK;
  std::string curl_error;
  long os_errno = 0;
  long status = 0;
  std::string body, content_type, docker_digest, location, authority;
  std::vector<std::string> challenges;
  bool body_overflow = false;
  std::optional<Error> sink_error;
};

std::string header_value(CURL* c, const char* name, size_t index = 0) {
  curl_header* h = nullptr;
  if (curl_easy_header(c, name, index, CURLH_HEADER, -1, &h) != CURLHE_OK) return "";
  return h->value;
}

Error transport_error(const Response& r) {
  std::string host = r.authority;
  if (r.code == CURLE_OPERATION_TIMEDOUT)
    return Error{ETIMEDOUT, fmt::format("{}: timed out ({})", host, r.curl_error), {}, true};
  if (is_tls_error(r.code))
    return Error{EPROTO, fmt::format("{}: TLS: {}", host, r.curl_error), {}, true};
  if (r.os_errno != 0 && r.code == CURLE_COULDNT_CONNECT)
    return Error{static_cast<int>(r.os_errno), host};
  return Error{EIO, fmt::format("{}: {}", host, r.curl_error), {}, true};
}

Error http_error(const Response& r) {
  std::string msg = detail::registry_error_message(r.body);
  int code = r.status == 404 ? ENOENT : (r.status == 401 || r.status == 403) ? EACCES : EIO;
  std::string text =
      msg.empty() ? fmt::format("HTTP {}", r.status) : fmt::format("{} ({})", msg, r.status);
  if (r.status == 401 && !msg.starts_with("unauthorized"))
    text = msg.empty() ? "unauthorized (401)" : "unauthorized: " + text;
  return Error{code, text, {}, true};
}

std::unexpected<Error> wrapped(Error e, std::string_view outer) {
  e.wrap(outer);
  return std::unexpected(std::move(e));
}

std::string strip_params(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && content_type.back() == ' ') content_type.remove_suffix(1);
  return std::string(content_type);
}

// The system CA bundle plus every *.crt in dir, as one PEM text ("" when dir has none).
Result<std::string> ca_bundle(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d))
      if (std::string_view(e->d_name).ends_with(".crt")) names.emplace_back(e->d_name);
    ::closedir(d);
  } else if (errno != ENOENT) {
    return fail_errno("CA directory {}", dir);
  }
  if (names.empty()) return std::string();
  std::sort(names.begin(), names.end());
  std::string pem;
  for (const char* system :
       {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"})
    if (auto text = read_file(system)) {
      pem = std::move(*text) + "\n";
      break;
    }
  for (const std::string& n : names) {
    HUSK_TRY_ASSIGN(std::string text, read_file(dir + "/" + n).context("CA file {}/{}", dir, n));
    pem += text + "\n";
  }
  return pem;
}

}  // namespace

struct RegistryClient::Impl {
  Reference ref;
  RegistryOptions opts;
  std::string host;
  bool may_use_http = false;
  bool scopeless_token = false;  // check_login: a token asked for without a default scope
  std::optional<Result<std::string>> ca_pem;  // loaded on first use

  std::mutex mu;              // guards everything below
  std::string scheme;         // "" until a request worked
  std::string authorization;  // "Authorization: ..." or ""
  std::vector<CURL*> idle;

  Impl(const Reference& r, RegistryOptions o)
      : ref(r),
        opts(std::move(o)),
        host(r.registry_host()),
        may_use_http(!opts.tls_verify || detail::is_loopback_host(host)) {
    std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  }
  ~Impl() {
    for (CURL* c : idle) curl_easy_cleanup(c);
  }

  CURL* take() {
    std::lock_guard lock(mu);
    if (idle.empty()) return curl_easy_init();
    CURL* c = idle.back();
    idle.pop_back();
    return c;
  }
  void give_back(CURL* c) {
    curl_easy_reset(c);  // keeps its connections and TLS sessions
    std::lock_guard lock(mu);
    idle.push_back(c);
  }
  // A pooled handle, given back when it goes out of scope.
  struct Borrowed {
    Impl* self;
    CURL* c;
    ~Borrowed() { self->give_back(c); }
  };

  Result<void> setup_tls(CURL* c);
  Response perform(const std::string& url, const std::vector<std::string>& headers, Transfer& t);
  Result<Response> send_via(const std::string& scheme, const std::string& path,
                            const std::vector<std::string>& headers, const BlobSink* sink,
                            size_t max_body, std::string& auth_used);
  Result<Response> send(const std::string& path, const std::vector<std::string>& headers,
                        const BlobSink* sink, size_t max_body);
  Result<bool> authenticate(const Response& r, const std::string& auth_used);
  Result<std::string> fetch_token(const detail::Challenge& c);
  Result<FetchedManifest> manifest(const std::string& tag_or_digest,
                                   const std::optional<Digest>& want);
};

Result<void> RegistryClient::Impl::setup_tls(CURL* c) {
  if (!opts.tls_verify) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (opts.ca_dir.empty()) return ok();
  {
    std::lock_guard lock(mu);
    if (!ca_pem) ca_pem = ca_bundle(opts.ca_dir);
    if (!*ca_pem) return std::unexpected(ca_pem->error());
  }
  const std::string& pem = **ca_pem;
  if (!pem.empty() && opts.tls_verify) {
    curl_blob blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_NOCOPY};
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
  }
  std::string cert = opts.ca_dir + "/client.cert", key = opts.ca_dir + "/client.key";
  if (::access(cert.c_str(), R_OK) == 0 && ::access(key.c_str(), R_OK) == 0) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, cert.c_str());
    curl_easy_setopt(c, CURLOPT_SSLKEY, key.c_str());
  }
  return ok();
}

Response RegistryClient::Impl::perform(const std::string& url,
                                       const std::vector<std::string>& headers, Transfer& t) {
  Response r;
  r.authority = detail::url_authority(url);
  char errbuf[CURL_ERROR_SIZE] = {};
  Slist list;
  for (const std::string& h : headers) {
    curl_slist* head = curl_slist_append(list.get(), h.c_str());
    if (head != nullptr && head != list.get()) list.reset(head);  // the first append only
  }
  CURL* c = t.curl;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_USERAGENT, opts.user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, opts.connect_timeout_seconds);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, opts.stall_timeout_seconds);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  t.body.clear();
  r.code = curl_easy_perform(c);
  r.curl_error = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(r.code);
  curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &r.os_errno);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  if (char* ct = nullptr; curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
    r.content_type = strip_params(ct);
  if (char* loc = nullptr; curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc)
    r.location = loc;
  if (r.status != 0) {
    r.docker_digest = header_value(c, "Docker-Content-Digest");
    for (size_t i = 0; i < 8; ++i) {
      std::string v = header_value(c, "WWW-Authenticate", i);
      if (v.empty()) break;
      r.challenges.push_back(std::move(v));
    }
  }
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
  r.body = std::move(t.body);
  r.body_overflow = std::exchange(t.body_overflow, false);
  r.sink_error = std::exchange(t.sink_error, std::nullopt);
  return r;
}

// One request and its redirects over `scheme`. A transport failure comes back as a Response
// with code != CURLE_OK (for the caller's HTTP fallback); a refused redirect as an error.
Result<Response> RegistryClient::Impl::send_via(const std::string& scheme, const std::string& path,
                                                const std::vector<std::string>& headers,
                                                const BlobSink* sink, size_t max_body,
                                                std::string& auth_used) {
  CURL* c = take();
  if (c == nullptr) return fail(ENOMEM, "curl_easy_init failed");
  Borrowed give{this, c};
  std::string origin = scheme + "://" + host;
  std::string url = origin + "/v2/" + path;
  {
    std::lock_guard lock(mu);
    auth_used = authorization;
  }
  for (int hop = 0;; ++hop) {
    curl_easy_reset(c);
    HUSK_TRY(setup_tls(c));
    std::vector<std::string> h = headers;
    bool same_origin = detail::url_scheme(url) == scheme && detail::url_authority(url) == host;
    if (same_origin && !auth_used.empty()) h.push_back(auth_used);
    Transfer t{c, sink, max_body};
    Response r = perform(url, h, t);
    if (r.code != CURLE_OK || r.status / 100 != 3 || r.location.empty()) return r;
    if (hop == kMaxRedirects) return fail_quiet(ELOOP, "more than {} redirects", kMaxRedirects);
    std::string next_scheme = detail::url_scheme(r.location);
    if (next_scheme != "https" && !(next_scheme == "http" && scheme == "http"))
      return fail_quiet(EPERM, "redirect to {} refused: not https", r.location.substr(0, 200));
    url = r.location;
  }
}

Result<Response> RegistryClient::Impl::send(const std::string& path,
                                            const std::vector<std::string>& headers,
                                            const BlobSink* sink, size_t max_body) {
  for (int attempt = 0;; ++attempt) {
    std::string known;
    {
      std::lock_guard lock(mu);
      known = scheme;
    }
    std::string auth_used;
    HUSK_TRY_ASSIGN(Response r, send_via(known.empty() ? "https" : known, path, headers, sink,
                                         max_body, auth_used));
    if (known.empty() && r.code != CURLE_OK && may_use_http && means_no_tls(r.code)) {
      std::string http_auth;
      auto plain = send_via("http", path, headers, sink, max_body, http_auth);
      if (plain && plain->code == CURLE_OK) {
        r = std::move(*plain);
        known = "http";
        auth_used = std::move(http_auth);
      }
    }
    // The sink's own error, a body over its bound, a 2xx body cut short: the caller's to name.
    bool callers =
        r.sink_error || r.body_overflow || (r.code == CURLE_PARTIAL_FILE && r.status / 100 == 2);
    if (r.code != CURLE_OK && !callers) return std::unexpected(transport_error(r));
    {
      std::lock_guard lock(mu);
      if (scheme.empty()) scheme = known.empty() ? "https" : known;
    }
    if (r.status == 401 && attempt == 0 && HUSK_TRY(authenticate(r, auth_used))) continue;
    return r;
  }
}

// After a 401: true when a new Authorization header is in place to retry with.
Result<bool> RegistryClient::Impl::authenticate(const Response& r, const std::string& auth_used) {
  {
    std::lock_guard lock(mu);
    if (authorization != auth_used) return true;  // another request already renewed it
  }
  std::optional<detail::Challenge> bearer, basic;
  for (const std::string& text : r.challenges) {
    auto c = detail::parse_challenge(text);
    if (!c) continue;
    if (c->scheme == "bearer" && !bearer) bearer = std::move(*c);
    if (c->scheme == "basic" && !basic) basic = std::move(*c);
  }
  std::string header;
  if (bearer) {
    HUSK_TRY_ASSIGN(std::string token, fetch_token(*bearer));
    header = "Authorization: Bearer " + token;
  } else if (basic && opts.credentials) {
    header = "Authorization: Basic " +
             base64(opts.credentials->username + ":" + opts.credentials->password);
  } else {
    return false;
  }
  std::lock_guard lock(mu);
  authorization = std::move(header);
  return true;
}

Result<std::string> RegistryClient::Impl::fetch_token(const detail::Challenge& ch) {
  auto realm_it = ch.params.find("realm");
  if (realm_it == ch.params.end()) return fail_quiet(EPROTO, "bearer challenge without a realm");
  const std::string& realm = realm_it->second;
  std::string realm_scheme = detail::url_scheme(realm);
  bool loopback = detail::is_loopback_host(detail::url_authority(realm));
  if (realm_scheme != "https" && !(realm_scheme == "http" && (may_use_http || loopback)))
    return fail_quiet(EPERM, "token realm {} refused: not https", realm.substr(0, 200));
  CURL* c = take();
  if (c == nullptr) return fail(ENOMEM, "curl_easy_init failed");
  Borrowed give{this, c};
  auto param = [&](std::string_view name, std::string_view value) {
    char* esc = curl_easy_escape(c, value.data(), static_cast<int>(value.size()));
    std::string out = fmt::format("{}={}", name, esc != nullptr ? esc : "");
    curl_free(esc);
    return out;
  };
  std::string url = realm + (realm.find('?') == std::string::npos ? "?" : "&");
  auto service = ch.params.find("service");
  if (service != ch.params.end()) url += param("service", service->second) + "&";
  auto scope = ch.params.find("scope");
  if (scope != ch.params.end())
    url += param("scope", scope->second);
  else if (!scopeless_token)
    url += param("scope", fmt::format("repository:{}:pull", ref.path()));
  std::vector<std::string> headers;
  if (opts.credentials)
    headers.push_back("Authorization: Basic " +
                      base64(opts.credentials->username + ":" + opts.credentials->password));
  HUSK_TRY(setup_tls(c));
  Transfer t{c, nullptr, kMaxTokenBody};
  Response r = perform(url, headers, t);
  std::string where = fmt::format("token from {}", realm.substr(0, 200));
  if (r.code != CURLE_OK) return wrapped(transport_error(r), where);
  if (r.status != 200) return wrapped(http_error(r), where);
  return detail::parse_token_response(r.body).context("{}", where);
}

Result<FetchedManifest> RegistryClient::Impl::manifest(const std::string& tag_or_digest,
                                                       const std::optional<Digest>& want) {
  HUSK_TRY_ASSIGN(Response r, send(ref.path() + "/manifests/" + tag_or_digest,
                                   {std::string(kManifestAccept)}, nullptr, kMaxManifestBytes));
  if (r.body_overflow) return fail_quiet(EFBIG, "larger than {} bytes", kMaxManifestBytes);
  if (r.status != 200) return std::unexpected(http_error(r));
  if (r.code == CURLE_PARTIAL_FILE) return fail_quiet(EBADMSG, "truncated: {}", r.curl_error);
  FetchedManifest m{std::move(r.body), std::move(r.content_type), {}};
  m.digest = sha256_of(m.bytes);
  if (want && m.digest != *want)
    return fail_quiet(EBADMSG, "digest mismatch: expected {}, got {}", want->str(), m.digest.str());
  if (r.docker_digest.starts_with("sha256:")) {
    HUSK_TRY_ASSIGN(Digest header, Digest::parse(r.docker_digest).context("Docker-Content-Digest"));
    if (header != m.digest)
      return fail_quiet(EBADMSG, "digest mismatch: Docker-Content-Digest {}, content {}",
                        header.str(), m.digest.str());
  }
  return m;
}

RegistryClient::RegistryClient(const Reference& ref, RegistryOptions options)
    : impl_(std::make_unique<Impl>(ref, std::move(options))) {}

RegistryClient::~RegistryClient() = default;

std::string RegistryClient::scheme() const {
  std::lock_guard lock(impl_->mu);
  return impl_->scheme;
}

Result<FetchedManifest> RegistryClient::get_manifest() {
  const Reference& ref = impl_->ref;
  return impl_->manifest(ref.digest() ? ref.digest()->str() : ref.tag(), ref.digest());
}

Result<FetchedManifest> RegistryClient::get_manifest(const Digest& digest) {
  return impl_->manifest(digest.str(), digest).context("manifest {}", digest.str());
}

Result<void> RegistryClient::check_login() {
  impl_->scopeless_token = true;
  HUSK_TRY_ASSIGN(Response r, impl_->send("", {}, nullptr, kMaxErrorBody));
  if (r.status / 100 != 2) return std::unexpected(http_error(r));
  return ok();
}

Result<void> RegistryClient::get_blob(const Descriptor& blob, const BlobSink& sink) {
  const std::string name = blob.digest.str();
  if (blob.size < 0 || blob.size > kMaxBlobSize)
    return fail_quiet(EINVAL, "blob {}: size {} out of range", name, blob.size);
  Sha256 hash;
  int64_t got = 0;
  BlobSink counted = [&](std::span<const uint8_t> bytes) -> Result<void> {
    if (static_cast<int64_t>(bytes.size()) > blob.size - got)
      return fail_quiet(EFBIG, "more than the {} bytes its descriptor gives", blob.size);
    got += static_cast<int64_t>(bytes.size());
    hash.update(bytes);
    return sink(bytes);
  };
  auto r = impl_->send(impl_->ref.path() + "/blobs/" + name, {}, &counted, kMaxErrorBody);
  std::string where = "blob " + name;
  if (!r) return wrapped(std::move(r).error(), where);
  if (r->sink_error) return wrapped(std::move(*r->sink_error), where);
  if (r->status / 100 != 2) return wrapped(http_error(*r), where);
  if (got < blob.size)
    return fail_quiet(EBADMSG, "blob {}: truncated: got {} of {} bytes", name, got, blob.size);
  Digest actual = hash.finish();
  if (actual != blob.digest)
    return fail_quiet(EBADMSG, "blob {}: digest mismatch: expected {}, got {}", name, name,
                      actual.str());
  return ok();
}

Result<void> RegistryClient::get_blob(const Descriptor& blob, int fd) {
  return get_blob(blob, [fd](std::span<const uint8_t> bytes) -> Result<void> {
    return write_all(fd, {reinterpret_cast<const char*>(bytes.data()), bytes.size()});
  });
}

}  // namespace husk::image
