// config.json "linux.seccomp": names resolved to enums; the filter itself is
// compiled by the linux layer.
#include <array>

#include "spec/config_parts.h"

namespace husk::spec::detail {
namespace {

using config::SeccompAction;
using config::SeccompOp;

struct ActionName {
  std::string_view name;
  SeccompAction action;
};

constexpr std::array<ActionName, 9> kActions = {{
    {"SCMP_ACT_KILL", SeccompAction::kKill},
    {"SCMP_ACT_KILL_PROCESS", SeccompAction::kKillProcess},
    {"SCMP_ACT_KILL_THREAD", SeccompAction::kKillThread},
    {"SCMP_ACT_TRAP", SeccompAction::kTrap},
    {"SCMP_ACT_ERRNO", SeccompAction::kErrno},
    {"SCMP_ACT_TRACE", SeccompAction::kTrace},
    {"SCMP_ACT_ALLOW", SeccompAction::kAllow},
    {"SCMP_ACT_LOG", SeccompAction::kLog},
    {"SCMP_ACT_NOTIFY", SeccompAction::kNotify},
}};

struct OpName {
  std::string_view name;
  SeccompOp op;
};

constexpr std::array<OpName, 7> kOps = {{
    {"SCMP_CMP_NE", SeccompOp::kNotEqual},
    {"SCMP_CMP_LT", SeccompOp::kLessThan},
    {"SCMP_CMP_LE", SeccompOp::kLessEqual},
    {"SCMP_CMP_EQ", SeccompOp::kEqualTo},
    {"SCMP_CMP_GE", SeccompOp::kGreaterEqual},
    {"SCMP_CMP_GT", SeccompOp::kGreaterThan},
    {"SCMP_CMP_MASKED_EQ", SeccompOp::kMaskedEqual},
}};

Result<SeccompAction> parse_action(const Node& n) {
  HUSK_TRY_ASSIGN(std::string name, n.str());
  for (const auto& a : kActions)
    if (a.name == name) return a.action;
  return n.fail("unknown seccomp action {:?}", name);
}

Result<config::SeccompArg> parse_arg(const Node& n) {
  if (!n.present()) return n.type_error("an object");
  HUSK_TRY(n.expect_object());
  config::SeccompArg a;
  HUSK_TRY_ASSIGN(a.index, n["index"].integer<unsigned>());
  if (a.index > 5) return n["index"].fail("{} is not a syscall argument index (0..5)", a.index);
  HUSK_TRY_ASSIGN(a.value, n["value"].integer<uint64_t>());
  a.value_two = HUSK_TRY(n["valueTwo"].optional_integer<uint64_t>()).value_or(0);
  HUSK_TRY_ASSIGN(std::string op, n["op"].str());
  const OpName* known = nullptr;
  for (const auto& o : kOps)
    if (o.name == op) known = &o;
  if (known == nullptr) return n["op"].fail("unknown seccomp operator {:?}", op);
  a.op = known->op;
  return a;
}

Result<config::SeccompRule> parse_rule(const Node& n) {
  if (!n.present()) return n.type_error("an object");
  HUSK_TRY(n.expect_object());
  config::SeccompRule r;
  HUSK_TRY_ASSIGN(r.names, n["names"].strings());
  if (r.names.empty()) return n["names"].fail("must not be empty");
  HUSK_TRY_ASSIGN(r.action, parse_action(n["action"]));
  HUSK_TRY_ASSIGN(r.errno_ret, n["errnoRet"].optional_integer<uint32_t>());
  HUSK_TRY_ASSIGN(size_t count, n["args"].size());
  for (size_t i = 0; i < count; ++i) r.args.push_back(HUSK_TRY(parse_arg(n["args"].at(i))));
  return r;
}

// runc's rules for user notification: never the default action, never for
// write(2) (the runtime itself writes while the listener is being set up),
// and a listener socket is needed to hand the fd to.
Result<void> check_notify(const Node& n, const config::Seccomp& s) {
  if (s.default_action == SeccompAction::kNotify)
    return n["defaultAction"].fail("SCMP_ACT_NOTIFY cannot be the default action");
  bool notify = false;
  for (size_t i = 0; i < s.syscalls.size(); ++i) {
    if (s.syscalls[i].action != SeccompAction::kNotify) continue;
    notify = true;
    for (const auto& name : s.syscalls[i].names)
      if (name == "write")
        return n["syscalls"].at(i).fail("SCMP_ACT_NOTIFY cannot be used for the write syscall");
  }
  // runc 1.1 fails only once the init has loaded the filter, with
  // "listenerPath is not set"; the same words here, before anything exists.
  if (notify && s.listener_path.empty())
    return n.fail("listenerPath is not set (a rule uses SCMP_ACT_NOTIFY)");
  return ok();
}

}  // namespace

Result<config::Seccomp> parse_seccomp(const Node& n) {
  HUSK_TRY(n.expect_object());
  config::Seccomp s;
  HUSK_TRY_ASSIGN(s.default_action, parse_action(n["defaultAction"]));
  HUSK_TRY_ASSIGN(s.default_errno_ret, n["defaultErrnoRet"].optional_integer<uint32_t>());
  HUSK_TRY_ASSIGN(s.architectures, n["architectures"].strings());
  HUSK_TRY_ASSIGN(s.flags, n["flags"].strings());
  HUSK_TRY_ASSIGN(s.listener_path, n["listenerPath"].str_or(""));
  HUSK_TRY_ASSIGN(s.listener_metadata, n["listenerMetadata"].str_or(""));
  HUSK_TRY_ASSIGN(size_t count, n["syscalls"].size());
  for (size_t i = 0; i < count; ++i)
    s.syscalls.push_back(HUSK_TRY(parse_rule(n["syscalls"].at(i))));
  HUSK_TRY(check_notify(n, s));
  return s;
}

std::vector<std::string_view> seccomp_action_names() {
  std::vector<std::string_view> out;
  for (const auto& a : kActions) out.push_back(a.name);
  return out;
}

std::vector<std::string_view> seccomp_operator_names() {
  std::vector<std::string_view> out;
  for (const auto& o : kOps) out.push_back(o.name);
  return out;
}

}  // namespace husk::spec::detail
