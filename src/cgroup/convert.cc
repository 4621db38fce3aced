#include "cgroup/convert.h"

#include <fmt/format.h>

#include <algorithm>

#include "cgroup/text.h"

namespace husk::cgroup {

uint64_t shares_to_weight(uint64_t shares) {
  if (shares == 0) return 0;
  shares = std::clamp<uint64_t>(shares, 2, 262144);
  return 1 + ((shares - 2) * 9999) / 262142;
}

std::optional<std::string> cpu_max_value(std::optional<int64_t> quota,
                                         std::optional<uint64_t> period) {
  bool has_quota = quota && *quota != 0;
  bool has_period = period && *period != 0;
  if (!has_quota && !has_period) return std::nullopt;
  std::string out = has_quota && *quota > 0 ? std::to_string(*quota) : "max";
  if (has_period) out += " " + std::to_string(*period);
  return out;
}

Result<CpuMax> parse_cpu_max(std::string_view text) {
  auto f = split_fields(text);
  if (f.empty() || f.size() > 2) return fail(EINVAL, "cpu.max: {:?} is malformed", trim(text));
  CpuMax out;
  if (f[0] != "max") {
    auto q = parse_i64(f[0]);
    if (!q) return fail(EINVAL, "cpu.max: quota {:?} is not a number", f[0]);
    out.quota = *q;
  }
  if (f.size() == 2) {
    auto p = parse_u64(f[1]);
    if (!p) return fail(EINVAL, "cpu.max: period {:?} is not a number", f[1]);
    out.period = *p;
  }
  return out;
}

std::string memory_limit_v2(int64_t bytes) { return bytes < 0 ? "max" : std::to_string(bytes); }

std::string memory_limit_v1(int64_t bytes) { return bytes < 0 ? "-1" : std::to_string(bytes); }

Result<std::optional<int64_t>> swap_max_v2(std::optional<int64_t> swap,
                                           std::optional<int64_t> limit) {
  int64_t s = swap.value_or(0);
  int64_t m = limit.value_or(0);
  // Unlimited memory with swap unset: lift the swap limit too, as runc does.
  if (m == -1 && s == 0) return std::optional<int64_t>(-1);
  if (s == 0) return std::optional<int64_t>();
  if (s == -1) return std::optional<int64_t>(-1);
  if (s < 0) return fail(EINVAL, "memory swap {} is invalid", s);
  if (m == 0 || m == -1) return fail(EINVAL, "cannot set a swap limit without a memory limit");
  if (m < 0) return fail(EINVAL, "memory limit {} is invalid", m);
  if (s < m)
    return fail(EINVAL, "memory+swap limit {} must not be below the memory limit {}", s, m);
  return std::optional<int64_t>(s - m);
}

std::string pids_max_value(int64_t limit) { return limit > 0 ? std::to_string(limit) : "max"; }

uint64_t blkio_weight_to_io_weight(uint64_t weight) {
  if (weight == 0) return 0;
  weight = std::clamp<uint64_t>(weight, 10, 1000);
  return 1 + (weight - 10) * 9999 / 990;
}

std::string io_max_line(int64_t major, int64_t minor, std::string_view key, uint64_t rate) {
  if (rate == 0) return fmt::format("{}:{} {}=max", major, minor, key);
  return fmt::format("{}:{} {}={}", major, minor, key, rate);
}

std::string device_value_line(int64_t major, int64_t minor, uint64_t value) {
  return fmt::format("{}:{} {}", major, minor, value);
}

std::string device_rule_line(const config::DeviceRule& rule) {
  auto num = [](const std::optional<int64_t>& n) {
    return n ? std::to_string(*n) : std::string("*");
  };
  if (rule.type == 'a') return fmt::format("a *:* {}", rule.access);
  return fmt::format("{} {}:{} {}", rule.type, num(rule.major), num(rule.minor), rule.access);
}

std::vector<config::DeviceRule> default_device_rules(const std::vector<std::string>& listed) {
  struct Default {
    const char* path;  // null: a rule for no one device node
    config::DeviceRule rule;
  };
  auto rule = [](char type, std::optional<int64_t> major, std::optional<int64_t> minor,
                 const char* access) {
    return config::DeviceRule{true, type, major, minor, access};
  };
  const Default defaults[] = {
      {nullptr, rule('c', std::nullopt, std::nullopt, "m")},  // mknod of any char device
      {nullptr, rule('b', std::nullopt, std::nullopt, "m")},  // and any block device
      {"/dev/null", rule('c', 1, 3, "rwm")},
      {"/dev/random", rule('c', 1, 8, "rwm")},
      {"/dev/full", rule('c', 1, 7, "rwm")},
      {"/dev/tty", rule('c', 5, 0, "rwm")},
      {"/dev/zero", rule('c', 1, 5, "rwm")},
      {"/dev/urandom", rule('c', 1, 9, "rwm")},
      {nullptr, rule('c', 136, std::nullopt, "rwm")},  // /dev/pts/*
      {nullptr, rule('c', 5, 2, "rwm")},               // /dev/ptmx
  };
  std::vector<config::DeviceRule> out;
  for (const auto& d : defaults) {
    if (d.path != nullptr && std::find(listed.begin(), listed.end(), d.path) != listed.end())
      continue;
    out.push_back(d.rule);
  }
  return out;
}

std::string hugetlb_limit_file_v1(std::string_view page_size) {
  return fmt::format("hugetlb.{}.limit_in_bytes", page_size);
}
std::string hugetlb_rsvd_file_v1(std::string_view page_size) {
  return fmt::format("hugetlb.{}.rsvd.limit_in_bytes", page_size);
}
std::string hugetlb_max_file_v2(std::string_view page_size) {
  return fmt::format("hugetlb.{}.max", page_size);
}
std::string hugetlb_rsvd_file_v2(std::string_view page_size) {
  return fmt::format("hugetlb.{}.rsvd.max", page_size);
}

std::string hugetlb_size_name(uint64_t kilobytes) {
  if (kilobytes >= 1024 * 1024 && kilobytes % (1024 * 1024) == 0)
    return fmt::format("{}GB", kilobytes / (1024 * 1024));
  if (kilobytes >= 1024 && kilobytes % 1024 == 0) return fmt::format("{}MB", kilobytes / 1024);
  return fmt::format("{}KB", kilobytes);
}

std::string rdma_max_line(std::string_view device, const config::RdmaLimit& limit) {
  auto val = [](const std::optional<uint32_t>& v) {
    return v ? std::to_string(*v) : std::string("max");
  };
  return fmt::format("{} hca_handle={} hca_object={}", device, val(limit.hca_handles),
                     val(limit.hca_objects));
}

}  // namespace husk::cgroup
