// config.json -> config::Container: what every create/run does first.
#include <benchmark/benchmark.h>

#include "fixtures.h"
#include "spec/config.h"
#include "spec/mount_options.h"

namespace husk::bench {
namespace {

// The timed loop of the parse benchmarks: parse + validate of one document.
void parse_config_loop(benchmark::State& state, const std::string& json) {
  for (auto _ : state) {
    auto c = spec::parse_config(json, "/run/bench/bundle");
    if (!c) {
      state.SkipWithError(c.error().what().c_str());
      break;
    }
    benchmark::DoNotOptimize(c);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * json.size()));
}

// Parse + validate of the runc default config (7 mounts, 5 namespaces, the
// default capabilities, rlimits, masked and readonly paths).
void BM_ParseConfigRuncDefault(benchmark::State& state) {
  parse_config_loop(state, runc_default_config());
}
BENCHMARK(BM_ParseConfigRuncDefault);

// The same with the ~16 KB docker-like seccomp profile engines send.
void BM_ParseConfigDockerSeccomp(benchmark::State& state) {
  parse_config_loop(state,
                    docker_like_config({"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
}
BENCHMARK(BM_ParseConfigDockerSeccomp);

// load_bundle: realpath of the bundle, reading config.json, then the parse.
void BM_LoadBundle(benchmark::State& state) {
  ScratchDir dir;
  dir.write("config.json", runc_default_config());
  dir.mkdir("rootfs");
  for (auto _ : state) {
    auto c = spec::load_bundle(dir.path());
    if (!c) {
      state.SkipWithError(c.error().what().c_str());
      break;
    }
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_LoadBundle);

// spec -> mount plan: option words of the default spec's mounts resolved to
// MS_* flags, propagation, recursive attributes and data strings.
void BM_MountPlanRuncDefault(benchmark::State& state) {
  auto parsed = spec::parse_config(runc_default_config(), "/run/bench/bundle");
  if (!parsed) {
    state.SkipWithError(parsed.error().what().c_str());
    return;
  }
  const std::vector<config::Mount> mounts = parsed->mounts;
  for (auto _ : state) {
    for (const auto& m : mounts) {
      spec::MountOptions o = spec::parse_mount_options(m.options);
      benchmark::DoNotOptimize(o);
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * mounts.size()));
}
BENCHMARK(BM_MountPlanRuncDefault);

}  // namespace
}  // namespace husk::bench
