// config.json "process": user, capabilities, rlimits and the rest.

#include "base/log.h"
#include "spec/config_parts.h"
#include "spec/names.h"

namespace husk::spec::detail {
namespace {

Result<config::User> parse_user(const Node& n) {
  HUSK_TRY(n.expect_object());
  config::User u;
  // runtime-spec calls uid/gid required; runc (Go zero values) takes 0.
  HUSK_TRY_ASSIGN(auto uid, n["uid"].optional_integer<uint32_t>());
  HUSK_TRY_ASSIGN(auto gid, n["gid"].optional_integer<uint32_t>());
  u.uid = uid.value_or(0);
  u.gid = gid.value_or(0);
  HUSK_TRY_ASSIGN(u.umask, n["umask"].optional_integer<uint32_t>());
  if (u.umask && *u.umask > 0777) return n["umask"].fail("{:#o} is not a valid umask", *u.umask);
  HUSK_TRY_ASSIGN(u.additional_gids, n["additionalGids"].uint32s());
  HUSK_TRY_ASSIGN(u.username, n["username"].str_or(""));
  return u;
}

// Names the table knows become bits. Other "CAP_*" names are warned about and
// skipped, as runc does for capabilities it cannot map; anything else is an error.
Result<uint64_t> parse_capability_set(const Node& n) {
  HUSK_TRY_ASSIGN(size_t count, n.size());
  uint64_t bits = 0;
  for (size_t i = 0; i < count; ++i) {
    Node e = n.at(i);
    HUSK_TRY_ASSIGN(std::string name, e.str());
    if (auto cap = capability_from_name(name)) {
      bits |= uint64_t{1} << *cap;
    } else if (name.starts_with("CAP_") && name.size() > 4) {
      log::warn("{}: ignoring unknown capability {:?}", e.path(), name);
    } else {
      return e.fail("unknown capability {:?}", name);
    }
  }
  return bits;
}

Result<std::optional<config::Capabilities>> parse_capabilities(const Node& n) {
  HUSK_TRY(n.expect_object());
  if (!n.present()) return std::optional<config::Capabilities>();
  config::Capabilities c;
  HUSK_TRY_ASSIGN(c.bounding, parse_capability_set(n["bounding"]));
  HUSK_TRY_ASSIGN(c.effective, parse_capability_set(n["effective"]));
  HUSK_TRY_ASSIGN(c.inheritable, parse_capability_set(n["inheritable"]));
  HUSK_TRY_ASSIGN(c.permitted, parse_capability_set(n["permitted"]));
  HUSK_TRY_ASSIGN(c.ambient, parse_capability_set(n["ambient"]));
  return std::optional<config::Capabilities>(c);
}

Result<config::Rlimit> parse_rlimit(const Node& n) {
  if (!n.present()) return n.type_error("an object");
  HUSK_TRY(n.expect_object());
  config::Rlimit r;
  HUSK_TRY_ASSIGN(std::string type, n["type"].str());
  auto resource = rlimit_from_name(type);
  if (!resource) return n["type"].fail("unknown rlimit {:?}", type);
  r.resource = *resource;
  HUSK_TRY_ASSIGN(r.soft, n["soft"].integer<uint64_t>());
  HUSK_TRY_ASSIGN(r.hard, n["hard"].integer<uint64_t>());
  if (r.soft > r.hard) return n.fail("soft limit {} is greater than hard limit {}", r.soft, r.hard);
  return r;
}

Result<std::vector<config::Rlimit>> parse_rlimits(const Node& n) {
  HUSK_TRY_ASSIGN(size_t count, n.size());
  std::vector<config::Rlimit> out;
  for (size_t i = 0; i < count; ++i) {
    HUSK_TRY_ASSIGN(config::Rlimit r, parse_rlimit(n.at(i)));
    for (const auto& prev : out)
      if (prev.resource == r.resource)
        return n.at(i)["type"].fail("duplicate rlimit {:?}", rlimit_name(r.resource));
    out.push_back(r);
  }
  return out;
}

Result<std::vector<std::string>> parse_env(const Node& n) {
  HUSK_TRY_ASSIGN(std::vector<std::string> env, n.strings());
  for (size_t i = 0; i < env.size(); ++i) {
    auto eq = env[i].find('=');
    if (eq == std::string::npos)
      return n.at(i).fail("invalid environment variable {:?}: missing '='", env[i]);
    if (eq == 0) return n.at(i).fail("invalid environment variable {:?}: empty name", env[i]);
  }
  return env;
}

Result<std::optional<std::pair<unsigned, unsigned>>> parse_console_size(const Node& n) {
  HUSK_TRY(n.expect_object());
  if (!n.present()) return std::optional<std::pair<unsigned, unsigned>>();
  HUSK_TRY_ASSIGN(unsigned height, n["height"].integer<unsigned>());
  HUSK_TRY_ASSIGN(unsigned width, n["width"].integer<unsigned>());
  return std::optional<std::pair<unsigned, unsigned>>(std::pair(height, width));
}

}  // namespace

Result<config::Process> parse_process(const Node& n) {
  if (!n.present()) return n.fail("field is required");
  HUSK_TRY(n.expect_object());
  config::Process p;
  HUSK_TRY_ASSIGN(p.terminal, n["terminal"].boolean_or(false));
  HUSK_TRY_ASSIGN(p.console_size, parse_console_size(n["consoleSize"]));
  HUSK_TRY_ASSIGN(p.user, parse_user(n["user"]));
  HUSK_TRY_ASSIGN(p.args, n["args"].strings());
  HUSK_TRY_ASSIGN(p.env, parse_env(n["env"]));
  HUSK_TRY_ASSIGN(p.cwd, n["cwd"].str());
  HUSK_TRY_ASSIGN(p.capabilities, parse_capabilities(n["capabilities"]));
  HUSK_TRY_ASSIGN(p.rlimits, parse_rlimits(n["rlimits"]));
  HUSK_TRY_ASSIGN(p.no_new_privileges, n["noNewPrivileges"].boolean_or(false));
  HUSK_TRY_ASSIGN(p.apparmor_profile, n["apparmorProfile"].str_or(""));
  HUSK_TRY_ASSIGN(p.selinux_label, n["selinuxLabel"].str_or(""));
  HUSK_TRY_ASSIGN(p.oom_score_adj, n["oomScoreAdj"].optional_integer<int>());
  if (p.oom_score_adj && (*p.oom_score_adj < -1000 || *p.oom_score_adj > 1000))
    return n["oomScoreAdj"].fail("{} is outside -1000..1000", *p.oom_score_adj);
  HUSK_TRY_ASSIGN(p.scheduler, parse_scheduler(n["scheduler"]));
  HUSK_TRY_ASSIGN(p.io_priority, parse_io_priority(n["ioPriority"]));
  HUSK_TRY(parse_exec_cpu_affinity(n["execCPUAffinity"], p));
  return p;
}

}  // namespace husk::spec::detail
