// The OCI state document: what `runc state` prints and what hooks read on stdin.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace husk::spec {

struct OciState {
  std::string oci_version;
  std::string id;
  std::string status;  // "creating", "created", "running", "stopped", "paused"
  std::string bundle;
  int pid = 0;
  std::map<std::string, std::string> annotations;
  std::string rootfs;
  std::string created;  // RFC 3339 with nanoseconds, UTC (format_rfc3339_nano)
  std::string owner;
};

// `runc state`: two-space indented, fields in runc's order (ociVersion, id,
// pid, status, bundle, rootfs, created, annotations if any, owner), strings
// escaped as Go's encoding/json does (<, >, & as \u003c...), no final newline.
std::string to_json(const OciState& s);

// The runtime-spec state given to hooks on stdin, compact on one line:
// ociVersion, id, status, pid (omitted when 0), bundle, annotations (if any).
std::string to_hook_json(const OciState& s);

// runtime-spec's "container process state" (runtime.md): what a seccomp agent
// at linux.seccomp.listenerPath receives with the notify fd.
struct ContainerProcessState {
  std::string oci_version;
  std::vector<std::string> fds;  // names of the fds sent along, in SCM_RIGHTS order
  int pid = 0;                   // the process, as the runtime sees it
  std::string metadata;          // linux.seccomp.listenerMetadata
  std::string state;             // the container's state, as to_hook_json renders it
};

// Compact, in runc's field order: ociVersion, fds, pid, metadata (omitted when
// empty), state.
std::string to_json(const ContainerProcessState& s);

// "2024-05-01T12:34:56.123456789Z" as Go's time.RFC3339Nano prints UTC times:
// trailing zeros of the fraction dropped, no fraction when it is zero.
std::string format_rfc3339_nano(int64_t seconds, uint32_t nanoseconds);

}  // namespace husk::spec
