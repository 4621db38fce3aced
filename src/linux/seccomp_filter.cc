#include "linux/seccomp_filter.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <cstddef>
#include <optional>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace husk::linux {
namespace {

using config::SeccompAction;

constexpr std::string_view kArchPrefix = "SCMP_ARCH_";
constexpr unsigned kMaxSyscallArgs = 6;
// libseccomp's binary-tree layout pays off only for long rule lists, and
// 2.5.x misbehaves with it on an empty list.
constexpr size_t kOptimizeAbove = 32;

struct FlagName {
  std::string_view name;
  unsigned long kernel_flag;
};

// TSYNC maps to nothing: the init is single-threaded, and the kernel refuses
// TSYNC together with NEW_LISTENER. runc ignores it the same way.
constexpr FlagName kFlags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", 0},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
};

struct ArchName {
  std::string_view name;
  uint32_t token;
};

// libseccomp's architectures; seccomp_architecture_names() keeps the ones the
// linked library resolves by the name add_architectures() derives.
constexpr ArchName kArches[] = {
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
#ifdef SCMP_ARCH_LOONGARCH64
    {"SCMP_ARCH_LOONGARCH64", SCMP_ARCH_LOONGARCH64},
#endif
#ifdef SCMP_ARCH_M68K
    {"SCMP_ARCH_M68K", SCMP_ARCH_M68K},
#endif
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
#ifdef SCMP_ARCH_SHEB
    {"SCMP_ARCH_SHEB", SCMP_ARCH_SHEB},
#endif
#ifdef SCMP_ARCH_SH
    {"SCMP_ARCH_SH", SCMP_ARCH_SH},
#endif
};

// The libseccomp token add_architectures() finds for a config name, 0 if none.
uint32_t resolve_arch_name(std::string_view name) {
  if (!name.starts_with(kArchPrefix)) return 0;
  std::string lower(name.substr(kArchPrefix.size()));
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return seccomp_arch_resolve_name(lower.c_str());
}

// Whether seccomp(2) takes these filter flags (see supported_seccomp_flag_names).
bool kernel_takes_flags(unsigned long flags) {
  long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, nullptr);
  return rc < 0 && errno == EFAULT;
}

scmp_compare to_scmp_op(config::SeccompOp op) {
  switch (op) {
    case config::SeccompOp::kNotEqual: return SCMP_CMP_NE;
    case config::SeccompOp::kLessThan: return SCMP_CMP_LT;
    case config::SeccompOp::kLessEqual: return SCMP_CMP_LE;
    case config::SeccompOp::kEqualTo: return SCMP_CMP_EQ;
    case config::SeccompOp::kGreaterEqual: return SCMP_CMP_GE;
    case config::SeccompOp::kGreaterThan: return SCMP_CMP_GT;
    case config::SeccompOp::kMaskedEqual: return SCMP_CMP_MASKED_EQ;
  }
  return _SCMP_CMP_MIN;  // unreachable: the enum is closed
}

Result<void> add_architectures(scmp_filter_ctx ctx, const std::vector<std::string>& names) {
  for (const auto& name : names) {
    std::string_view v = name;
    uint32_t token = 0;
    if (v.starts_with(kArchPrefix)) {
      std::string lower(v.substr(kArchPrefix.size()));
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      token = seccomp_arch_resolve_name(lower.c_str());
    }
    if (token == 0) return fail(0, "unknown seccomp architecture \"{}\"", name);
    int rc = seccomp_arch_add(ctx, token);
    if (rc == -EDOM)  // libseccomp cannot mix byte orders in one filter
      return fail(0, "seccomp architecture \"{}\" differs in byte order from the native one", name);
    if (rc < 0 && rc != -EEXIST) return fail(-rc, "add seccomp architecture \"{}\"", name);
  }
  return ok();
}

Result<unsigned long> translate_flags(const std::vector<std::string>& names) {
  unsigned long out = 0;
  for (const auto& name : names) {
    const FlagName* found = nullptr;
    for (const auto& f : kFlags)
      if (f.name == name) found = &f;
    if (found == nullptr) return fail(0, "seccomp flag \"{}\" is not supported", name);
    out |= found->kernel_flag;
  }
  return out;
}

