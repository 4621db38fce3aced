// A user spec (`-u`, the image's User) resolved as runc's GetExecUser does, against the text of
// the image's /etc/passwd and /etc/group (the caller reads them safely from the rootfs; nullopt
// when the file does not exist).
//
//   "" / "name" / "uid" / "name:group" / "uid:gid" / "name:gid" / "uid:group" / ":group"
//
// A numeric user is always a uid, looked up for its gid and home; a uid with no passwd entry
// runs with gid 0 and home "/". An empty user part is uid 0. A name not found is an error
// naming the file. A group part sets the gid (a number not in /etc/group is taken as it is);
// without one, the supplementary gids are those of the groups listing the user by name. Ids
// are 0..2147483647. The files are hostile: lines over 4096 bytes, comments, NIS (+/-) lines
// and malformed lines (no name, a non-numeric id) are skipped; each file is at most 8 MiB.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace husk::image {

inline constexpr size_t kMaxIdFileBytes = 8 << 20;
inline constexpr size_t kMaxIdLineBytes = 4096;
inline constexpr uint32_t kMaxId = 2147483647;

struct ExecUser {
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> sgids;  // file order, each once
  std::string home = "/";
  friend bool operator==(const ExecUser&, const ExecUser&) = default;
};

Result<ExecUser> resolve_user(std::string_view spec, std::optional<std::string_view> passwd,
                              std::optional<std::string_view> group);

}  // namespace husk::image
