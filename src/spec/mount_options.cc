#include "spec/mount_options.h"

#include <sys/mount.h>

namespace husk::spec {
namespace {

enum class Kind {
  kSet,          // MS_* flag set
  kClear,        // MS_* flag cleared
  kPropagation,  // replaces the propagation
  kRecSet,       // MOUNT_ATTR_* set on the whole tree
  kRecClear,     // MOUNT_ATTR_* cleared on the whole tree
  kIdmap,
  kRidmap,
  kTmpcopyup,
};

struct Option {
  std::string_view name;
  Kind kind;
  uint64_t value;
};

constexpr Option kOptions[] = {
    {"defaults", Kind::kSet, 0},
    {"ro", Kind::kSet, MS_RDONLY},
    {"rw", Kind::kClear, MS_RDONLY},
    {"nosuid", Kind::kSet, MS_NOSUID},
    {"suid", Kind::kClear, MS_NOSUID},
    {"nodev", Kind::kSet, MS_NODEV},
    {"dev", Kind::kClear, MS_NODEV},
    {"noexec", Kind::kSet, MS_NOEXEC},
    {"exec", Kind::kClear, MS_NOEXEC},
    {"sync", Kind::kSet, MS_SYNCHRONOUS},
    {"async", Kind::kClear, MS_SYNCHRONOUS},
    {"dirsync", Kind::kSet, MS_DIRSYNC},
    {"remount", Kind::kSet, MS_REMOUNT},
    {"mand", Kind::kSet, MS_MANDLOCK},
    {"nomand", Kind::kClear, MS_MANDLOCK},
    {"noatime", Kind::kSet, MS_NOATIME},
    {"atime", Kind::kClear, MS_NOATIME},
    {"nodiratime", Kind::kSet, MS_NODIRATIME},
    {"diratime", Kind::kClear, MS_NODIRATIME},
    {"relatime", Kind::kSet, MS_RELATIME},
    {"norelatime", Kind::kClear, MS_RELATIME},
    {"strictatime", Kind::kSet, MS_STRICTATIME},
    {"nostrictatime", Kind::kClear, MS_STRICTATIME},
    {"bind", Kind::kSet, MS_BIND},
    {"rbind", Kind::kSet, MS_BIND | MS_REC},
    {"acl", Kind::kSet, MS_POSIXACL},
    {"noacl", Kind::kClear, MS_POSIXACL},
    {"iversion", Kind::kSet, MS_I_VERSION},
    {"noiversion", Kind::kClear, MS_I_VERSION},
    {"lazytime", Kind::kSet, MS_LAZYTIME},
    {"nolazytime", Kind::kClear, MS_LAZYTIME},
    {"silent", Kind::kSet, MS_SILENT},
    {"loud", Kind::kClear, MS_SILENT},
    {"nosymfollow", Kind::kSet, MS_NOSYMFOLLOW},
    {"symfollow", Kind::kClear, MS_NOSYMFOLLOW},
    {"shared", Kind::kPropagation, MS_SHARED},
    {"rshared", Kind::kPropagation, MS_SHARED | MS_REC},
    {"slave", Kind::kPropagation, MS_SLAVE},
    {"rslave", Kind::kPropagation, MS_SLAVE | MS_REC},
    {"private", Kind::kPropagation, MS_PRIVATE},
    {"rprivate", Kind::kPropagation, MS_PRIVATE | MS_REC},
    {"unbindable", Kind::kPropagation, MS_UNBINDABLE},
    {"runbindable", Kind::kPropagation, MS_UNBINDABLE | MS_REC},
    {"rro", Kind::kRecSet, MOUNT_ATTR_RDONLY},
    {"rrw", Kind::kRecClear, MOUNT_ATTR_RDONLY},
    {"rnosuid", Kind::kRecSet, MOUNT_ATTR_NOSUID},
    {"rsuid", Kind::kRecClear, MOUNT_ATTR_NOSUID},
    {"rnodev", Kind::kRecSet, MOUNT_ATTR_NODEV},
    {"rdev", Kind::kRecClear, MOUNT_ATTR_NODEV},
    {"rnoexec", Kind::kRecSet, MOUNT_ATTR_NOEXEC},
    {"rexec", Kind::kRecClear, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", Kind::kRecSet, MOUNT_ATTR_NODIRATIME},
    {"rdiratime", Kind::kRecClear, MOUNT_ATTR_NODIRATIME},
    {"rrelatime", Kind::kRecSet, MOUNT_ATTR_RELATIME},
    {"rnorelatime", Kind::kRecClear, MOUNT_ATTR_RELATIME},
    {"rnoatime", Kind::kRecSet, MOUNT_ATTR_NOATIME},
    {"ratime", Kind::kRecClear, MOUNT_ATTR_NOATIME},
    {"rstrictatime", Kind::kRecSet, MOUNT_ATTR_STRICTATIME},
    {"rnostrictatime", Kind::kRecClear, MOUNT_ATTR_STRICTATIME},
    {"rnosymfollow", Kind::kRecSet, MOUNT_ATTR_NOSYMFOLLOW},
    {"rsymfollow", Kind::kRecClear, MOUNT_ATTR_NOSYMFOLLOW},
    {"idmap", Kind::kIdmap, 0},
    {"ridmap", Kind::kRidmap, 0},
    {"tmpcopyup", Kind::kTmpcopyup, 0},
};

const Option* find_option(std::string_view name) {
  for (const Option& o : kOptions)
    if (o.name == name) return &o;
  return nullptr;
}

void apply_one(const Option& o, MountOptions& out) {
  switch (o.kind) {
    case Kind::kSet:
      out.flags |= o.value;
      out.clear_flags &= ~o.value;
      break;
    case Kind::kClear:
      out.flags &= ~o.value;
      out.clear_flags |= o.value;
      break;
    case Kind::kPropagation:
      out.propagation = o.value;
      break;
    case Kind::kRecSet:
      // mount_setattr(2) changes the atime mode only when MOUNT_ATTR__ATIME is
      // also in attr_clr; that is also how "rrelatime" (value 0) takes effect.
      // The atime modes exclude each other: the last one named wins.
      if ((o.value & MOUNT_ATTR__ATIME) == o.value) {
        out.recursive_set &= ~uint64_t{MOUNT_ATTR__ATIME};
        out.recursive_clear |= MOUNT_ATTR__ATIME;
      } else {
        out.recursive_clear &= ~o.value;
      }
      out.recursive_set |= o.value;
      break;
    case Kind::kRecClear:
      out.recursive_set &= ~o.value;
      out.recursive_clear |= o.value;
      break;
    case Kind::kIdmap:
      out.idmap = true;
      break;
    case Kind::kRidmap:
      out.idmap = true;
      out.idmap_recursive = true;
      break;
    case Kind::kTmpcopyup:
      out.tmpcopyup = true;
      break;
  }
}

}  // namespace

MountOptions parse_mount_options(const std::vector<std::string>& options) {
  MountOptions out;
  for (const auto& word : options) {
    if (word.empty()) continue;
    if (const Option* o = find_option(word)) {
      apply_one(*o, out);
      continue;
    }
    if (!out.data.empty()) out.data += ',';
    out.data += word;
  }
  return out;
}

void apply_mount_options(config::Mount& m) {
  MountOptions o = parse_mount_options(m.options);
  m.flags = o.flags;
  m.clear_flags = o.clear_flags;
  m.propagation = o.propagation;
  m.recursive_set = o.recursive_set;
  m.recursive_clear = o.recursive_clear;
  m.data = std::move(o.data);
  m.idmap = m.idmap || o.idmap;
  m.idmap_recursive = m.idmap_recursive || o.idmap_recursive;
  if (m.bind()) m.type = "bind";
}

std::vector<std::string_view> known_mount_options() {
  std::vector<std::string_view> names;
  for (const Option& o : kOptions) names.push_back(o.name);
  return names;
}

}  // namespace husk::spec