// The rules that share no argument index go in as one rule (AND); when two
// conditions test the same index, runc adds each condition as its own rule,
// which makes the whole list an OR. We keep that documented behaviour.
Result<void> add_rule(scmp_filter_ctx ctx, const config::SeccompRule& rule, uint32_t action,
                      const std::string& name, int nr) {
  std::vector<scmp_arg_cmp> conds;
  unsigned per_index[kMaxSyscallArgs] = {};
  bool shared_index = false;
  for (const auto& a : rule.args) {
    if (a.index >= kMaxSyscallArgs)
      return fail(0, "seccomp rule for syscall \"{}\": argument index {} is out of range", name,
                  a.index);
    shared_index |= ++per_index[a.index] > 1;
    conds.push_back(scmp_arg_cmp{a.index, to_scmp_op(a.op), a.value, a.value_two});
  }
  auto added = [&](int rc) -> Result<void> {
    if (rc < 0) return fail(-rc, "add seccomp rule for syscall \"{}\"", name);
    return ok();
  };
  if (!shared_index)
    return added(
        seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(conds.size()), conds.data()));
  for (const auto& c : conds) HUSK_TRY(added(seccomp_rule_add_array(ctx, action, nr, 1, &c)));
  return ok();
}

Result<void> add_rules(scmp_filter_ctx ctx, const config::Seccomp& cfg, uint32_t default_action) {
  for (const auto& rule : cfg.syscalls) {
    uint32_t action = seccomp_action_value(rule.action, rule.errno_ret);
    // libseccomp rejects a rule that repeats the default action; it is a no-op anyway.
    if (action == default_action) continue;
    for (const auto& name : rule.names) {
      if (name.empty()) return fail(0, "seccomp rule has an empty syscall name");
      if (rule.action == SeccompAction::kNotify && name == "write")
        return fail(0, "SCMP_ACT_NOTIFY cannot be used for the write syscall");
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) continue;  // unknown to libseccomp: skipped, as runc does
      HUSK_TRY(add_rule(ctx, rule, action, name, nr));
    }
  }
  return ok();
}

// --- The ENOSYS stub (see build_seccomp_filter) ---

// x32 syscalls reach the filter as AUDIT_ARCH_X86_64 with this bit set in the number.
constexpr uint32_t kX32SyscallBit = 0x40000000;

// One architecture the kernel may report, with the highest syscall number the
// profile names for it: `low` below kX32SyscallBit, `high` at or above it (x32).
struct StubArch {
  uint32_t audit_arch;
  std::optional<uint32_t> low;
  std::optional<uint32_t> high;
};

// Whether the profile's default turns away a syscall it does not name: only
// then can an unnamed new syscall be given ENOSYS instead.
bool default_denies(const config::Seccomp& cfg) {
  switch (cfg.default_action) {
    case SeccompAction::kAllow:
    case SeccompAction::kLog: return false;
    case SeccompAction::kErrno: return cfg.default_errno_ret.value_or(EPERM) != ENOSYS;
    default: return true;
  }
}

// The highest number any name of the profile has on `arch`, if any.
std::optional<uint32_t> highest_syscall(const config::Seccomp& cfg, uint32_t arch) {
  std::optional<uint32_t> top;
  for (const auto& rule : cfg.syscalls) {
    for (const auto& name : rule.names) {
      // Negative: unknown, or a pseudo number for a multiplexed call (x86 socketcall).
      int nr = seccomp_syscall_resolve_name_arch(arch, name.c_str());
      if (nr >= 0 && (!top || static_cast<uint32_t>(nr) > *top)) top = static_cast<uint32_t>(nr);
    }
  }
  return top;
}

