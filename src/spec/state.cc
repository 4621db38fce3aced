#include "spec/state.h"

#include <ctime>

#include <fmt/format.h>

namespace husk::spec {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if it is not valid.
size_t utf8_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (len == 0 || i + len > s.size()) return 0;
  uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3f);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

// Go's encoding/json string encoding with HTML escaping on (its default):
// invalid UTF-8 becomes U+FFFD, U+2028/U+2029 are escaped.
void append_go_string(std::string& out, std::string_view s) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = utf8_length(s, i);
    if (len == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    if (len > 1) {
      std::string_view seq = s.substr(i, len);
      if (seq == "\u2028" || seq == "\u2029") {
        out += seq == "\u2028" ? "\\u2028" : "\\u2029";
      } else {
        out += seq;
      }
      i += len;
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == '<' || c == '>' || c == '&') {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
}

// Writes `"key": ` (pretty) or `"key":` (compact) after the right separator.
class ObjectWriter {
 public:
  ObjectWriter(std::string& out, bool pretty, int depth)
      : out_(out), pretty_(pretty), depth_(depth) {
    out_ += '{';
  }
  void key(std::string_view k) {
    if (!first_) out_ += ',';
    first_ = false;
    newline(depth_ + 1);
    append_go_string(out_, k);
    out_ += pretty_ ? ": " : ":";
  }
  void string(std::string_view k, std::string_view v) {
    key(k);
    append_go_string(out_, v);
  }
  void number(std::string_view k, long long v) {
    key(k);
    out_ += std::to_string(v);
  }
  void strings(std::string_view k, const std::vector<std::string>& v) {
    key(k);
    out_ += '[';
    for (size_t i = 0; i < v.size(); ++i) {
      if (i > 0) out_ += ',';
      append_go_string(out_, v[i]);
    }
    out_ += ']';
  }
  // A value already in JSON.
  void raw(std::string_view k, std::string_view json) {
    key(k);
    out_ += json;
  }
  void map(std::string_view k, const std::map<std::string, std::string>& m) {
    key(k);
    ObjectWriter inner(out_, pretty_, depth_ + 1);
    for (const auto& [name, value] : m) inner.string(name, value);
    inner.close();
  }
  void close() {
    if (!first_) newline(depth_);
    out_ += '}';
  }

 private:
  void newline(int depth) {
    if (!pretty_) return;
    out_ += '\n';
    out_.append(static_cast<size_t>(depth) * 2, ' ');
  }
  std::string& out_;
  bool pretty_;
  int depth_;
  bool first_ = true;
};

}  // namespace

std::string to_json(const OciState& s) {
  std::string out;
  ObjectWriter w(out, true, 0);
  w.string("ociVersion", s.oci_version);
  w.string("id", s.id);
  w.number("pid", s.pid);
  w.string("status", s.status);
  w.string("bundle", s.bundle);
  w.string("rootfs", s.rootfs);
  w.string("created", s.created);
  if (!s.annotations.empty()) w.map("annotations", s.annotations);
  w.string("owner", s.owner);
  w.close();
  return out;
}

std::string to_hook_json(const OciState& s) {
  std::string out;
  ObjectWriter w(out, false, 0);
  w.string("ociVersion", s.oci_version);
  w.string("id", s.id);
  w.string("status", s.status);
  if (s.pid != 0) w.number("pid", s.pid);
  w.string("bundle", s.bundle);
  if (!s.annotations.empty()) w.map("annotations", s.annotations);
  w.close();
  return out;
}

std::string to_json(const ContainerProcessState& s) {
  std::string out;
  ObjectWriter w(out, false, 0);
  w.string("ociVersion", s.oci_version);
  w.strings("fds", s.fds);
  w.number("pid", s.pid);
  if (!s.metadata.empty()) w.string("metadata", s.metadata);
  w.raw("state", s.state);
  w.close();
  return out;
}

std::string format_rfc3339_nano(int64_t seconds, uint32_t nanoseconds) {
  time_t t = static_cast<time_t>(seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900,
                                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (nanoseconds != 0) {
    std::string frac = fmt::format("{:09}", nanoseconds % 1000000000);
    frac.erase(frac.find_last_not_of('0') + 1);
    out += '.' + frac;
  }
  out += 'Z';
  return out;
}

}  // namespace husk::spec
