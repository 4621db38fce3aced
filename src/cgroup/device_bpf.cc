#include "cgroup/device_bpf.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <string>

namespace husk::cgroup {
namespace {

constexpr int32_t kAllAccess = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

bpf_insn load_ctx_u32(uint8_t dst, int16_t off) {
  return insn(BPF_LDX | BPF_MEM | BPF_W, dst, BPF_REG_1, off, 0);
}
bpf_insn alu32_imm(uint8_t op, uint8_t dst, int32_t imm) {
  return insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}
bpf_insn mov32_reg(uint8_t dst, uint8_t src) {
  return insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0);
}
bpf_insn mov64_imm(uint8_t dst, int32_t imm) {
  return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
bpf_insn jump_imm(uint8_t op, uint8_t dst, int32_t imm) {
  return insn(BPF_JMP | op | BPF_K, dst, 0, 0, imm);  // offset patched by the block
}
bpf_insn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

int32_t access_bits(const std::string& access) {
  int32_t bits = 0;
  for (char ch : access) {
    if (ch == 'r') bits |= BPF_DEVCG_ACC_READ;
    if (ch == 'w') bits |= BPF_DEVCG_ACC_WRITE;
    if (ch == 'm') bits |= BPF_DEVCG_ACC_MKNOD;
  }
  return bits;
}

// One rule's block. Returns true when the block always decides, so nothing
// after it can run.
bool append_rule(std::vector<bpf_insn>& prog, const config::DeviceRule& rule) {
  std::vector<bpf_insn> block;
  std::vector<size_t> to_next;  // jumps to the end of this block
  auto jump_next = [&](uint8_t op, uint8_t reg, int32_t imm) {
    to_next.push_back(block.size());
    block.push_back(jump_imm(op, reg, imm));
  };
  if (rule.type != 'a') {
    jump_next(BPF_JNE, BPF_REG_2, rule.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
    if (rule.major) jump_next(BPF_JNE, BPF_REG_4, static_cast<int32_t>(*rule.major));
    if (rule.minor) jump_next(BPF_JNE, BPF_REG_5, static_cast<int32_t>(*rule.minor));
  }
  int32_t bits = access_bits(rule.access);
  bool all = bits == kAllAccess;
  if (rule.allow && !all) {
    // The bits this rule allows are decided; allow once none is left.
    block.push_back(alu32_imm(BPF_AND, BPF_REG_3, ~bits & kAllAccess));
    jump_next(BPF_JNE, BPF_REG_3, 0);
  } else if (!rule.allow && !all) {
    // Deny when any still-undecided requested bit is one this rule names.
    block.push_back(mov32_reg(BPF_REG_6, BPF_REG_3));
    block.push_back(alu32_imm(BPF_AND, BPF_REG_6, bits));
    jump_next(BPF_JEQ, BPF_REG_6, 0);
  }
  block.push_back(mov64_imm(BPF_REG_0, rule.allow ? 1 : 0));
  block.push_back(exit_insn());
  for (size_t at : to_next) block[at].off = static_cast<int16_t>(block.size() - at - 1);
  prog.insert(prog.end(), block.begin(), block.end());
  return to_next.empty();
}

long bpf(int cmd, bpf_attr& attr) { return ::syscall(__NR_bpf, cmd, &attr, sizeof attr); }

}  // namespace

std::vector<bpf_insn> device_filter_program(const std::vector<config::DeviceRule>& rules) {
  std::vector<bpf_insn> prog = {
      load_ctx_u32(BPF_REG_2, offsetof(bpf_cgroup_dev_ctx, access_type)),
      alu32_imm(BPF_AND, BPF_REG_2, 0xffff),
      load_ctx_u32(BPF_REG_3, offsetof(bpf_cgroup_dev_ctx, access_type)),
      alu32_imm(BPF_RSH, BPF_REG_3, 16),
      load_ctx_u32(BPF_REG_4, offsetof(bpf_cgroup_dev_ctx, major)),
      load_ctx_u32(BPF_REG_5, offsetof(bpf_cgroup_dev_ctx, minor)),
  };
  for (auto it = rules.rbegin(); it != rules.rend(); ++it)
    if (append_rule(prog, *it)) return prog;
  prog.push_back(mov64_imm(BPF_REG_0, 0));
  prog.push_back(exit_insn());
  return prog;
}

Result<UniqueFd> load_device_program(const std::vector<bpf_insn>& program) {
  static const char kLicense[] = "Apache";
  auto load = [&](char* log, uint32_t log_size) {
    bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = reinterpret_cast<uintptr_t>(program.data());
    attr.insn_cnt = static_cast<uint32_t>(program.size());
    attr.license = reinterpret_cast<uintptr_t>(kLicense);
    attr.log_buf = reinterpret_cast<uintptr_t>(log);
    attr.log_size = log_size;
    attr.log_level = log != nullptr ? 1 : 0;
    return bpf(BPF_PROG_LOAD, attr);
  };
  long fd = load(nullptr, 0);
  if (fd >= 0) return UniqueFd(static_cast<int>(fd));  // bpf fds are always O_CLOEXEC
  int err = errno;
  if (err != EACCES && err != EINVAL) return fail(err, "load the device filter");
  // Rerun with the verifier log: it says which instruction it refused.
  std::string log(65536, '\0');
  if (load(log.data(), static_cast<uint32_t>(log.size())) >= 0)
    return fail(err, "load the device filter");
  log.resize(std::strlen(log.c_str()));
  while (!log.empty() && log.back() == '\n') log.pop_back();
  if (auto nl = log.rfind('\n'); nl != std::string::npos && log.size() > 400)
    log = log.substr(nl + 1);
  return fail(err, "load the device filter: verifier: {}", log);
}

Result<void> attach_device_program(int cgroup_fd, int prog_fd) {
  std::vector<uint32_t> old_ids(64);
  bpf_attr q;
  std::memset(&q, 0, sizeof q);
  q.query.target_fd = static_cast<uint32_t>(cgroup_fd);
  q.query.attach_type = BPF_CGROUP_DEVICE;
  q.query.prog_ids = reinterpret_cast<uintptr_t>(old_ids.data());
  q.query.prog_cnt = static_cast<uint32_t>(old_ids.size());
  if (bpf(BPF_PROG_QUERY, q) < 0) return fail_errno("query the cgroup's device programs");
  old_ids.resize(q.query.prog_cnt);

  bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.target_fd = static_cast<uint32_t>(cgroup_fd);
  a.attach_bpf_fd = static_cast<uint32_t>(prog_fd);
  a.attach_type = BPF_CGROUP_DEVICE;
  a.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf(BPF_PROG_ATTACH, a) < 0) return fail_errno("attach the device filter");

  for (uint32_t id : old_ids) {
    bpf_attr g;
    std::memset(&g, 0, sizeof g);
    g.prog_id = id;
    long fd = bpf(BPF_PROG_GET_FD_BY_ID, g);
    if (fd < 0) {
      if (errno == ENOENT) continue;  // detached meanwhile
      return fail_errno("open device program {}", id);
    }
    UniqueFd old(static_cast<int>(fd));
    bpf_attr d;
    std::memset(&d, 0, sizeof d);
    d.target_fd = static_cast<uint32_t>(cgroup_fd);
    d.attach_bpf_fd = static_cast<uint32_t>(old.get());
    d.attach_type = BPF_CGROUP_DEVICE;
    if (bpf(BPF_PROG_DETACH, d) < 0 && errno != ENOENT)
      return fail_errno("detach the previous device program {}", id);
  }
  return ok();
}

Result<void> apply_device_rules_v2(int cgroup_fd, const std::vector<config::DeviceRule>& rules) {
  HUSK_TRY_ASSIGN(UniqueFd prog, load_device_program(device_filter_program(rules)));
  return attach_device_program(cgroup_fd, prog.get());
}

}  // namespace husk::cgroup
