// Seccomp translation: the exported BPF is run through a small classic-BPF
// interpreter, so each test checks what the kernel would decide for a given
// syscall, not how libseccomp happens to lay the program out. The only real
// loads happen in forked children.
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <string>

#include "linux/seccomp_filter.h"

namespace husk::linux {
namespace {

using config::Seccomp;
using config::SeccompAction;
using config::SeccompArg;
using config::SeccompOp;
using config::SeccompRule;

struct Call {
  int nr = 0;
  uint32_t arch = 0;  // 0: native
  std::array<uint64_t, 6> args{};
};

// struct seccomp_data as the filter sees it (little-endian words).
uint32_t data_word(const Call& c, uint32_t off) {
  if (off == 0) return static_cast<uint32_t>(c.nr);
  if (off == 4) return c.arch != 0 ? c.arch : seccomp_arch_native();
  if (off >= 16 && off < 64) {
    uint64_t v = c.args[(off - 16) / 8];
    return (off % 8 == 0) ? static_cast<uint32_t>(v) : static_cast<uint32_t>(v >> 32);
  }
  return 0;  // instruction pointer: never tested by our filters
}

constexpr uint32_t kBadProgram = 0xdeadbeef;

// ALU and conditional-jump steps of the interpreter below; false: unknown op.
bool alu(uint16_t code, uint32_t& a, uint32_t src) {
  switch (BPF_OP(code)) {
    case BPF_ADD: a += src; return true;
    case BPF_SUB: a -= src; return true;
    case BPF_AND: a &= src; return true;
    case BPF_OR: a |= src; return true;
    case BPF_LSH: a <<= src; return true;
    case BPF_RSH: a >>= src; return true;
    case BPF_NEG: a = -a; return true;
    default: return false;
  }
}

bool condition(uint16_t code, uint32_t a, uint32_t src, bool& taken) {
  switch (BPF_OP(code)) {
    case BPF_JEQ: taken = a == src; return true;
    case BPF_JGT: taken = a > src; return true;
    case BPF_JGE: taken = a >= src; return true;
    case BPF_JSET: taken = (a & src) != 0; return true;
    default: return false;
  }
}

// A classic-BPF interpreter for the subset a seccomp filter may use.
uint32_t run_filter(const std::vector<uint8_t>& bytes, const Call& call) {
  std::vector<sock_filter> prog(bytes.size() / sizeof(sock_filter));
  std::memcpy(prog.data(), bytes.data(), prog.size() * sizeof(sock_filter));
  uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {};
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const sock_filter& in = prog[pc];
    uint32_t src = BPF_SRC(in.code) == BPF_X ? x : in.k;
    uint32_t mode = BPF_MODE(in.code);
    bool taken = false;
    switch (BPF_CLASS(in.code)) {
      case BPF_LD:
        if (mode != BPF_ABS && mode != BPF_IMM && mode != BPF_MEM) return kBadProgram;
        a = mode == BPF_ABS ? data_word(call, in.k)
                            : (mode == BPF_IMM ? in.k : mem[in.k % BPF_MEMWORDS]);
        break;
      case BPF_LDX:
        if (mode != BPF_IMM && mode != BPF_MEM) return kBadProgram;
        x = mode == BPF_IMM ? in.k : mem[in.k % BPF_MEMWORDS];
        break;
      case BPF_ST: mem[in.k % BPF_MEMWORDS] = a; break;
      case BPF_STX: mem[in.k % BPF_MEMWORDS] = x; break;
      case BPF_ALU:
        if (!alu(in.code, a, src)) return kBadProgram;
        break;
      case BPF_JMP:
        if (BPF_OP(in.code) == BPF_JA) {
          pc += in.k;
        } else {
          if (!condition(in.code, a, src, taken)) return kBadProgram;
          pc += taken ? in.jt : in.jf;
        }
        break;
      case BPF_RET: return BPF_RVAL(in.code) == BPF_A ? a : in.k;
      case BPF_MISC:
        if (BPF_MISCOP(in.code) == BPF_TAX) {
          x = a;
        } else {
          a = x;  // BPF_TXA
        }
        break;
      default: return kBadProgram;
    }
  }
  return kBadProgram;  // fell off the end
}

std::vector<uint8_t> compile(const Seccomp& cfg) {
  auto filter = build_seccomp_filter(cfg);
  if (!filter) {
    ADD_FAILURE() << filter.error().what();
    return {};
  }
  auto bpf = export_bpf(*filter);
  if (!bpf) {
    ADD_FAILURE() << bpf.error().what();
    return {};
  }
  return *bpf;
}

SeccompRule rule(std::vector<std::string> names, SeccompAction action,
                 std::vector<SeccompArg> args = {}, std::optional<uint32_t> errno_ret = {}) {
  return SeccompRule{std::move(names), action, errno_ret, std::move(args)};
}

Call sys(int nr, std::array<uint64_t, 6> args = {}) { return Call{nr, 0, args}; }

TEST(Seccomp, DefaultErrnoIsEpermAndRulesOverrideIt) {
  Seccomp cfg;
  cfg.default_action = SeccompAction::kErrno;
  cfg.syscalls = {rule({"getpid"}, SeccompAction::kAllow),
                  rule({"getppid"}, SeccompAction::kErrno, {}, ENOSYS),
                  rule({"gettid"}, SeccompAction::kTrace)};
  auto bpf = compile(cfg);
  ASSERT_FALSE(bpf.empty());
  EXPECT_EQ(bpf.size() % sizeof(sock_filter), 0u);
  EXPECT_EQ(run_filter(bpf, sys(SYS_getpid)), SCMP_ACT_ALLOW);
  EXPECT_EQ(run_filter(bpf, sys(SYS_getppid)), SCMP_ACT_ERRNO(ENOSYS));
  EXPECT_EQ(run_filter(bpf, sys(SYS_gettid)), SCMP_ACT_TRACE(EPERM));
  EXPECT_EQ(run_filter(bpf, sys(SYS_getuid)), SCMP_ACT_ERRNO(EPERM));
}

TEST(Seccomp, DefaultErrnoRetIsUsed) {
  Seccomp cfg;
  cfg.default_action = SeccompAction::kErrno;
  cfg.default_errno_ret = ENOSYS;
  cfg.syscalls = {rule({"getpid"}, SeccompAction::kAllow)};
  auto bpf = compile(cfg);
  EXPECT_EQ(run_filter(bpf, sys(SYS_getuid)), SCMP_ACT_ERRNO(ENOSYS));
  EXPECT_EQ(run_filter(bpf, sys(SYS_getpid)), SCMP_ACT_ALLOW);
}

TEST(Seccomp, EveryActionTranslates) {
  struct Case {
    SeccompAction action;
    uint32_t want;
  } cases[] = {
      {SeccompAction::kKill, SCMP_ACT_KILL_THREAD},
      {SeccompAction::kKillThread, SCMP_ACT_KILL_THREAD},
      {SeccompAction::kKillProcess, SCMP_ACT_KILL_PROCESS},
      {SeccompAction::kTrap, SCMP_ACT_TRAP},
      {SeccompAction::kErrno, SCMP_ACT_ERRNO(EPERM)},
      {SeccompAction::kTrace, SCMP_ACT_TRACE(EPERM)},
      {SeccompAction::kLog, SCMP_ACT_LOG},
      {SeccompAction::kNotify, SCMP_ACT_NOTIFY},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(seccomp_action_value(c.action, std::nullopt), c.want);
    Seccomp cfg;  // default allow
    cfg.syscalls = {rule({"getppid"}, c.action)};
    auto bpf = compile(cfg);
    EXPECT_EQ(run_filter(bpf, sys(SYS_getppid)), c.want) << static_cast<int>(c.action);
    EXPECT_EQ(run_filter(bpf, sys(SYS_getpid)), SCMP_ACT_ALLOW);
  }
  EXPECT_EQ(seccomp_action_value(SeccompAction::kTrace, 7), SCMP_ACT_TRACE(7));
}

TEST(Seccomp, UnknownSyscallIsSkipped) {
  Seccomp cfg;
  cfg.default_action = SeccompAction::kKillProcess;
  cfg.syscalls = {rule({"no_such_syscall_husk", "getuid"}, SeccompAction::kAllow)};
  auto bpf = compile(cfg);
  EXPECT_EQ(run_filter(bpf, sys(SYS_getuid)), SCMP_ACT_ALLOW);
  EXPECT_EQ(run_filter(bpf, sys(SYS_getpid)), SCMP_ACT_KILL_PROCESS);
}

TEST(Seccomp, RuleEqualToDefaultIsSkipped) {
  Seccomp base;
  base.default_action = SeccompAction::kErrno;
  // getppid is above getuid and getgid: the redundant rules leave the ENOSYS stub as it is.
  base.syscalls = {rule({"getpid", "getppid"}, SeccompAction::kAllow)};
  Seccomp redundant = base;
  // ERRNO without errnoRet is ERRNO(EPERM), the same as the default.
  redundant.syscalls.push_back(rule({"getuid"}, SeccompAction::kErrno));
  redundant.syscalls.push_back(rule({"getgid"}, SeccompAction::kErrno, {}, EPERM));
  EXPECT_EQ(compile(base), compile(redundant));
  // A different errno is a different action and does change the program.
  Seccomp other = base;
  other.syscalls.push_back(rule({"getuid"}, SeccompAction::kErrno, {}, EACCES));
  auto bpf = compile(other);
  EXPECT_NE(compile(base), bpf);
  EXPECT_EQ(run_filter(bpf, sys(SYS_getuid)), SCMP_ACT_ERRNO(EACCES));
}

TEST(Seccomp, ArgsOnDistinctIndexesAreAnded) {
  Seccomp cfg;
  cfg.default_action = SeccompAction::kErrno;
  cfg.syscalls = {rule({"kill"}, SeccompAction::kAllow,
                       {{0, 1, 0, SeccompOp::kEqualTo}, {1, 9, 0, SeccompOp::kEqualTo}})};
  auto bpf = compile(cfg);
  EXPECT_EQ(run_filter(bpf, sys(SYS_kill, {1, 9})), SCMP_ACT_ALLOW);
  EXPECT_EQ(run_filter(bpf, sys(SYS_kill, {1, 15})), SCMP_ACT_ERRNO(EPERM));
  EXPECT_EQ(run_filter(bpf, sys(SYS_kill, {2, 9})), SCMP_ACT_ERRNO(EPERM));
}

TEST(Seccomp, ArgsSharingAnIndexBecomeSeparateRules) {
  // runc: once two conditions share an index, every condition of the rule
  // is added as its own rule, so the rule matches when any one holds.
  Seccomp cfg;
  cfg.default_action = SeccompAction::kErrno;
  cfg.syscalls = {rule({"kill"}, SeccompAction::kAllow,
                       {{0, 1, 0, SeccompOp::kEqualTo},
                        {0, 2, 0, SeccompOp::kEqualTo},
                        {1, 9, 0, SeccompOp::kEqualTo}})};
  auto bpf = compile(cfg);
  EXPECT_EQ(run_filter(bpf, sys(SYS_kill, {1, 0})), SCMP_ACT_ALLOW);
  EXPECT_EQ(run_filter(bpf, sys(SYS_kill, {2, 0})), SCMP_ACT_ALLOW);
  EXPECT_EQ(run_filter(bpf, sys(SYS_kill, {3, 9})), SCMP_ACT_ALLOW);
  EXPECT_EQ(run_filter(bpf, sys(SYS_kill, {3, 0})), SCMP_ACT_ERRNO(EPERM));
}

TEST(Seccomp, OperatorsCompareAll64Bits) {
  Seccomp cfg;
  cfg.default_action = SeccompAction::kErrno;
  cfg.syscalls = {
      // value is the mask, valueTwo the value it must equal once masked.
      rule({"kill"}, SeccompAction::kAllow, {{1, 0xf0, 0x20, SeccompOp::kMaskedEqual}}),
      rule({"getpriority"}, SeccompAction::kAllow,
           {{0, 0x100000000ull, 0, SeccompOp::kGreaterThan}}),
      rule({"setpriority"}, SeccompAction::kAllow, {{0, 5, 0, SeccompOp::kNotEqual}}),
      rule({"dup"}, SeccompAction::kAllow, {{0, 10, 0, SeccompOp::kLessThan}}),
  };
  auto bpf = compile(cfg);
  constexpr uint32_t kDenied = SCMP_ACT_ERRNO(EPERM);
  EXPECT_EQ(run_filter(bpf, sys(SYS_kill, {0, 0x25})), SCMP_ACT_ALLOW);
  EXPECT_EQ(run_filter(bpf, sys(SYS_kill, {0, 0x35})), kDenied);
  EXPECT_EQ(run_filter(bpf, sys(SYS_getpriority, {0x100000001ull})), SCMP_ACT_ALLOW);
  EXPECT_EQ(run_filter(bpf, sys(SYS_getpriority, {0xffffffffull})), kDenied);
  EXPECT_EQ(run_filter(bpf, sys(SYS_setpriority, {6})), SCMP_ACT_ALLOW);
  EXPECT_EQ(run_filter(bpf, sys(SYS_setpriority, {5})), kDenied);
  EXPECT_EQ(run_filter(bpf, sys(SYS_dup, {9})), SCMP_ACT_ALLOW);
  EXPECT_EQ(run_filter(bpf, sys(SYS_dup, {10})), kDenied);
}

#if defined(__x86_64__)
TEST(Seccomp, ArchitecturesAreAdded) {
  Seccomp cfg;
  cfg.default_action = SeccompAction::kErrno;
  cfg.syscalls = {rule({"getpid", "getppid"}, SeccompAction::kAllow)};
  Call i386_getpid{20, AUDIT_ARCH_I386, {}};
  // Without the arch, a foreign-arch syscall gets libseccomp's bad-arch kill.
  EXPECT_EQ(run_filter(compile(cfg), i386_getpid), SCMP_ACT_KILL_THREAD);
  cfg.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  auto bpf = compile(cfg);
  EXPECT_EQ(run_filter(bpf, i386_getpid), SCMP_ACT_ALLOW);
  EXPECT_EQ(run_filter(bpf, Call{24, AUDIT_ARCH_I386, {}}), SCMP_ACT_ERRNO(EPERM));  // getuid
  EXPECT_EQ(run_filter(bpf, sys(SYS_getpid)), SCMP_ACT_ALLOW);
}
#endif

// --- ENOSYS for syscalls newer than the profile ---

constexpr uint32_t kEnosys = SCMP_ACT_ERRNO(ENOSYS);

// A profile written before clone3: it names syscalls up to getppid only.
Seccomp old_profile(SeccompAction default_action) {
  Seccomp cfg;
  cfg.default_action = default_action;
  cfg.syscalls = {rule({"getpid", "getppid"}, SeccompAction::kAllow),
                  rule({"kill"}, SeccompAction::kErrno, {}, EACCES)};
  return cfg;
}

TEST(Seccomp, SyscallNewerThanTheProfileGetsEnosys) {
  auto bpf = compile(old_profile(SeccompAction::kErrno));
  EXPECT_EQ(run_filter(bpf, sys(SYS_getppid)), SCMP_ACT_ALLOW);       // the highest it names
  EXPECT_EQ(run_filter(bpf, sys(SYS_kill)), SCMP_ACT_ERRNO(EACCES));  // its own rule
  EXPECT_EQ(run_filter(bpf, sys(SYS_getuid)), SCMP_ACT_ERRNO(EPERM));  // older, not named
  EXPECT_EQ(run_filter(bpf, sys(SYS_getppid + 1)), kEnosys);
  EXPECT_EQ(run_filter(bpf, sys(SYS_clone3)), kEnosys);
  EXPECT_EQ(run_filter(bpf, sys(1000)), kEnosys);
}

TEST(Seccomp, EverDenyingDefaultGetsTheStub) {
  for (auto action : {SeccompAction::kKillProcess, SeccompAction::kKillThread,
                      SeccompAction::kTrap, SeccompAction::kTrace}) {
    auto bpf = compile(old_profile(action));
    EXPECT_EQ(run_filter(bpf, sys(SYS_getuid)), seccomp_action_value(action, {}));
    EXPECT_EQ(run_filter(bpf, sys(SYS_clone3)), kEnosys) << static_cast<int>(action);
  }
}

TEST(Seccomp, AllowingOrEnosysDefaultGetsNoStub) {
  Seccomp allow = old_profile(SeccompAction::kAllow);
  Seccomp log = old_profile(SeccompAction::kLog);
  Seccomp enosys = old_profile(SeccompAction::kErrno);
  enosys.default_errno_ret = ENOSYS;
  for (const auto* cfg : {&allow, &log, &enosys}) {
    auto f = build_seccomp_filter(*cfg);
    ASSERT_TRUE(f) << f.error().what();
    EXPECT_TRUE(f->enosys_stub().empty());
  }
  EXPECT_EQ(run_filter(compile(allow), sys(SYS_clone3)), SCMP_ACT_ALLOW);
  EXPECT_EQ(run_filter(compile(log), sys(SYS_clone3)), SCMP_ACT_LOG);
  // An empty profile names nothing: no limit to compare with, the default decides.
  Seccomp empty;
  empty.default_action = SeccompAction::kErrno;
  auto f = build_seccomp_filter(empty);
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->enosys_stub().empty());
  EXPECT_EQ(run_filter(compile(empty), sys(SYS_clone3)), SCMP_ACT_ERRNO(EPERM));
}

