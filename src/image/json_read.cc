#include "image/json_read.h"

#include "base/json_depth.h"

namespace husk::image::json {

std::string join(std::string_view where, std::string_view key) {
  return where.empty() ? std::string(key) : fmt::format("{}.{}", where, key);
}

Result<Json> parse_object(std::string_view text, std::string_view doc, size_t max_bytes) {
  if (text.size() > max_bytes)
    return fail_quiet(EFBIG, "{}: {} bytes, more than the {} allowed", doc, text.size(), max_bytes);
  if (json_nesting_depth(text) > kMaxDepth)
    return fail_quiet(EINVAL, "{}: invalid JSON: nested deeper than {} levels", doc, kMaxDepth);
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return fail_quiet(EINVAL, "{}: invalid JSON", doc);
  if (!j.is_object()) return fail_quiet(EINVAL, "{}: not a JSON object", doc);
  return j;
}

const Json* member(const Json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<std::string> string_at(const Json& obj, std::string_view key, std::string_view where,
                              std::string_view fallback) {
  const Json* v = member(obj, key);
  if (v == nullptr) return std::string(fallback);
  if (!v->is_string()) return fail_quiet(EINVAL, "{}: not a string", join(where, key));
  return v->get_ref<const std::string&>();
}

Result<int64_t> int_at(const Json& obj, std::string_view key, std::string_view where, int64_t min,
                       int64_t max, std::optional<int64_t> fallback) {
  const Json* v = member(obj, key);
  if (v == nullptr) {
    if (fallback) return *fallback;
    return fail_quiet(EINVAL, "{}: missing", join(where, key));
  }
  int64_t n = 0;
  if (v->is_number_unsigned()) {
    uint64_t u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(max))
      return fail_quiet(EINVAL, "{}: {} is more than {}", join(where, key), u, max);
    n = static_cast<int64_t>(u);
  } else if (v->is_number_integer()) {
    n = v->get<int64_t>();
  } else {
    return fail_quiet(EINVAL, "{}: not an integer", join(where, key));
  }
  if (n < min || n > max)
    return fail_quiet(EINVAL, "{}: {} is outside {}..{}", join(where, key), n, min, max);
  return n;
}

Result<std::optional<std::vector<std::string>>> strings_at(const Json& obj, std::string_view key,
                                                           std::string_view where,
                                                           size_t max_items) {
  const Json* v = member(obj, key);
  if (v == nullptr) return std::optional<std::vector<std::string>>{};
  std::vector<std::string> out;
  if (v->is_string()) {
    out.push_back(v->get<std::string>());
    return std::optional(std::move(out));
  }
  if (!v->is_array()) return fail_quiet(EINVAL, "{}: not an array of strings", join(where, key));
  if (v->size() > max_items)
    return fail_quiet(EINVAL, "{}: more than {} entries", join(where, key), max_items);
  for (const Json& s : *v) {
    if (!s.is_string()) return fail_quiet(EINVAL, "{}: not an array of strings", join(where, key));
    out.push_back(s.get<std::string>());
  }
  return std::optional(std::move(out));
}

}  // namespace husk::image::json
