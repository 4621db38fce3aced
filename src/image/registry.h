// A client of the OCI distribution spec (the registry HTTP API v2) through libcurl: manifests by
// tag or digest, blobs streamed and verified, anonymous, basic and bearer-token auth.
//
//   HUSK_TRY_ASSIGN(Reference ref, Reference::parse("127.0.0.1:5000/app:1"));
//   RegistryOptions opts;
//   opts.credentials = HUSK_TRY(credentials_from_auth_files(ref, auth_file_paths()));
//   RegistryClient client(ref, opts);
//   HUSK_TRY_ASSIGN(FetchedManifest m, client.get_manifest());           // by ref's tag/digest
//   HUSK_TRY(client.get_blob(layer_descriptor, fd));                      // hashed as it streams
//
// One client talks to one repository (ref.registry_host(), ref.path()): auth scopes are per
// repository, so a bearer token is cached for the client's life. get_manifest and get_blob may
// be called from several threads at once (each request takes its own curl handle from a pool;
// the token is shared under a lock): parallel layer downloads are the caller's threads.
//
// Transport. HTTPS first, always. Plain HTTP is tried only when the HTTPS attempt failed before
// any certificate was judged (nothing listening speaks TLS) AND either tls_verify is false or
// the host is loopback (localhost, 127.0.0.0/8, [::1]) — docker treats 127.0.0.0/8 as an
// insecure registry by default, podman's --tls-verify=false allows HTTP. A certificate that
// fails verification never falls back to HTTP. The first scheme that works is kept.
// TLS: peers verified against the system CAs plus every `*.crt` in ca_dir (the layout of
// /etc/containers/certs.d/<host>/ and /etc/docker/certs.d/<host>/); a `client.cert` +
// `client.key` pair there is presented as the client certificate.
//
// Redirects (registries send blob GETs to object storage) are followed by hand, at most 10:
// the Authorization header goes along only while the host:port and scheme stay the same. A
// redirect from HTTPS to HTTP is refused unless the client itself speaks plain HTTP.
//
// Auth. The first request goes out anonymous (or with a cached token). A 401 carrying
// `WWW-Authenticate: Bearer realm=...,service=...,scope=...` makes the client GET the realm
// with service and scope (default scope `repository:<path>:pull`), sending the credentials as
// basic auth when there are any, take `token` (or `access_token`) from the JSON answer, and
// retry once with `Authorization: Bearer`. `Basic realm=...` retries once with the credentials.
// No credentials, or still 401: `unauthorized: <the registry's message> (401)`.
//
// Errors are one line. HTTP failures read `<registry errors[0].message> (<status>)`, e.g.
// `manifest unknown (404)`, or `HTTP 502` when the body says nothing; transport failures read
// `127.0.0.1:5000: Connection refused`, `127.0.0.1:5000: TLS: <curl's reason>`. get_manifest()
// leaves the reference to the caller (`pull 127.0.0.1:5000/x:1: manifest unknown (404)`);
// fetches by digest start with `manifest sha256:...` or `blob sha256:...`.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "image/digest.h"
#include "image/manifest.h"
#include "image/reference.h"

namespace husk::image {

struct Credentials {
  std::string username, password;
  friend bool operator==(const Credentials&, const Credentials&) = default;
};

struct RegistryOptions {
  bool tls_verify = true;
  // A directory of extra CA certificates (*.crt) and an optional client.cert/client.key.
  std::string ca_dir;
  std::optional<Credentials> credentials;
  std::string user_agent = "husk";
  long connect_timeout_seconds = 30;
  // A transfer slower than 1 byte/s for this long is abandoned (a stalled registry).
  long stall_timeout_seconds = 60;
};

struct FetchedManifest {
  std::string bytes;
  std::string content_type;  // as sent, parameters stripped
  Digest digest;             // sha256 of bytes, checked against what was asked for
};

// Where get_blob's bytes go, in order, as they arrive; an error stops the transfer.
using BlobSink = std::function<Result<void>(std::span<const uint8_t>)>;

class RegistryClient {
 public:
  RegistryClient(const Reference& ref, RegistryOptions options);
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  // GET /v2/<path>/manifests/<digest or tag> of the client's reference. The Accept header lists
  // the OCI index and manifest and the Docker list and schema2 types. The body is bounded by
  // kMaxManifestBytes. Its sha256 must equal the reference's digest when it has one, and the
  // `Docker-Content-Digest` header when that is a sha256.
  Result<FetchedManifest> get_manifest();
  // The same by digest (an index's entry): errors start `manifest sha256:...`.
  Result<FetchedManifest> get_manifest(const Digest& digest);

  // GET /v2/<path>/blobs/<digest>, streamed into sink and hashed on the way. At most
  // blob.size bytes are accepted; fewer at the end is a truncation; then the digest must match:
  //   blob sha256:ab..: digest mismatch: expected sha256:ab.., got sha256:cd..
  //   blob sha256:ab..: truncated: got 100 of 2048 bytes
  // What reached the sink before an error stays there: a caller's partial file is the
  // caller's to remove (the store writes into a temp file and renames it only on success).
  Result<void> get_blob(const Descriptor& blob, const BlobSink& sink);
  // The same into fd (written at its current offset, short writes retried).
  Result<void> get_blob(const Descriptor& blob, int fd);

  // GET /v2/ with the client's credentials, through the registry's challenge (a bearer token is
  // asked for without a scope unless the challenge names one, as docker login does): what
  // `husk login` checks before writing an auth file. Ok when the registry answers 2xx; a
  // rejection reads `unauthorized: <message> (401)` or `token from <realm>: ... (401)`. Call it
  // on a client made for it (it changes the default token scope for the client's life).
  Result<void> check_login();

  // "https" or "http" once a request has succeeded; "" before.
  std::string scheme() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The auth file husk login writes, where podman's does: $REGISTRY_AUTH_FILE, else
// ${XDG_RUNTIME_DIR}/containers/auth.json, else /run/containers/<uid>/auth.json.
std::string login_auth_file();

// The auth files read for credentials, in order (the first that has the host wins), as podman
// and skopeo read them: login_auth_file(); then
// ${XDG_CONFIG_HOME:-~/.config}/containers/auth.json; then ${DOCKER_CONFIG:-~/.docker}/config.json.
std::vector<std::string> auth_file_paths();

// The credentials for ref's registry from the first of `paths` that holds them. A file's
// `auths` map is keyed by host, optionally with a scheme and a path (`https://host/v1/`), or by
// host/repository-prefix (the longest prefix of ref's name wins); docker.io is found under
// `docker.io`, `index.docker.io`, `registry-1.docker.io` and `https://index.docker.io/v1/`.
// The `auth` field is base64 of `user:password`. A missing file is skipped; an unreadable or
// malformed one is an error naming it. A host left to a credential helper (named in
// credHelpers, or an entry without `auth` in a file with a credsStore, which is what docker
// login writes then) is an error: helpers are not supported. No entry anywhere: nullopt.
Result<std::optional<Credentials>> credentials_from_auth_files(
    const Reference& ref, const std::vector<std::string>& paths);

// The certs.d directory for a registry host: /etc/containers/certs.d/<host> if it exists, else
// /etc/docker/certs.d/<host> if it exists, else "".
std::string default_cert_dir(std::string_view host);

}  // namespace husk::image