#if defined(__x86_64__)
TEST(Seccomp, EachArchitectureHasItsOwnLimit) {
  constexpr uint32_t kX32 = 0x40000000;
  Seccomp cfg = old_profile(SeccompAction::kErrno);
  cfg.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  cfg.syscalls.push_back(rule({"clone3"}, SeccompAction::kErrno, {}, EPERM));  // known, denied
  cfg.syscalls.push_back(rule({"getpid"}, SeccompAction::kAllow));
  auto bpf = compile(cfg);
  // x86_64 and x32 know clone3 (435): only what comes after it is new.
  EXPECT_EQ(run_filter(bpf, sys(SYS_clone3)), SCMP_ACT_ERRNO(EPERM));
  EXPECT_EQ(run_filter(bpf, sys(SYS_clone3 + 1)), kEnosys);
  EXPECT_EQ(run_filter(bpf, Call{static_cast<int>(kX32 | 435), 0, {}}), SCMP_ACT_ERRNO(EPERM));
  EXPECT_EQ(run_filter(bpf, Call{static_cast<int>(kX32 | 436), 0, {}}), kEnosys);
  EXPECT_EQ(run_filter(bpf, Call{static_cast<int>(kX32 | 39), 0, {}}), SCMP_ACT_ALLOW);
  // i386 numbers are its own: getuid 24 below its getppid 64, 436 above its clone3 435.
  EXPECT_EQ(run_filter(bpf, Call{24, AUDIT_ARCH_I386, {}}), SCMP_ACT_ERRNO(EPERM));
  EXPECT_EQ(run_filter(bpf, Call{436, AUDIT_ARCH_I386, {}}), kEnosys);

  // Without x32 in the filter, an x32 call is left to libseccomp, whatever its number.
  cfg.architectures = {"SCMP_ARCH_X86_64"};
  Seccomp allow_default = cfg;
  allow_default.default_action = SeccompAction::kAllow;  // no stub at all
  auto no_x32 = compile(cfg);
  Call x32_new{static_cast<int>(kX32 | 1000), 0, {}};
  EXPECT_EQ(run_filter(no_x32, x32_new), run_filter(compile(allow_default), x32_new));
  EXPECT_NE(run_filter(no_x32, x32_new), kEnosys);
  EXPECT_EQ(run_filter(no_x32, sys(1000)), kEnosys);
}
#endif

