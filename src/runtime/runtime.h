// The container lifecycle, shared by husk-oci (runc's CLI) and husk (the
// friendly CLI). Every entry point takes a typed config::Container (from
// spec::load_bundle or built from flags) or a container id under a state root.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "config/container.h"
#include "config/resources.h"

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
                                    // (LISTEN_FDS ones first, see notify.h)
  bool detach = false;              // run: return once started, do not wait
  bool keep = false;                // run: leave the stopped container for delete
  bool systemd_cgroup = false;      // --systemd-cgroup
  std::string notify_socket;        // the caller's NOTIFY_SOCKET (notify.h)
  // Runs in the caller's process once the init is set up in its namespaces
  // and waits for start, before the state is saved: `husk run` plumbs the
  // container's network here (/proc/<pid>/ns/net). A failure aborts the
  // create, which then undoes everything it made.
  std::function<Result<void>(pid_t init_pid)> on_ready;
};

// create: the init is set up and waits for start (exec fifo in the state dir).
Result<void> create(const config::Container& cfg, const CreateOptions& opts);

// run: create + start. Unless opts.detach, waits for the container, forwards
// signals to it and returns its exit status (128+N when killed by signal N),
// then removes it. With detach, returns 0 once the program is running.
Result<int> run(const config::Container& cfg, const CreateOptions& opts);

// start: lets a created container's init exec the user program.
// With notify_socket (the caller's NOTIFY_SOCKET) and a container created
// under one, returns once the container sent READY= (passed on) or its init
// died (notify.h).
Result<void> start(const std::string& root, const std::string& id,
                   const std::string& notify_socket = {});

// kill: signal the init (or with all, every process of the container).
Result<void> kill(const std::string& root, const std::string& id, int signal, bool all);

// The root directory of a running container's init, /proc/<pid>/root,
// checked to be that init's (its start time, as the state saved it), not a
// process that reused its pid. What lies below it is the container's and
// hostile: resolve paths there with linux::open_in_root only.
Result<UniqueFd> open_container_root(const std::string& root, const std::string& id);

// destroy (runc's delete): with force, kills a running container first.
Result<void> destroy(const std::string& root, const std::string& id, bool force);

// The OCI state of one container, as runc's `state` prints it (JSON).
Result<std::string> state_json(const std::string& root, const std::string& id);

// exec: a new process in a running (or created) container.
struct ExecOptions {
  std::string root = kDefaultRoot;
  std::string id;
  // --process: a process.json used as it is. Without it, the container's
  // own process with args and runc's exec flags applied.
  std::string process_json;
  std::string process_doc = "process.json";  // names it in errors
  std::vector<std::string> args;
  std::vector<std::string> env;              // --env KEY=VALUE, added (or replacing)
  std::string cwd;                           // --cwd
  std::string user;                          // --user UID[:GID]
  std::vector<uint32_t> additional_gids;     // --additional-gids
  std::vector<std::string> caps;             // --cap CAP_X, added to every set but ambient
  bool no_new_privs = false;
  bool tty = false;
  std::string apparmor;
  std::string process_label;
  std::string console_socket;
  std::string pid_file;
  bool detach = false;
  bool ignore_paused = false;
  int preserve_fds = 0;
  // --cgroup [CONTROLLER[,CONTROLLER]:]PATH: sub-cgroups of the container's to
  // put the process in (cgroup::sub_cgroup_state).
  std::vector<std::string> cgroups;
  // The container's config, for a container made from flags (husk), which
  // has no config.json to read it from.
  const config::Container* container = nullptr;
};

// Runs the process; in the foreground returns its exit status (128+N when
// killed by signal N) and forwards signals to it; with detach returns 0
// once it is running.
Result<int> exec(const ExecOptions& opts);
// The process exec runs (pure): opts.process_json parsed, or base (the
// container's config.json process) with the flags applied as runc does.
Result<config::Process> exec_process(const config::Process& base, const ExecOptions& opts);

struct ListEntry {
  std::string id;
  int pid = 0;
  std::string status;  // created | running | paused | stopped
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339
  std::string owner;
};
Result<std::vector<ListEntry>> list(const std::string& root);

// --- Control through the container's cgroup (control.cc) ---

// pause/resume: freeze or thaw every process of the container (v1
// freezer.state, v2 cgroup.freeze). Errors as runc's: "container not running"
// (pause of a stopped or paused one), "container not paused".
Result<void> pause(const std::string& root, const std::string& id);
Result<void> resume(const std::string& root, const std::string& id);

// update: writes the set fields of r into the live cgroup (absent ones are
// left alone; device rules and pids.limit 0 are ignored, as runc does).
Result<void> update(const std::string& root, const std::string& id, config::Resources r);

// ps: every pid in the container's cgroup, sorted.
Result<std::vector<int>> processes(const std::string& root, const std::string& id);

// events: runc's event stream. type "stats" carries stats_to_json data;
// "oom" has none (data empty).
struct Event {
  std::string type;
  std::string data;  // a JSON object, or empty
};
struct EventsOptions {
  bool stats_once = false;  // --stats: one stats event, then return
  std::chrono::milliseconds interval{5000};
};
// Emits a stats event every interval and an oom event whenever the kernel
// OOM-kills in the container; returns when the container stops.
Result<void> events(const std::string& root, const std::string& id, const EventsOptions& opts,
                    const std::function<void(const Event&)>& emit);

}  // namespace husk::runtime
