// `husk-oci ps` table output: runc runs ps(1) and keeps the header and the
// lines whose PID column is one of the container's pids. Pure code.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "front/units.h"

namespace husk::oci {

inline std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

// ps's output filtered to the given pids (sorted or not), header first, each
// line ending in '\n'.
inline Result<std::string> filter_ps_output(std::string_view output, const std::vector<int>& pids) {
  size_t eol = output.find('\n');
  std::string_view header = output.substr(0, eol);
  auto titles = fields_of(header);
  auto at = std::find(titles.begin(), titles.end(), "PID");
  if (at == titles.end()) return fail(0, "couldn't find PID field in ps output");
  size_t index = static_cast<size_t>(at - titles.begin());
  std::string out(header);
  out += '\n';
  while (eol != std::string_view::npos) {
    output.remove_prefix(eol + 1);
    eol = output.find('\n');
    std::string_view line = output.substr(0, eol);
    if (line.empty()) continue;
    auto fields = fields_of(line);
    auto pid = index < fields.size() ? cli::parse_int64(fields[index]) : std::nullopt;
    if (!pid) return fail(0, "unable to parse pid in ps output line {:?}", std::string(line));
    if (std::find(pids.begin(), pids.end(), *pid) == pids.end()) continue;
    out += line;
    out += '\n';
  }
  return out;
}

// The JSON array containerd reads: [1,2,3].
inline std::string pids_json(const std::vector<int>& pids) {
  std::string out = "[";
  for (size_t i = 0; i < pids.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(pids[i]);
  }
  return out + "]";
}

}  // namespace husk::oci
