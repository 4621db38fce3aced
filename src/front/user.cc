#include "front/user.h"

#include <cerrno>

namespace husk::cli {
namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

// A decimal id in [0, 2^32-2]; (uint32_t)-1 means "no change" to setuid.
std::optional<uint32_t> parse_id(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v >= UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(v);
}

bool is_number(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string home;
};

// Finds the entry whose name (or, for a number, uid) matches; malformed
// lines are skipped as libc does.
std::optional<PasswdEntry> find_passwd(const std::optional<std::string>& text,
                                       std::string_view key) {
  if (!text) return std::nullopt;
  bool by_id = is_number(key);
  for (auto line : split(*text, '\n')) {
    auto f = split(line, ':');
    if (f.size() < 7 || f[0].empty()) continue;
    auto uid = parse_id(f[2]);
    auto gid = parse_id(f[3]);
    if (!uid || !gid) continue;
    if (by_id ? parse_id(key) == uid : f[0] == key)
      return PasswdEntry{std::string(f[0]), *uid, *gid, std::string(f[5])};
  }
  return std::nullopt;
}

std::optional<uint32_t> find_group_id(const std::optional<std::string>& text,
                                      std::string_view name) {
  if (!text) return std::nullopt;
  for (auto line : split(*text, '\n')) {
    auto f = split(line, ':');
    if (f.size() < 4 || f[0] != name) continue;
    if (auto gid = parse_id(f[2])) return gid;
  }
  return std::nullopt;
}

std::vector<uint32_t> member_groups(const std::optional<std::string>& text, std::string_view user,
                                    uint32_t primary) {
  std::vector<uint32_t> out;
  if (!text || user.empty()) return out;
  for (auto line : split(*text, '\n')) {
    auto f = split(line, ':');
    if (f.size() < 4) continue;
    auto gid = parse_id(f[2]);
    if (!gid || *gid == primary) continue;
    for (auto member : split(f[3], ','))
      if (member == user) {
        out.push_back(*gid);
        break;
      }
  }
  return out;
}

}  // namespace

Result<ResolvedUser> resolve_user(std::string_view spec, const AccountFiles& files) {
  ResolvedUser out;
  out.home = "/root";
  if (spec.empty()) return out;

  size_t colon = spec.find(':');
  std::string_view user = spec.substr(0, colon);
  std::optional<std::string_view> group;
  if (colon != std::string_view::npos) group = spec.substr(colon + 1);
  if (user.empty() || (group && group->empty()))
    return fail(0, "-u \"{}\": expected UID[:GID] or NAME[:GROUP]", spec);

  auto entry = find_passwd(files.passwd, user);
  if (is_number(user)) {
    auto uid = parse_id(user);
    if (!uid) return fail(0, "-u \"{}\": uid {} is out of range", spec, user);
    out.uid = *uid;
  } else if (!entry) {
    return fail_quiet(ENOENT, "-u \"{}\": no user \"{}\" in the container's /etc/passwd", spec,
                      user);
  }
  if (entry) {
    out = ResolvedUser{entry->uid, entry->gid, {}, entry->home, entry->name};
    if (out.home.empty()) out.home = "/";
  } else if (out.uid != 0) {
    out.home = "/";
  }

  if (group) {
    if (is_number(*group)) {
      auto gid = parse_id(*group);
      if (!gid) return fail(0, "-u \"{}\": gid {} is out of range", spec, *group);
      out.gid = *gid;
    } else if (auto gid = find_group_id(files.group, *group)) {
      out.gid = *gid;
    } else {
      return fail_quiet(ENOENT, "-u \"{}\": no group \"{}\" in the container's /etc/group",
                        spec, *group);
    }
  }
  // docker and podman: the primary group is also the first supplementary one
  // (`id` shows groups=GID), then the groups that list the user.
  out.additional_gids = {out.gid};
  for (uint32_t g : member_groups(files.group, out.name, out.gid)) out.additional_gids.push_back(g);
  return out;
}

}  // namespace husk::cli
