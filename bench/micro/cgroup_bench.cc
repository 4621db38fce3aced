// cgroup work of a container start that does not need the kernel's cgroupfs:
// resource parsing and translation, the writers against a fixture directory
// (tmpfs files, so the numbers are husk's overhead plus open/write/close, not
// the kernel's cgroup cost), and the host layout discovery.
#include <unistd.h>

#include <benchmark/benchmark.h>

#include "base/unique_fd.h"
#include "cgroup/convert.h"
#include "cgroup/layout.h"
#include "cgroup/manager.h"
#include "cgroup/writers.h"
#include "fixtures.h"
#include "spec/resources.h"

namespace husk::cgroup {
namespace {

using bench::ScratchDir;

// runc's default config: deny every device.
constexpr const char* kRuncDefaultResources = R"({"devices":[{"allow":false,"access":"rwm"}]})";

// What an engine typically sends (docker run --memory 512m --cpus 1.5 --pids-limit 100).
constexpr const char* kEngineResources = R"({
  "devices": [{"allow": false, "access": "rwm"},
              {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
              {"allow": true, "type": "c", "major": 136, "access": "rwm"}],
  "memory": {"limit": 536870912, "reservation": 268435456, "swap": 1073741824,
             "swappiness": 60, "disableOOMKiller": false},
  "cpu": {"shares": 1024, "quota": 150000, "period": 100000, "cpus": "0-1", "mems": "0"},
  "pids": {"limit": 100},
  "blockIO": {"weight": 500}
})";

// Resource text -> config::Resources with runc's default device rules
// appended, as the runtime does before creating cgroups.
Result<config::Resources> translate(const char* json) {
  HUSK_TRY_ASSIGN(config::Resources r, spec::parse_resources_json(json, "config.json",
                                                                  "linux.resources"));
  for (auto& rule : default_device_rules()) r.devices.push_back(rule);
  return r;
}

void BM_ResourcesRuncDefault(benchmark::State& state) {
  for (auto _ : state) {
    auto r = translate(kRuncDefaultResources);
    if (!r) {
      state.SkipWithError(r.error().what().c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ResourcesRuncDefault);

void BM_ResourcesEngine(benchmark::State& state) {
  for (auto _ : state) {
    auto r = translate(kEngineResources);
    if (!r) {
      state.SkipWithError(r.error().what().c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ResourcesEngine);

// The files a v1 cpu, memory, pids and devices directory offers.
void v1_fixture(const ScratchDir& d) {
  for (const char* f : {"cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.idle",
                        "memory.limit_in_bytes", "memory.soft_limit_in_bytes",
                        "memory.memsw.limit_in_bytes", "memory.swappiness",
                        "memory.oom_control", "pids.max", "devices.allow", "devices.deny",
                        "cpuset.cpus", "cpuset.mems", "blkio.weight"})
    d.write(f, "0");
}

// The devices writes of every start with the runc default config: one deny,
// then runc's default allow rules.
void BM_V1DevicesRuncDefault(benchmark::State& state) {
  ScratchDir d;
  v1_fixture(d);
  UniqueFd fd(d.open());
  auto r = translate(kRuncDefaultResources);
  if (!r || !fd) {
    state.SkipWithError("fixture");
    return;
  }
  for (auto _ : state) {
    auto w = v1::set_devices(fd.get(), r->devices);
    if (!w) {
      state.SkipWithError(w.error().what().c_str());
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * r->devices.size()));
}
BENCHMARK(BM_V1DevicesRuncDefault);

// Every v1 writer an engine's resources reach, one directory standing in for
// each hierarchy.
void BM_V1WritersEngine(benchmark::State& state) {
  ScratchDir d;
  v1_fixture(d);
  UniqueFd fd(d.open());
  auto r = translate(kEngineResources);
  if (!r || !fd) {
    state.SkipWithError("fixture");
    return;
  }
  for (auto _ : state) {
    Result<void> w = v1::set_cpu(fd.get(), *r->cpu);
    if (w) w = v1::set_cpuset(fd.get(), *r->cpu);
    if (w) w = v1::set_memory(fd.get(), *r->memory);
    if (w) w = v1::set_pids(fd.get(), *r->pids);
    if (w) w = v1::set_blkio(fd.get(), *r->block_io);
    if (w) w = v1::set_devices(fd.get(), r->devices);
    if (!w) {
      state.SkipWithError(w.error().what().c_str());
      break;
    }
  }
}
BENCHMARK(BM_V1WritersEngine);

// Host layout discovery as a start does it once: parse this host's
// /proc/self/mountinfo and /proc/self/cgroup (texts read once, outside the
// loop; cgroup.controllers read through the real file reader).
void BM_HostLayoutParse(benchmark::State& state) {
  const std::string mountinfo = bench::slurp("/proc/self/mountinfo");
  const std::string own = bench::slurp("/proc/self/cgroup");
  FileReader reader = [](const std::string& path) -> Result<std::string> {
    return bench::slurp(path);
  };
  for (auto _ : state) {
    auto l = parse_layout(mountinfo, reader);
    auto o = parse_proc_cgroup(own);
    if (!l || !o) {
      state.SkipWithError("parse");
      break;
    }
    benchmark::DoNotOptimize(l);
    benchmark::DoNotOptimize(o);
  }
}
BENCHMARK(BM_HostLayoutParse);

// cgroupsPath -> one directory per hierarchy (this host: 9 v1 + cgroup2).
void BM_ManagerPathsHost(benchmark::State& state) {
  auto layout = host_layout();
  auto own = self_cgroups();
  if (!layout || !own) {
    state.SkipWithError("no cgroup layout on this host");
    return;
  }
  for (auto _ : state) {
    auto m = Manager::make({"", "bench-container", false}, *layout, *own);
    if (!m) {
      state.SkipWithError(m.error().what().c_str());
      break;
    }
    benchmark::DoNotOptimize(m);
  }
  state.counters["hierarchies"] =
      static_cast<double>(layout->v1.size() + (layout->has_v2() ? 1 : 0));
}
BENCHMARK(BM_ManagerPathsHost);

}  // namespace
}  // namespace husk::cgroup
