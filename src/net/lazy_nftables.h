// libnftables, loaded when first used instead of at every start of husk.
//
// Linked, libnftables and what it pulls in (libxtables, libjansson, libgmp) cost every `husk`
// process the dynamic loader's time, twice for a `husk run` (runtime/exe_seal.h), though a
// run on a network that is already set up never needs it: each run's rules go through
// libnftnl (net/nf_socket.h), and libnftables only makes a network's table or takes a
// fallback (net/firewall.h). So firewall.cc includes this header instead of
// <nftables/libnftables.h>: each function it calls is a member of a table that
// base/shared_lib.h fills on first use, from libnftables.so.1 (the SONAME built against).
#pragma once

#include <nftables/libnftables.h>

#define HUSK_NFTABLES_FUNCTIONS(X)                                                   \
  X(nft_ctx_buffer_error) X(nft_ctx_buffer_output) X(nft_ctx_free)                   \
  X(nft_ctx_get_error_buffer) X(nft_ctx_get_output_buffer) X(nft_ctx_new)            \
  X(nft_ctx_output_get_flags) X(nft_ctx_output_set_flags) X(nft_run_cmd_from_buffer)

namespace husk::net::lazy {

#define HUSK_LAZY_MEMBER(f) decltype(&::f) f = nullptr;
struct Nftables {
  HUSK_NFTABLES_FUNCTIONS(HUSK_LAZY_MEMBER)
};
#undef HUSK_LAZY_MEMBER

// Loaded on the first call (thread-safe), then the same table.
const Nftables& nftables();

}  // namespace husk::net::lazy

#ifndef HUSK_LAZY_NFTABLES_IMPL
#define HUSK_LAZY_NFTABLES_CALL(f) (::husk::net::lazy::nftables().f)
#define nft_ctx_buffer_error HUSK_LAZY_NFTABLES_CALL(nft_ctx_buffer_error)
#define nft_ctx_buffer_output HUSK_LAZY_NFTABLES_CALL(nft_ctx_buffer_output)
#define nft_ctx_free HUSK_LAZY_NFTABLES_CALL(nft_ctx_free)
#define nft_ctx_get_error_buffer HUSK_LAZY_NFTABLES_CALL(nft_ctx_get_error_buffer)
#define nft_ctx_get_output_buffer HUSK_LAZY_NFTABLES_CALL(nft_ctx_get_output_buffer)
#define nft_ctx_new HUSK_LAZY_NFTABLES_CALL(nft_ctx_new)
#define nft_ctx_output_get_flags HUSK_LAZY_NFTABLES_CALL(nft_ctx_output_get_flags)
#define nft_ctx_output_set_flags HUSK_LAZY_NFTABLES_CALL(nft_ctx_output_set_flags)
#define nft_run_cmd_from_buffer HUSK_LAZY_NFTABLES_CALL(nft_run_cmd_from_buffer)
#endif
