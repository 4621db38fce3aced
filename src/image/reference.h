// Image references as docker writes them (the distribution/reference grammar), normalised:
//
//   alpine                         -> docker.io/library/alpine:latest
//   user/app:1.2                   -> docker.io/user/app:1.2
//   localhost:5000/a/b@sha256:...  -> localhost:5000/a/b@sha256:...
//   [::1]:5000/x:t                 -> [::1]:5000/x:t
//
//   reference := name [":" tag] ["@" digest]
//   name      := [domain "/"] path-component ("/" path-component)*
//   domain    := (domain-name | "[" ipv6 "]") [":" port]
//
// The first component is a domain only when it holds a "." or a ":", is "localhost", or holds
// an uppercase letter (host names may, Docker Hub namespaces may not); otherwise the name is on
// docker.io, and a one-component docker.io name is in "library/". Path components are lowercase
// alphanumerics joined by ".", "_", "__" or runs of "-". A tag is
// [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; the whole name (domain included, after normalisation) is at
// most 255 characters. A reference with neither tag nor digest gets
// ":latest". Errors read `reference "Foo": repository name must be lowercase`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "image/digest.h"

namespace husk::image {

inline constexpr std::string_view kDockerHubDomain = "docker.io";
inline constexpr std::string_view kDockerHubApiHost = "registry-1.docker.io";
inline constexpr size_t kMaxNameLength = 255;
inline constexpr size_t kMaxTagLength = 128;

class Reference {
 public:
  static Result<Reference> parse(std::string_view text);

  // "docker.io", "localhost:5000", "[::1]:5000" (as written, port included).
  const std::string& domain() const { return domain_; }
  // The host:port to send API requests to: docker.io's is registry-1.docker.io.
  std::string registry_host() const;
  // "library/alpine", "a/b".
  const std::string& path() const { return path_; }
  // "" only when a digest was given without a tag.
  const std::string& tag() const { return tag_; }
  const std::optional<Digest>& digest() const { return digest_; }
  // domain/path: "docker.io/library/alpine".
  std::string name() const;
  // The canonical form: "docker.io/library/alpine:latest", "x.io/a@sha256:...".
  std::string str() const;
  // What docker prints: "alpine:latest", "user/app:1.2", "localhost:5000/a/b@sha256:...".
  std::string familiar() const;
  std::string familiar_name() const;

  friend bool operator==(const Reference&, const Reference&) = default;

 private:
  std::string domain_, path_, tag_;
  std::optional<Digest> digest_;
};

}  // namespace husk::image