// The architectures of the filter, as the kernel reports them, with their limits.
std::vector<StubArch> stub_arches(scmp_filter_ctx ctx, const config::Seccomp& cfg) {
  std::vector<StubArch> out;
  auto entry = [&out](uint32_t audit_arch) -> StubArch& {
    for (auto& a : out)
      if (a.audit_arch == audit_arch) return a;
    return out.emplace_back(StubArch{audit_arch, {}, {}});
  };
  for (const auto& a : kArches) {
    if (seccomp_arch_exist(ctx, a.token) != 0) continue;
    std::optional<uint32_t> top = highest_syscall(cfg, a.token);
    if (!top) continue;
    if (a.token == SCMP_ARCH_X32) {
      entry(SCMP_ARCH_X86_64).high = top;  // libseccomp numbers x32 calls with the bit set
    } else {
      entry(a.token).low = top;
    }
  }
  return out;
}

sock_filter insn(uint16_t code, uint32_t k, uint8_t jt = 0, uint8_t jf = 0) {
  return sock_filter{code, jt, jf, k};
}

// The stub, laid out as:
//   ld arch
//   per architecture: jeq ARCH,0,skip; ld nr; [jset X32_BIT]; jgt MAX -> enosys, else -> filter
//   ja filter            (an architecture without an entry)
//   enosys: ret ERRNO(ENOSYS)
//   filter: libseccomp's program
// Every jump is forward and short: the stub is at most a few dozen instructions.
std::vector<uint8_t> enosys_stub(const std::vector<StubArch>& arches) {
  if (arches.empty()) return {};
  size_t size = 1 + 2;
  for (const auto& a : arches) size += a.audit_arch == SCMP_ARCH_X86_64 ? 5 : 3;
  const size_t enosys = size - 1, filter = size;
  std::vector<sock_filter> code;
  code.reserve(size);
  auto to = [&code](size_t target) {  // the offset from the next instruction to `target`
    return static_cast<uint8_t>(target - code.size() - 1);
  };
  // jgt max: ENOSYS above it, libseccomp's program otherwise; no max: the program.
  auto limit = [&](const std::optional<uint32_t>& max) {
    if (max) {
      code.push_back(insn(BPF_JMP | BPF_JGT | BPF_K, *max, to(enosys), to(filter)));
    } else {
      code.push_back(insn(BPF_JMP | BPF_JA | BPF_K, to(filter)));
    }
  };
  code.push_back(insn(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
  for (const auto& a : arches) {
    bool split = a.audit_arch == SCMP_ARCH_X86_64;
    code.push_back(insn(BPF_JMP | BPF_JEQ | BPF_K, a.audit_arch, 0, split ? 4 : 2));
    code.push_back(insn(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
    if (split) {
      code.push_back(insn(BPF_JMP | BPF_JSET | BPF_K, kX32SyscallBit, 0, 1));
      limit(a.high);
    }
    limit(a.low);
  }
  code.push_back(insn(BPF_JMP | BPF_JA | BPF_K, to(filter)));
  code.push_back(insn(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)));
  std::vector<uint8_t> out(code.size() * sizeof(sock_filter));
  std::memcpy(out.data(), code.data(), out.size());
  return out;
}

bool any_notify(const config::Seccomp& cfg) {
  for (const auto& rule : cfg.syscalls)
    if (rule.action == SeccompAction::kNotify) return true;
  return false;
}

}  // namespace

SeccompFilter::SeccompFilter(SeccompFilter&& o) noexcept
    : ctx_(std::exchange(o.ctx_, nullptr)),
      load_flags_(o.load_flags_),
      uses_notify_(o.uses_notify_),
      enosys_stub_(std::move(o.enosys_stub_)) {}

SeccompFilter& SeccompFilter::operator=(SeccompFilter&& o) noexcept {
  if (this != &o) {
    if (ctx_ != nullptr) seccomp_release(ctx_);
    ctx_ = std::exchange(o.ctx_, nullptr);
    load_flags_ = o.load_flags_;
    uses_notify_ = o.uses_notify_;
    enosys_stub_ = std::move(o.enosys_stub_);
  }
  return *this;
}

SeccompFilter::~SeccompFilter() {
  if (ctx_ != nullptr) seccomp_release(ctx_);
}

uint32_t seccomp_action_value(SeccompAction action, std::optional<uint32_t> errno_ret) {
  switch (action) {
    case SeccompAction::kKill:
    case SeccompAction::kKillThread: return SCMP_ACT_KILL_THREAD;
    case SeccompAction::kKillProcess: return SCMP_ACT_KILL_PROCESS;
    case SeccompAction::kTrap: return SCMP_ACT_TRAP;
    case SeccompAction::kErrno: return SCMP_ACT_ERRNO(errno_ret.value_or(EPERM));
    case SeccompAction::kTrace: return SCMP_ACT_TRACE(errno_ret.value_or(EPERM));
    case SeccompAction::kAllow: return SCMP_ACT_ALLOW;
    case SeccompAction::kLog: return SCMP_ACT_LOG;
    case SeccompAction::kNotify: return SCMP_ACT_NOTIFY;
  }
  return SCMP_ACT_KILL_PROCESS;  // unreachable: the enum is closed
}

Result<SeccompFilter> build_seccomp_filter(const config::Seccomp& cfg) {
  // The notify fd reaches the runtime through a syscall of ours, which must
  // not itself wait on the listener nobody holds yet.
  if (cfg.default_action == SeccompAction::kNotify)
    return fail(0, "SCMP_ACT_NOTIFY cannot be used as the default seccomp action");
  uint32_t default_action = seccomp_action_value(cfg.default_action, cfg.default_errno_ret);
  SeccompFilter filter;
  filter.ctx_ = seccomp_init(default_action);
  if (filter.ctx_ == nullptr) return fail(EINVAL, "create seccomp filter");
  HUSK_TRY_ASSIGN(unsigned long flags, translate_flags(cfg.flags));
  filter.uses_notify_ = any_notify(cfg);
  if (filter.uses_notify_) {
    flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
  } else {
    // The kernel refuses WAIT_KILLABLE_RECV without a listener; it means nothing then.
    flags &= ~static_cast<unsigned long>(SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
  }
  filter.load_flags_ = flags;
  // no_new_privs is the caller's business (finalize_process), never libseccomp's.
  if (int rc = seccomp_attr_set(filter.ctx_, SCMP_FLTATR_CTL_NNP, 0); rc < 0)
    return fail(-rc, "clear seccomp no_new_privs attribute");
  if (cfg.syscalls.size() > kOptimizeAbove)
    (void)seccomp_attr_set(filter.ctx_, SCMP_FLTATR_CTL_OPTIMIZE, 2);  // optional speed-up
  HUSK_TRY(add_architectures(filter.ctx_, cfg.architectures));
  HUSK_TRY(add_rules(filter.ctx_, cfg, default_action));
  if (default_denies(cfg)) filter.enosys_stub_ = enosys_stub(stub_arches(filter.ctx_, cfg));
  return filter;
}

Result<std::vector<uint8_t>> export_bpf(const SeccompFilter& filter) {
  if (filter.ctx() == nullptr) return fail(EINVAL, "export seccomp filter: empty filter");
  UniqueFd fd(::memfd_create("husk-seccomp", MFD_CLOEXEC));
  if (!fd) return fail_errno("export seccomp filter: memfd_create");
  if (int rc = seccomp_export_bpf(filter.ctx(), fd.get()); rc < 0)
    return fail(-rc, "export seccomp filter");
  std::vector<uint8_t> out = filter.enosys_stub();
  uint8_t buf[4096];
  for (off_t off = 0;;) {
    ssize_t n = ::pread(fd.get(), buf, sizeof buf, off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("export seccomp filter: read");
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
    off += n;
  }
  if (out.size() == filter.enosys_stub().size() || out.size() % sizeof(sock_filter) != 0)
    return fail(EIO, "export seccomp filter: bad program size {}", out.size());
  return out;
}

std::vector<std::string> seccomp_architecture_names() {
  std::vector<std::string> out;
  for (const auto& a : kArches)
    if (resolve_arch_name(a.name) == a.token) out.emplace_back(a.name);
  return out;
}

std::vector<std::string_view> seccomp_flag_names() {
  std::vector<std::string_view> out;
  for (const auto& f : kFlags) out.push_back(f.name);
  return out;
}

std::vector<std::string_view> supported_seccomp_flag_names() {
  std::vector<std::string_view> out;
  for (const auto& f : kFlags) {
    unsigned long flags = f.kernel_flag;
    if (flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    if (kernel_takes_flags(flags)) out.push_back(f.name);
  }
  return out;
}

std::string libseccomp_version() {
  const scmp_version* v = seccomp_version();
  if (v == nullptr) return {};
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro);
}

Result<CompiledSeccomp> compile_seccomp(const config::Seccomp& cfg) {
  HUSK_TRY_ASSIGN(SeccompFilter filter, build_seccomp_filter(cfg));
  HUSK_TRY_ASSIGN(std::vector<uint8_t> program, export_bpf(filter));
  return CompiledSeccomp{std::move(program), filter.load_flags(), filter.uses_notify()};
}

std::string seccomp_cache_key(const config::Seccomp& cfg) {
  // One line per field; strings are length-prefixed, so no two profiles share a key.
  std::string key = fmt::format("husk-seccomp-key 2\nlibseccomp {} api {}\n", libseccomp_version(),
                                seccomp_api_get());
  auto str = [&key](std::string_view s) { key += fmt::format("{}:{} ", s.size(), s); };
  auto opt = [&key](const std::optional<uint32_t>& v) {
    key += v ? fmt::format("{} ", *v) : std::string("- ");
  };
  key += fmt::format("default {} ", static_cast<int>(cfg.default_action));
  opt(cfg.default_errno_ret);
  key += "\narches ";
  for (const auto& a : cfg.architectures) str(a);
  key += "\nflags ";
  for (const auto& f : cfg.flags) str(f);
  key += "\nlistener ";
  str(cfg.listener_path);
  str(cfg.listener_metadata);
  for (const auto& rule : cfg.syscalls) {
    key += fmt::format("\nrule {} ", static_cast<int>(rule.action));
    opt(rule.errno_ret);
    key += "names ";
    for (const auto& n : rule.names) str(n);
    key += "args ";
    for (const auto& a : rule.args)
      key += fmt::format("{},{},{},{} ", a.index, a.value, a.value_two, static_cast<int>(a.op));
  }
  key += '\n';
  return key;
}

Result<UniqueFd> load_seccomp(const CompiledSeccomp& compiled) {
  size_t count = compiled.program.size() / sizeof(sock_filter);
  if (count == 0 || compiled.program.size() % sizeof(sock_filter) != 0)
    return fail(EINVAL, "load seccomp filter: bad program size {}", compiled.program.size());
  if (count > BPF_MAXINSNS)
    return fail(E2BIG, "seccomp filter has {} instructions, the kernel takes at most {}", count,
                BPF_MAXINSNS);
  // The kernel reads the bytes as they are (the vector's block is aligned for
  // any type): no copy, so nothing is freed between the load and the notify
  // fd's hand-off (process.h), where every syscall may go to the agent.
  auto* insns = reinterpret_cast<sock_filter*>(const_cast<uint8_t*>(compiled.program.data()));
  sock_fprog prog{static_cast<unsigned short>(count), insns};
  unsigned long flags = compiled.load_flags;
  if (compiled.uses_notify) flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
  long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  if (rc < 0) return fail_errno("load seccomp filter");
  // With a listener the kernel returns its fd, already close-on-exec.
  if (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) return UniqueFd(static_cast<int>(rc));
  return UniqueFd();
}

Result<UniqueFd> load_seccomp(const config::Seccomp& cfg) {
  HUSK_TRY_ASSIGN(CompiledSeccomp compiled, compile_seccomp(cfg));
  return load_seccomp(compiled);
}

}  // namespace husk::linux
