// husk stats: the verb's loop (sample every container, wait, sample again, print).
#include <time.h>
#include <unistd.h>

#include <map>

#include "base/file.h"
#include "manage/stats.h"

namespace husk::manage {
namespace {

using Key = std::pair<std::string, std::string>;  // state root, runtime id

struct Tracked {
  Probe probe;
  std::string named_as;
  Sample last;
};

// One round: every picked container sampled once. Rows for those sampled in
// the previous round as well; tracked becomes this round's set (stopped and
// removed containers leave it, new ones join without a row until next time).
Result<std::vector<Row>> round(const std::vector<Picked>& picked, std::map<Key, Tracked>& tracked) {
  HUSK_TRY_ASSIGN(HostSample host, read_host());
  std::map<Key, Tracked> next;
  std::vector<Row> rows;
  for (const Picked& p : picked) {
    Key key{p.target.root, p.target.runtime_id};
    if (next.contains(key)) continue;  // named twice
    auto it = tracked.find(key);
    bool known = it != tracked.end();
    std::optional<Tracked> t;
    if (known) {
      t = std::move(it->second);
      tracked.erase(it);
    } else {
      auto probe = open_probe(p.target).context("container {}", p.named_as);
      if (!probe) {
        // Removed between the listing and now: gone, like a stopped one.
        if (probe.error().code == ENOENT) continue;
        return std::unexpected(std::move(probe).error());
      }
      if (!*probe) continue;  // not running
      t = Tracked{std::move(**probe), p.named_as, {}};
    }
    HUSK_TRY_ASSIGN(std::optional<Sample> s,
                    sample(t->probe, host).context("container {}", p.named_as));
    if (!s) continue;  // stopped
    if (known) rows.push_back(make_row(t->probe.target, p.named_as, t->last, *s));
    t->last = *s;
    next.emplace(std::move(key), std::move(*t));
  }
  tracked = std::move(next);
  return rows;
}

void sleep_for(std::chrono::milliseconds d) {
  timespec ts{.tv_sec = static_cast<time_t>(d.count() / 1000),
              .tv_nsec = static_cast<long>(d.count() % 1000) * 1000000};
  while (::nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

std::string render(const std::vector<Row>& rows, bool json) {
  return json ? format_json(rows) : format_table(rows);
}

// A frame drawn over the previous one: home, each line cleared to its end,
// then the rest of the screen cleared (fewer rows than before). No full
// clear per frame, so the table does not flicker.
std::string redraw(const std::string& text) {
  std::string out = "\033[H";
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    out.append(text, start, nl - start);
    out += "\033[K\n";
    start = nl + 1;
  }
  return out + "\033[J";
}

}  // namespace

Result<void> run_stats(const std::function<Result<std::vector<StatsTarget>>()>& targets,
                       const StatsOptions& opts) {
  HUSK_TRY_ASSIGN(std::vector<StatsTarget> all, targets());
  HUSK_TRY_ASSIGN(std::vector<Picked> picked, pick_targets(all, opts.ids));
  std::map<Key, Tracked> tracked;
  HUSK_TRY(round(picked, tracked));

  if (opts.no_stream) {
    sleep_for(opts.gap);
    HUSK_TRY_ASSIGN(std::vector<Row> rows, round(picked, tracked));
    return write_all(opts.out_fd, render(rows, opts.json));
  }

  bool tty = ::isatty(opts.out_fd) == 1;
  if (tty) HUSK_TRY(write_all(opts.out_fd, "\033[2J"));
  // The first table after the short gap, then one every interval.
  for (auto wait = opts.gap;; wait = opts.interval) {
    sleep_for(wait);
    HUSK_TRY_ASSIGN(all, targets());
    HUSK_TRY_ASSIGN(picked, pick_targets(all, opts.ids, /*missing_ok=*/true));
    HUSK_TRY_ASSIGN(std::vector<Row> rows, round(picked, tracked));
    std::string text = render(rows, opts.json);
    HUSK_TRY(write_all(opts.out_fd, tty ? redraw(text) : text));
    if (!opts.ids.empty() && tracked.empty()) return ok();  // every named one is gone
  }
}

}  // namespace husk::manage
