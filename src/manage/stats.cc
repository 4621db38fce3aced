// husk stats: reading containers and the host (formatting is stats_format.cc,
// the verb's loop stats_run.cc).
#include "manage/stats.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <charconv>

#include "base/file.h"
#include "cgroup/usage.h"
#include "runtime/state.h"
#include "sys/process.h"

namespace husk::manage {
namespace {

int64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// Whitespace-separated unsigned numbers from the front of text.
std::optional<uint64_t> next_u64(std::string_view& text) {
  size_t i = text.find_first_not_of(" \t");
  if (i == std::string_view::npos) return std::nullopt;
  text.remove_prefix(i);
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc()) return std::nullopt;
  text.remove_prefix(static_cast<size_t>(end - text.data()));
  return v;
}

// The init and its start time still match: not gone, not a zombie, not a reused pid.
bool init_alive(const Probe& p) {
  auto st = sys::process_stat(p.pid);
  return st && st->start_time == p.start_time && st->state != 'Z' && st->state != 'X';
}

// The init's network namespace is the one this process runs in.
bool shares_host_net(pid_t pid) {
  struct stat mine {
  }, its{};
  if (::stat("/proc/self/ns/net", &mine) < 0) return false;
  if (::stat(fmt::format("/proc/{}/ns/net", pid).c_str(), &its) < 0) return false;
  return mine.st_dev == its.st_dev && mine.st_ino == its.st_ino;
}

}  // namespace

std::optional<uint64_t> parse_system_cpu_ns(std::string_view proc_stat, long clock_ticks) {
  if (!proc_stat.starts_with("cpu ") || clock_ticks <= 0) return std::nullopt;
  std::string_view rest = proc_stat.substr(4, proc_stat.find('\n') - 4);
  uint64_t ticks = 0;
  for (int i = 0; i < 7; ++i) {  // user nice system idle iowait irq softirq
    auto v = next_u64(rest);
    if (!v) return std::nullopt;
    ticks += *v;
  }
  return ticks * (1000000000ull / static_cast<uint64_t>(clock_ticks));
}

std::optional<uint64_t> parse_mem_total(std::string_view meminfo) {
  // "MemTotal:       24684384 kB"
  size_t at = meminfo.find("MemTotal:");
  if (at == std::string_view::npos || (at > 0 && meminfo[at - 1] != '\n')) return std::nullopt;
  std::string_view rest = meminfo.substr(at + 9);
  auto kb = next_u64(rest);
  if (!kb) return std::nullopt;
  return *kb * 1024;
}

NetBytes parse_net_dev(std::string_view text) {
  // Two header lines, then "  eth0: rx_bytes packets errs drop fifo frame
  // compressed multicast tx_bytes ...". A long name may touch the colon.
  NetBytes out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    name.remove_prefix(std::min(name.find_first_not_of(' '), name.size()));
    if (name.empty() || name.find('|') != std::string_view::npos || name == "lo") continue;
    std::string_view rest = line.substr(colon + 1);
    uint64_t fields[9];
    bool ok = true;
    for (auto& f : fields) {
      auto v = next_u64(rest);
      if (!v) {
        ok = false;
        break;
      }
      f = *v;
    }
    if (!ok) continue;
    out.rx += fields[0];
    out.tx += fields[8];
  }
  return out;
}

uint64_t docker_mem_usage(uint64_t usage, uint64_t inactive_file) {
  return inactive_file < usage ? usage - inactive_file : usage;
}

Result<HostSample> read_host() {
  HostSample h;
  h.time_ns = monotonic_ns();
  HUSK_TRY_ASSIGN(std::string stat, read_file("/proc/stat"));
  auto system = parse_system_cpu_ns(stat, ::sysconf(_SC_CLK_TCK));
  if (!system) return fail(EINVAL, "/proc/stat: no cpu line");
  h.system_ns = *system;
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  h.online_cpus = cpus > 0 ? static_cast<uint32_t>(cpus) : 1;
  HUSK_TRY_ASSIGN(std::string meminfo, read_file("/proc/meminfo"));
  auto total = parse_mem_total(meminfo);
  if (!total) return fail(EINVAL, "/proc/meminfo: no MemTotal");
  h.mem_total = *total;
  return h;
}

Result<std::optional<Probe>> open_probe(const StatsTarget& t) {
  HUSK_TRY_ASSIGN(runtime::StateDir dir, runtime::StateDir::peek(t.root, t.runtime_id));
  auto st = dir.load();
  if (!st) {
    // Made a moment ago (no state yet) or removed meanwhile: not running.
    if (st.error().code == ENOENT) return std::nullopt;
    return std::unexpected(st.error());
  }
  Probe p{.target = t, .pid = st->pid, .start_time = st->start_time, .cgroup = st->cgroup};
  if (p.pid <= 0 || p.cgroup.paths.empty() || !init_alive(p)) return std::nullopt;
  p.host_net = shares_host_net(p.pid);
  // The same check after the last look into /proc: a reused pid's namespace
  // would have passed for the container's.
  if (!init_alive(p)) return std::nullopt;
  return p;
}

Result<std::optional<Sample>> sample(const Probe& p, const HostSample& host, bool cpu_only) {
  auto read = [&]() -> Result<Sample> {
    Sample s;
    auto stamp = [&] {
      s.time_ns = monotonic_ns();
      s.system_ns = host.system_ns + static_cast<uint64_t>(std::max<int64_t>(
                                         0, s.time_ns - host.time_ns)) * host.online_cpus;
      s.online_cpus = host.online_cpus;
    };
    if (cpu_only) {
      HUSK_TRY_ASSIGN(s.cpu_ns, cgroup::read_cpu_ns(p.cgroup));
      stamp();
      return s;
    }
    HUSK_TRY_ASSIGN(cgroup::Usage u, cgroup::read_usage(p.cgroup));
    stamp();
    s.cpu_ns = u.cpu_ns;
    s.mem_usage = docker_mem_usage(u.memory, u.inactive_file);
    s.mem_limit = std::min(u.memory_limit, host.mem_total);
    s.blk_read = u.io_read;
    s.blk_write = u.io_write;
    s.pids = u.pids;
    if (!p.host_net) {
      HUSK_TRY_ASSIGN(std::string dev, read_file(fmt::format("/proc/{}/net/dev", p.pid)));
      NetBytes net = parse_net_dev(dev);
      s.net_rx = net.rx;
      s.net_tx = net.tx;
    }
    return s;
  };
  auto s = read();
  // After the reads, not before: whatever failed, a container that stopped
  // meanwhile is dropped, not an error; and a cgroup outlives its init until
  // delete, and a pid can be reused, so success alone proves nothing.
  if (!init_alive(p)) return std::nullopt;
  if (!s) return std::unexpected(std::move(s).error());
  return *s;
}

}  // namespace husk::manage
