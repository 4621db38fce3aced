#define HUSK_LAZY_NFTABLES_IMPL
#include "net/lazy_nftables.h"

#include "base/shared_lib.h"

namespace husk::net::lazy {

namespace {

Nftables load_nftables() {
  Nftables t;
  void* h = shared_lib::open("libnftables.so.1");
#define HUSK_LAZY_RESOLVE(f) shared_lib::resolve(h, t.f, #f);
  HUSK_NFTABLES_FUNCTIONS(HUSK_LAZY_RESOLVE)
#undef HUSK_LAZY_RESOLVE
  return t;
}

}  // namespace

const Nftables& nftables() {
  static const Nftables table = load_nftables();  // initialised once, thread-safe
  return table;
}

}  // namespace husk::net::lazy
