// The writing half of unpack_layer (unpack.h has the rules and their
// reasons): takes decoded tar entries one by one and makes them in a layer
// directory, through dirfds and *at calls only. Independent of libarchive, so
// tests and the fuzz target can drive it with entries of their own.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace husk::image {

enum class EntryType { kFile, kDir, kSymlink, kHardlink, kChar, kBlock, kFifo, kOther };

struct TarEntry {
  std::string path;  // as in the tar, not yet normalised
  std::string link;  // symlink target, or hardlink target (a name in the layer)
  EntryType type = EntryType::kFile;
  uint32_t mode = 0644;  // permission bits with setuid/setgid/sticky (07777)
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  dev_t rdev = 0;
  timespec atime{};
  timespec mtime{};
  std::vector<std::pair<std::string, std::string>> xattrs;
};

// A regular file's data: blocks at offsets (a sparse file has gaps), then an
// empty span at the end.
class EntryData {
 public:
  virtual ~EntryData() = default;
  virtual Result<std::span<const uint8_t>> next(int64_t* offset) = 0;
};

// Bounds on what one layer may ask of the writer.
inline constexpr size_t kMaxXattrsPerEntry = 256;
inline constexpr size_t kMaxXattrValue = 64 * 1024;      // XATTR_SIZE_MAX
inline constexpr size_t kMaxDirTimesBytes = 256u << 20;  // paths kept for the final pass

// Normalises a tar name into the components of a path in the layer: drops a
// leading "/", "." and empty components, resolves ".." lexically. Errors:
// climbing above the layer, over PATH_MAX, a component over NAME_MAX, a NUL.
Result<std::vector<std::string>> normalize_entry_path(std::string_view name);

// A name for an error message: quoted, cut after 128 bytes.
std::string quoted_name(std::string_view name);

class LayerWriter {
 public:
  // dest_dirfd is not kept: the writer opens "." from it.
  static Result<LayerWriter> open(int dest_dirfd, bool preserve_ownership);

  // Makes one entry; data is read for regular files only.
  Result<void> apply(const TarEntry& entry, EntryData& data);
  // Sets the directories' mtimes, after all their content is written.
  Result<void> finish();

  uint64_t dropped_xattrs() const { return dropped_xattrs_; }

 private:
  struct Dir {
    std::string name;
    UniqueFd fd;  // O_RDONLY | O_DIRECTORY
  };
  struct Times {
    timespec at[2];
  };

  Result<int> open_parent(const std::vector<std::string>& comps);
  Result<UniqueFd> open_child_dir(int parent, const std::string& name, const std::string& shown);
  Result<void> make_entry(int parent, const std::string& name, const std::string& shown,
                          const TarEntry& e, EntryData& data);
  Result<void> make_file(int parent, const std::string& name, const TarEntry& e, EntryData& data);
  Result<void> make_dir(int parent, const std::string& name, const std::string& shown,
                        const TarEntry& e);
  Result<void> make_hardlink(int parent, const std::string& name, const TarEntry& e);
  Result<void> make_whiteout(int parent, const std::string& base, const std::string& shown);
  Result<void> meta_fd(int fd, const TarEntry& e, bool is_dir);
  Result<void> meta_at(int parent, const std::string& name, const TarEntry& e, bool chmod);
  Result<void> set_xattrs_fd(int fd, const TarEntry& e);
  Result<void> set_xattrs_at(int parent, const std::string& name, const TarEntry& e);
  bool keep_xattr(const std::string& name);
  Result<void> remember_dir_times(std::string path, const TarEntry& e);

  std::vector<Dir> stack_;  // [0] the layer root, then the last parent's chain
  bool preserve_ownership_ = true;
  uint64_t dropped_xattrs_ = 0;
  std::vector<std::pair<std::string, Times>> dir_times_;
  std::unordered_map<std::string, size_t> dir_times_index_;
  size_t dir_times_bytes_ = 0;
};

}  // namespace husk::image
