// The container lifecycle, shared by husk-oci (runc's CLI) and husk (the
// friendly CLI). Every entry point takes a typed config::Container (from
// spec::load_bundle or built from flags) or a container id under a state root.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "config/container.h"

namespace husk::runtime {

inline constexpr const char* kDefaultRoot = "/run/husk";

struct CreateOptions {
  std::string root = kDefaultRoot;  // state root (--root)
  std::string id;
  std::string console_socket;       // --console-socket: receives the pty master
  std::string pid_file;             // --pid-file: init's pid, written atomically
  bool no_pivot = false;            // MS_MOVE + chroot instead of pivot_root
  bool no_new_keyring = false;      // keep the caller's session keyring
  int preserve_fds = 0;             // fds 3..3+N-1 passed to the container
  bool detach = false;              // run: return once started, do not wait
  bool systemd_cgroup = false;      // --systemd-cgroup
};

// create: the init is set up and waits for start (exec fifo in the state dir).
Result<void> create(const config::Container& cfg, const CreateOptions& opts);

// run: create + start. Unless opts.detach, waits for the container, forwards
// signals to it and returns its exit status (128+N when killed by signal N),
// then removes it. With detach, returns 0 once the program is running.
Result<int> run(const config::Container& cfg, const CreateOptions& opts);

// start: lets a created container's init exec the user program.
Result<void> start(const std::string& root, const std::string& id);

// kill: signal the init (or with all, every process of the container).
Result<void> kill(const std::string& root, const std::string& id, int signal, bool all);

// destroy (runc's delete): with force, kills a running container first.
Result<void> destroy(const std::string& root, const std::string& id, bool force);

// The OCI state of one container, as runc's `state` prints it (JSON).
Result<std::string> state_json(const std::string& root, const std::string& id);

struct ListEntry {
  std::string id;
  int pid = 0;
  std::string status;  // created | running | paused | stopped
  std::string bundle;
  std::string created;  // RFC 3339
  std::string owner;
};
Result<std::vector<ListEntry>> list(const std::string& root);

}  // namespace husk::runtime
