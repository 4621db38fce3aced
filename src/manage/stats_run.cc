// husk stats: the verb's loop (sample every container, wait, sample again, print).
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <set>
#include <system_error>
#include <thread>

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

// One container's part of a round: open (when new) and sample. Runs on any
// worker thread; touches nothing but its slot.
struct Slot {
  const Picked* picked = nullptr;
  Key key;
  bool known = false;            // tracked in the previous round
  std::optional<Tracked> t;      // that entry, or the one opened now
  std::optional<Sample> sample;  // empty: not running, stopped or gone
  std::optional<Error> error;
};

void work(Slot& slot, const HostSample& host) {
  const Picked& p = *slot.picked;
  bool first = !slot.t;
  if (!slot.t) {
    auto probe = open_probe(p.target).context("container {}", p.named_as);
    if (!probe) {
      // Removed between the listing and now: gone, like a stopped one.
      if (probe.error().code != ENOENT) slot.error = std::move(probe).error();
      return;
    }
    if (!*probe) return;  // not running
    slot.t = Tracked{std::move(**probe), p.named_as, {}};
  }
  auto s = sample(slot.t->probe, host, /*cpu_only=*/first).context("container {}", p.named_as);
  if (!s)
    slot.error = std::move(s).error();
  else
    slot.sample = *s;
}

// Each slot's work on up to kWorkers threads: reading a container is mostly
// system calls on cgroupfs and procfs that do not contend, so two CPUs read
// twice as many, and on a busy host two runnable threads get twice the share.
constexpr size_t kWorkers = 4;
constexpr size_t kSlotsPerWorker = 32;  // below that a thread costs more than it saves

void work_all(std::vector<Slot>& slots, const HostSample& host) {
  std::atomic<size_t> next{0};
  auto drain = [&] {
    for (size_t i; (i = next.fetch_add(1)) < slots.size();) work(slots[i], host);
  };
  size_t workers = std::min<size_t>({kWorkers, host.online_cpus, slots.size() / kSlotsPerWorker});
  std::vector<std::thread> threads;
  for (size_t i = 1; i < workers; ++i) {
    try {
      threads.emplace_back(drain);
    } catch (const std::system_error&) {
      break;  // no thread: this one does the rest
    }
  }
  drain();
  for (auto& t : threads) t.join();
}

// One round: every picked container sampled once. Rows for those sampled in
// the previous round as well; tracked becomes this round's set (stopped and
// removed containers leave it, new ones join without a row until next time).
Result<std::vector<Row>> round(const std::vector<Picked>& picked, std::map<Key, Tracked>& tracked) {
  HUSK_TRY_ASSIGN(HostSample host, read_host());
  std::vector<Slot> slots;
  slots.reserve(picked.size());
  std::set<Key> seen;
  for (const Picked& p : picked) {
    Key key{p.target.root, p.target.runtime_id};
    if (!seen.insert(key).second) continue;  // named twice
    Slot& slot = slots.emplace_back();
    slot.picked = &p;
    if (auto it = tracked.find(key); it != tracked.end()) {
      slot.known = true;
      slot.t = std::move(it->second);
    }
    slot.key = std::move(key);
  }
  work_all(slots, host);

  std::map<Key, Tracked> next;
  std::vector<Row> rows;
  for (Slot& slot : slots) {
    if (slot.error) return std::unexpected(std::move(*slot.error));
    if (!slot.sample) continue;
    if (slot.known)
      rows.push_back(
          make_row(slot.t->probe.target, slot.picked->named_as, slot.t->last, *slot.sample));
    slot.t->last = *slot.sample;
    next.emplace(std::move(slot.key), std::move(*slot.t));
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
