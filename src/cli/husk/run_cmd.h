// husk run / create / start, and the two hidden verbs a container's monitor
// calls back: `husk __launch NAME` (start it again: a restart) and
// `husk __cleanup NAME` (undo what a run made, once its init is gone).
//
// Every container gets a record first (manage/containers.h); then:
//   - in the foreground, this process runs it and waits, as before, and
//     keeps the stopped container for `husk start`/`logs`/`rm` unless --rm;
//   - detached (-d, start), a monitor (husk-monitor, cli/monitor) is forked
//     first, as the container's subreaper and the keeper of its log and exit
//     status; a copy of this process (the launcher, its child) starts the
//     container with the monitor's pipes as stdio and exits once the program
//     runs, leaving the init to the monitor.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "front/build_config.h"
#include "front/cgroup_flags.h"

namespace husk::manage {
struct Record;
}

namespace husk::cli {

struct RunCommand {
  RunFlags flags;
  bool detach = false;          // -d
  bool rm = false;              // --rm
  bool interactive = false;     // -i
  bool tty = false;             // -t
  bool init = false;            // --init: husk-init as PID 1
  std::string restart = "no";   // --restart
  std::vector<std::string> labels;     // --label KEY=VALUE
  std::vector<std::string> env_files;  // --env-file
  std::string stop_signal;             // --stop-signal
  int stop_timeout = 10;               // --stop-timeout
  std::string log_max_size;            // --log-max-size (e.g. 10m)
  int log_max_files = 1;               // --log-max-files
  CgroupFlags cgroup;                  // --cgroup-manager, --slice
};

// The flags of `husk run` and `husk create`.
void add_run_flags(CLI::App& run, RunCommand& c, bool create);

void add_resource_flags(CLI::App& app, ResourceFlags& r);
// The host as the resource flags need it (CPUs, swap accounting, devices).
HostFacts host_facts(const ResourceFlags& r);

// words: what followed the verb on the command line, kept in the record so a
// later start builds the same container.
int run_command(RunCommand& c, const std::vector<std::string>& words);
int create_command(RunCommand& c, const std::vector<std::string>& words);
// attach (start -a): one container, attached from before its program starts
// (attach_cmd.h); the exit status is then the container's.
struct AttachFlags;
int start_command(const std::vector<std::string>& refs, const AttachFlags* attach = nullptr);
int launch_command(const std::string& name);
// remove: the container goes too (rm, a failed first start); remove_volumes:
// its anonymous volumes with it (rm -v, __remove). A --rm container's always go.
int cleanup_command(const std::string& name, bool remove, bool remove_volumes = false);

// Removes the --rm containers whose keeper was killed and that no longer run:
// what a kill -9 of `husk run --rm` (or of its monitor) left behind.
void reclaim_autoremoved();

// The -v, --tmpfs and --mount flags a container's record holds, parsed (none
// when they no longer parse).
std::vector<VolumeMount> volume_mounts_of(const manage::Record& r);

// The named volumes (-v NAME:/dst, --mount type=volume,source=NAME) a container's
// recorded flags mount: a stopped container mounts them again at its next
// start, so `husk volume rm` and `prune` leave them alone, as docker does.
std::vector<std::string> named_volumes_of(const manage::Record& r);

// The config a created container runs with, built again from its record
// (husk exec's process defaults and seccomp profile), taking nothing.
Result<config::Container> container_config(const std::string& name);

// The /etc/passwd and /etc/group of a root (an image's, --rootfs, a running
// container's /proc/<pid>/root), resolved inside it: a symlink there never
// makes husk read a host file. Missing, unreadable, non-regular or oversized
// files count as absent; a name then fails to resolve.
AccountFiles read_account_files_in(int root_fd);

// "husk: MSG" on stderr (a launcher's: the caller's), CLI11's capital first
// letter lowered, as every husk message is.
void print_error(std::string msg);

// The path of this program before any sealed re-execution (main sets it,
// runtime/exe_seal.h), and of husk-monitor beside it.
void remember_own_path();
std::string own_path();

}  // namespace husk::cli
