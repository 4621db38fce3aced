// Shared by the libFuzzer targets in this directory (never linked into husk).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "base/log.h"

namespace husk::fuzz {

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Parsers log warnings (a relative mount destination, ...): send them nowhere,
// so the fuzzer's own output stays readable.
inline void quiet_logs() { log::init("/dev/null", log::Format::kText, false); }

// An invariant the code under test promises was broken: report it as a crash,
// which libFuzzer saves as a reproducer.
[[noreturn]] inline void broken(const char* what) {
  std::fprintf(stderr, "fuzz: invariant broken: %s\n", what);
  std::abort();
}

}  // namespace husk::fuzz
