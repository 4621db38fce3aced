// OCI mount options ("nosuid", "rbind", "rro", "mode=755", ...) split into what
// mount(2) and mount_setattr(2) take, accepting exactly the words runc accepts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/container.h"

namespace husk::spec {

struct MountOptions {
  unsigned long flags = 0;        // MS_* to set
  unsigned long clear_flags = 0;  // MS_* named as cleared ("rw", "suid", "dev", ...)
  unsigned long propagation = 0;  // last propagation word: MS_SHARED/... (| MS_REC)
  uint64_t recursive_set = 0;     // MOUNT_ATTR_* for "rro", "rnosuid", ...
  uint64_t recursive_clear = 0;
  std::string data;               // everything else, comma-separated, in order
  bool idmap = false;             // "idmap" or "ridmap"
  bool idmap_recursive = false;   // "ridmap"
  bool tmpcopyup = false;         // runc extension: copy the old contents into a tmpfs
};

// Later words override earlier ones ("ro,rw" is read-write), as in runc.
MountOptions parse_mount_options(const std::vector<std::string>& options);

// Fills m's flags, clear_flags, propagation, recursive_*, data and idmap fields
// from m.options. A mount with MS_BIND gets type "bind" whatever type it named:
// the kernel ignores the type of a bind mount and later layers test for "bind".
void apply_mount_options(config::Mount& m);

// Every option word with a meaning of its own (runc `features` lists these).
std::vector<std::string_view> known_mount_options();

}  // namespace husk::spec
