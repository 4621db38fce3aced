#include "image/passwd.h"

#include <algorithm>
#include <charconv>

namespace husk::image {
namespace {

struct Entry {
  std::string_view name;
  uint32_t id = 0, gid = 0;        // passwd: uid, gid; group: gid
  std::string_view home, members;  // passwd: home; group: the member list
};

enum class Num { kNo, kYes, kRange };

// All digits: a number (kRange when above kMaxId); anything else is a name.
Num parse_id(std::string_view s, uint32_t& out) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return Num::kNo;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > kMaxId) return Num::kRange;
  out = static_cast<uint32_t>(v);
  return Num::kYes;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (size_t start = 0;;) {
    size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string_view::npos ? at : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

std::string_view trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// Well-formed entries of a passwd (`group` false) or group file, in file order.
std::vector<Entry> parse_file(std::string_view text, bool group) {
  std::vector<Entry> out;
  for (std::string_view raw : split(text, '\n')) {
    if (raw.size() > kMaxIdLineBytes) continue;
    std::string_view line = trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == '+' || line[0] == '-') continue;
    if (line.find('\0') != std::string_view::npos) continue;
    auto f = split(line, ':');
    Entry e;
    e.name = f[0];
    if (e.name.empty() || f.size() < (group ? 3u : 4u)) continue;
    if (parse_id(f[2], e.id) != Num::kYes) continue;
    if (group) {
      e.members = f.size() > 3 ? f[3] : std::string_view();
    } else {
      if (parse_id(f[3], e.gid) != Num::kYes) continue;
      e.home = f.size() > 5 ? f[5] : std::string_view();
    }
    out.push_back(e);
  }
  return out;
}

Result<void> check_size(std::optional<std::string_view> text, std::string_view path) {
  if (text && text->size() > kMaxIdFileBytes)
    return fail_quiet(EFBIG, "{}: larger than {} bytes", path, kMaxIdFileBytes);
  return ok();
}

bool lists(std::string_view members, std::string_view name) {
  for (std::string_view m : split(members, ','))
    if (trim(m) == name) return true;
  return false;
}

// The user part: sets uid, gid, home; returns the matched name ("" when none).
Result<std::string> resolve_user_part(std::string_view user, std::string_view spec,
                                      std::optional<std::string_view> passwd, ExecUser& out) {
  uint32_t uid = 0;
  Num num = user.empty() ? Num::kYes : parse_id(user, uid);
  if (num == Num::kRange)
    return fail_quiet(EINVAL, "user \"{}\": uid out of range 0-{}", spec, kMaxId);
  std::vector<Entry> entries = passwd ? parse_file(*passwd, false) : std::vector<Entry>{};
  for (const Entry& e : entries) {
    if (num == Num::kYes ? e.id == uid : e.name == user) {
      out.uid = e.id, out.gid = e.gid;
      out.home = e.home.empty() ? "/" : std::string(e.home);
      return std::string(e.name);
    }
  }
  if (num == Num::kYes) {
    out.uid = uid;
    return std::string();
  }
  if (!passwd) return fail_quiet(ENOENT, "user \"{}\": no /etc/passwd in the image", user);
  return fail_quiet(ENOENT, "user \"{}\": no such user in /etc/passwd", user);
}

}  // namespace

Result<ExecUser> resolve_user(std::string_view spec, std::optional<std::string_view> passwd,
                              std::optional<std::string_view> group) {
  HUSK_TRY(check_size(passwd, "/etc/passwd"));
  HUSK_TRY(check_size(group, "/etc/group"));
  if (spec.find('\0') != std::string_view::npos || std::count(spec.begin(), spec.end(), ':') > 1)
    return fail_quiet(EINVAL, "user \"{}\": not user[:group]", spec);
  size_t colon = spec.find(':');
  std::string_view user = spec.substr(0, colon);
  std::string_view grp = colon == std::string_view::npos ? "" : spec.substr(colon + 1);
  if (colon != std::string_view::npos && grp.empty())
    return fail_quiet(EINVAL, "user \"{}\": empty group", spec);
  ExecUser out;
  std::string name = HUSK_TRY(resolve_user_part(user, spec, passwd, out));
  std::vector<Entry> groups = group ? parse_file(*group, true) : std::vector<Entry>{};
  if (!grp.empty()) {
    uint32_t gid = 0;
    Num num = parse_id(grp, gid);
    if (num == Num::kRange)
      return fail_quiet(EINVAL, "group \"{}\": gid out of range 0-{}", grp, kMaxId);
    auto it = std::find_if(groups.begin(), groups.end(), [&](const Entry& g) {
      return num == Num::kYes ? g.id == gid : g.name == grp;
    });
    if (it != groups.end()) {
      out.gid = it->id;
    } else if (num == Num::kYes) {
      out.gid = gid;
    } else {
      if (!group) return fail_quiet(ENOENT, "group \"{}\": no /etc/group in the image", grp);
      return fail_quiet(ENOENT, "group \"{}\": no such group in /etc/group", grp);
    }
  } else if (!name.empty()) {
    for (const Entry& g : groups)
      if (lists(g.members, name) &&
          std::find(out.sgids.begin(), out.sgids.end(), g.id) == out.sgids.end())
        out.sgids.push_back(g.id);
  }
  return out;
}

}  // namespace husk::image
