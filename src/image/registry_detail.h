// Pieces of the registry client (image/registry.h) that tests reach directly: the parsing of
// auth challenges, token answers and registry error bodies.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "base/error.h"

namespace husk::image::detail {

// One WWW-Authenticate challenge: `Bearer realm="https://a/token",service="reg",scope="x"`.
// The scheme is lowercased; parameter names are lowercased; values unquoted (\" escapes).
struct Challenge {
  std::string scheme;  // "bearer", "basic"
  std::map<std::string, std::string> params;
};
Result<Challenge> parse_challenge(std::string_view header);

// The token from a token server's JSON answer: `token`, else `access_token`; bounded, and
// only characters a header value may carry.
Result<std::string> parse_token_response(std::string_view body);

// `errors[0].message` (else `errors[0].code`) of a registry's JSON error body, "" if none.
std::string registry_error_message(std::string_view body);

// base64 decoding of an auth file's `auth` field (standard alphabet, padding optional).
Result<std::string> decode_base64(std::string_view text);

// The host part of a URL: "https://a.b:5000/v2/x" -> "a.b:5000"; "" when it has none.
std::string url_authority(std::string_view url);
std::string url_scheme(std::string_view url);

// An auth file's `auths` key reduced to host[/path]: scheme and a trailing "/v1/" or "/v2/"
// dropped, Docker Hub's other names made "docker.io".
std::string normalize_auth_key(std::string_view key);

// Loopback hosts (with or without a port): localhost, 127.0.0.0/8, [::1].
bool is_loopback_host(std::string_view host);

}  // namespace husk::image::detail
