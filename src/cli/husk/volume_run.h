// The volumes of one `husk run`: -v/--tmpfs/--mount (volume_flags.h) made
// real. check() before anything is made (flags, host paths); prepare() makes
// the named and anonymous volumes and records the container's use of them;
// fill() copies the root's content into new volumes (the run path calls it
// once the root's overlay lowers are known); the destructor ends the uses
// and removes the anonymous volumes this run made (a failed run).
//
// A kept container's anonymous volumes are made at its first start and named
// in its record (manage::Record::anonymous_volumes, by target): later starts
// hand them to prepare() and mount the same volumes again.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "config/container.h"
#include "front/volume_flags.h"
#include "storage/volume.h"

namespace husk::cli {

// Parses the flags and checks that every bind source exists (podman: a
// missing host path is an error, never created). Makes nothing.
Result<std::vector<VolumeMount>> check_volume_flags(const VolumeFlags& f);

// The overlay's lowers as absolute paths, top first (relative ones, an image's
// short links "l/...", are taken from o.base): what RunVolumes::fill wants.
inline std::vector<std::string> absolute_lowers(const config::RootOverlay& o) {
  std::vector<std::string> out;
  for (const auto& l : o.lower)
    out.push_back(!l.empty() && l.front() == '/' ? l : o.base + "/" + l);
  return out;
}

class RunVolumes {
 public:
  // store_root: image::Store::default_root(). id: the container's id.
  // known: the container's anonymous volumes by target, from earlier starts;
  // an anonymous mount whose target is not there gets a new volume.
  static Result<RunVolumes> prepare(std::vector<VolumeMount> mounts,
                                    const std::string& store_root, const std::string& id,
                                    const std::map<std::string, std::string>& known = {});
  RunVolumes(RunVolumes&& o) noexcept;
  RunVolumes& operator=(RunVolumes&&) = delete;
  ~RunVolumes();

  // Every anonymous volume of the run, by target (what the record keeps),
  // and whether prepare() made any that the record does not name yet.
  const std::map<std::string, std::string>& anonymous() const { return anonymous_; }
  bool made_anonymous() const { return !made_.empty(); }
  // The container's mounts, in flag order (append after the default ones).
  const std::vector<config::Mount>& mounts() const { return config_mounts_; }
  // Fill on first use: for each volume mount without nocopy, copies what the
  // root (overlay lowers, absolute, top first) has at its target into the
  // volume if the volume is new and empty. A root that is no overlay (the
  // host's /, a plain --rootfs DIR) fills nothing: do not call it then.
  Result<void> fill(const std::vector<std::string>& lowers);
  // The uses now belong to pid (the container's init): call from on_ready.
  Result<void> hand_to(pid_t pid);
  // --rm: ends the uses and removes every anonymous volume (idempotent).
  void finish();
  // A run that never started: ends the uses and removes the anonymous
  // volumes this run made; those of earlier starts stay (idempotent).
  void abandon();
  // Keeps both: the uses belong to the init they were handed to, and the
  // anonymous volumes stay until the container is removed.
  void release();

 private:
  RunVolumes() = default;
  std::optional<storage::VolumeStore> store_;
  std::vector<VolumeMount> specs_;
  std::vector<std::string> names_;  // per spec: the volume's name, or ""
  std::vector<config::Mount> config_mounts_;
  std::vector<storage::VolumeUse> uses_;
  std::map<std::string, std::string> anonymous_;  // target -> name
  std::vector<std::string> made_;                 // names made by this prepare()
  bool finished_ = false;

  void end_uses_and_remove(const std::vector<std::string>& names);
};

}  // namespace husk::cli
