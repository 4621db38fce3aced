#define HUSK_LAZY_LIBS_IMPL
#include "image/lazy_libs.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

namespace husk::image::lazy {

namespace {

[[noreturn]] void cannot_load(const char* what) {
  std::fprintf(stderr, "husk: %s\n", what);
  std::_Exit(125);
}

void* open_library(const char* soname) {
  void* h = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) cannot_load(::dlerror());
  return h;
}

template <typename T>
void resolve(void* h, T& member, const char* name) {
  void* sym = ::dlsym(h, name);
  if (sym == nullptr) cannot_load(::dlerror());
  member = reinterpret_cast<T>(sym);
}

#define HUSK_LAZY_RESOLVE(f) resolve(h, t.f, #f);

Archive load_archive() {
  Archive t;
  void* h = open_library("libarchive.so.13");
  HUSK_ARCHIVE_FUNCTIONS(HUSK_LAZY_RESOLVE)
  return t;
}

Curl load_curl() {
  Curl t;
  void* h = open_library("libcurl.so.4");
  HUSK_CURL_FUNCTIONS(HUSK_LAZY_RESOLVE)
  return t;
}

Crypto load_crypto() {
  Crypto t;
  void* h = open_library("libcrypto.so.3");
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
