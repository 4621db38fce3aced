// `husk stats`: docker's resource table for running containers, from the
// cgroup accounting (cgroup/usage.h: the same parsers as `husk-oci events
// --stats`, fewer files) and the init's /proc.
//
//   sample each container (open_probe once, then sample), wait, sample again:
//   a Row is the difference of two Samples, formatted as docker formats it.
//
// A table of N containers costs N state.json reads, then per container one
// cgroup file for the first sample (its CPU time), and for each later one six
// cgroup files (on v1 the blkio one may take up to three tries: the
// first file set with entries, as runc picks it) and the init's /proc/PID/stat
// and net/dev; the host's /proc/stat and /proc/meminfo are read once per round
// (as dockerd reads /proc/stat once per collection, not once per container).
// Containers are read on up to four threads (stats_run.cc).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "cgroup/manager.h"

namespace husk::manage {

// A container to show: what the table names it by and where its runtime state is.
struct StatsTarget {
  std::string id;          // CONTAINER ID (its first 12 characters) and ID
  std::string name;        // NAME; "" shows as "--"
  std::string root;        // the runtime's state root (/run/husk)
  std::string runtime_id;  // the container's id under root
};

// Host-wide numbers, read once per round.
struct HostSample {
  uint64_t system_ns = 0;    // /proc/stat "cpu": user..softirq, as docker sums it
  uint32_t online_cpus = 0;  // sysconf(_SC_NPROCESSORS_ONLN), as dockerd
  uint64_t mem_total = 0;    // /proc/meminfo MemTotal, bytes
  int64_t time_ns = 0;       // CLOCK_MONOTONIC when /proc/stat was read
};
Result<HostSample> read_host();

// One reading of a container.
struct Sample {
  uint64_t cpu_ns = 0;  // the container's CPU time
  // The host's CPU time when the container was read: the round's /proc/stat
  // sum plus the wall time since, times the online CPUs (every CPU spends
  // each nanosecond busy or idle). Reading /proc/stat once per round, as
  // dockerd does, would otherwise count a container read late in a long round
  // over a window of the wrong length.
  uint64_t system_ns = 0;
  uint32_t online_cpus = 0;
  uint64_t mem_usage = 0;  // usage minus inactive file pages, as docker shows it
  uint64_t mem_limit = 0;  // the cgroup's limit, or MemTotal when that is lower (unlimited)
  uint64_t blk_read = 0;
  uint64_t blk_write = 0;
  uint64_t pids = 0;
  uint64_t net_rx = 0;  // every interface of the init's network namespace but lo
  uint64_t net_tx = 0;
  int64_t time_ns = 0;  // CLOCK_MONOTONIC when read
};

// What sampling a container needs from its state, loaded once.
struct Probe {
  StatsTarget target;
  pid_t pid = 0;
  uint64_t start_time = 0;  // tells the init from a reused pid
  cgroup::SavedState cgroup;
  // The init shares the host's network namespace: docker shows 0B / 0B then
  // (the host's traffic is not the container's).
  bool host_net = false;
};

// Loads the target's state; nullopt when it is not running (no init, or it
// exited). ENOENT when the runtime has no such container.
Result<std::optional<Probe>> open_probe(const StatsTarget& t);
// nullopt when the container stopped (its init is gone): the caller drops it.
// cpu_only: the first sample of a container, which only a CPU rate uses (the
// rest of a row is the last sample's): one cgroup file instead of six.
Result<std::optional<Sample>> sample(const Probe& p, const HostSample& host, bool cpu_only = false);

// --- Pure parts (unit tested) ---

// /proc/stat's first line summed as docker's getSystemCPUUsage does: user, nice,
// system, idle, iowait, irq, softirq, in ns. nullopt when malformed.
std::optional<uint64_t> parse_system_cpu_ns(std::string_view proc_stat, long clock_ticks);
// /proc/meminfo's MemTotal in bytes; nullopt when absent.
std::optional<uint64_t> parse_mem_total(std::string_view meminfo);
// /proc/<pid>/net/dev: received and sent bytes summed over every interface but lo.
struct NetBytes {
  uint64_t rx = 0, tx = 0;
};
NetBytes parse_net_dev(std::string_view text);
// docker's MEM USAGE: usage less the inactive file pages when they are below it.
uint64_t docker_mem_usage(uint64_t usage, uint64_t inactive_file);

struct Row {
  std::string id;  // full; the table and ID show its first 12 characters
  std::string name;
  std::string container;  // docker's .Container: what the user named it by, else the short id
  double cpu_percent = 0;
  uint64_t mem_usage = 0;
  uint64_t mem_limit = 0;
  double mem_percent = 0;
  uint64_t net_rx = 0, net_tx = 0;
  uint64_t blk_read = 0, blk_write = 0;
  uint64_t pids = 0;
};
// docker's formulas over two samples of one container (prev before cur).
Row make_row(const StatsTarget& t, std::string_view container, const Sample& prev,
             const Sample& cur);
double cpu_percent(const Sample& prev, const Sample& cur);

// go-units as docker uses it: BytesSize (binary, "%.4g": 1.5MiB) for memory,
// HumanSizeWithPrecision(3) (decimal: 1.2kB) for net and block I/O.
std::string binary_size(double bytes);
std::string decimal_size(double bytes);

// docker's default table, header included, columns as its tabwriter aligns them.
std::string format_table(const std::vector<Row>& rows);
// `--format json`: one object per row and line, docker's keys.
std::string format_json(const std::vector<Row>& rows);

// --- The verb ---

struct StatsOptions {
  bool no_stream = false;        // one table, then exit
  bool json = false;             // --format json
  std::vector<std::string> ids;  // only these (id, unique id prefix or name); empty: all
  std::chrono::milliseconds interval{1000};  // live refresh
  std::chrono::milliseconds gap{500};        // between the two samples of --no-stream
  int out_fd = 1;
};

// Prints the table: with no_stream once, from two samples `gap` apart; else
// every `interval` until interrupted, redrawn in place on a terminal (plain
// tables one after the other otherwise). targets() is asked again each round,
// so containers started meanwhile appear and removed ones go. A container that
// stops is dropped from the table. Without ids the live table goes on while no
// container runs (as docker's does); with ids it ends once none of them is
// left. An id that names no target is an error naming it.
Result<void> run_stats(const std::function<Result<std::vector<StatsTarget>>()>& targets,
                       const StatsOptions& opts);

// The targets an id list picks, in its order, each with what it was named by
// (docker's .Container): a name, an id, or a unique id prefix. Empty ids: all
// of them, named by their short ids. An id matching none (unless missing_ok:
// later rounds of a live table, where a removed container just goes), or a
// prefix of more than one id, is an error naming it.
struct Picked {
  StatsTarget target;
  std::string named_as;
};
Result<std::vector<Picked>> pick_targets(const std::vector<StatsTarget>& all,
                                         const std::vector<std::string>& ids,
                                         bool missing_ok = false);

}  // namespace husk::manage