TEST(Seccomp, CacheKeyChangesWithTheStub) {
  // Programs cached before the stub existed must not be taken for new ones.
  EXPECT_EQ(seccomp_cache_key(Seccomp{}).rfind("husk-seccomp-key 2\n", 0), 0u);
}

TEST(Seccomp, KnownArchitectureNamesResolve) {
  for (const char* name :
       {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
        "SCMP_ARCH_PPC64LE", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_RISCV64"}) {
    Seccomp cfg;
    cfg.architectures = {name};
    auto f = build_seccomp_filter(cfg);
    EXPECT_TRUE(f) << name << ": " << f.error().what();
  }
}

TEST(Seccomp, BadArchitectureIsAnError) {
  for (const char* name : {"SCMP_ARCH_FOO", "X86_64", "SCMP_ARCH_"}) {
    Seccomp cfg;
    cfg.architectures = {name};
    auto f = build_seccomp_filter(cfg);
    ASSERT_FALSE(f) << name;
    EXPECT_EQ(f.error().what(), fmt::format("unknown seccomp architecture \"{}\"", name));
  }
}

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
TEST(Seccomp, ForeignByteOrderArchitectureIsAnError) {
  Seccomp cfg;
  cfg.architectures = {"SCMP_ARCH_S390X"};
  auto f = build_seccomp_filter(cfg);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().what(),
            "seccomp architecture \"SCMP_ARCH_S390X\" differs in byte order from the native one");
}
#endif

