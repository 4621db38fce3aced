// Named volumes (`husk volume`, `husk run -v NAME:/dst`), docker's "local"
// driver: a directory that outlives containers.
//
//   <root>/volumes/.lock            flock: every change takes it exclusively
//   <root>/volumes/<name>/volume.json  the record (Volume below)
//   <root>/volumes/<name>/_data     what containers mount
//   <root>/volumes/<name>/filling  present while a fill copies (a fill killed
//                                    midway is emptied and redone by the next)
//   <root>/volumes/<name>/users/<container id>  "PID START_TIME": a container
//                                    using the volume, by the process that
//                                    owns the use (husk, then the init)
//
// <root> is the store root (image::Store::default_root(): $HUSK_ROOT or
// /var/lib/husk), given by the caller so storage does not depend on image.
// A volume is made under a temporary name and renamed into place, and removed
// by renaming it away first: a crash leaves either the whole volume or none
// (the leftovers, ".new-*"/".rm-*", are swept by the next change).
// A use whose owner is dead does not count: a kill -9 of husk and of its
// container never pins a volume.
#pragma once

#include <sys/types.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/error.h"

namespace husk::storage {

// docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 255 characters.
// Error: `volume name "../x": ...` (one line, EINVAL).
Result<void> check_volume_name(const std::string& name);

struct Volume {
  std::string name;
  std::string driver = "local";
  std::string mountpoint;  // <root>/volumes/<name>/_data
  std::string created;     // RFC 3339 (base/time.h)
  std::map<std::string, std::string> labels;
  bool anonymous = false;  // made for `-v /dst`: removed with its container
  bool filled = false;     // first-use copy from a container's root done
};

class VolumeUse;

class VolumeStore {
 public:
  explicit VolumeStore(const std::string& store_root);
  const std::string& dir() const { return dir_; }

  // Makes the volume; an existing one of that name is returned as it is
  // (docker: `volume create` is idempotent). An empty name: a random one.
  Result<Volume> create(const std::string& name, const std::map<std::string, std::string>& labels,
                        bool anonymous = false);
  // ENOENT: `volume "x": no such volume`.
  Result<Volume> get(const std::string& name) const;
  Result<std::vector<Volume>> list() const;
  // The containers with a live use of the volume.
  std::vector<std::string> users(const std::string& name) const;
  // Refused (EBUSY) while a live container uses it:
  // `volume "x" is in use by container husk-...`.
  Result<void> remove(const std::string& name);
  // Removes unused volumes: anonymous ones only, or all with `all` (docker 23+),
  // never those in `keep` (the caller's: a stopped container's). Returns the
  // names removed.
  Result<std::vector<std::string>> prune(bool all, const std::set<std::string>& keep = {});

  // Records that container `id` uses the volume, owned by this process until
  // VolumeUse::hand_to. The use ends when the VolumeUse is destroyed.
  Result<VolumeUse> use(const std::string& name, const std::string& id);

  // Fill on first use: when the volume was never filled and its _data is
  // empty, copies what the container's root has at `target` into _data
  // (owners, modes, xattrs, times, symlinks, devices and fifos kept) and gives
  // _data that directory's mode, owner and times. `lowers` are the root's
  // overlay lower layers, absolute, top first; the merged view is read from
  // a detached read-only overlay mount that no namespace ever sees, and
  // target is resolved inside it (a symlink in the image never leads out).
  // A target the root does not have fills nothing and leaves the volume
  // unfilled. A failed copy empties _data again. Returns whether it copied.
  Result<bool> fill(const std::string& name, const std::vector<std::string>& lowers,
                    const std::string& target);

 private:
  std::string dir_;
};

class VolumeUse {
 public:
  VolumeUse(VolumeUse&& o) noexcept;
  VolumeUse& operator=(VolumeUse&&) = delete;
  ~VolumeUse();  // end() unless released

  // The use now belongs to pid (the container's init).
  Result<void> hand_to(pid_t pid);
  // Removes the use record; idempotent.
  void end();
  // Keeps the record: it belongs to the process it was handed to.
  void release() { armed_ = false; }

 private:
  friend class VolumeStore;
  VolumeUse() = default;
  std::string path_;
  bool armed_ = false;
};

}  // namespace husk::storage
