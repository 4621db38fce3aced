// husk-oci events: runc's JSON lines, {"type":"stats","id":ID,"data":{...}}
// every --interval and {"type":"oom","id":ID} on each OOM kill, until the
// container stops; with --stats one stats line and exit.
#include <cstdio>
#include <memory>

#include "base/log.h"
#include "base/time.h"
#include "cli/oci/verbs.h"
#include "front/units.h"

namespace husk::oci {
namespace {

struct EventsArgs {
  std::string id;
  std::string interval = "5s";
  bool stats = false;
};

std::string event_line(const std::string& id, const runtime::Event& e) {
  std::string out = "{\"type\":";
  log::append_json_string(out, e.type);
  out += ",\"id\":";
  log::append_json_string(out, id);
  if (!e.data.empty()) {
    out += ",\"data\":";
    out += e.data;
  }
  return out + "}\n";
}

}  // namespace

void add_events(CLI::App& app, const GlobalArgs& g, Action& action) {
  auto* sub = app.add_subcommand("events",
                                 "display container events such as OOM notifications, "
                                 "cpu, memory and IO usage statistics");
  auto a = std::make_shared<EventsArgs>();
  sub->add_option("id", a->id, "container id")->required();
  sub->add_option("--interval", a->interval, "set the stats collection interval (default 5s)");
  sub->add_flag("--stats", a->stats, "display the container's stats then exit");
  sub->callback([&g, &action, a] {
    action = [&g, a]() -> Result<int> {
      auto interval = parse_go_duration(a->interval);
      if (!interval)
        return fail(0, "invalid value {:?} for flag -interval: parse error", a->interval);
      if (interval->count() <= 0) return fail(0, "duration interval must be greater than 0");
      runtime::EventsOptions opts;
      opts.stats_once = a->stats;
      // Sub-millisecond intervals are rounded up: poll() counts milliseconds.
      opts.interval = std::max(std::chrono::milliseconds(1),
                               std::chrono::ceil<std::chrono::milliseconds>(*interval));
      HUSK_TRY(runtime::events(g.root, a->id, opts, [&](const runtime::Event& e) {
        std::string line = event_line(a->id, e);
        std::fwrite(line.data(), 1, line.size(), stdout);
        std::fflush(stdout);  // one line at a time for the reader of a pipe
      }));
      return 0;
    };
  });
}

}  // namespace husk::oci
