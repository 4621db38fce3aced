// Unpack throughput on a real blob, by hand only (disabled by default):
//
//   HUSK_UNPACK_BENCH_BLOB=/var/tmp/usr.tar.gz build/bin/husk_unit_tests
//       --gtest_also_run_disabled_tests --gtest_filter='UnpackBench.*'
//
// Unpacks into a fresh directory next to the blob (same file system as a
// store would be), prints MB/s of uncompressed tar and entries, removes it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "base/unique_fd.h"
#include "image/unpack.h"

namespace husk::image {
namespace {

TEST(UnpackBench, DISABLED_Throughput) {
  const char* blob_path = std::getenv("HUSK_UNPACK_BENCH_BLOB");
  if (blob_path == nullptr) GTEST_SKIP() << "set HUSK_UNPACK_BENCH_BLOB";
  // HUSK_UNPACK_BENCH_DEST: where to unpack (default: next to the blob).
  const char* dest_env = std::getenv("HUSK_UNPACK_BENCH_DEST");
  std::string dest = dest_env ? dest_env : std::string(blob_path) + ".unpacked";
  std::filesystem::remove_all(dest);
  ASSERT_EQ(::mkdir(dest.c_str(), 0755), 0);
  UniqueFd blob(::open(blob_path, O_RDONLY | O_CLOEXEC));
  UniqueFd dir(::open(dest.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(blob && dir);
  auto start = std::chrono::steady_clock::now();
  auto d = unpack_layer(blob.get(), dir.get(), {.name = blob_path});
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(d) << d.error().what();
  std::printf("%s: %.0f MB tar (%.0f MB blob) in %.2f s: %.0f MB/s\n  diff_id %s\n", blob_path,
              d->size / 1e6, d->compressed_size / 1e6, secs, d->size / 1e6 / secs,
              d->diff_id.str().c_str());
  if (std::getenv("HUSK_UNPACK_BENCH_KEEP") == nullptr) std::filesystem::remove_all(dest);
}

}  // namespace
}  // namespace husk::image
