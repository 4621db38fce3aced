// husk-oci update: runc's flags, or a linux.resources JSON document from a
// file or stdin (-r FILE|-), as containerd and docker send it.
#include <unistd.h>

#include <memory>

#include "base/file.h"
#include "base/log.h"
#include "cli/oci/update_flags.h"
#include "cli/oci/verbs.h"
#include "spec/resources.h"

namespace husk::oci {
namespace {

constexpr const char* kFooter = R"(
The accepted format of -r is OCI linux.resources (unchanged values can be omitted):

{
  "memory": {"limit": 0, "reservation": 0, "swap": 0},
  "cpu": {"shares": 0, "quota": 0, "burst": 0, "period": 0, "realtimeRuntime": 0,
          "realtimePeriod": 0, "cpus": "", "mems": "", "idle": 0},
  "blockIO": {"weight": 0},
  "pids": {"limit": 0}
}

With -r every other option is ignored. Sizes take a unit (k, m, g; "-1": unlimited).)";

Result<std::string> read_stdin() {
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("read resources from stdin");
    }
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

Result<config::Resources> requested(const UpdateFlags& f) {
  if (!f.resources.empty()) {
    bool from_stdin = f.resources == "-";
    std::string text;
    if (from_stdin) {
      HUSK_TRY_ASSIGN(text, read_stdin());
    } else {
      HUSK_TRY_ASSIGN(text, read_file(f.resources));
    }
    if (text.find_first_not_of(" \t\r\n") == std::string::npos)
      return fail(0, "{}: no resources given (empty input)", from_stdin ? "stdin" : f.resources);
    return spec::parse_resources_json(text, from_stdin ? "stdin" : f.resources);
  }
  std::vector<std::string> warnings;
  HUSK_TRY_ASSIGN(config::Resources r, resources_from_update_flags(f, warnings));
  for (const auto& w : warnings) log::warn("{}", w);
  return r;
}

}  // namespace

void add_update(CLI::App& app, const GlobalArgs& g, Action& action) {
  auto* sub = app.add_subcommand("update", "update container resource constraints");
  auto f = std::make_shared<UpdateFlags>();
  sub->add_option("id", f->id, "container id")->required();
  sub->add_option("-r,--resources", f->resources,
                  "path to a linux.resources JSON file, or '-' to read it from stdin");
  sub->add_option("--blkio-weight", f->blkio_weight, "per cgroup weight, 10 to 1000");
  sub->add_option("--cpu-period", f->cpu_period, "CPU CFS period (us); 0: unchanged");
  sub->add_option("--cpu-quota", f->cpu_quota, "CPU CFS hardcap (us per period); -1: none");
  sub->add_option("--cpu-burst", f->cpu_burst, "CPU CFS burst (us)");
  sub->add_option("--cpu-share", f->cpu_share, "CPU shares (relative weight)");
  sub->add_option("--cpu-rt-period", f->cpu_rt_period, "CPU realtime period (us)");
  sub->add_option("--cpu-rt-runtime", f->cpu_rt_runtime, "CPU realtime runtime (us per period)");
  sub->add_option("--cpu-idle", f->cpu_idle, "1: SCHED_IDLE for the cgroup, 0: normal");
  sub->add_option("--cpuset-cpus", f->cpuset_cpus, "CPUs to use (0-3,6)");
  sub->add_option("--cpuset-mems", f->cpuset_mems, "memory nodes to use");
  sub->add_option("--memory", f->memory, "memory limit (64m, 1g; -1: unlimited)");
  sub->add_option("--memory-reservation", f->memory_reservation, "memory soft limit");
  sub->add_option("--memory-swap", f->memory_swap, "memory + swap limit; -1: unlimited swap");
  sub->add_option("--kernel-memory", f->kernel_memory, "(obsolete, ignored)");
  sub->add_option("--kernel-memory-tcp", f->kernel_memory_tcp, "(obsolete, ignored)");
  sub->add_option("--pids-limit", f->pids_limit, "maximum number of pids; -1: unlimited");
  sub->add_option("--l3-cache-schema", f->l3_cache_schema, "Intel RDT/CAT (not supported)");
  sub->add_option("--mem-bw-schema", f->mem_bw_schema, "Intel RDT/MBA (not supported)");
  sub->footer(kFooter);
  sub->callback([&g, &action, f] {
    action = [&g, f]() -> Result<int> {
      HUSK_TRY_ASSIGN(config::Resources r, requested(*f));
      HUSK_TRY(runtime::update(g.root, f->id, std::move(r)));
      return 0;
    };
  });
}

}  // namespace husk::oci
