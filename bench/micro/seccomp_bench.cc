// Seccomp: compiling a docker-like profile to BPF (libseccomp's database
// build + export), which `create` does in the runtime before clone.
#include <benchmark/benchmark.h>

#include "fixtures.h"
#include "linux/seccomp_filter.h"
#include "spec/config.h"

namespace husk::linux {
namespace {

std::vector<std::string> arches(int64_t n) {
  std::vector<std::string> all{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  all.resize(static_cast<size_t>(n));
  return all;
}

// Arg: how many architectures (1: x86_64; 3: x86_64, x86, x32 as engines send).
void BM_SeccompCompileDocker(benchmark::State& state) {
  auto c = spec::parse_config(bench::docker_like_config(arches(state.range(0))), "/bundle");
  if (!c || !c->seccomp) {
    state.SkipWithError(c ? "no seccomp" : c.error().what().c_str());
    return;
  }
  size_t bytes = 0;
  for (auto _ : state) {
    auto p = compile_seccomp(*c->seccomp);
    if (!p) {
      state.SkipWithError(p.error().what().c_str());
      break;
    }
    bytes = p->program.size();
    benchmark::DoNotOptimize(p);
  }
  state.counters["bpf_insns"] = static_cast<double>(bytes / 8);
}
BENCHMARK(BM_SeccompCompileDocker)->Arg(1)->Arg(3)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace husk::linux
