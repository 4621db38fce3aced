// Value syntaxes both CLIs share with the tools people already know: sizes as
// docker and runc take them (go-units RAMInBytes: "64m", "1.5g", "512k",
// "64MiB", binary multiples), Go durations ("5s", "250ms", "1m30s") and plain
// decimal integers and cpuset lists. Pure functions; nullopt or false means
// "not that syntax".
//
// A library of its own (husk_front_units): husk-oci links it, and nothing else
// of front, whose net and image parts would bring shared libraries into its
// static link.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace husk::cli {

// A decimal integer with an optional sign, nothing else (no spaces, no "0x").
std::optional<int64_t> parse_int64(std::string_view s);

// A decimal integer >= 0 (no sign at all, as Go's ParseUint).
std::optional<uint64_t> parse_uint64(std::string_view s);

// go-units RAMInBytes: a number (decimals allowed), an optional space, then an
// optional unit k, m, g, t, p (any case, powers of 1024), optional "i",
// optional "b". "64m" = "64MiB" = "64mb" = 67108864; "12q" and "-1" are not
// sizes.
std::optional<int64_t> parse_ram_bytes(std::string_view s);


// A CPU or memory-node list as cpuset takes it: "0-3,6", "1". Checked by the
// CLIs so a typo is named by its flag, not returned as the kernel's EINVAL.
bool valid_id_list(std::string_view s);

}  // namespace husk::cli
