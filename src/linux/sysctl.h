// linux.sysctl: kernel parameters of the container's namespaces, written
// under sys/ of the init's private procfs (linux/procfs.h), never through the
// container's /proc. The values apply to the writer's namespaces.
#pragma once

#undef linux  // GNU mode predefines `linux` as 1, which breaks `namespace husk::linux`

#include <map>
#include <string>
#include <string_view>

#include "base/error.h"
#include "linux/procfs.h"

namespace husk::linux {

// The path below /proc/sys for a key: "net.ipv4.ip_forward" ->
// "net/ipv4/ip_forward". A key holding '/' is taken as already slash
// separated, so dots stay literal ("net/ipv4/conf/eth0.100/forwarding"), as
// sysctl(8) reads it. Fails for keys with empty, "." or ".." components.
Result<std::string> sysctl_path(std::string_view key);

// Writes each value; errors name the key: `sysctl "kernel.foo": ...`.
Result<void> apply_sysctl(const Procfs& proc, const std::map<std::string, std::string>& sysctl);

}  // namespace husk::linux