TEST(Seccomp, FlagsBecomeLoadFlags) {
  Seccomp cfg;
  cfg.flags = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
               "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
  auto f = build_seccomp_filter(cfg);
  ASSERT_TRUE(f) << f.error().what();
  EXPECT_EQ(f->load_flags(), SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
  EXPECT_FALSE(f->uses_notify());

  cfg.syscalls = {rule({"getppid"}, SeccompAction::kNotify)};
  f = build_seccomp_filter(cfg);
  ASSERT_TRUE(f) << f.error().what();
  EXPECT_TRUE(f->uses_notify());
  EXPECT_EQ(f->load_flags(), SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW |
                                 SECCOMP_FILTER_FLAG_NEW_LISTENER |
                                 SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
}

TEST(Seccomp, UnknownFlagIsAnError) {
  Seccomp cfg;
  cfg.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_BOGUS"};
  auto f = build_seccomp_filter(cfg);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().message, "seccomp flag \"SECCOMP_FILTER_FLAG_BOGUS\" is not supported");
}

TEST(Seccomp, InvalidRulesAreErrors) {
  Seccomp notify_default;
  notify_default.default_action = SeccompAction::kNotify;
  EXPECT_FALSE(build_seccomp_filter(notify_default));

  Seccomp notify_write;
  notify_write.syscalls = {rule({"getpid", "write"}, SeccompAction::kNotify)};
  auto f = build_seccomp_filter(notify_write);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().message, "SCMP_ACT_NOTIFY cannot be used for the write syscall");

  Seccomp bad_index;
  bad_index.syscalls = {rule({"kill"}, SeccompAction::kErrno, {{6, 1, 0, SeccompOp::kEqualTo}})};
  f = build_seccomp_filter(bad_index);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().message,
            "seccomp rule for syscall \"kill\": argument index 6 is out of range");

  Seccomp empty_name;
  empty_name.syscalls = {rule({""}, SeccompAction::kErrno)};
  EXPECT_FALSE(build_seccomp_filter(empty_name));
}

