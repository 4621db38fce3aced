#include "base/shared_lib.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

namespace husk::shared_lib {

namespace {

[[noreturn]] void cannot_load(const char* what) {
  std::fprintf(stderr, "husk: %s\n", what);
  std::_Exit(125);
}

}  // namespace

void* open(const char* soname) {
  void* h = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) cannot_load(::dlerror());
  return h;
}

void* symbol(void* handle, const char* name) {
  void* sym = ::dlsym(handle, name);
  if (sym == nullptr) cannot_load(::dlerror());
  return sym;
}

}  // namespace husk::shared_lib
