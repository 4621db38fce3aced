// `husk run -v`, `--tmpfs` and `--mount`, docker's syntax -> VolumeMount,
// then config::Mount. Pure (no syscalls): volume_run.h looks up volumes and
// host paths.
//
//   -v /host:/dst[:OPTS]     a bind mount; the host path must exist (podman)
//   -v NAME:/dst[:OPTS]      a named volume, made when absent
//   -v /dst[:OPTS]           an anonymous volume, removed with the container
//     OPTS: ro, rw, nocopy, [r]shared, [r]slave, [r]private, z, Z (ignored)
//   --tmpfs /dst[:OPTS]      OPTS: tmpfs mount options (size=64m,mode=1777,...)
//   --mount type=bind|volume|tmpfs,source=..,target=..[,readonly]
//           [,bind-propagation=..][,volume-nocopy][,tmpfs-size=..][,tmpfs-mode=..]
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "config/container.h"

namespace husk::cli {

struct VolumeFlags {
  std::vector<std::string> volumes;  // -v
  std::vector<std::string> tmpfs;    // --tmpfs
  std::vector<std::string> mounts;   // --mount
  bool empty() const { return volumes.empty() && tmpfs.empty() && mounts.empty(); }
};

struct VolumeMount {
  enum class Kind { kBind, kVolume, kTmpfs };
  Kind kind = Kind::kVolume;
  std::string source;  // host path (bind), volume name (empty: anonymous), unused (tmpfs)
  std::string target;
  bool readonly = false;
  bool nocopy = false;
  std::string propagation;           // bind: rprivate (the default), shared, rslave, ...
  std::vector<std::string> options;  // tmpfs: size=..., mode=..., noexec, ...
  std::string flag;                  // how the user wrote it: `-v "a:/b"`
};

// -v [SRC:]DST[:OPTS]
Result<VolumeMount> parse_volume_flag(const std::string& v);

// --tmpfs DST[:OPTS]
Result<VolumeMount> parse_tmpfs_flag(const std::string& v);

// --mount KEY=VALUE,...
Result<VolumeMount> parse_mount_flag(const std::string& v);

// All three flags, in docker's order (-v, --tmpfs, --mount); a target given
// twice is an error.
Result<std::vector<VolumeMount>> parse_volume_flags(const VolumeFlags& f);

// The mount for m, its source (host path or the volume's _data) resolved.
// Options go through the parser config.json's mounts use.
config::Mount to_config_mount(const VolumeMount& m, const std::string& source);

}  // namespace husk::cli
