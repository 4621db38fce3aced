#include "image/reference.h"

#include <algorithm>
#include <charconv>

namespace husk::image {
namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool is_word(char c) { return is_alnum(c) || c == '_'; }
bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// path-component := [a-z0-9]+ (([._] | "__" | "-"+) [a-z0-9]+)*
bool valid_path_component(std::string_view s) {
  size_t i = 0;
  while (true) {
    size_t start = i;
    while (i < s.size() && is_lower_alnum(s[i])) ++i;
    if (i == start) return false;  // empty, or a separator first or twice
    if (i == s.size()) return true;
    size_t sep = i;
    while (i < s.size() && !is_lower_alnum(s[i])) ++i;
    std::string_view run = s.substr(sep, i - sep);
    bool dashes = std::all_of(run.begin(), run.end(), [](char c) { return c == '-'; });
    if (!(run == "." || run == "_" || run == "__" || dashes)) return false;
  }
}

// domain-component := [A-Za-z0-9] | [A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]
bool valid_domain_name(std::string_view s) {
  if (s.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view c = s.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (c.empty() || !is_alnum(c.front()) || !is_alnum(c.back())) return false;
    for (char ch : c)
      if (!is_alnum(ch) && ch != '-') return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool valid_port(std::string_view port) {
  unsigned n = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  return ec == std::errc() && p == port.data() + port.size() && n > 0 && n <= 65535;
}

// domain := (domain-name | "[" ipv6 "]") [":" port]
bool valid_domain(std::string_view d) {
  std::string_view rest;
  if (d.starts_with('[')) {
    size_t close = d.find(']');
    if (close == std::string_view::npos) return false;
    std::string_view v6 = d.substr(1, close - 1);
    if (v6.size() < 2 ||
        !std::all_of(v6.begin(), v6.end(), [](char c) { return is_hex(c) || c == ':'; }))
      return false;
    rest = d.substr(close + 1);
  } else {
    size_t colon = d.find(':');
    if (!valid_domain_name(d.substr(0, colon))) return false;
    if (colon != std::string_view::npos) rest = d.substr(colon);
  }
  return rest.empty() || (rest.starts_with(':') && valid_port(rest.substr(1)));
}

bool valid_tag(std::string_view t) {
  if (t.empty() || t.size() > kMaxTagLength || !is_word(t[0])) return false;
  return std::all_of(t.begin(), t.end(), [](char c) { return is_word(c) || c == '.' || c == '-'; });
}

bool is_hex64(std::string_view s) {
  return s.size() == 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return is_lower_alnum(c) && is_hex(c); });
}

bool has_upper(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// docker's splitDockerDomain: the first component names a registry only when it looks like one.
void split_domain(std::string_view name, std::string& domain, std::string& path) {
  size_t slash = name.find('/');
  std::string_view first = name.substr(0, slash);
  if (slash == std::string_view::npos || (first.find_first_of(".:") == std::string_view::npos &&
                                          first != "localhost" && !has_upper(first))) {
    domain = kDockerHubDomain;
    path = name;
  } else {
    domain = first;
    path = name.substr(slash + 1);
  }
  if (domain == "index.docker.io") domain = kDockerHubDomain;
  if (domain == kDockerHubDomain && path.find('/') == std::string::npos) path = "library/" + path;
}

}  // namespace

Result<Reference> Reference::parse(std::string_view text) {
  // Bounded before any work: name, ':', tag, '@', digest.
  if (text.size() > kMaxNameLength + kMaxTagLength + 80)
    return fail_quiet(EINVAL, "reference \"{}...\": longer than any valid reference",
                      text.substr(0, 64));
  if (text.empty()) return fail_quiet(EINVAL, "reference \"\": empty");
  Reference r;
  std::string_view name = text;
  if (size_t at = text.find('@'); at != std::string_view::npos) {
    auto d = Digest::parse(text.substr(at + 1));
    if (!d) return fail_quiet(EINVAL, "reference \"{}\": {}", text, d.error().message);
    r.digest_ = *d;
    name = text.substr(0, at);
  }
  size_t colon = name.rfind(':'), slash = name.rfind('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    std::string_view tag = name.substr(colon + 1);
    if (tag.size() > kMaxTagLength)
      return fail_quiet(EINVAL, "reference \"{}\": tag longer than {} characters", text,
                        kMaxTagLength);
    if (!valid_tag(tag))
      return fail_quiet(EINVAL, "reference \"{}\": invalid tag \"{}\"", text, tag);
    r.tag_ = tag;
    name = name.substr(0, colon);
  }
  if (name.empty()) return fail_quiet(EINVAL, "reference \"{}\": no repository name", text);
  if (is_hex64(name))
    return fail_quiet(EINVAL,
                      "reference \"{}\": a 64-hex-digit string names an image id, not a repository",
                      text);
  split_domain(name, r.domain_, r.path_);
  if (!valid_domain(r.domain_))
    return fail_quiet(EINVAL, "reference \"{}\": invalid registry \"{}\"", text, r.domain_);
  if (has_upper(r.path_))
    return fail_quiet(EINVAL, "reference \"{}\": repository name must be lowercase", text);
  for (size_t start = 0;;) {
    size_t end = r.path_.find('/', start);
    std::string_view comp =
        std::string_view(r.path_).substr(start, end == std::string::npos ? end : end - start);
    if (!valid_path_component(comp))
      return fail_quiet(EINVAL, "reference \"{}\": invalid repository name component \"{}\"", text,
                        comp);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (r.name().size() > kMaxNameLength)
    return fail_quiet(EINVAL, "reference \"{}\": repository name longer than {} characters", text,
                      kMaxNameLength);
  if (r.tag_.empty() && !r.digest_) r.tag_ = "latest";
  return r;
}

std::string Reference::registry_host() const {
  return domain_ == kDockerHubDomain ? std::string(kDockerHubApiHost) : domain_;
}

std::string Reference::name() const { return domain_ + "/" + path_; }

static std::string with_tag_and_digest(std::string s, const std::string& tag,
                                       const std::optional<Digest>& digest) {
  if (!tag.empty()) s += ":" + tag;
  if (digest) s += "@" + digest->str();
  return s;
}

std::string Reference::str() const { return with_tag_and_digest(name(), tag_, digest_); }

std::string Reference::familiar_name() const {
  if (domain_ != kDockerHubDomain) return name();
  std::string_view p = path_;
  // docker.io/localhost/x or docker.io/a.b/c: without the domain it would name another
  // registry (docker prints it ambiguously; husk keeps the domain).
  std::string_view first = p.substr(0, p.find('/'));
  if (first == "localhost" || first.find('.') != std::string_view::npos) return name();
  // library/ goes, unless what is left would read as an image id.
  if (p.starts_with("library/") && p.find('/', 8) == std::string_view::npos &&
      !is_hex64(p.substr(8)))
    p.remove_prefix(8);
  return std::string(p);
}

std::string Reference::familiar() const {
  return with_tag_and_digest(familiar_name(), tag_, digest_);
}

}  // namespace husk::image
