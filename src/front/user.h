// `husk run -u USER[:GROUP]`: numbers or names, resolved against the
// container root's /etc/passwd and /etc/group like docker does. Pure: the
// caller hands in the files' text (or nothing when they are absent).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace husk::cli {

struct ResolvedUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;  // the primary gid, then the groups that list the user
  std::string home;
  std::string name;  // empty when the uid has no passwd entry
};

// Text of a root's account files; nullopt when the file does not exist.
struct AccountFiles {
  std::optional<std::string> passwd;
  std::optional<std::string> group;
};

// Resolves the -u value. Empty spec means root. A numeric uid without a
// passwd entry gets gid 0 and HOME "/" (docker's choice); a name that is not
// in /etc/passwd (or a group not in /etc/group) is an ENOENT error. Malformed lines of the files are skipped, as
// libc does.
Result<ResolvedUser> resolve_user(std::string_view spec, const AccountFiles& files);

}  // namespace husk::cli
