// config.json scheduling attributes: process.scheduler, process.ioPriority,
// process.execCPUAffinity and linux.personality. Every value is checked here,
// at parse time, against what the kernel accepts, so a config husk cannot
// honour fails before anything exists; names become the kernel's numbers.
#include <array>
#include <charconv>
#include <string_view>
#include <utility>

#include "spec/config_parts.h"

namespace husk::spec::detail {
namespace {

// uapi/linux/sched.h (glibc 2.36 lacks the SCHED_FLAG_* names).
constexpr uint32_t kSchedOther = 0, kSchedFifo = 1, kSchedRr = 2, kSchedBatch = 3,
                   kSchedIso = 4, kSchedIdle = 5, kSchedDeadline = 6;
constexpr uint64_t kFlagReclaim = 0x02, kFlagDlOverrun = 0x04, kFlagUtilClampMin = 0x20,
                   kFlagUtilClampMax = 0x40;

struct Named {
  std::string_view name;
  uint64_t value;
};

constexpr std::array<Named, 7> kPolicies = {{
    {"SCHED_OTHER", kSchedOther},
    {"SCHED_FIFO", kSchedFifo},
    {"SCHED_RR", kSchedRr},
    {"SCHED_BATCH", kSchedBatch},
    {"SCHED_ISO", kSchedIso},
    {"SCHED_IDLE", kSchedIdle},
    {"SCHED_DEADLINE", kSchedDeadline},
}};

constexpr std::array<Named, 7> kSchedFlags = {{
    {"SCHED_FLAG_RESET_ON_FORK", 0x01},
    {"SCHED_FLAG_RECLAIM", kFlagReclaim},
    {"SCHED_FLAG_DL_OVERRUN", kFlagDlOverrun},
    {"SCHED_FLAG_KEEP_POLICY", 0x08},
    {"SCHED_FLAG_KEEP_PARAMS", 0x10},
    {"SCHED_FLAG_UTIL_CLAMP_MIN", kFlagUtilClampMin},
    {"SCHED_FLAG_UTIL_CLAMP_MAX", kFlagUtilClampMax},
}};

// uapi/linux/ioprio.h
constexpr std::array<Named, 3> kIoClasses = {{
    {"IOPRIO_CLASS_RT", 1},
    {"IOPRIO_CLASS_BE", 2},
    {"IOPRIO_CLASS_IDLE", 3},
}};

// Linux's largest NR_CPUS (x86_64 MAXSMP): no CPU number goes beyond it.
constexpr unsigned kMaxCpu = 8191;

template <size_t N>
const Named* find_name(const std::array<Named, N>& table, std::string_view name) {
  for (const auto& e : table)
    if (e.name == name) return &e;
  return nullptr;
}

std::string_view policy_name(uint32_t policy) {
  for (const auto& e : kPolicies)
    if (e.value == policy) return e.name;
  return "?";
}

Result<uint64_t> parse_sched_flags(const Node& n, uint32_t policy) {
  HUSK_TRY_ASSIGN(size_t count, n.size());
  uint64_t flags = 0;
  for (size_t i = 0; i < count; ++i) {
    Node e = n.at(i);
    HUSK_TRY_ASSIGN(std::string name, e.str());
    const Named* flag = find_name(kSchedFlags, name);
    if (flag == nullptr) return e.fail("unknown scheduler flag {:?}", name);
    // The spec has no field for the clamp values these flags would set.
    if (flag->value & (kFlagUtilClampMin | kFlagUtilClampMax))
      return e.fail("{} is not supported by husk (the runtime-spec has no clamp value)", name);
    if ((flag->value & (kFlagReclaim | kFlagDlOverrun)) && policy != kSchedDeadline)
      return e.fail("{} applies to SCHED_DEADLINE only", name);
    flags |= flag->value;
  }
  return flags;
}

// What sched_setattr(2) would refuse, or silently not use, for the policy.
Result<void> check_sched_values(const Node& n, const config::Scheduler& s) {
  bool realtime = s.policy == kSchedFifo || s.policy == kSchedRr;
  bool deadline = s.policy == kSchedDeadline;
  if (s.nice < -20 || s.nice > 19) return n["nice"].fail("{} is outside -20..19", s.nice);
  if (s.nice != 0 && (realtime || deadline))
    return n["nice"].fail("{} takes no nice value", policy_name(s.policy));
  if (realtime && (s.priority < 1 || s.priority > 99))
    return n["priority"].fail("{} needs a priority in 1..99, got {}", policy_name(s.policy),
                              s.priority);
  if (!realtime && s.priority != 0)
    return n["priority"].fail("only SCHED_FIFO and SCHED_RR take a priority");
  if (!deadline) {
    const std::pair<const char*, uint64_t> dl[] = {
        {"runtime", s.runtime}, {"deadline", s.deadline}, {"period", s.period}};
    for (const auto& [key, value] : dl)
      if (value != 0) return n[key].fail("only SCHED_DEADLINE takes runtime, deadline and period");
    return ok();
  }
  uint64_t period = s.period != 0 ? s.period : s.deadline;
  if (s.runtime == 0 || s.runtime > s.deadline || s.deadline > period)
    return n.fail("SCHED_DEADLINE needs 0 < runtime <= deadline <= period, got {} {} {}",
                  s.runtime, s.deadline, s.period);
  return ok();
}

Result<void> parse_cpu_item(const Node& n, std::string_view item, config::CpuSet& set) {
  auto number = [&](std::string_view s) -> Result<unsigned> {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size())
      return n.fail("{:?} is not a CPU number", s);
    if (v > kMaxCpu) return n.fail("CPU {} is beyond {}, the most Linux supports", v, kMaxCpu);
    return v;
  };
  size_t dash = item.find('-');
  HUSK_TRY_ASSIGN(unsigned first, number(item.substr(0, dash)));
  unsigned last = first;
  if (dash != std::string_view::npos) {
    HUSK_TRY_ASSIGN(last, number(item.substr(dash + 1)));
  }
  if (first > last) return n.fail("invalid range {:?}", item);
  if (set.words.size() <= last / 64) set.words.resize(last / 64 + 1);
  for (unsigned cpu = first; cpu <= last; ++cpu) set.words[cpu / 64] |= uint64_t{1} << (cpu % 64);
  return ok();
}

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "0-3,7": comma-separated CPUs and ranges; spaces around items and empty
// items are allowed, as runc allows them. Empty or absent: no set.
Result<std::optional<config::CpuSet>> parse_cpu_list(const Node& n) {
  HUSK_TRY_ASSIGN(std::string text, n.str_or(""));
  if (text.empty()) return std::optional<config::CpuSet>();
  config::CpuSet set;
  std::string_view rest = text;
  while (true) {
    size_t comma = rest.find(',');
    std::string_view item = trim_spaces(rest.substr(0, comma));
    if (!item.empty()) HUSK_TRY(parse_cpu_item(n, item, set));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (set.words.empty()) return n.fail("no CPUs in {:?}", text);
  return std::optional<config::CpuSet>(std::move(set));
}

}  // namespace

Result<std::optional<config::Scheduler>> parse_scheduler(const Node& n) {
  HUSK_TRY(n.expect_object());
  if (!n.present()) return std::optional<config::Scheduler>();
  config::Scheduler s;
  HUSK_TRY_ASSIGN(std::string policy, n["policy"].str());
  const Named* known = find_name(kPolicies, policy);
  if (known == nullptr) return n["policy"].fail("unknown scheduling policy {:?}", policy);
  // Reserved in the kernel's headers, implemented only by out-of-tree patches.
  if (known->value == kSchedIso) return n["policy"].fail("SCHED_ISO is not implemented by Linux");
  s.policy = static_cast<uint32_t>(known->value);
  s.nice = HUSK_TRY(n["nice"].optional_integer<int32_t>()).value_or(0);
  int32_t priority = HUSK_TRY(n["priority"].optional_integer<int32_t>()).value_or(0);
  if (priority < 0) return n["priority"].fail("{} is negative", priority);
  s.priority = static_cast<uint32_t>(priority);
  HUSK_TRY_ASSIGN(s.flags, parse_sched_flags(n["flags"], s.policy));
  s.runtime = HUSK_TRY(n["runtime"].optional_integer<uint64_t>()).value_or(0);
  s.deadline = HUSK_TRY(n["deadline"].optional_integer<uint64_t>()).value_or(0);
  s.period = HUSK_TRY(n["period"].optional_integer<uint64_t>()).value_or(0);
  HUSK_TRY(check_sched_values(n, s));
  return std::optional<config::Scheduler>(s);
}

Result<std::optional<config::IoPriority>> parse_io_priority(const Node& n) {
  HUSK_TRY(n.expect_object());
  if (!n.present()) return std::optional<config::IoPriority>();
  config::IoPriority io;
  HUSK_TRY_ASSIGN(std::string name, n["class"].str());
  const Named* known = find_name(kIoClasses, name);
  if (known == nullptr) return n["class"].fail("unknown I/O priority class {:?}", name);
  io.io_class = static_cast<int>(known->value);
  HUSK_TRY_ASSIGN(io.level, n["priority"].integer<int>());
  if (io.level < 0 || io.level > 7) return n["priority"].fail("{} is outside 0..7", io.level);
  return std::optional<config::IoPriority>(io);
}

Result<void> parse_exec_cpu_affinity(const Node& n, config::Process& p) {
  HUSK_TRY(n.expect_object());
  HUSK_TRY_ASSIGN(p.exec_cpus_initial, parse_cpu_list(n["initial"]));
  HUSK_TRY_ASSIGN(p.exec_cpus_final, parse_cpu_list(n["final"]));
  return ok();
}

Result<std::optional<unsigned long>> parse_personality(const Node& n) {
  HUSK_TRY(n.expect_object());
  if (!n.present()) return std::optional<unsigned long>();
  constexpr unsigned long kPerLinux = 0x0000, kPerLinux32 = 0x0008;  // sys/personality.h
  HUSK_TRY_ASSIGN(std::string domain, n["domain"].str());
  unsigned long persona = 0;
  if (domain == "LINUX") {
    persona = kPerLinux;
  } else if (domain == "LINUX32") {
    persona = kPerLinux32;
  } else {
    return n["domain"].fail("unknown execution domain {:?}, expected \"LINUX\" or \"LINUX32\"",
                            domain);
  }
  // runtime-spec: "Currently no flag values are supported" (runc warns and
  // drops them); some of personality(2)'s flags weaken ASLR or NX.
  HUSK_TRY_ASSIGN(std::vector<std::string> flags, n["flags"].strings());
  if (!flags.empty())
    return n["flags"].at(0).fail("personality flag {:?} is not supported (the runtime-spec "
                                 "defines none)",
                                 flags.front());
  return std::optional<unsigned long>(persona);
}

}  // namespace husk::spec::detail
