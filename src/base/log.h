// Runtime logging in runc's formats. Engines read the --log file: with
// --log-format json each line is {"level":"error","msg":"...","time":"..."}.
#pragma once

#include <string_view>

#include <fmt/format.h>

namespace husk::log {

enum class Level { kDebug, kInfo, kWarn, kError };
// kText is runc's (logrus) text form, time="..." level=... msg="...", also on
// stderr, where runc's users and tests grep for "level=debug"; kPlain is
// "warning: ..." for the people reading husk's own output.
enum class Format { kPlain, kText, kJson };

// Opens the log sink (path empty: stderr). Safe to call once, early.
void init(std::string_view path, Format format, bool debug);
void write(Level level, std::string_view msg);
bool debug_enabled();
// Closes the sink fd; used by cloned children that must not share it.
int sink_fd();

template <class... A>
void debug(fmt::format_string<A...> f, A&&... a) {
  if (debug_enabled()) write(Level::kDebug, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void warn(fmt::format_string<A...> f, A&&... a) {
  write(Level::kWarn, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void error(fmt::format_string<A...> f, A&&... a) {
  write(Level::kError, fmt::format(f, std::forward<A>(a)...));
}

// JSON string escaping shared with other writers of small JSON documents.
void append_json_string(std::string& out, std::string_view s);

}  // namespace husk::log
