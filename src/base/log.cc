#include "base/log.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <string>

namespace husk::log {
namespace {

// Plain globals: no static constructors on the start-up path.
int g_fd = 2;
Format g_format = Format::kPlain;
bool g_debug = false;

const char* level_name(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warning";
    case Level::kError: return "error";
  }
  return "info";
}

std::string timestamp() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  snprintf(buf + n, sizeof buf - n, ".%09ldZ", ts.tv_nsec);
  return buf;
}

}  // namespace

void init(std::string_view path, Format format, bool debug) {
  g_format = format;
  g_debug = debug;
  if (path.empty()) return;
  std::string p(path);
  int fd = ::open(p.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) g_fd = fd;
}

bool debug_enabled() { return g_debug; }
int sink_fd() { return g_fd; }

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void write(Level level, std::string_view msg) {
  if (level == Level::kDebug && !g_debug) return;
  std::string line;
  if (g_format == Format::kJson) {
    line = R"({"level":")";
    line += level_name(level);
    line += R"(","msg":)";
    append_json_string(line, msg);
    line += R"(,"time":")" + timestamp() + "\"}\n";
  } else if (g_format == Format::kPlain) {
    line = fmt::format("{}: {}\n", level_name(level), msg);
  } else {
    line = fmt::format("time=\"{}\" level={} msg=", timestamp(), level_name(level));
    append_json_string(line, msg);
    line += '\n';
  }
  // One write(2) per line so concurrent writers do not interleave.
  [[maybe_unused]] ssize_t n = ::write(g_fd, line.data(), line.size());
}

}  // namespace husk::log
