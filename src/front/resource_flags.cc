#include "front/resource_flags.h"

#include <string_view>
#include <utility>

#include "front/units.h"

namespace husk::cli {
namespace {

constexpr uint64_t kCfsPeriod = 100000;  // docker's period for --cpus
constexpr int64_t kMinMemory = 6 << 20;  // docker's minimum --memory
constexpr int64_t kNanoPerCpu = 1000000000;

// "1.5" -> 1500000000 nano-CPUs, as docker's big.Rat: at most 9 decimals.
std::optional<int64_t> parse_nano_cpus(std::string_view s) {
  size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? "" : s.substr(dot + 1);
  if (whole.empty() && frac.empty()) return std::nullopt;
  if (dot != std::string_view::npos && frac.empty()) return std::nullopt;
  auto w = whole.empty() ? std::optional<uint64_t>(0) : parse_uint64(whole);
  if (!w || *w > 1000000) return std::nullopt;
  while (frac.size() > 9 && frac.back() == '0') frac.remove_suffix(1);
  if (frac.size() > 9) return std::nullopt;
  int64_t nano = static_cast<int64_t>(*w) * kNanoPerCpu;
  int64_t scale = kNanoPerCpu / 10;
  for (char ch : frac) {
    if (ch < '0' || ch > '9') return std::nullopt;
    nano += (ch - '0') * scale;
    scale /= 10;
  }
  return nano;
}

Result<int64_t> size_flag(std::string_view flag, const std::string& v) {
  auto n = parse_ram_bytes(v);
  if (!n) return fail(0, "{}: invalid size {:?}", flag, v);
  return *n;
}

// "/dev/sda:1mb" -> the device's numbers and the rate (a size for bps, a
// count for iops). The last ':' splits, so paths with ':' work too.
Result<config::ThrottleDevice> throttle_flag(std::string_view flag, const std::string& v,
                                             bool bytes, const HostFacts& host) {
  size_t colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0 || v[0] != '/')
    return fail(0, "{} {:?}: expected DEVICE-PATH:RATE, like /dev/sda:{}", flag, v,
                bytes ? "1mb" : "100");
  std::string path = v.substr(0, colon);
  std::string rate_text = v.substr(colon + 1);
  std::optional<uint64_t> rate;
  if (bytes) {
    if (auto n = parse_ram_bytes(rate_text)) rate = static_cast<uint64_t>(*n);
  } else {
    rate = parse_uint64(rate_text);
  }
  if (!rate)
    return fail(0, "{} {:?}: invalid rate {:?} (a number{})", flag, v, rate_text,
                bytes ? " with an optional unit kb, mb or gb" : " of operations per second");
  if (!host.block_device) return fail(0, "{} {:?}: cannot look devices up here", flag, v);
  auto dev = host.block_device(path);
  if (!dev) return fail(0, "{} {:?}: {}", flag, v, dev.error().what());
  return config::ThrottleDevice{dev->major, dev->minor, *rate};
}

Result<void> memory_resources(const ResourceFlags& f, const HostFacts& host,
                              config::Resources& r) {
  std::optional<int64_t> memory, swap, reservation;
  if (f.memory) {
    HUSK_TRY_ASSIGN(memory, size_flag("--memory", *f.memory));
    if (*memory == 0) {
      memory.reset();  // docker: 0 is no limit
    } else if (*memory < kMinMemory) {
      return fail(0, "--memory: {:?} is below the minimum of 6m", *f.memory);
    }
  }
  if (f.memory_swap) {
    if (*f.memory_swap == "-1") {
      swap = -1;
    } else {
      HUSK_TRY_ASSIGN(swap, size_flag("--memory-swap", *f.memory_swap));
    }
    if (!memory) return fail(0, "--memory-swap: needs --memory as well");
    if (*swap != -1 && *swap < *memory)
      return fail(0, "--memory-swap: {:?} is less than --memory {:?} (it counts memory + swap)",
                  *f.memory_swap, *f.memory);
  } else if (memory && host.swap_limit) {
    swap = *memory * 2;  // docker: as much swap as memory
  }
  if (f.memory_reservation) {
    HUSK_TRY_ASSIGN(reservation, size_flag("--memory-reservation", *f.memory_reservation));
    if (memory && *reservation > *memory)
      return fail(0, "--memory-reservation: {:?} is more than --memory {:?}",
                  *f.memory_reservation, *f.memory);
    if (*reservation == 0) reservation.reset();
  }
  if (memory || swap || reservation) {
    config::MemoryResources m;
    m.limit = memory;
    m.swap = swap;
    m.reservation = reservation;
    r.memory = m;
  }
  return husk::ok();
}

Result<void> cpu_resources(const ResourceFlags& f, const HostFacts& host, config::Resources& r) {
  config::CpuResources cpu;
  bool any = false;
  if (f.cpus) {
    auto nano = parse_nano_cpus(*f.cpus);
    if (!nano) return fail(0, "--cpus: invalid number {:?}", *f.cpus);
    if (*nano != 0 && *nano < kNanoPerCpu / 100)
      return fail(0, "--cpus: {:?} is below the minimum of 0.01", *f.cpus);
    if (host.online_cpus != 0 && *nano > static_cast<int64_t>(host.online_cpus) * kNanoPerCpu)
      return fail(0, "--cpus: {:?} is more than the {} CPUs available", *f.cpus,
                  host.online_cpus);
    if (*nano != 0) {
      cpu.period = kCfsPeriod;
      cpu.quota = *nano * static_cast<int64_t>(kCfsPeriod) / kNanoPerCpu;
      any = true;
    }
  }
  if (f.cpu_shares) {
    auto shares = parse_uint64(*f.cpu_shares);
    if (!shares) return fail(0, "--cpu-shares: invalid number {:?}", *f.cpu_shares);
    if (*shares != 0) {
      cpu.shares = *shares;
      any = true;
    }
  }
  auto list = [&](const std::optional<std::string>& v, std::string_view flag,
                  std::optional<std::string>& dest) -> Result<void> {
    if (!v) return husk::ok();
    if (!valid_id_list(*v)) return fail(0, "{}: invalid list {:?} (like \"0-3,6\")", flag, *v);
    dest = *v;
    any = true;
    return husk::ok();
  };
  HUSK_TRY(list(f.cpuset_cpus, "--cpuset-cpus", cpu.cpus));
  HUSK_TRY(list(f.cpuset_mems, "--cpuset-mems", cpu.mems));
  if (any) r.cpu = cpu;
  return husk::ok();
}

Result<void> block_io_resources(const ResourceFlags& f, const HostFacts& host,
                                config::Resources& r) {
  config::BlockIoResources io;
  bool any = false;
  if (f.io_weight) {
    auto w = parse_uint64(*f.io_weight);
    if (!w) return fail(0, "--io-weight: invalid number {:?}", *f.io_weight);
    if (*w != 0 && (*w < 10 || *w > 1000))
      return fail(0, "--io-weight: {} is not in the range 10..1000", *w);
    if (*w != 0) {
      io.weight = static_cast<uint16_t>(*w);
      any = true;
    }
  }
  auto throttles = [&](const std::vector<std::string>& values, std::string_view flag, bool bytes,
                       std::vector<config::ThrottleDevice>& dest) -> Result<void> {
    for (const auto& v : values) {
      HUSK_TRY_ASSIGN(config::ThrottleDevice d, throttle_flag(flag, v, bytes, host));
      dest.push_back(d);
      any = true;
    }
    return husk::ok();
  };
  HUSK_TRY(throttles(f.device_read_bps, "--device-read-bps", true, io.throttle_read_bps_device));
  HUSK_TRY(throttles(f.device_write_bps, "--device-write-bps", true, io.throttle_write_bps_device));
  HUSK_TRY(
      throttles(f.device_read_iops, "--device-read-iops", false, io.throttle_read_iops_device));
  HUSK_TRY(
      throttles(f.device_write_iops, "--device-write-iops", false, io.throttle_write_iops_device));
  if (any) r.block_io = io;
  return husk::ok();
}

}  // namespace

Result<std::optional<config::Resources>> build_resources(const ResourceFlags& f,
                                                         const HostFacts& host) {
  if (!f.any()) return std::optional<config::Resources>();
  config::Resources r;
  HUSK_TRY(cpu_resources(f, host, r));
  HUSK_TRY(memory_resources(f, host, r));
  if (f.pids) {
    auto limit = parse_int64(*f.pids);
    if (!limit) return fail(0, "--pids: invalid number {:?}", *f.pids);
    // docker: 0 or any negative is unlimited.
    r.pids = config::PidsResources{*limit > 0 ? *limit : -1};
  }
  HUSK_TRY(block_io_resources(f, host, r));
  return std::optional<config::Resources>(std::move(r));
}

}  // namespace husk::cli
