// What `husk ps` prints: docker's table and its template-lite --format, and
// podman's JSON, from container records (manage/containers.h). Pure: the
// time is given, so tests pin it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "manage/containers.h"

namespace husk::front {

// docker's HumanDuration: "Less than a second", "3 seconds", "About a
// minute", "5 minutes", "About an hour", "3 hours", "2 days", "3 weeks"...
std::string human_duration(int64_t seconds);

// Seconds since the epoch of an RFC 3339 time as husk writes it; 0 when
// it is empty or malformed.
int64_t epoch_seconds(std::string_view rfc3339);

// The STATUS column: "Created", "Up 5 minutes", "Up 2 hours (Paused)",
// "Restarting (1) 3 seconds ago", "Exited (137) 2 minutes ago".
std::string status_text(const manage::Container& c, int64_t now);

// ps --filter KEY=VALUE, docker's keys: id, name, status, label, exited,
// ancestor. Checked up front, so a bad filter fails before anything prints.
struct Filter {
  std::string key, value;
};
Result<std::vector<Filter>> parse_filters(const std::vector<std::string>& flags);
bool matches(const manage::Container& c, const std::vector<Filter>& filters);

struct PsOptions {
  bool quiet = false;     // -q: ids only
  bool no_trunc = false;  // --no-trunc: full ids and commands
  std::string format;     // "", "table", "json", or a {{.Field}} template
};
// The whole output, one container per line (a JSON array for json).
Result<std::string> render_ps(const std::vector<manage::Container>& cs, const PsOptions& o,
                              int64_t now);

}  // namespace husk::front
