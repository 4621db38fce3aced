// Reading one file of an image as its container will see it, straight from the unpacked layers
// (no mount): the topmost layer that says anything about the path wins, with overlayfs' rules:
// a whiteout (a 0/0 character device) deletes the path below, an opaque directory
// (trusted.overlay.opaque=y) hides what lower layers have under it.
//
//   HUSK_TRY_ASSIGN(auto passwd, read_layered_file(diffs, "/etc/passwd", kMaxIdFileBytes));
//
// `husk run IMAGE -u NAME` resolves NAME in the image's /etc/passwd before anything is
// mounted. The layers are hostile: every component is opened with RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS below each layer's directory, and a symlink on the way (which the merged
// view would follow, maybe to another layer) makes the file count as absent: a name then fails
// to resolve, as it would with no passwd file, and nothing outside the layers is ever read.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/error.h"

namespace husk::image {

// diffs: the layers' directories, absolute, top first. nullopt: the merged view has no regular
// file at path (absent, deleted, a directory, behind a symlink). A file over max_bytes is an
// error naming it.
Result<std::optional<std::string>> read_layered_file(std::span<const std::string> diffs,
                                                     std::string_view path, size_t max_bytes);

}  // namespace husk::image
