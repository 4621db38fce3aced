// husk stats: docker's formulas, units and table (pure).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "manage/stats.h"
#include "manage/text_table.h"

namespace husk::manage {
namespace {

constexpr size_t kShortId = 12;

std::string short_id(const std::string& id) { return id.substr(0, kShortId); }

// go-units' getSizeAndUnit + CustomSize: divide while at least a unit, then
// Go's %.<precision>g, which writes what C's does (trailing zeros dropped).
std::string custom_size(double size, double base, const char* const* units, size_t n,
                        int precision) {
  size_t i = 0;
  while (size >= base && i < n - 1) {
    size /= base;
    ++i;
  }
  return fmt::format("{:.{}g}{}", size, precision, units[i]);
}

std::string percent(double v) { return fmt::format("{:.2f}%", v); }

// The cells docker's formatter gives a row, in its JSON key order.
struct Cells {
  std::string block_io, cpu, container, id, mem_perc, mem_usage, name, net_io, pids;
};

Cells cells(const Row& r) {
  return Cells{
      .block_io = decimal_size(static_cast<double>(r.blk_read)) + " / " +
                  decimal_size(static_cast<double>(r.blk_write)),
      .cpu = percent(r.cpu_percent),
      .container = r.container,
      .id = short_id(r.id),
      .mem_perc = percent(r.mem_percent),
      .mem_usage = binary_size(static_cast<double>(r.mem_usage)) + " / " +
                   binary_size(static_cast<double>(r.mem_limit)),
      .name = r.name.empty() ? "--" : r.name,
      .net_io = decimal_size(static_cast<double>(r.net_rx)) + " / " +
                decimal_size(static_cast<double>(r.net_tx)),
      .pids = std::to_string(r.pids),
  };
}

}  // namespace

std::string binary_size(double bytes) {
  static constexpr const char* kUnits[] = {"B",   "KiB", "MiB", "GiB", "TiB",
                                           "PiB", "EiB", "ZiB", "YiB"};
  return custom_size(bytes, 1024.0, kUnits, std::size(kUnits), 4);
}

std::string decimal_size(double bytes) {
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  return custom_size(bytes, 1000.0, kUnits, std::size(kUnits), 3);
}

double cpu_percent(const Sample& prev, const Sample& cur) {
  // docker's calculateCPUPercentUnix. Counters only grow; a smaller one (a
  // restarted container under the same name) gives 0, not a huge number.
  if (cur.cpu_ns <= prev.cpu_ns || cur.system_ns <= prev.system_ns) return 0;
  double cpu_delta = static_cast<double>(cur.cpu_ns - prev.cpu_ns);
  double system_delta = static_cast<double>(cur.system_ns - prev.system_ns);
  return cpu_delta / system_delta * cur.online_cpus * 100.0;
}

Row make_row(const StatsTarget& t, std::string_view container, const Sample& prev,
             const Sample& cur) {
  Row r;
  r.id = t.id;
  r.name = t.name;
  r.container = container.empty() ? short_id(t.id) : std::string(container);
  r.cpu_percent = cpu_percent(prev, cur);
  r.mem_usage = cur.mem_usage;
  r.mem_limit = cur.mem_limit;
  // docker's calculateMemPercentUnixNoCache.
  if (cur.mem_limit != 0)
    r.mem_percent = static_cast<double>(cur.mem_usage) / static_cast<double>(cur.mem_limit) * 100;
  r.net_rx = cur.net_rx;
  r.net_tx = cur.net_tx;
  r.blk_read = cur.blk_read;
  r.blk_write = cur.blk_write;
  r.pids = cur.pids;
  return r;
}

std::string format_table(const std::vector<Row>& rows) {
  std::vector<std::vector<std::string>> lines;
  lines.push_back({"CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O",
                   "BLOCK I/O", "PIDS"});
  for (const Row& r : rows) {
    Cells c = cells(r);
    lines.push_back({c.id, c.name, c.cpu, c.mem_usage, c.mem_perc, c.net_io, c.block_io, c.pids});
  }
  return align_columns(lines, 10, 3);  // docker's formatter: tabwriter(10, 1, 3, ' ')
}

std::string format_json(const std::vector<Row>& rows) {
  std::string out;
  for (const Row& r : rows) {
    Cells c = cells(r);
    // nlohmann's object keeps keys sorted: docker's order (Go marshals map keys sorted).
    nlohmann::json j = {{"BlockIO", c.block_io},
                        {"CPUPerc", c.cpu},
                        {"Container", c.container},
                        {"ID", c.id},
                        {"MemPerc", c.mem_perc},
                        {"MemUsage", c.mem_usage},
                        {"Name", c.name},
                        {"NetIO", c.net_io},
                        {"PIDs", c.pids}};
    out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out += '\n';
  }
  return out;
}

Result<std::vector<Picked>> pick_targets(const std::vector<StatsTarget>& all,
                                         const std::vector<std::string>& ids, bool missing_ok) {
  std::vector<Picked> out;
  if (ids.empty()) {
    for (const auto& t : all) out.push_back({t, short_id(t.id)});
    return out;
  }
  for (const auto& want : ids) {
    const StatsTarget* found = nullptr;
    // A full id or a name first: either beats a prefix of another id.
    for (const auto& t : all)
      if (t.id == want || t.name == want) found = &t;
    if (found == nullptr && !want.empty()) {
      size_t n = 0;
      for (const auto& t : all)
        if (t.id.starts_with(want)) {
          found = &t;
          ++n;
        }
      if (n > 1) return fail(0, "multiple containers match {:?}: give more of the id", want);
    }
    if (found == nullptr) {
      if (missing_ok) continue;
      return fail_quiet(ENOENT, "no such container: {}", want);
    }
    out.push_back({*found, want});
  }
  return out;
}

}  // namespace husk::manage