TEST(Seccomp, ExportDiffersWhenRulesDiffer) {
  Seccomp a;
  a.syscalls = {rule({"getppid"}, SeccompAction::kErrno)};
  Seccomp b = a;
  b.syscalls[0].names = {"getuid"};
  Seccomp c = a;
  c.syscalls[0].args = {{0, 1, 0, SeccompOp::kEqualTo}};
  auto ba = compile(a), bb = compile(b), bc = compile(c);
  ASSERT_FALSE(ba.empty());
  EXPECT_NE(ba, bb);
  EXPECT_NE(ba, bc);
  EXPECT_EQ(ba, compile(a));  // and is deterministic
}

// Every field the program is built from changes the cache key; equal profiles share it.
TEST(Seccomp, CacheKeyNamesEveryInput) {
  Seccomp a;
  a.default_action = SeccompAction::kErrno;
  a.architectures = {"SCMP_ARCH_X86_64"};
  a.syscalls = {rule({"getppid", "getuid"}, SeccompAction::kAllow)};
  a.syscalls[0].args = {{0, 1, 2, SeccompOp::kMaskedEqual}};
  std::vector<Seccomp> variants(12, a);
  variants[0].default_action = SeccompAction::kKill;
  variants[1].default_errno_ret = 1;
  variants[2].architectures = {"SCMP_ARCH_X86"};
  variants[3].flags = {"SECCOMP_FILTER_FLAG_LOG"};
  variants[4].listener_path = "/run/l.sock";
  variants[5].syscalls[0].names = {"getppid"};
  variants[6].syscalls[0].names = {"getuid", "getppid"};
  variants[7].syscalls[0].action = SeccompAction::kLog;
  variants[8].syscalls[0].errno_ret = 13;
  variants[9].syscalls[0].args[0].value_two = 3;
  variants[10].syscalls[0].args[0].op = SeccompOp::kEqualTo;
  // A name that runs into the next one must not read as two names.
  variants[11].syscalls[0].names = {"getppidgetuid"};
  std::string key = seccomp_cache_key(a);
  EXPECT_EQ(key, seccomp_cache_key(a));
  EXPECT_NE(key.find("libseccomp " + libseccomp_version()), std::string::npos) << key;
  for (size_t i = 0; i < variants.size(); ++i)
    EXPECT_NE(seccomp_cache_key(variants[i]), key) << "variant " << i;
}

