// The config.json `runc spec` writes: a busybox-friendly starting point.
#pragma once

#include <sys/types.h>

#include <string>

namespace husk::spec {

// The OCI version husk implements and writes into new documents.
inline constexpr const char* kOciVersion = "1.2.0";

// Byte for byte what `runc spec [--rootless]` writes (tab-indented, no final
// newline), except ociVersion, which is kOciVersion. Rootless maps container
// root to the caller's effective uid/gid.
std::string default_config_json(bool rootless);
// The same with explicit host ids for the rootless mappings.
std::string default_config_json(bool rootless, uid_t host_uid, gid_t host_gid);

}  // namespace husk::spec
