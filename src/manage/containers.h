// The containers `husk` manages: one directory per container under
// <root>/containers (root: $HUSK_ROOT, else /var/lib/husk), named after the
// container, so that a name is unique by mkdir() alone:
//
//   <root>/containers/<name>/
//     record.json   written once by create: who the container is and how to
//                   start it again (the `husk run` words it was made from)
//     status.json   rewritten whole (atomically) whenever its state changes:
//                   by husk for a foreground run, else by its monitor
//     ctr.log[.N]   stdout and stderr in the CRI log format (manage/log_file.h)
//     layer/        its root's writable layer (storage::ContainerLayer)
//
// The name is also the container's id in the runtime (/run/husk/<name>, the
// cgroups), so husk-oci sees the same containers; the 64-hex id is docker's
// handle for users (ps, prefixes). What lives only in /run (the runtime's
// state, the monitor) is lost with a reboot: the record and status are not,
// so `husk ps -a` still lists every container, as stopped.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "sys/process.h"

namespace husk::manage {

// --restart: docker's policies. max (on-failure:N) 0 means no bound.
struct RestartPolicy {
  enum class Kind { kNo, kOnFailure, kAlways, kUnlessStopped };
  Kind kind = Kind::kNo;
  int max = 0;
  friend bool operator==(const RestartPolicy&, const RestartPolicy&) = default;
};
Result<RestartPolicy> parse_restart_policy(std::string_view text);
std::string format_restart_policy(const RestartPolicy& p);

struct Record {
  std::string id;       // 64 hex digits
  std::string name;     // the directory's name and the runtime's container id
  std::string created;  // RFC 3339, UTC
  // What to start it from: the image as the user named it and the id it
  // resolved to (a restart uses that id, as docker does), or a --rootfs
  // directory; both empty for the host's /.
  std::string image;
  std::string image_id;
  std::string rootfs;
  std::vector<std::string> command;  // the process's args as built
  // The words of `husk run` after "run" that made it (a bare -e NAME already
  // resolved), and the directory relative paths in them are taken from.
  std::vector<std::string> args;
  std::string cwd;
  // The caller's values of the variables a bare `-e NAME` passes through, so
  // that a later start sees what the first one saw.
  std::map<std::string, std::string> caller_env;
  std::map<std::string, std::string> labels;
  std::vector<std::string> ports;  // -p/-P as published, for ps
  // Its anonymous volumes (-v /DST, --mount type=volume without a source),
  // by target: made at the first start, mounted again by every later one,
  // removed with the container by rm -v or --rm. Older records lack it.
  std::map<std::string, std::string> anonymous_volumes;
  RestartPolicy restart;
  bool auto_remove = false;  // --rm
  bool tty = false;          // -t
  bool interactive = false;  // -i
  std::string stop_signal;   // name or number; empty: SIGTERM (or the image's)
  int stop_timeout = 10;     // seconds before SIGKILL
  uint64_t log_max_size = 0;  // bytes per log file, 0: unbounded
  int log_max_files = 1;
};

enum class State { kCreated, kRunning, kPaused, kRestarting, kExited, kRemoving };
std::string_view state_name(State s);

// The mutable part. The monitor and husk write it; readers never see half
// of it (write_file_atomic).
struct Status {
  std::string state = "created";  // created | running | paused | restarting | exited
  pid_t pid = 0;                  // the init while running
  std::string started_at, finished_at;
  int exit_code = 0;
  int restarts = 0;
  bool oom_killed = false;
  // Who looks after the running container: the monitor, or the husk that
  // runs it in the foreground. Dead while "running": the container is
  // reported exited, with `error` saying why.
  std::optional<sys::ProcessRef> keeper;
  bool stopped_by_user = false;  // husk stop/kill: no restart (unless-stopped, always)
  std::string error;             // why it is not running, when husk knows
};

// What `ps`, `inspect` and the verbs see: the record, the status as stored,
// and the state once checked against the kernel.
struct Container {
  Record record;
  Status status;
  State state = State::kCreated;
  std::string dir;
};

class Store {
 public:
  // <root>/containers; made on first create.
  explicit Store(std::string root);
  static std::string default_root();  // image::Store's: $HUSK_ROOT or /var/lib/husk

  const std::string& dir() const { return dir_; }
  std::string container_dir(const std::string& name) const { return dir_ + "/" + name; }
  std::string log_path(const std::string& name) const;

  // Claims record.name (mkdir: one winner) and writes record.json and a
  // "created" status. A clash is an error naming the container that has it.
  // On any failure nothing is left.
  Result<void> create(const Record& r, const Status& initial = {});
  // Rewrites record.json (create's second step: the image id once resolved).
  Result<void> save_record(const Record& r) const;
  Result<void> save_status(const std::string& name, const Status& s) const;
  Result<Container> load(const std::string& name) const;
  // By name, full id, or unique id prefix, as docker resolves them.
  Result<Container> find(const std::string& ref) const;
  // Every container, created order (oldest first). Unreadable entries (a
  // create in progress, a damaged record) are skipped.
  Result<std::vector<Container>> list() const;
  // Removes the container's directory (record, status, logs, layer).
  Result<void> remove(const std::string& name) const;

 private:
  std::string dir_;
};

// The state a status stands for now: a "running" or "paused" one whose
// keeper is gone is exited.
State live_state(const Status& s);

// The keeper record of a process (pid and start time); nullopt if it is gone.
std::optional<sys::ProcessRef> keeper_ref(pid_t pid);

// Whether the container's init still runs, by the runtime's state (a
// container whose keeper was killed may still).
bool init_alive(const std::string& name);

// Whether the status's keeper (monitor or foreground husk) still runs.
bool keeper_alive(const Status& s);

// A new 64-hex id.
std::string new_id();
// docker's rule for names: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128.
Result<void> check_name(const std::string& name);

// JSON text of a record and a status (pure: tests and fuzzing reach them).
std::string record_json(const Record& r);
Result<Record> parse_record(std::string_view text);
std::string status_json(const Status& s);
Result<Status> parse_status(std::string_view text);

}  // namespace husk::manage
