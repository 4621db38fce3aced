// husk_manage_tool: drives src/manage/ from the integration tests (stats.bats)
// and the scale measurement (bench/stats) until the `husk` verbs call it.
//
//   husk_manage_tool stats --root ROOT [--no-stream] [--json] [--gap MS]
//                          [--interval MS] [--name ID=NAME]... [ID...]
//   husk_manage_tool top --root ROOT ID
//
// stats shows every running container of the husk-oci state root ROOT (named
// by its id unless --name says otherwise). With HUSK_STATS_TIMING=1 it also
// prints to stderr how long listing and the whole command took.
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "manage/stats.h"
#include "manage/top.h"
#include "runtime/runtime.h"

namespace {

using husk::Result;

double now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

int usage() {
  std::fprintf(stderr,
               "usage: husk_manage_tool stats --root ROOT [--no-stream] [--json] [--gap MS] "
               "[--interval MS] [--name ID=NAME]... [ID...]\n"
               "       husk_manage_tool top --root ROOT ID\n");
  return 2;
}

int stats(int argc, char** argv) {
  std::string root;
  std::map<std::string, std::string> names;
  husk::manage::StatsOptions opts;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    bool more = i + 1 < argc;
    if (a == "--root" && more) {
      root = argv[++i];
    } else if (a == "--no-stream") {
      opts.no_stream = true;
    } else if (a == "--json") {
      opts.json = true;
    } else if (a == "--gap" && more) {
      opts.gap = std::chrono::milliseconds(std::atoi(argv[++i]));
    } else if (a == "--interval" && more) {
      opts.interval = std::chrono::milliseconds(std::atoi(argv[++i]));
    } else if (a == "--name" && more) {
      std::string kv = argv[++i];
      size_t eq = kv.find('=');
      if (eq == std::string::npos) return usage();
      names[kv.substr(0, eq)] = kv.substr(eq + 1);
    } else if (a.starts_with("-")) {
      return usage();
    } else {
      opts.ids.push_back(a);
    }
  }
  if (root.empty()) return usage();
  bool timing = std::getenv("HUSK_STATS_TIMING") != nullptr;
  double start = now_ms(), listing = 0;
  auto targets = [&]() -> Result<std::vector<husk::manage::StatsTarget>> {
    double t0 = now_ms();
    HUSK_TRY_ASSIGN(auto list, husk::runtime::list(root));
    std::vector<husk::manage::StatsTarget> out;
    for (const auto& e : list) {
      if (e.status != "running" && e.status != "paused") continue;
      auto n = names.find(e.id);
      out.push_back({e.id, n == names.end() ? e.id : n->second, root, e.id});
    }
    listing += now_ms() - t0;
    return out;
  };
  auto r = husk::manage::run_stats(targets, opts);
  if (timing)
    std::fprintf(stderr, "timing: total %.1f ms, listing %.1f ms, gap %lld ms\n", now_ms() - start,
                 listing, static_cast<long long>(opts.gap.count()));
  if (!r) {
    std::fprintf(stderr, "husk_manage_tool: %s\n", r.error().what().c_str());
    return 1;
  }
  return 0;
}

int top(int argc, char** argv) {
  if (argc != 5 || std::string(argv[2]) != "--root") return usage();
  auto t = husk::manage::top_table(argv[3], argv[4]);
  if (!t) {
    std::fprintf(stderr, "husk_manage_tool: %s\n", t.error().what().c_str());
    return 1;
  }
  std::fwrite(t->data(), 1, t->size(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  std::string verb = argv[1];
  if (verb == "stats") return stats(argc, argv);
  if (verb == "top") return top(argc, argv);
  return usage();
}
