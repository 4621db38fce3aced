// libcurl, libarchive and libcrypto, loaded when first used instead of at every start of husk.
//
// Linked, the two libraries and what they pull in (gnutls, krb5, ldap, ssh2, nghttp2, libxml2,
// ICU...: 37 more shared objects) cost every `husk` process 4.9 ms of the dynamic loader's
// time, and `husk run` pays it twice, being re-executed from its sealed copy
// (runtime/exe_seal.h), though a run never talks to a registry or reads a tar: measured in
// docs/benchmarks.md ("What husk's libraries cost"); libcrypto (SHA-256, base64) 0.7 ms more,
// though a run hashes nothing. So registry.cc, unpack.cc, archive.cc, digest.cc and
// auth_file.cc include this header instead of <curl/curl.h>, <archive.h> and <openssl/evp.h>:
// the library functions they call become members of a table filled by dlopen + dlsym on first
// use (SONAMEs libcurl.so.4, libarchive.so.13 and libcrypto.so.3, the ones built against), and
// a macro per function sends each call there, so the code reads as plain library calls.
//
// A library that cannot be loaded (not installed) ends the process with one line:
//   husk: libcurl.so.4: cannot open shared object file: No such file or directory
// (exit 125); husk never gets that far without the package its build needed.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#define HUSK_ARCHIVE_FUNCTIONS(X)                                                              \
  X(archive_entry_atime) X(archive_entry_atime_is_set) X(archive_entry_atime_nsec)             \
  X(archive_entry_filetype) X(archive_entry_free) X(archive_entry_gid)                         \
  X(archive_entry_hardlink) X(archive_entry_mtime) X(archive_entry_mtime_nsec)                 \
  X(archive_entry_new) X(archive_entry_pathname) X(archive_entry_perm)                         \
  X(archive_entry_rdevmajor) X(archive_entry_rdevminor) X(archive_entry_set_filetype)          \
  X(archive_entry_set_pathname) X(archive_entry_set_perm) X(archive_entry_set_size)            \
  X(archive_entry_size) X(archive_entry_symlink) X(archive_entry_uid)                          \
  X(archive_entry_xattr_next) X(archive_entry_xattr_reset) X(archive_errno)                    \
  X(archive_error_string) X(archive_libzstd_version) X(archive_read_data)                      \
  X(archive_read_data_block) X(archive_read_data_skip) X(archive_read_free)                    \
  X(archive_read_new) X(archive_read_next_header) X(archive_read_open)                         \
  X(archive_read_open_fd) X(archive_read_support_filter_all)                                   \
  X(archive_read_support_filter_gzip) X(archive_read_support_filter_zstd)                      \
  X(archive_read_support_format_raw) X(archive_read_support_format_tar) X(archive_set_error)   \
  X(archive_write_close) X(archive_write_data) X(archive_write_free) X(archive_write_header)    \
  X(archive_write_new) X(archive_write_open_fd) X(archive_write_set_bytes_in_last_block)       \
  X(archive_write_set_format_pax_restricted) X(archive_zlib_version)

#define HUSK_CURL_FUNCTIONS(X)                                                                 \
  X(curl_easy_cleanup) X(curl_easy_escape) X(curl_easy_getinfo) X(curl_easy_header)           \
  X(curl_easy_init) X(curl_easy_perform) X(curl_easy_reset) X(curl_easy_setopt)               \
  X(curl_easy_strerror) X(curl_free) X(curl_global_init) X(curl_slist_append)                 \
  X(curl_slist_free_all)

#define HUSK_CRYPTO_FUNCTIONS(X)                                                               \
  X(EVP_DigestFinal_ex) X(EVP_DigestInit_ex) X(EVP_DigestUpdate) X(EVP_EncodeBlock)            \
  X(EVP_MD_CTX_free) X(EVP_MD_CTX_new) X(EVP_sha256)