TEST(Seccomp, MovedFilterKeepsItsContext) {
  auto f = build_seccomp_filter(Seccomp{});
  ASSERT_TRUE(f);
  void* ctx = f->ctx();
  SeccompFilter moved = std::move(*f);
  EXPECT_EQ(moved.ctx(), ctx);
  EXPECT_EQ(f->ctx(), nullptr);
  EXPECT_FALSE(export_bpf(*f));
  EXPECT_TRUE(export_bpf(moved));
}

TEST(Seccomp, CompileMatchesBuildAndExport) {
  Seccomp cfg;
  cfg.flags = {"SECCOMP_FILTER_FLAG_LOG"};
  cfg.syscalls = {rule({"getppid"}, SeccompAction::kNotify)};
  auto compiled = compile_seccomp(cfg);
  ASSERT_TRUE(compiled) << compiled.error().what();
  EXPECT_EQ(compiled->program, compile(cfg));
  EXPECT_TRUE(compiled->uses_notify);
  EXPECT_EQ(compiled->load_flags, SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_NEW_LISTENER);
  cfg.flags = {"bogus"};
  EXPECT_FALSE(compile_seccomp(cfg));
}

TEST(Seccomp, LoadRejectsABrokenProgram) {
  CompiledSeccomp broken;
  broken.program = {1, 2, 3};  // not a whole instruction
  auto r = load_seccomp(broken);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "load seccomp filter: bad program size 3: Invalid argument");
  EXPECT_FALSE(load_seccomp(CompiledSeccomp{}));
}

