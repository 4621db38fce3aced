// The typed container configuration every layer above spec/ works from.
// spec/ fills it from an OCI config.json (runtime-spec v1.2) or the husk CLI
// builds it from flags; both then run through the same runtime. Plain data:
// names are already resolved to numbers and flags, paths are validated.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace husk::config {

enum class NamespaceType { kPid, kNetwork, kMount, kIpc, kUts, kUser, kCgroup, kTime };

struct Namespace {
  NamespaceType type;
  std::string path;  // empty: create a new one; else join the one at path
};

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

struct TimeOffset {
  int64_t secs = 0;
  uint32_t nanosecs = 0;
};

// One mount, with its options already split (see spec/mount_options.h).
struct Mount {
  std::string destination;  // absolute path inside the container
  std::string type;         // "bind", "proc", "tmpfs", ... ("bind" when options say bind)
  std::string source;       // for binds: absolute host path (relative ones resolved to bundle)
  std::vector<std::string> options;  // as written, for diagnostics and state
  unsigned long flags = 0;           // MS_* applied at mount time (MS_BIND, MS_RDONLY, ...)
  unsigned long clear_flags = 0;     // MS_* explicitly cleared (rw, suid, dev, exec, atime...)
  unsigned long propagation = 0;     // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC)
  uint64_t recursive_set = 0;        // MOUNT_ATTR_* for rro, rnosuid, ... (mount_setattr)
  uint64_t recursive_clear = 0;
  std::string data;                  // filesystem-specific options: "mode=755,size=65536k"
  bool bind() const { return (flags & 0x1000 /*MS_BIND*/) != 0; }
  // Added by spec/ for runtime-spec v1.2 idmapped mounts: the "idmap"/"ridmap"
  // options and mounts[].uidMappings/gidMappings.
  bool idmap = false;            // "idmap" or "ridmap" given, or mappings present
  bool idmap_recursive = false;  // "ridmap": idmap every mount below too
  std::vector<IdMapping> uid_mappings;
  std::vector<IdMapping> gid_mappings;
};

struct Device {
  std::string path;  // absolute path inside the container
  char type = 'c';   // 'c', 'b', 'u' (unbuffered char), 'p' (fifo)
  int64_t major = 0;
  int64_t minor = 0;
  uint32_t file_mode = 0666;
  uint32_t uid = 0;
  uint32_t gid = 0;
};

struct Rlimit {
  int resource = 0;  // RLIMIT_*
  uint64_t soft = 0;
  uint64_t hard = 0;
};

// Capability sets as bitmasks of CAP_* numbers.
struct Capabilities {
  uint64_t bounding = 0;
  uint64_t effective = 0;
  uint64_t inheritable = 0;
  uint64_t permitted = 0;
  uint64_t ambient = 0;
};

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
  std::string username;  // informational (OCI "user.username"), unused on Linux
};

// process.scheduler, for sched_setattr(2): names already resolved.
struct Scheduler {
  uint32_t policy = 0;  // SCHED_OTHER, SCHED_FIFO, ...
  uint64_t flags = 0;   // SCHED_FLAG_*
  int32_t nice = 0;
  uint32_t priority = 0;  // static priority (SCHED_FIFO, SCHED_RR)
  uint64_t runtime = 0;   // SCHED_DEADLINE, nanoseconds
  uint64_t deadline = 0;
  uint64_t period = 0;
};

// process.ioPriority, for ioprio_set(2).
struct IoPriority {
  int io_class = 0;  // IOPRIO_CLASS_RT (1), _BE (2), _IDLE (3)
  int level = 0;     // 0 (highest) to 7
};

// A set of CPU numbers as a sched_setaffinity(2) mask: bit n of words[n / 64].
struct CpuSet {
  std::vector<uint64_t> words;
  bool has(unsigned cpu) const {
    return cpu / 64 < words.size() && (words[cpu / 64] >> (cpu % 64) & 1) != 0;
  }
};

