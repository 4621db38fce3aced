// Internal to spec/: a read-only view of one JSON value that knows its path in
// the document, so every error names it: `config.json: process.user.uid:
// expected a number, got string`. Absent and null values read as "not given",
// as Go's encoding/json (and so runc) treats them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace husk::spec::detail {

using Json = nlohmann::json;

// Parses text; a syntax error becomes `<doc>: invalid JSON at line L, column C: reason`.
Result<Json> parse_json(std::string_view text, std::string_view doc_name);

class Node {
 public:
  Node(const Json* value, std::string path, std::string_view doc = "config.json")
      : value_(value), path_(std::move(path)), doc_(doc) {}

  const std::string& path() const { return path_; }
  bool present() const { return value_ != nullptr && !value_->is_null(); }
  const Json& json() const { return *value_; }

  // A struct field: "process" + "user" -> "process.user".
  Node operator[](std::string_view key) const;
  // A map entry: "annotations" + "a.b" -> `annotations["a.b"]`.
  Node entry(std::string_view key) const;
  // An array element: "mounts" + 3 -> "mounts[3]".
  Node at(size_t index) const;

  // Checks the type of a present value; an absent one passes.
  Result<void> expect_object() const;
  Result<void> expect_array() const;
  // Number of elements of an array (0 when absent).
  Result<size_t> size() const;
  // Keys of an object, in the document's (sorted) order; none when absent.
  Result<std::vector<std::string>> keys() const;

  // Values. The *_or forms return def when absent; the plain forms require it.
  Result<std::string> str() const;
  Result<std::string> str_or(std::string def) const;
  Result<bool> boolean_or(bool def) const;
  Result<std::vector<std::string>> strings() const;  // absent: empty
  Result<std::vector<uint32_t>> uint32s() const;     // absent: empty

  template <class T>
  Result<T> integer() const {
    if (!present()) return fail("field is required");
    if (!value_->is_number()) return type_error("a number");
    if (value_->is_number_float()) return fail("expected an integer, got {}", value_->dump());
    if (value_->is_number_unsigned()) {
      auto v = value_->get<uint64_t>();
      if (!std::in_range<T>(v)) return fail("{} is out of range", v);
      return static_cast<T>(v);
    }
    auto v = value_->get<int64_t>();
    if (!std::in_range<T>(v)) return fail("{} is out of range", v);
    return static_cast<T>(v);
  }

  template <class T>
  Result<std::optional<T>> optional_integer() const {
    if (!present()) return std::optional<T>();
    HUSK_TRY_ASSIGN(T v, integer<T>());
    return std::optional<T>(v);
  }

  // `config.json: <path>: <message>`, code 0 (not a system error).
  template <class... Args>
  std::unexpected<Error> fail(FormatAt<std::type_identity_t<Args>...> f, Args&&... args) const {
    std::string msg = fmt::format(f.fmt, std::forward<Args>(args)...);
    if (path_.empty()) return std::unexpected(Error{0, fmt::format("{}: {}", doc_, msg), f.where});
    return std::unexpected(Error{0, fmt::format("{}: {}: {}", doc_, path_, msg), f.where});
  }

  // "expected <what>, got <json type>".
  std::unexpected<Error> type_error(std::string_view what) const;

 private:
  const Json* value_;
  std::string path_;
  std::string_view doc_;
};

// Lexically cleans an absolute or relative path as Go's filepath.Clean does.
std::string clean_path(std::string_view path);
// base + "/" + rel, cleaned (filepath.Join).
std::string join_path(std::string_view base, std::string_view rel);

}  // namespace husk::spec::detail
