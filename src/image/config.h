// The image config (OCI image-spec config, docker's image JSON) and docker's rules for turning
// it plus `husk run` flags into the container's process.
//
//   HUSK_TRY_ASSIGN(ImageConfig cfg, parse_config(bytes));
//   HUSK_TRY(check_manifest_config(manifest, cfg));
//   HUSK_TRY_ASSIGN(ProcessSpec p, resolve_process(cfg, flags));
//
// The config is hostile: at most 4 MiB, every field type-checked, no NUL byte in anything that
// becomes argv, env, a path or a user, Env entries NAME=VALUE with a non-empty name.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "image/digest.h"
#include "image/manifest.h"

namespace husk::image {

struct HistoryEntry {
  std::string created, created_by, comment;
  bool empty_layer = false;
};

struct ImageConfig {
  std::string architecture, os, variant;
  // config.*
  std::string user;
  std::vector<std::string> exposed_ports;  // "80/tcp", sorted
  std::vector<std::string> env;            // NAME=VALUE, image order
  std::vector<std::string> entrypoint, cmd;
  std::vector<std::string> volumes;  // sorted
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::string stop_signal;
  // rootfs (type "layers") and history.
  std::vector<Digest> diff_ids;
  std::vector<HistoryEntry> history;
};

inline constexpr size_t kMaxConfigItems = 10000;  // per list: env, ports, labels, history

Result<ImageConfig> parse_config(std::string_view bytes);

// The config belongs to the manifest: one diff_id per layer.
Result<void> check_manifest_config(const ImageManifest& manifest, const ImageConfig& config);

// docker's default PATH (moby's DefaultPathEnv on Linux).
inline constexpr std::string_view kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct ProcessFlags {
  // --entrypoint: unset keeps the image's; "" resets it; anything else is the one program.
  std::optional<std::string> entrypoint;
  std::vector<std::string> cmd;  // the arguments after the image name
  // -e: NAME=VALUE replaces or adds NAME; a bare NAME removes it (docker's rule).
  std::vector<std::string> env;
  std::string workdir;  // -w, absolute
  std::string user;     // -u
  // The runtime's HOSTNAME, placed before the image's env so an image or -e value wins.
  std::optional<std::string> hostname;
};

struct ProcessSpec {
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string cwd;
  std::string user;  // a user spec for passwd.h; "" is root
};

// Docker's semantics: --entrypoint drops the image's Cmd; arguments replace Cmd; an empty
// argv is "no command specified". env = PATH (docker's default unless set), HOSTNAME, then the
// -e entries, then the image's entries not overridden, each NAME once. cwd = -w, else
// WorkingDir, else "/" (cleaned; relative is an error). user = -u, else the image's User.
Result<ProcessSpec> resolve_process(const ImageConfig& config, const ProcessFlags& flags);

}  // namespace husk::image
