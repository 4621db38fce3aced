// A layer blob (tar, gzip or zstd): image::unpack_layer into a fresh
// directory, next to a sentinel directory. Whatever the blob, unpacking is an
// error or a tree, never a crash, and nothing outside the layer changes: the
// sentinel keeps its one file and the parent holds only the two directories.
// Ownership is not applied (the fuzzer may run without root).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "base/unique_fd.h"
#include "fuzz_util.h"
#include "image/unpack.h"

namespace {

std::string* g_root = nullptr;

// One directory for the whole run, removed when libFuzzer exits.
std::string make_root() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "husk-fuzz-unpack-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) husk::fuzz::broken("mkdtemp");
  g_root = new std::string(tmpl);
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(*g_root, ec);
  });
  return tmpl;
}

size_t count_entries(const std::string& dir) {
  std::error_code ec;
  size_t n = 0;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace husk;
  static const std::string root = make_root();
  std::string layer = root + "/layer", outside = root + "/outside", blob = root + "/blob";
  std::error_code ec;
  std::filesystem::remove_all(layer, ec);
  std::filesystem::remove_all(outside, ec);
  if (::mkdir(layer.c_str(), 0755) < 0 || ::mkdir(outside.c_str(), 0755) < 0) fuzz::broken("mkdir");
  {
    UniqueFd f(::open((outside + "/keep").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    UniqueFd w(::open(blob.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!f || !w || ::write(w.get(), data, size) != static_cast<ssize_t>(size))
      fuzz::broken("write the blob");
  }
  UniqueFd in(::open(blob.c_str(), O_RDONLY | O_CLOEXEC));
  UniqueFd dest(::open(layer.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  auto r = image::unpack_layer(in.get(), dest.get(),
                               {.name = "fuzz", .preserve_ownership = false, .max_entries = 4096});
  if (!r && r.error().what().find('\n') != std::string::npos) fuzz::broken("a multi-line error");
  ::unlink(blob.c_str());
  if (count_entries(outside) != 1 || count_entries(root) != 2)
    fuzz::broken("something was written outside the layer");
  return 0;
}