namespace husk::image::lazy {

#define HUSK_LAZY_MEMBER(f) decltype(&::f) f = nullptr;
struct Archive {
  HUSK_ARCHIVE_FUNCTIONS(HUSK_LAZY_MEMBER)
};
struct Curl {
  HUSK_CURL_FUNCTIONS(HUSK_LAZY_MEMBER)
};
struct Crypto {
  HUSK_CRYPTO_FUNCTIONS(HUSK_LAZY_MEMBER)
};
#undef HUSK_LAZY_MEMBER

// Loaded on the first call (thread-safe), then the same table.
const Archive& archive();
const Curl& curl();
const Crypto& crypto();

}  // namespace husk::image::lazy

#ifndef HUSK_LAZY_LIBS_IMPL
// curl's type-checking wrappers (typecheck-gcc.h) would call the linked symbols.
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define HUSK_LAZY_ARCHIVE_CALL(f) (::husk::image::lazy::archive().f)
#define HUSK_LAZY_CURL_CALL(f) (::husk::image::lazy::curl().f)
#define HUSK_LAZY_CRYPTO_CALL(f) (::husk::image::lazy::crypto().f)
#define EVP_DigestFinal_ex HUSK_LAZY_CRYPTO_CALL(EVP_DigestFinal_ex)
#define EVP_DigestInit_ex HUSK_LAZY_CRYPTO_CALL(EVP_DigestInit_ex)
#define EVP_DigestUpdate HUSK_LAZY_CRYPTO_CALL(EVP_DigestUpdate)
#define EVP_EncodeBlock HUSK_LAZY_CRYPTO_CALL(EVP_EncodeBlock)
#define EVP_MD_CTX_free HUSK_LAZY_CRYPTO_CALL(EVP_MD_CTX_free)
#define EVP_MD_CTX_new HUSK_LAZY_CRYPTO_CALL(EVP_MD_CTX_new)
#define EVP_sha256 HUSK_LAZY_CRYPTO_CALL(EVP_sha256)
#define archive_entry_atime HUSK_LAZY_ARCHIVE_CALL(archive_entry_atime)
#define archive_entry_atime_is_set HUSK_LAZY_ARCHIVE_CALL(archive_entry_atime_is_set)
#define archive_entry_atime_nsec HUSK_LAZY_ARCHIVE_CALL(archive_entry_atime_nsec)
#define archive_entry_filetype HUSK_LAZY_ARCHIVE_CALL(archive_entry_filetype)
#define archive_entry_free HUSK_LAZY_ARCHIVE_CALL(archive_entry_free)
#define archive_entry_gid HUSK_LAZY_ARCHIVE_CALL(archive_entry_gid)
#define archive_entry_hardlink HUSK_LAZY_ARCHIVE_CALL(archive_entry_hardlink)
#define archive_entry_mtime HUSK_LAZY_ARCHIVE_CALL(archive_entry_mtime)
#define archive_entry_mtime_nsec HUSK_LAZY_ARCHIVE_CALL(archive_entry_mtime_nsec)
#define archive_entry_new HUSK_LAZY_ARCHIVE_CALL(archive_entry_new)
#define archive_entry_pathname HUSK_LAZY_ARCHIVE_CALL(archive_entry_pathname)
#define archive_entry_perm HUSK_LAZY_ARCHIVE_CALL(archive_entry_perm)
#define archive_entry_rdevmajor HUSK_LAZY_ARCHIVE_CALL(archive_entry_rdevmajor)
#define archive_entry_rdevminor HUSK_LAZY_ARCHIVE_CALL(archive_entry_rdevminor)
#define archive_entry_set_filetype HUSK_LAZY_ARCHIVE_CALL(archive_entry_set_filetype)
#define archive_entry_set_pathname HUSK_LAZY_ARCHIVE_CALL(archive_entry_set_pathname)
#define archive_entry_set_perm HUSK_LAZY_ARCHIVE_CALL(archive_entry_set_perm)
#define archive_entry_set_size HUSK_LAZY_ARCHIVE_CALL(archive_entry_set_size)
#define archive_entry_size HUSK_LAZY_ARCHIVE_CALL(archive_entry_size)
#define archive_entry_symlink HUSK_LAZY_ARCHIVE_CALL(archive_entry_symlink)
#define archive_entry_uid HUSK_LAZY_ARCHIVE_CALL(archive_entry_uid)
#define archive_entry_xattr_next HUSK_LAZY_ARCHIVE_CALL(archive_entry_xattr_next)
#define archive_entry_xattr_reset HUSK_LAZY_ARCHIVE_CALL(archive_entry_xattr_reset)
#define archive_errno HUSK_LAZY_ARCHIVE_CALL(archive_errno)
#define archive_error_string HUSK_LAZY_ARCHIVE_CALL(archive_error_string)
#define archive_libzstd_version HUSK_LAZY_ARCHIVE_CALL(archive_libzstd_version)
#define archive_read_data HUSK_LAZY_ARCHIVE_CALL(archive_read_data)
#define archive_read_data_block HUSK_LAZY_ARCHIVE_CALL(archive_read_data_block)
#define archive_read_data_skip HUSK_LAZY_ARCHIVE_CALL(archive_read_data_skip)
#define archive_read_free HUSK_LAZY_ARCHIVE_CALL(archive_read_free)
#define archive_read_new HUSK_LAZY_ARCHIVE_CALL(archive_read_new)
#define archive_read_next_header HUSK_LAZY_ARCHIVE_CALL(archive_read_next_header)
#define archive_read_open HUSK_LAZY_ARCHIVE_CALL(archive_read_open)
#define archive_read_open_fd HUSK_LAZY_ARCHIVE_CALL(archive_read_open_fd)
#define archive_read_support_filter_all HUSK_LAZY_ARCHIVE_CALL(archive_read_support_filter_all)
#define archive_read_support_filter_gzip HUSK_LAZY_ARCHIVE_CALL(archive_read_support_filter_gzip)
#define archive_read_support_filter_zstd HUSK_LAZY_ARCHIVE_CALL(archive_read_support_filter_zstd)
#define archive_read_support_format_raw HUSK_LAZY_ARCHIVE_CALL(archive_read_support_format_raw)
#define archive_read_support_format_tar HUSK_LAZY_ARCHIVE_CALL(archive_read_support_format_tar)
#define archive_set_error HUSK_LAZY_ARCHIVE_CALL(archive_set_error)
#define archive_write_close HUSK_LAZY_ARCHIVE_CALL(archive_write_close)
#define archive_write_data HUSK_LAZY_ARCHIVE_CALL(archive_write_data)
#define archive_write_free HUSK_LAZY_ARCHIVE_CALL(archive_write_free)
#define archive_write_header HUSK_LAZY_ARCHIVE_CALL(archive_write_header)
#define archive_write_new HUSK_LAZY_ARCHIVE_CALL(archive_write_new)
#define archive_write_open_fd HUSK_LAZY_ARCHIVE_CALL(archive_write_open_fd)
#define archive_write_set_bytes_in_last_block HUSK_LAZY_ARCHIVE_CALL(archive_write_set_bytes_in_last_block)
#define archive_write_set_format_pax_restricted HUSK_LAZY_ARCHIVE_CALL(archive_write_set_format_pax_restricted)
#define archive_zlib_version HUSK_LAZY_ARCHIVE_CALL(archive_zlib_version)
#define curl_easy_cleanup HUSK_LAZY_CURL_CALL(curl_easy_cleanup)
#define curl_easy_escape HUSK_LAZY_CURL_CALL(curl_easy_escape)
#define curl_easy_getinfo HUSK_LAZY_CURL_CALL(curl_easy_getinfo)
#define curl_easy_header HUSK_LAZY_CURL_CALL(curl_easy_header)
#define curl_easy_init HUSK_LAZY_CURL_CALL(curl_easy_init)
#define curl_easy_perform HUSK_LAZY_CURL_CALL(curl_easy_perform)
#define curl_easy_reset HUSK_LAZY_CURL_CALL(curl_easy_reset)
#define curl_easy_setopt HUSK_LAZY_CURL_CALL(curl_easy_setopt)
#define curl_easy_strerror HUSK_LAZY_CURL_CALL(curl_easy_strerror)
#define curl_free HUSK_LAZY_CURL_CALL(curl_free)
#define curl_global_init HUSK_LAZY_CURL_CALL(curl_global_init)
#define curl_slist_append HUSK_LAZY_CURL_CALL(curl_slist_append)
#define curl_slist_free_all HUSK_LAZY_CURL_CALL(curl_slist_free_all)
#endif
