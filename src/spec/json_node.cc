#include "spec/json_node.h"

#include <algorithm>

#include "base/json_depth.h"

namespace husk::spec::detail {
namespace {

std::string_view type_name(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "boolean";
    case Json::value_t::string:
      return "string";
    case Json::value_t::object:
      return "object";
    case Json::value_t::array:
      return "array";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return "number";
    default:
      return "unknown value";
  }
}

// nlohmann's what() is "[json.exception.parse_error.101] parse error at line 1,
// column 5: <reason>"; keep the reason, the position is recomputed.
std::string parse_reason(std::string_view what) {
  if (auto col = what.find("column "); col != std::string_view::npos) {
    if (auto sep = what.find(": ", col); sep != std::string_view::npos)
      return std::string(what.substr(sep + 2));
  }
  if (auto end = what.find("] "); end != std::string_view::npos)
    return std::string(what.substr(end + 2));
  return std::string(what);
}


// Go's encoding/json (and so runc) refuses documents nested deeper than this.
constexpr size_t kMaxDepth = 10000;

}  // namespace

Result<Json> parse_json(std::string_view text, std::string_view doc_name) {
  if (json_nesting_depth(text) > kMaxDepth)
    return fail(0, "{}: invalid JSON: nested deeper than {} levels", doc_name, kMaxDepth);
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    // e.byte counts the characters read, the offending one included.
    size_t offset = e.byte == 0 ? 0 : std::min<size_t>(e.byte - 1, text.size());
    std::string_view before = text.substr(0, offset);
    size_t line = 1 + static_cast<size_t>(std::count(before.begin(), before.end(), '\n'));
    size_t line_start = before.rfind('\n');
    size_t column = line_start == std::string_view::npos ? offset + 1 : offset - line_start;
    return fail(0, "{}: invalid JSON at line {}, column {}: {}", doc_name, line, column,
                parse_reason(e.what()));
  } catch (const Json::exception& e) {
    return fail(0, "{}: invalid JSON: {}", doc_name, parse_reason(e.what()));
  }
}

Node Node::operator[](std::string_view key) const {
  std::string path = path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
  const Json* child = nullptr;
  if (value_ != nullptr && value_->is_object()) {
    auto it = value_->find(key);
    if (it != value_->end()) child = &*it;
  }
  return Node(child, std::move(path), doc_);
}

Node Node::entry(std::string_view key) const {
  const Json* child = nullptr;
  if (value_ != nullptr && value_->is_object()) {
    auto it = value_->find(key);
    if (it != value_->end()) child = &*it;
  }
  return Node(child, fmt::format("{}[{:?}]", path_, key), doc_);
}

Node Node::at(size_t index) const {
  const Json* child = nullptr;
  if (value_ != nullptr && value_->is_array() && index < value_->size()) child = &(*value_)[index];
  return Node(child, fmt::format("{}[{}]", path_, index), doc_);
}

std::unexpected<Error> Node::type_error(std::string_view what) const {
  return fail("expected {}, got {}", what, value_ != nullptr ? type_name(*value_) : "nothing");
}

Result<void> Node::expect_object() const {
  if (present() && !value_->is_object()) return type_error("an object");
  return ok();
}

Result<void> Node::expect_array() const {
  if (present() && !value_->is_array()) return type_error("an array");
  return ok();
}

Result<size_t> Node::size() const {
  HUSK_TRY(expect_array());
  return present() ? value_->size() : 0;
}

Result<std::vector<std::string>> Node::keys() const {
  HUSK_TRY(expect_object());
  std::vector<std::string> out;
  if (!present()) return out;
  for (const auto& [key, value] : value_->items()) out.push_back(key);
  return out;
}

Result<std::string> Node::str() const {
  if (!present()) return fail("field is required");
  if (!value_->is_string()) return type_error("a string");
  return value_->get<std::string>();
}

Result<std::string> Node::str_or(std::string def) const {
  if (!present()) return def;
  return str();
}

Result<bool> Node::boolean_or(bool def) const {
  if (!present()) return def;
  if (!value_->is_boolean()) return type_error("a boolean");
  return value_->get<bool>();
}

Result<std::vector<std::string>> Node::strings() const {
  HUSK_TRY_ASSIGN(size_t n, size());
  std::vector<std::string> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    Node e = at(i);
    if (!e.present() || !e.json().is_string()) return e.type_error("a string");
    out.push_back(e.json().get<std::string>());
  }
  return out;
}

Result<std::vector<uint32_t>> Node::uint32s() const {
  HUSK_TRY_ASSIGN(size_t n, size());
  std::vector<uint32_t> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(HUSK_TRY(at(i).integer<uint32_t>()));
  return out;
}

std::string clean_path(std::string_view path) {
  if (path.empty()) return ".";
  bool rooted = path.front() == '/';
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    std::string_view part = path.substr(pos, next - pos);
    pos = next + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!rooted) {
        parts.push_back(part);
      }
      continue;
    }
    parts.push_back(part);
  }
  std::string out = rooted ? "/" : "";
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += '/';
    out += parts[i];
  }
  return out.empty() ? "." : out;
}

std::string join_path(std::string_view base, std::string_view rel) {
  if (base.empty()) return clean_path(rel);
  if (rel.empty()) return clean_path(base);
  return clean_path(fmt::format("{}/{}", base, rel));
}

}  // namespace husk::spec::detail
