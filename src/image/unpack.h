// Applies one OCI/Docker image layer (a tar: uncompressed, gzip or zstd,
// told apart by magic) to an empty directory, laid out as an overlayfs layer
// the way containers/storage lays out a layer's diff directory, in one pass
// over the blob:
//
//   fd --read--> [reader 1: gzip/zstd/none filter, "raw" format]  hashes the blob  -> digest
//                      |  decompressed blocks, passed by pointer (no copy)
//                      v
//                [reader 2: tar format]                          hashes the tar   -> diff_id
//                      |  entries
//                      v
//                LayerWriter (unpack_tree.h): *at syscalls on dirfds only
//
//   HUSK_TRY_ASSIGN(LayerDigests d, unpack_layer(blob.get(), dir.get(), {.digest = want}));
//
// On any error (corrupt or truncated stream, a refused entry, a digest or size
// mismatch) the destination holds a partial layer: THE CALLER REMOVES IT. The
// error is one line naming the layer:
//   layer sha256:<want>: digest mismatch: got sha256:<got>
//   layer sha256:<want>: entry "../x": path escapes the layer
//
// The layer is hostile. The rules (docs/images.md, "Unpacking a layer"):
// - Names are normalised: a leading "/", "./" and empty components are dropped,
//   "a/../b" is "b"; a name that climbs above the layer is refused, as are names
//   longer than PATH_MAX or with a component longer than NAME_MAX.
// - Parent directories are walked one component at a time from the destination
//   with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
//   RESOLVE_NO_XDEV). A symlink met as a parent component is REFUSED, not followed
//   in the root (RESOLVE_IN_ROOT), because: a tar made from a file system never
//   holds an entry beneath one of its own symlinks, so only a crafted layer does;
//   the symlink is resolved again at run time against the whole overlay stack,
//   maybe to another directory than the one this layer alone would pick, so
//   following it here has no right answer; and refusing keeps the diff directory
//   a faithful map from entry names to files. Missing parents are made (0755, 0:0).
// - Hardlink targets are names in the layer, normalised and walked the same way;
//   they must exist already (an earlier entry), and linkat() never follows a
//   symlink, so a link can only share an inode of this layer.
// - A later entry replaces an earlier one of another type (file <-> directory,
//   symlink, ...; a replaced directory goes with its content, as docker does); a
//   directory met again as a directory keeps its content and takes the new
//   owner, mode and xattrs.
// - Devices, FIFOs, setuid/setgid/sticky bits, numeric owners, xattrs (including
//   security.capability) are kept: chown, then chmod (chown clears setuid), then
//   xattrs (chown and writes clear security.capability). mtimes are set last,
//   directories' in a final pass after all their content.
// - trusted.overlay.* and user.overlay.* xattrs in the layer are DROPPED (not
//   refused: some images hold them from a careless tar of an overlay upper dir,
//   and dropping is enough): a layer must not forge overlay metadata (redirect,
//   metacopy, origin, opaque) that the kernel would act on.
// - OCI whiteouts: `.wh.NAME` becomes a 0/0 character device NAME (overlayfs
//   whiteout), `.wh..wh..opq` sets trusted.overlay.opaque=y on its directory;
//   other `.wh..wh.*` names (aufs metadata) are skipped; `.wh.`, `.wh..`,
//   `.wh...` and `.wh.` prefixes in a parent component are refused.
// - Bounded: options.max_entries entries, 256 xattrs of 64 KiB an entry.
//
// Throughput (Release, 2-core dev VM shared with other builds, a 1881 MB tar of
// /usr/{bin,sbin,share,include}: 92k entries; blob in the page cache, unpacked
// to tmpfs; UnpackBench.DISABLED_Throughput; interleaved runs):
//   zstd -3 (580 MB)    4.8 s   395 MB/s   (umoci 0.4.7 cannot read zstd)
//   gzip -6 (613 MB)  7.6-11 s  170-250 MB/s  umoci unpack: 20.8-22.8 s, 82-90 MB/s
//   none              7.0 s   270 MB/s
// so >= 2x umoci on gzip, where zlib's inflate is the floor (gzip -dc alone: 8.3 s).
// Onto ext4 right after deleting a previous unpack the kernel dominates:
// ext4's inode allocator (recently_deleted) takes ~55% of the time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/error.h"
#include "image/digest.h"

namespace husk::image {

struct LayerDigests {
  Digest compressed;  // of the blob as read from the fd (the manifest's digest)
  Digest diff_id;     // of the uncompressed tar (the config's rootfs.diff_ids)
  uint64_t compressed_size = 0;
  uint64_t size = 0;  // uncompressed bytes of the tar
};

struct UnpackOptions {
  // Checked at the end; a mismatch is an error naming both digests.
  std::optional<Digest> digest;
  std::optional<uint64_t> compressed_size;  // also stops reading a longer blob early
  std::optional<Digest> diff_id;
  // How errors name the layer when no digest is expected ("layer <name>: ...").
  std::string name;
  // Take uid/gid from the tar (root only). false: files stay the caller's.
  bool preserve_ownership = true;
  uint64_t max_entries = 4u << 20;
};

// Unpacks the blob read from blob_fd (from its current offset to EOF) into
// dest_dirfd, an empty directory. Never writes outside dest_dirfd.
Result<LayerDigests> unpack_layer(int blob_fd, int dest_dirfd, const UnpackOptions& options = {});

}  // namespace husk::image
