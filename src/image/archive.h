// Image archives: `husk load` (docker-archive and oci-archive tarballs, maybe compressed),
// `husk save` (a docker-archive that `docker load` and `podman load` accept) and `husk import`
// (a rootfs tarball as a one-layer image).
//
//   HUSK_TRY_ASSIGN(Store s, Store::open(Store::default_root()));
//   HUSK_TRY_ASSIGN(std::vector<ImageRecord> loaded, load_archive(s, fd, "x.tar"));
//   HUSK_TRY(save_archive(s, {"busybox:latest"}, "out.tar"));
//
// An archive is hostile. Its entries are staged under the store's tmp/load-<random>/ by
// number, never by their own names, so an entry name cannot write anywhere; a name in its JSON
// (manifest.json's Config and Layers, an OCI blob) must be a plain relative path inside the
// archive ("../x", "/etc/passwd" are refused), must name an entry that appears once and is a
// regular file, or a link to one (followed once, by name inside the archive, never on the
// host: docker 20.10 links a layer several images share; a link to an absolute path, out of
// the archive or to another link is refused); each blob's sha256 must match its digest (OCI) and
// each docker-archive layer's sha256 its config's diff_id; a compressed OCI layer is
// decompressed and its diff_id checked BEFORE anything is put. Only then do blobs, layers and
// records go into the store, so a refused archive leaves the store as it was. Errors name
// the archive and the thing: `load -i x.tar: manifest.json: layer "../x": path escapes the
// archive`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "image/store.h"

namespace husk::image {

inline constexpr size_t kMaxArchiveEntries = 100000;
inline constexpr size_t kMaxArchiveJson = 4 << 20;  // manifest.json, index.json, a config

// A name from an archive's JSON as an entry name: "./a//b" -> "a/b"; absolute names, ".."
// components, empty names and NUL bytes are errors.
Result<std::string> archive_path(std::string_view name);

// Loads every image of the archive read from fd (tar, or tar.gz / tar.zst / tar.xz).
// `what` names the archive in errors. Returns the images loaded, archive order.
Result<std::vector<ImageRecord>> load_archive(const Store& store, int fd, std::string_view what);

// Writes a docker-archive of the images named (names, ids, id prefixes) to `path`, through a
// temp file next to it that is renamed over it at the end. Layers are written uncompressed
// (<diff_id hex>/layer.tar) and checked against their diff_ids on the way.
Result<void> save_archive(const Store& store, const std::vector<std::string>& names,
                          const std::string& path);

// A rootfs tarball from fd (plain or compressed) as a one-layer image for the host's
// platform, tagged `tag` when not empty. `source` goes into the history ("husk import FILE").
Result<ImageRecord> import_rootfs(const Store& store, int fd, std::string_view source,
                                  std::string_view tag);

}  // namespace husk::image
