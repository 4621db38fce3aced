// Shared libraries opened on first use instead of at every start of the program.
//
// husk needs libcurl, libarchive, libcrypto (image/lazy_libs.h) and libnftables
// (net/lazy_nftables.h) for a few verbs only, but the dynamic loader maps, relocates and
// initialises every linked library (and what it pulls in) at each start, and `husk run` starts
// twice (runtime/exe_seal.h). So those libraries are opened here when a call first needs them:
// each user keeps a table of the functions it calls, filled once by dlopen + dlsym.
//
// A library or symbol that cannot be found ends the process with one line (exit 125):
//   husk: libcurl.so.4: cannot open shared object file: No such file or directory
// husk never gets that far without the package its build needed.
#pragma once

namespace husk::shared_lib {

// dlopen(soname), RTLD_NOW | RTLD_LOCAL; exits as above when it fails.
void* open(const char* soname);

// dlsym(handle, name); exits as above when it is missing.
void* symbol(void* handle, const char* name);

// Sets a table member (a pointer to the function `name`) from `handle`.
template <typename T>
void resolve(void* handle, T& member, const char* name) {
  member = reinterpret_cast<T>(symbol(handle, name));
}

}  // namespace husk::shared_lib
