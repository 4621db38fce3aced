#define HUSK_LAZY_LIBS_IMPL
#include "image/lazy_libs.h"

#include "base/shared_lib.h"

namespace husk::image::lazy {

namespace {

#define HUSK_LAZY_RESOLVE(f) shared_lib::resolve(h, t.f, #f);

Archive load_archive() {
  Archive t;
  void* h = shared_lib::open("libarchive.so.13");
  HUSK_ARCHIVE_FUNCTIONS(HUSK_LAZY_RESOLVE)
  return t;
}

Curl load_curl() {
  Curl t;
  void* h = shared_lib::open("libcurl.so.4");
  HUSK_CURL_FUNCTIONS(HUSK_LAZY_RESOLVE)
  return t;
}

Crypto load_crypto() {
  Crypto t;
  void* h = shared_lib::open("libcrypto.so.3");
  HUSK_CRYPTO_FUNCTIONS(HUSK_LAZY_RESOLVE)
  return t;
}

}  // namespace

const Archive& archive() {
  static const Archive table = load_archive();  // C++ statics: initialised once, thread-safe
  return table;
}

const Curl& curl() {
  static const Curl table = load_curl();
  return table;
}

const Crypto& crypto() {
  static const Crypto table = load_crypto();
  return table;
}

}  // namespace husk::image::lazy