struct Process {
  bool terminal = false;
  std::optional<std::pair<unsigned, unsigned>> console_size;  // height, width
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;  // "KEY=VALUE"
  std::string cwd = "/";
  // husk run IMAGE (not from config.json): a cwd the init has to make is given
  // to the process's uid and gid, as podman makes an image's WorkingDir.
  bool cwd_owned_by_user = false;
  // husk run (not from config.json): HOME in env is husk's default for the run's
  // user, set by neither the image nor -e. `husk exec -u` replaces such a HOME
  // with the exec user's and keeps one the container was given, as docker does.
  bool home_is_default = false;
  std::optional<Capabilities> capabilities;  // absent: all sets empty
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::string apparmor_profile;
  std::string selinux_label;
  std::optional<int> oom_score_adj;
  std::optional<Scheduler> scheduler;
  std::optional<IoPriority> io_priority;
  // execCPUAffinity, for exec'd processes only (never the init): the runtime
  // side runs on `initial` until the process is in the container's cgroups,
  // the process on `final` from then on. Absent: left to the kernel.
  std::optional<CpuSet> exec_cpus_initial;
  std::optional<CpuSet> exec_cpus_final;
};

enum class SeccompAction {
  kKill,          // SCMP_ACT_KILL (thread)
  kKillProcess,   // SCMP_ACT_KILL_PROCESS
  kKillThread,    // SCMP_ACT_KILL_THREAD
  kTrap,
  kErrno,
  kTrace,
  kAllow,
  kLog,
  kNotify,
};

enum class SeccompOp { kNotEqual, kLessThan, kLessEqual, kEqualTo, kGreaterEqual, kGreaterThan, kMaskedEqual };

struct SeccompArg {
  unsigned index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  SeccompOp op = SeccompOp::kEqualTo;
};

struct SeccompRule {
  std::vector<std::string> names;
  SeccompAction action = SeccompAction::kAllow;
  std::optional<uint32_t> errno_ret;  // for kErrno/kTrace; default EPERM
  std::vector<SeccompArg> args;
};

struct Seccomp {
  SeccompAction default_action = SeccompAction::kAllow;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;  // "SCMP_ARCH_X86_64", ...
  std::vector<std::string> flags;          // "SECCOMP_FILTER_FLAG_LOG", ...
  std::string listener_path;
  std::string listener_metadata;
  std::vector<SeccompRule> syscalls;
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;  // seconds
};

struct Hooks {
  std::vector<Hook> prestart;
  std::vector<Hook> create_runtime;
  std::vector<Hook> create_container;
  std::vector<Hook> start_container;
  std::vector<Hook> poststart;
  std::vector<Hook> poststop;
};

// An overlayfs root (storage/container_layer.h makes the directories): mounted
// on root_path inside the container's mount namespace (linux/rootfs.h), so the
// host never sees it and the kernel drops it with the namespace.
struct RootOverlay {
  std::vector<std::string> lower;  // top first; absolute, or relative to base
  std::string base;                // dir the relative lower names are taken from (short links)
  std::string upper, work;         // both empty: a read-only overlay of the lowers alone
  // No syncfs of the upper (overlayfs' volatile): for a layer removed with its
  // container. A volatile upper cannot be mounted again, so a container that
  // is kept (and may start again) never has one.
  bool volatile_upper = false;
  bool read_only() const { return upper.empty(); }
};

struct Container {
  std::string oci_version;
  std::string bundle;      // absolute path of the bundle directory
  std::string root_path;   // absolute path of the rootfs on the host
  bool root_readonly = false;
  // Set: root_path is an empty directory that gets this overlay mounted on it.
  std::optional<RootOverlay> root_overlay;
  std::string hostname;
  std::string domainname;
  Process process;
  std::vector<Mount> mounts;
  Hooks hooks;
  std::map<std::string, std::string> annotations;

  // linux.*
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings;
  std::vector<IdMapping> gid_mappings;
  std::map<std::string, TimeOffset> time_offsets;  // "monotonic", "boottime"
  std::vector<Device> devices;
  std::map<std::string, std::string> sysctl;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  unsigned long rootfs_propagation = 0;  // MS_* (0: runc's default, rslave)
  std::string mount_label;
  std::optional<unsigned long> personality;  // linux.personality: PER_LINUX or PER_LINUX32
  std::optional<Seccomp> seccomp;
  std::string cgroups_path;
  std::string resources_json;  // linux.resources verbatim, for the cgroup layer
  // The whole config.json text when read from a bundle: kept in the state
  // dir, where `exec` finds the container's process defaults and seccomp.
  std::string spec_json;

  bool has_namespace(NamespaceType t) const {
    for (const auto& ns : namespaces)
      if (ns.type == t) return true;
    return false;
  }
  const Namespace* find_namespace(NamespaceType t) const {
    for (const auto& ns : namespaces)
      if (ns.type == t) return &ns;
    return nullptr;
  }
};

}  // namespace husk::config
