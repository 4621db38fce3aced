// The first-use fill of a volume (VolumeStore::fill): a view of the
// container's root and a copy out of it that never follows a link.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace husk::storage {

// The merged, read-only view of overlay lower layers (absolute, top first):
// a directory fd for one layer, else the root of a detached overlay mount
// (fsopen/fsmount) that is attached to no namespace and goes with the fd.
Result<UniqueFd> open_merged_root(const std::vector<std::string>& lowers);

// Copies the directory at target, resolved inside root_fd (RESOLVE_IN_ROOT:
// symlinks, absolute ones too, stay inside; no magic links, no other
// mounts), into dst_fd: contents with owners, modes, xattrs, times,
// symlinks, devices and fifos; dst_fd itself takes the directory's mode,
// owner and times. Nothing below is followed. Returns false (and copies
// nothing) when root has no directory at target. Hard links become copies.
Result<bool> copy_into_volume(int root_fd, const std::string& target, int dst_fd);

Result<bool> dir_is_empty(int dir_fd);
// Removes everything inside dir_fd (not following links).
Result<void> empty_dir(int dir_fd);

}  // namespace husk::storage
