// The per-container state directory, <root>/<id>/:
//   state.json  what later commands need (init pid + start time, bundle...)
//   exec.fifo   present while the container is "created"; `start` opens it
//   rootfs/     an empty mount point, only when the rootfs is the host's /
//   notify/     made under NOTIFY_SOCKET, bind-mounted at /run/notify in the
//               container; notify/notify.sock while start/run relay (notify.h)
// The directory itself is flock()ed by every command that touches the
// container, so commands on one container are serialized and commands on
// different containers never wait for each other.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"
#include "cgroup/manager.h"
#include "config/container.h"
#include "linux/host_bind.h"

namespace husk::runtime {

enum class Status { kCreating, kCreated, kRunning, kPaused, kStopped };
std::string_view status_name(Status s);

struct ContainerState {
  std::string id;
  pid_t pid = 0;
  uint64_t start_time = 0;  // /proc/<pid>/stat field 22: detects pid reuse
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339, UTC, nanoseconds
  std::string owner;
  std::map<std::string, std::string> annotations;
  // Written before the cgroups are made (an intent record), so that
  // `delete --force` of a create that was killed -9 still removes them.
  cgroup::SavedState cgroup;
  // The config has poststart / poststop hooks: start and delete then read
  // the saved config.json (kConfigFile), which they otherwise never parse.
  bool poststart_hooks = false;
  bool poststop_hooks = false;
  // No mount namespace of its own: the rootfs bind made in the host's
  // (linux/host_bind.h), recorded before it is attached; delete detaches it.
  std::optional<linux::HostBind> rootfs_bind;
};

inline constexpr const char* kStateFile = "state.json";
inline constexpr const char* kExecFifo = "exec.fifo";
// The config.json the container was made from: `exec` takes its process
// defaults and seccomp profile from it, as runc does from its state.
inline constexpr const char* kConfigFile = "config.json";
// Mount point for a rootfs that is the host's "/" (see init.cc).
inline constexpr const char* kRootfsStage = "rootfs";
// sd_notify passthrough (notify.h): the directory the container sees as
// /run/notify, and the socket start/run bind in it.
inline constexpr const char* kNotifyDir = "notify";
inline constexpr const char* kNotifySocket = "notify/notify.sock";

class StateDir {
 public:
  // Makes <root>/<id> (and root) and locks it; fails if the id exists.
  static Result<StateDir> create(const std::string& root, const std::string& id);
  // Locks an existing container's directory.
  static Result<StateDir> open(const std::string& root, const std::string& id);
  // Opens it without the lock, for readers (state, list): state.json is
  // replaced atomically, so they never see half a file and never wait.
  static Result<StateDir> peek(const std::string& root, const std::string& id);

  // A long-running command (run, exec in the foreground) lets others in
  // while it waits, and takes the lock back before it cleans up.
  void unlock();
  void lock();
  // True when another command holds the lock (for a peek()ed directory
  // whose state has no pid yet: a create is in progress).
  bool busy() const;

  Result<void> save(const ContainerState& s) const;
  Result<ContainerState> load() const;
  // Removes the directory and what husk put in it, however far create got
  // (no state.json yet, a save's temp file). Idempotent.
  Result<void> remove();
  void disarm() { remove_on_destroy_ = false; }

  StateDir(StateDir&&) = default;
  StateDir& operator=(StateDir&&) = default;
  ~StateDir();

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  bool has_exec_fifo() const;

 private:
  StateDir(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  Result<void> remove_temp_files() const;
  std::string path_;
  UniqueFd fd_;
  bool remove_on_destroy_ = false;
};

// The text of a state.json as StateDir::save writes it; StateDir::load reads
// the file through this (a pure function, so tests/fuzz reaches it).
Result<ContainerState> parse_state_json(std::string_view text);

// Container ids follow runc's rule: [A-Za-z0-9_+.-]+, not "." or "..".
Result<void> validate_id(const std::string& id);

// The state root and any missing parents (engines pass roots such as
// /run/containerd/runc/<namespace> before anything made them), as runc does.
Result<void> make_state_root(const std::string& root);

// Where the container is now, read from the kernel, not from the file.
Status current_status(const ContainerState& s, const StateDir& dir);

std::string now_rfc3339();

// The config.json saved at create (exec, poststart and poststop hooks).
Result<config::Container> load_saved_config(const StateDir& dir, const ContainerState& st);

// The OCI state of st as hooks get it on stdin.
std::string hook_state_json(const ContainerState& st, std::string_view status);

}  // namespace husk::runtime
