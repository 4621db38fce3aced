// `husk run` flags -> config::Container, in memory: no bundle on disk.
//
// Pure translation (no syscalls): main.cc fills RunFlags with CLI11 and a
// Caller with the few host facts it needs (cwd, tty, environment, account
// files), then calls build_config. New flags (-p, -v) become new RunFlags
// fields and one more step in build_config; the resource flags (--cpus,
// --memory, --pids...) are translated in resource_flags.h.
#pragma once

#include <linux/capability.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "config/container.h"
#include "front/net_flags.h"
#include "front/resource_flags.h"
#include "front/user.h"
#include "front/volume_flags.h"
#include "image/config.h"
#include "storage/container_layer.h"

namespace husk::cli {

struct RunFlags {
  std::optional<std::string> rootfs;  // --rootfs DIR[:O]; absent: the host's own /, read-only
  std::string name;                   // --name: container id, and the default hostname
  std::string hostname;               // --hostname
  std::vector<std::string> env;       // -e KEY=VALUE, or a bare KEY copied from the caller
  std::string workdir;                // -w: absolute path inside the container
  std::string user;                   // -u UID[:GID] or NAME[:GROUP]
  std::string net = "bridge";         // --net: see parse_net_mode
  NetFlags network;                   // --ip, -p, --dns..., --egress-rate... (net_flags.h)
  bool read_only = false;             // --read-only (always on for the host's /)
  std::vector<std::string> cap_add;   // --cap-add NAME (docker's names: SYS_ADMIN, ALL)
  std::vector<std::string> cap_drop;  // --cap-drop NAME
  ResourceFlags resources;            // --cpus, --memory, --pids, ... (resource_flags.h)
  std::string image;                  // IMAGE, the first word before "--" (none: no image)
  std::optional<std::string> entrypoint;  // --entrypoint ("" resets the image's)
  bool publish_all = false;               // -P: every ExposedPorts entry to a free host port
  std::string pull = "missing";           // --pull missing|always|never (docker's default)
  VolumeFlags volumes;  // -v, --tmpfs, --mount (volume_flags.h; main.cc mounts them)
  std::vector<std::string> command;       // CMD [ARG...]: the program, or the image's Cmd
};

// husk run IMAGE: what main.cc found in the image store (image_run.h).
struct ImageRoot {
  std::string name;                 // as the user gave it, for errors
  image::ImageConfig config;
  std::string base;                 // the store's directory: the lowers are relative to it
  std::vector<std::string> lowers;  // the layers' short links ("l/..."), top first
};

// What build_config needs to know about the caller and the root, injected so
// the translation stays pure and testable.
struct Caller {
  std::string cwd = "/";   // a relative --rootfs is taken from here; empty: unknown
  bool stdin_tty = false;  // TERM=xterm only when a terminal is attached
  // The caller's value of an environment variable, for a bare -e KEY.
  std::function<std::optional<std::string>(const std::string&)> getenv;
  // The root's /etc/passwd and /etc/group, read only when -u is given.
  std::function<AccountFiles()> account_files;
  // CPU count, swap accounting, device numbers: for the resource flags.
  HostFacts host;
  // Where the container's resolv.conf, hosts and hostname are written when it
  // attaches to a network (net::files_dir_for); empty: no such files.
  std::string net_files_dir;
  // --net container:ID: the network namespace of that running container.
  std::function<Result<std::string>(const std::string&)> netns_of_container;
  // --rootfs DIR:O or an image: the container's layer (storage::ContainerLayer),
  // made before build_config; upper and work empty for a read-only overlay.
  std::optional<storage::LayerPaths> layer;
  // husk run IMAGE: the image; account_files then reads the image's files.
  std::optional<ImageRoot> image;
};

// --rootfs DIR[:O], podman's syntax: ":O" mounts DIR as the read-only lower
// layer of an overlay whose upper is the container's own, removed with it.
// Only a last ":" whose suffix has no "/" is an option: "./a:b/c" is a path.
struct RootfsFlag {
  std::string path;
  bool overlay = false;
};

// --rootfs DIR[:O] split into the directory and the overlay option.
Result<RootfsFlag> parse_rootfs_flag(const std::string& v);

// Docker's default capability set.
inline constexpr uint64_t kDefaultCaps =
    (1ULL << CAP_CHOWN) | (1ULL << CAP_DAC_OVERRIDE) | (1ULL << CAP_FSETID) |
    (1ULL << CAP_FOWNER) | (1ULL << CAP_MKNOD) | (1ULL << CAP_NET_RAW) | (1ULL << CAP_SETGID) |
    (1ULL << CAP_SETUID) | (1ULL << CAP_SETFCAP) | (1ULL << CAP_SETPCAP) |
    (1ULL << CAP_NET_BIND_SERVICE) | (1ULL << CAP_SYS_CHROOT) | (1ULL << CAP_KILL) |
    (1ULL << CAP_AUDIT_WRITE);

namespace build_detail {

// The --rootfs directory (the lower layer with ":O"), absolute and normal.
std::string root_path(const RunFlags& f, const Caller& c);

// runc's container id rule: letters, digits, "_", "+", "-", ".", not "." or "..".
Result<void> check_name(const std::string& name);

}  // namespace build_detail

// runc spec's default masked and read-only paths.
std::vector<std::string> default_masked_paths();
std::vector<std::string> default_readonly_paths();

// The whole translation. Errors are one line naming the flag at fault.
Result<config::Container> build_config(const RunFlags& f, const Caller& c = {});

}  // namespace husk::cli
