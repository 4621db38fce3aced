#include "image/unpack.h"

#include "image/lazy_libs.h"  // <archive.h>, <archive_entry.h>, loaded on first use
#include <sys/sysmacros.h>
#include <unistd.h>

#include <memory>
#include <type_traits>
#include <vector>

#include "image/unpack_tree.h"

namespace husk::image {

namespace {

constexpr size_t kReadBlock = 1u << 20;

using ArchivePtr = std::unique_ptr<archive, std::decay_t<decltype(archive_read_free)>>;

// libarchive's messages may hold newlines; errors are one line.
std::string one_line(const char* text) {
  std::string s = text ? text : "unknown error";
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

// The blob: read from the fd in large blocks, hashed as libarchive asks.
struct BlobSource {
  int fd;
  std::optional<uint64_t> limit;
  Sha256 hash;
  uint64_t bytes = 0;
  std::vector<uint8_t> buf = std::vector<uint8_t>(kReadBlock);

  ssize_t read(archive* a, const void** out) {
    ssize_t n;
    do n = ::read(fd, buf.data(), buf.size());
    while (n < 0 && errno == EINTR);
    if (n < 0) {
      archive_set_error(a, errno, "read: %s", strerror(errno));
      return -1;
    }
    bytes += static_cast<uint64_t>(n);
    if (limit && bytes > *limit) {
      archive_set_error(a, EFBIG, "the blob is longer than its %s bytes",
                        std::to_string(*limit).c_str());
      return -1;
    }
    hash.update({buf.data(), static_cast<size_t>(n)});
    *out = buf.data();
    return n;
  }
  static ssize_t callback(archive* a, void* self, const void** out) {
    return static_cast<BlobSource*>(self)->read(a, out);
  }
};

// The tar stream: the first reader's decompressed blocks, handed to the tar
// reader by pointer and hashed on the way (the diff_id).
struct TarSource {
  archive* raw;
  Sha256 hash;
  uint64_t bytes = 0;

  // 0 at the end of the stream.
  ssize_t read(archive* a, const void** out) {
    for (;;) {
      size_t size = 0;
      la_int64_t offset = 0;
      int r = archive_read_data_block(raw, out, &size, &offset);
      if (r == ARCHIVE_EOF) return 0;
      if (r < ARCHIVE_WARN) {
        archive_set_error(a, archive_errno(raw), "%s", archive_error_string(raw));
        return -1;
      }
      if (size == 0) continue;
      hash.update({static_cast<const uint8_t*>(*out), size});
      bytes += size;
      return static_cast<ssize_t>(size);
    }
  }
  static ssize_t callback(archive* a, void* self, const void** out) {
    return static_cast<TarSource*>(self)->read(a, out);
  }
};

class ArchiveData : public EntryData {
 public:
  explicit ArchiveData(archive* a) : a_(a) {}
  Result<std::span<const uint8_t>> next(int64_t* offset) override {
    for (;;) {
      const void* buf = nullptr;
      size_t size = 0;
      la_int64_t off = 0;
      int r = archive_read_data_block(a_, &buf, &size, &off);
      if (r == ARCHIVE_EOF) return std::span<const uint8_t>();
      if (r < ARCHIVE_WARN)
        return fail_quiet(archive_errno(a_), "{}", one_line(archive_error_string(a_)));
      *offset = off;
      if (size != 0) return std::span<const uint8_t>(static_cast<const uint8_t*>(buf), size);
    }
  }

 private:
  archive* a_;
};

// The decompressing reader: gzip, zstd or nothing, chosen by magic. Only
// built-in decoders: libarchive runs an external program (a fork) for a
// filter it lacks, and husk_image never forks; a hostile layer must not pick
// which program runs.
Result<ArchivePtr> open_blob_reader(BlobSource& src) {
  if (archive_zlib_version() == nullptr || archive_libzstd_version() == nullptr)
    return fail_quiet(ENOTSUP, "libarchive lacks built-in gzip or zstd");
  ArchivePtr a(archive_read_new(), archive_read_free);
  if (!a) return fail_quiet(ENOMEM, "archive_read_new");
  if (archive_read_support_filter_gzip(a.get()) != ARCHIVE_OK ||
      archive_read_support_filter_zstd(a.get()) != ARCHIVE_OK ||
      archive_read_support_format_raw(a.get()) != ARCHIVE_OK)
    return fail_quiet(ENOTSUP, "{}", one_line(archive_error_string(a.get())));
  if (archive_read_open(a.get(), &src, nullptr, &BlobSource::callback, nullptr) != ARCHIVE_OK) {
    if (src.bytes == 0) return fail_quiet(EINVAL, "empty blob");
    return fail_quiet(archive_errno(a.get()), "{}", one_line(archive_error_string(a.get())));
  }
  archive_entry* e = nullptr;
  int r = archive_read_next_header(a.get(), &e);
  if (r == ARCHIVE_EOF || (r < ARCHIVE_WARN && src.bytes == 0))
    return fail_quiet(EINVAL, "empty blob");
  if (r < ARCHIVE_WARN)
    return fail_quiet(archive_errno(a.get()), "{}", one_line(archive_error_string(a.get())));
  return a;
}

Result<ArchivePtr> open_tar_reader(TarSource& src) {
  ArchivePtr a(archive_read_new(), archive_read_free);
  if (!a) return fail_quiet(ENOMEM, "archive_read_new");
  if (archive_read_support_format_tar(a.get()) != ARCHIVE_OK)
    return fail_quiet(ENOTSUP, "{}", one_line(archive_error_string(a.get())));
  if (archive_read_open(a.get(), &src, nullptr, &TarSource::callback, nullptr) != ARCHIVE_OK)
    return fail_quiet(archive_errno(a.get()), "{}", one_line(archive_error_string(a.get())));
  return a;
}

Result<TarEntry> to_entry(archive_entry* ae) {
  TarEntry e;
  const char* path = archive_entry_pathname(ae);
  if (path == nullptr) return fail_quiet(EINVAL, "an entry without a name");
  e.path = path;
  if (const char* hl = archive_entry_hardlink(ae)) {
    e.type = EntryType::kHardlink;
    e.link = hl;
  } else {
    switch (archive_entry_filetype(ae)) {
      case AE_IFREG:
        e.type = EntryType::kFile;
        break;
      case AE_IFDIR:
        e.type = EntryType::kDir;
        break;
      case AE_IFLNK:
        e.type = EntryType::kSymlink;
        e.link = archive_entry_symlink(ae) ? archive_entry_symlink(ae) : "";
        break;
      case AE_IFCHR:
        e.type = EntryType::kChar;
        break;
      case AE_IFBLK:
        e.type = EntryType::kBlock;
        break;
      case AE_IFIFO:
        e.type = EntryType::kFifo;
        break;
      default:
        e.type = EntryType::kOther;
        break;
    }
  }
  e.mode = archive_entry_perm(ae) & 07777;
  la_int64_t uid = archive_entry_uid(ae), gid = archive_entry_gid(ae);
  if (uid < 0 || uid >= 0xffffffffLL || gid < 0 || gid >= 0xffffffffLL)
    return fail_quiet(EINVAL, "entry {}: owner {}:{} out of range", quoted_name(e.path), uid, gid);
  e.uid = static_cast<uint32_t>(uid);
  e.gid = static_cast<uint32_t>(gid);
  la_int64_t size = archive_entry_size(ae);
  e.size = size > 0 ? static_cast<uint64_t>(size) : 0;
  e.rdev = makedev(archive_entry_rdevmajor(ae), archive_entry_rdevminor(ae));
  auto clamp_ns = [](long ns) { return ns >= 0 && ns < 1000000000L ? ns : 0L; };
  e.mtime = {static_cast<time_t>(archive_entry_mtime(ae)), clamp_ns(archive_entry_mtime_nsec(ae))};
  e.atime = archive_entry_atime_is_set(ae) ? timespec{static_cast<time_t>(archive_entry_atime(ae)),
                                                      clamp_ns(archive_entry_atime_nsec(ae))}
                                           : e.mtime;
  int n = archive_entry_xattr_reset(ae);
  if (n > static_cast<int>(kMaxXattrsPerEntry))
    return fail_quiet(E2BIG, "entry {}: {} xattrs", quoted_name(e.path), n);
  const char* name;
  const void* value;
  size_t vsize;
  while (archive_entry_xattr_next(ae, &name, &value, &vsize) == ARCHIVE_OK)
    e.xattrs.emplace_back(name ? name : "", std::string(static_cast<const char*>(value), vsize));
  return e;
}

// Reads every entry and hands it to the writer.
Result<void> apply_entries(archive* tar, LayerWriter& writer, uint64_t max_entries) {
  ArchiveData data(tar);
  for (uint64_t count = 0;; ++count) {
    archive_entry* ae = nullptr;
    int r = archive_read_next_header(tar, &ae);
    if (r == ARCHIVE_EOF) return ok();
    if (r < ARCHIVE_WARN)
      return fail_quiet(archive_errno(tar), "{}", one_line(archive_error_string(tar)));
    if (count >= max_entries) return fail_quiet(E2BIG, "more than {} entries", max_entries);
    HUSK_TRY_ASSIGN(TarEntry e, to_entry(ae));
    HUSK_TRY(writer.apply(e, data));
  }
}

// Hashes what follows the tar's end (its padding) and the blob's end
// (trailing bytes the decoder did not need), so the digests cover every byte.
Result<void> drain(TarSource& tar, BlobSource& blob, archive* blob_reader, archive* tar_reader) {
  const void* out;
  for (;;) {
    ssize_t n = tar.read(tar_reader, &out);
    if (n == 0) break;
    if (n < 0)
      return fail_quiet(archive_errno(blob_reader), "{}",
                        one_line(archive_error_string(blob_reader)));
  }
  for (;;) {
    ssize_t n = blob.read(blob_reader, &out);
    if (n == 0) return ok();
    if (n < 0)
      return fail_quiet(archive_errno(blob_reader), "{}",
                        one_line(archive_error_string(blob_reader)));
  }
}

Result<void> check(const std::optional<Digest>& want, const Digest& got, const char* what) {
  if (want && *want != got) return fail_quiet(EINVAL, "{}digest mismatch: got {}", what, got.str());
  return ok();
}

std::string layer_name(const UnpackOptions& o) {
  if (o.digest) return o.digest->str();
  if (o.diff_id) return o.diff_id->str();
  return o.name.empty() ? std::string("(unnamed)") : o.name;
}

Result<LayerDigests> unpack(int blob_fd, int dest_dirfd, const UnpackOptions& o) {
  BlobSource blob{blob_fd, o.compressed_size};
  HUSK_TRY_ASSIGN(ArchivePtr raw, open_blob_reader(blob));
  TarSource tar{raw.get()};
  HUSK_TRY_ASSIGN(ArchivePtr tar_reader, open_tar_reader(tar));
  HUSK_TRY_ASSIGN(LayerWriter writer, LayerWriter::open(dest_dirfd, o.preserve_ownership));
  HUSK_TRY(apply_entries(tar_reader.get(), writer, o.max_entries));
  HUSK_TRY(writer.finish());
  HUSK_TRY(drain(tar, blob, raw.get(), tar_reader.get()));
  LayerDigests d{blob.hash.finish(), tar.hash.finish(), blob.bytes, tar.bytes};
  HUSK_TRY(check(o.digest, d.compressed, ""));
  if (o.compressed_size && *o.compressed_size != d.compressed_size)
    return fail_quiet(EINVAL, "size mismatch: want {} bytes, got {}", *o.compressed_size,
                      d.compressed_size);
  if (o.diff_id && *o.diff_id != d.diff_id) {
    if (o.digest)  // the layer is named by its blob digest: say which digest this is
      return fail_quiet(EINVAL, "diff_id {}: digest mismatch: got {}", o.diff_id->str(),
                        d.diff_id.str());
    return fail_quiet(EINVAL, "digest mismatch: got {}", d.diff_id.str());
  }
  return d;
}

}  // namespace

Result<LayerDigests> unpack_layer(int blob_fd, int dest_dirfd, const UnpackOptions& options) {
  return unpack(blob_fd, dest_dirfd, options).context("layer {}", layer_name(options));
}

}  // namespace husk::image