// Forks; the child sets no_new_privs (no root needed), loads the filter and
// reports through its exit status: 0 when every check passed.
int in_filtered_child(const Seccomp& cfg, int (*check)(const UniqueFd& notify)) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) ::_exit(90);
    auto fd = load_seccomp(cfg);
    if (!fd) ::_exit(91);
    // Straight to the kernel: a sanitizer's _exit hooks make syscalls (sigaltstack,
    // gettid) that a deny-by-default filter refuses, and then abort.
    ::syscall(SYS_exit_group, check(*fd));
    ::_exit(92);  // exit_group refused by the filter
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(Seccomp, LoadedFilterActsInAChild) {
  Seccomp cfg;
  cfg.syscalls = {rule({"getppid"}, SeccompAction::kErrno, {}, EXDEV),
                  rule({"kill"}, SeccompAction::kErrno, {{1, 0, 0, SeccompOp::kEqualTo}}, ENOTTY)};
  int rc = in_filtered_child(cfg, [](const UniqueFd& notify) {
    if (notify.valid()) return 1;
    if (::syscall(SYS_getppid) != -1 || errno != EXDEV) return 2;
    if (::kill(::getpid(), 0) != -1 || errno != ENOTTY) return 3;
    if (::syscall(SYS_getpid) <= 0) return 4;
    return 0;
  });
  EXPECT_EQ(rc, 0);
}

TEST(Seccomp, KernelRunsTheStub) {
  Seccomp cfg = old_profile(SeccompAction::kErrno);
  cfg.syscalls.push_back(rule({"exit_group", "exit"}, SeccompAction::kAllow));  // for _exit
  int rc = in_filtered_child(cfg, [](const UniqueFd&) {
    if (::syscall(SYS_getppid) <= 0) return 1;
    if (::syscall(SYS_getuid) != -1 || errno != EPERM) return 2;
    if (::syscall(SYS_clone3, nullptr, 0) != -1 || errno != ENOSYS) return 3;
    if (::syscall(1000, 0, 0, 0) != -1 || errno != ENOSYS) return 4;
    if (::kill(::getpid(), 0) != -1 || errno != EACCES) return 5;
    return 0;
  });
  EXPECT_EQ(rc, 0);
}

TEST(Seccomp, NotifyRuleYieldsAListenerFd) {
  Seccomp cfg;
  cfg.syscalls = {rule({"getppid"}, SeccompAction::kNotify)};
  int rc = in_filtered_child(cfg, [](const UniqueFd& notify) {
    if (!notify.valid()) return 1;
    char link[64] = {};
    std::string path = "/proc/self/fd/" + std::to_string(notify.get());
    if (::readlink(path.c_str(), link, sizeof link - 1) < 0) return 2;
    return std::string(link) == "anon_inode:seccomp notify" ? 0 : 3;
  });
  EXPECT_EQ(rc, 0);
}

}  // namespace
}  // namespace husk::linux
