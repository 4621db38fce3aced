// The device filter generator, checked by running its output on a small
// interpreter of the instructions it uses, against v1's rule semantics.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "cgroup/device_bpf.h"

namespace husk::cgroup {
namespace {

struct Request {
  char type;  // 'c' or 'b'
  uint32_t major, minor;
  std::string access;  // subset of "rwm", non-empty
};

uint32_t bits(const std::string& access) {
  uint32_t b = 0;
  for (char ch : access)
    b |= ch == 'r' ? BPF_DEVCG_ACC_READ : ch == 'w' ? BPF_DEVCG_ACC_WRITE : BPF_DEVCG_ACC_MKNOD;
  return b;
}

// Runs prog on the request; fails the test on anything outside the subset.
int run(const std::vector<bpf_insn>& prog, const Request& req) {
  bpf_cgroup_dev_ctx ctx{};
  ctx.access_type =
      (bits(req.access) << 16) | (req.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
  ctx.major = req.major;
  ctx.minor = req.minor;
  uint64_t reg[11] = {};
  for (size_t pc = 0, steps = 0; pc < prog.size() && steps < 10000; ++pc, ++steps) {
    const bpf_insn& i = prog[pc];
    switch (i.code) {
      case BPF_LDX | BPF_MEM | BPF_W: {
        EXPECT_EQ(i.src_reg, BPF_REG_1);
        uint32_t v = 0;
        std::memcpy(&v, reinterpret_cast<const char*>(&ctx) + i.off, 4);
        reg[i.dst_reg] = v;
        break;
      }
      case BPF_ALU | BPF_AND | BPF_K:
        reg[i.dst_reg] = uint32_t(reg[i.dst_reg]) & uint32_t(i.imm);
        break;
      case BPF_ALU | BPF_RSH | BPF_K: reg[i.dst_reg] = uint32_t(reg[i.dst_reg]) >> i.imm; break;
      case BPF_ALU | BPF_MOV | BPF_X: reg[i.dst_reg] = uint32_t(reg[i.src_reg]); break;
      case BPF_ALU64 | BPF_MOV | BPF_K: reg[i.dst_reg] = uint64_t(int64_t(i.imm)); break;
      case BPF_JMP | BPF_JNE | BPF_K:
        if (reg[i.dst_reg] != uint64_t(int64_t(i.imm))) pc += i.off;
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
        if (reg[i.dst_reg] == uint64_t(int64_t(i.imm))) pc += i.off;
        break;
      case BPF_JMP | BPF_EXIT: return static_cast<int>(reg[0]);
      default: ADD_FAILURE() << "unexpected opcode " << int(i.code) << " at " << pc; return -1;
    }
  }
  ADD_FAILURE() << "ran off the end of the program";
  return -1;
}

// v1 semantics: each requested bit is decided by the last rule that matches
// the device and names the bit; nothing matching denies.
int expected(const std::vector<config::DeviceRule>& rules, const Request& req) {
  for (char bit : req.access) {
    bool allowed = false;
    for (const auto& r : rules) {
      bool dev = r.type == 'a' || (r.type == req.type && (!r.major || *r.major == req.major) &&
                                   (!r.minor || *r.minor == req.minor));
      if (dev && r.access.find(bit) != std::string::npos) allowed = r.allow;
    }
    if (!allowed) return 0;
  }
  return 1;
}

// Every instruction reachable and every jump inside the program, as the
// kernel verifier demands; the last instruction is an exit.
void check_structure(const std::vector<bpf_insn>& prog) {
  ASSERT_FALSE(prog.empty());
  EXPECT_EQ(prog.back().code, BPF_JMP | BPF_EXIT);
  std::set<size_t> seen;
  std::vector<size_t> todo{0};
  while (!todo.empty()) {
    size_t pc = todo.back();
    todo.pop_back();
    ASSERT_LT(pc, prog.size());
    if (!seen.insert(pc).second) continue;
    const bpf_insn& i = prog[pc];
    if (i.code == (BPF_JMP | BPF_EXIT)) continue;
    if ((i.code & 0x07) == BPF_JMP) todo.push_back(pc + 1 + i.off);
    todo.push_back(pc + 1);
  }
  EXPECT_EQ(seen.size(), prog.size()) << "unreachable instructions";
}

config::DeviceRule rule(bool allow, char type, std::optional<int64_t> major,
                        std::optional<int64_t> minor, std::string access) {
  return {allow, type, major, minor, std::move(access)};
}

TEST(CgroupDeviceBpf, RuncStyleDefaultList) {
  std::vector<config::DeviceRule> rules = {
      rule(false, 'a', {}, {}, "rwm"), rule(true, 'c', {}, {}, "m"), rule(true, 'c', 1, 3, "rwm"),
      rule(true, 'c', 136, {}, "rwm"), rule(true, 'b', 8, 0, "r"),   rule(false, 'c', 1, 3, "w"),
  };
  auto prog = device_filter_program(rules);
  check_structure(prog);
  EXPECT_EQ(run(prog, {'c', 1, 3, "r"}), 1);   // /dev/null read
  EXPECT_EQ(run(prog, {'c', 1, 3, "rw"}), 0);  // its write was denied last
  EXPECT_EQ(run(prog, {'c', 1, 3, "m"}), 1);
  EXPECT_EQ(run(prog, {'c', 136, 7, "rw"}), 1);  // any pts
  EXPECT_EQ(run(prog, {'c', 1, 5, "r"}), 0);     // /dev/zero: not listed
  EXPECT_EQ(run(prog, {'c', 10, 200, "m"}), 1);  // mknod of any char device
  EXPECT_EQ(run(prog, {'b', 8, 0, "r"}), 1);
  EXPECT_EQ(run(prog, {'b', 8, 0, "rw"}), 0);
  EXPECT_EQ(run(prog, {'b', 8, 1, "r"}), 0);
}

TEST(CgroupDeviceBpf, BitsAllowedByDifferentRulesCombine) {
  auto prog = device_filter_program({rule(true, 'c', 1, 3, "r"), rule(true, 'c', 1, 3, "w")});
  check_structure(prog);
  EXPECT_EQ(run(prog, {'c', 1, 3, "rw"}), 1);
  EXPECT_EQ(run(prog, {'c', 1, 3, "rwm"}), 0);
}

TEST(CgroupDeviceBpf, NoRulesDeniesEverything) {
  auto prog = device_filter_program({});
  check_structure(prog);
  EXPECT_EQ(prog.size(), 8u);  // prologue (6), r0 = 0, exit
  EXPECT_EQ(run(prog, {'c', 1, 3, "r"}), 0);
}

TEST(CgroupDeviceBpf, RulesShadowedByAnAlwaysDecidingRuleAreNotEmitted) {
  // The last rule allows everything, so nothing before it can matter.
  auto prog =
      device_filter_program({rule(false, 'c', 1, 3, "rwm"), rule(true, 'a', {}, {}, "rwm")});
  check_structure(prog);
  EXPECT_EQ(prog.size(), 8u);
  EXPECT_EQ(prog[6].imm, 1);
  EXPECT_EQ(run(prog, {'c', 1, 3, "rw"}), 1);
}

TEST(CgroupDeviceBpf, MatchesV1SemanticsOnRandomRuleLists) {
  std::mt19937 rng(12345);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const char* accesses[] = {"r", "w", "m", "rw", "rm", "wm", "rwm"};
  std::optional<int64_t> numbers[] = {std::nullopt, 1, 3, 8};
  for (int round = 0; round < 300; ++round) {
    std::vector<config::DeviceRule> rules;
    int n = pick(6);
    for (int i = 0; i < n; ++i)
      rules.push_back(rule(pick(2) == 0, "acb"[pick(3)], numbers[pick(4)], numbers[pick(4)],
                           accesses[pick(7)]));
    auto prog = device_filter_program(rules);
    check_structure(prog);
    for (char type : {'c', 'b'})
      for (uint32_t major : {1u, 3u, 8u})
        for (uint32_t minor : {1u, 3u, 8u})
          for (const char* access : accesses) {
            Request req{type, major, minor, access};
            ASSERT_EQ(run(prog, req), expected(rules, req))
                << "round " << round << " request " << type << " " << major << ":" << minor << " "
                << access;
          }
  }
}

}  // namespace
}  // namespace husk::cgroup
