// husk_unpack: bench/images' clock for the unpacker alone. Unpacks one layer
// blob (gzip, zstd or plain tar) into an empty directory with the library
// husk pull and husk load use (image/unpack.h), nothing else: no store, no
// copy of the blob, no network. Prints the layer's diff_id.
//
//   husk_unpack BLOB DIR
#include <fcntl.h>
#include <sys/stat.h>

#include <cstdio>

#include "base/unique_fd.h"
#include "image/unpack.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: husk_unpack BLOB DIR\n");
    return 2;
  }
  husk::UniqueFd blob(::open(argv[1], O_RDONLY | O_CLOEXEC));
  if (!blob) {
    std::perror(argv[1]);
    return 1;
  }
  if (::mkdir(argv[2], 0755) < 0) {
    std::perror(argv[2]);
    return 1;
  }
  husk::UniqueFd dir(::open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  auto r = husk::image::unpack_layer(blob.get(), dir.get(), {.name = argv[1]});
  if (!r) {
    std::fprintf(stderr, "husk_unpack: %s\n", r.error().what().c_str());
    return 1;
  }
  std::printf("%s\n", r->diff_id.str().c_str());
  return 0;
}
