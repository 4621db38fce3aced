#include "cli/husk/run_cmd.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "base/error.h"
#include "base/file.h"
#include "base/time.h"
#include "cgroup/layout.h"
#include "cgroup/paths.h"
#include "front/exit_code.h"
#include "cli/husk/image_run.h"
#include "cli/husk/pull_cmd.h"
#include "cli/husk/attach_cmd.h"
#include "cli/husk/volume_run.h"
#include "front/units.h"
#include "image/store.h"
#include "linux/path.h"
#include "manage/containers.h"
#include "manage/monitor.h"
#include "net/attach.h"
#include "runtime/runtime.h"
#include "spec/mount_options.h"
#include "storage/container_layer.h"

namespace husk::cli {
namespace {

constexpr const char* kRunFooter = R"(
husk run IMAGE [CMD...] runs an image of the store (husk pull, husk load) on an
overlay root: its layers below, a layer of the container's own on top. Words
after "--" are the command: with no image before them, the root is --rootfs DIR
or else the host's own /, read-only; either way with a fresh /proc, /dev and
/sys and private tmpfs on /tmp and /run.

In the foreground husk waits for the container and exits with its status; -d
returns once the program runs, leaving it to a small monitor (its log: husk
logs). Either way the stopped container stays, for husk start, logs and rm,
unless --rm.

Examples:
  husk run busybox
  husk run -d --name web -p 8080:80 busybox httpd -f -p 80
  husk run --rm --entrypoint sh busybox -c 'id; pwd'
  husk run -d --restart on-failure:3 busybox sh -c 'exit 1'
  husk run --rm -- sh
  husk run --rm --hostname demo -e FOO=bar -- sh -c 'hostname; echo $FOO'
  husk run --rm --rootfs ./rootfs -u 1000:1000 -w /tmp -- id
  husk run --rm --rootfs ./rootfs:O -- sh -c 'echo hi >/etc/motd'   # ./rootfs stays as it is
  husk run --rm --net none --egress-rate 10mbit -- sh
  husk run --rm --rootfs ./rootfs:O -v data:/var/lib/app -v /srv/www:/www:ro -- sh
  husk run --rm --tmpfs /scratch:size=64m,mode=1777 --mount type=volume,src=cache,dst=/cache -- sh)";

// The stderr husk's own messages go to. A launcher's fd 2 is the container's
// log; its messages go to the caller's terminal instead.
int g_err_fd = STDERR_FILENO;


// docker's resource flags, values checked by build_resources.
void resource_flags(CLI::App& run, ResourceFlags& r) {
  run.add_option("--cpus", r.cpus, "Number of CPUs (CFS quota), e.g. 0.5");
  run.add_option("--cpu-shares", r.cpu_shares, "CPU shares (relative weight)");
  run.add_option("--cpuset-cpus", r.cpuset_cpus, "CPUs to run on (0-3, 0,1)");
  run.add_option("--cpuset-mems", r.cpuset_mems, "Memory nodes to allocate from (0-3, 0,1)");
  run.add_option("-m,--memory", r.memory, "Memory limit (64m, 1g; at least 6m)");
  run.add_option("--memory-swap", r.memory_swap,
                 "Memory + swap limit; -1: unlimited swap (default: twice --memory)");
  run.add_option("--memory-reservation", r.memory_reservation, "Memory soft limit");
  run.add_option("--pids,--pids-limit", r.pids, "Maximum number of processes (-1: unlimited)");
  run.add_option("--io-weight,--blkio-weight", r.io_weight, "Block IO weight, 10 to 1000");
  run.add_option("--device-read-bps", r.device_read_bps, "Read rate limit, e.g. /dev/sda:1mb")
      ->allow_extra_args(false);
  run.add_option("--device-write-bps", r.device_write_bps, "Write rate limit, e.g. /dev/sda:1mb")
      ->allow_extra_args(false);
  run.add_option("--device-read-iops", r.device_read_iops, "Read IO/s limit, e.g. /dev/sda:100")
      ->allow_extra_args(false);
  run.add_option("--device-write-iops", r.device_write_iops,
                 "Write IO/s limit, e.g. /dev/sda:100")
      ->allow_extra_args(false);
}

void add_volume_flags(CLI::App& run, VolumeFlags& v) {
  run.add_option("-v,--volume", v.volumes,
                 "Mount /HOST:/DST, NAME:/DST (a named volume) or /DST (anonymous), "
                 "[:ro|rw|nocopy|PROPAGATION]")
      ->allow_extra_args(false);
  run.add_option("--tmpfs", v.tmpfs, "Mount a tmpfs: /DST[:size=64m,mode=1777,...]")
      ->allow_extra_args(false);
  run.add_option("--mount", v.mounts,
                 "type=bind|volume|tmpfs,source=..,target=..[,readonly][,bind-propagation=..]"
                 "[,volume-nocopy][,tmpfs-size=..][,tmpfs-mode=..]")
      ->allow_extra_args(false);
}

// --- the host, as build_config sees it ---

AccountFiles read_account_files(const std::string& root) {
  UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) return {};
  return read_account_files_in(root_fd.get());
}

Result<DeviceNumber> block_device(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) < 0) return fail_errno("{}", path);
  if (!S_ISBLK(st.st_mode)) return fail(0, "{} is not a block device", path);
  return DeviceNumber{major(st.st_rdev), minor(st.st_rdev)};
}

// Whether the host can limit swap: v1 memsw files, or the v2 memory controller.
bool host_limits_swap() {
  auto layout = cgroup::host_layout();
  if (!layout) return false;
  if (const auto* v1 = layout->v1_for("memory"))
    return ::access((v1->mount_point + "/memory.memsw.limit_in_bytes").c_str(), F_OK) == 0;
  return layout->v2_has("memory");
}

// The hosts the systemd driver serves (cgroup/systemd_manager.h): systemd is
// PID 1 and the cgroups are v2 only. On a v1 or hybrid systemd host husk
// keeps to cgroupfs by default, where podman would pick systemd.
bool systemd_host() {
  if (!cgroup::systemd_running()) return false;
  auto layout = cgroup::host_layout();
  return layout && layout->mode == cgroup::Mode::kV2;
}

// getenv for bare -e NAME: the caller's environment at create, kept in the
// record for later starts.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

EnvLookup process_env() {
  return [](const std::string& key) -> std::optional<std::string> {
    const char* v = ::getenv(key.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

Caller make_caller(const RunFlags& f, EnvLookup getenv) {
  Caller c;
  c.host = host_facts(f.resources);
  char buf[PATH_MAX];
  c.cwd = ::getcwd(buf, sizeof buf) ? buf : "";
  c.stdin_tty = ::isatty(STDIN_FILENO) == 1;
  c.getenv = std::move(getenv);
  std::string root = build_detail::root_path(f, c);
  c.account_files = [root] { return read_account_files(root); };
  return c;
}

// --net container:ID: the running container's network namespace.
Result<std::string> netns_of_container(const std::string& id) {
  HUSK_TRY_ASSIGN(auto entries, runtime::list(runtime::kDefaultRoot));
  for (const auto& e : entries) {
    if (e.id != id) continue;
    if (e.status != "running" || e.pid <= 0) return fail(0, "container is {}", e.status);
    return fmt::format("/proc/{}/ns/net", e.pid);
  }
  return fail(ENOENT, "no such container");
}

// --env-file FILE: docker's format, one KEY=VALUE (or a bare KEY, passed
// through from the caller) per line; blank lines and # comments skipped.
Result<std::vector<std::string>> read_env_file(const std::string& path) {
  auto text = read_file(path);
  if (!text) return fail(text.error().code, "--env-file {:?}", path);
  std::vector<std::string> out;
  size_t pos = 0, lineno = 0;
  while (pos < text->size()) {
    size_t end = text->find('\n', pos);
    if (end == std::string::npos) end = text->size();
    std::string line = text->substr(pos, end - pos);
    pos = end + 1;
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    line.erase(0, first);
    size_t eq = line.find('=');
    std::string key = line.substr(0, eq);
    if (key.empty() || key.find_first_of(" \t") != std::string::npos)
      return fail(0, "--env-file {:?}: line {}: {:?} is not KEY=VALUE", path, lineno, line);
    out.push_back(line);
  }
  return out;
}

// --- the container's root ---

std::string store_root() { return image::Store::default_root(); }

// The container's layer: <root>/containers/<name>/layer, beside its record.
storage::LayerOptions layer_options(const std::string& name, std::string lower_root,
                                    bool writable, bool reuse) {
  return {.root = manage::Store(store_root()).container_dir(name),
          .id = "layer",
          .lower_root = std::move(lower_root),
          .writable = writable,
          .reuse = reuse};
}

// --rootfs DIR:O: the container's layer, made before create (DIR checked
// first, so a bad DIR leaves nothing).
Result<std::optional<storage::ContainerLayer>> prepare_layer(const RunFlags& f, const Caller& c,
                                                            bool reuse) {
  if (!f.rootfs) return std::nullopt;
  auto flag = parse_rootfs_flag(*f.rootfs);
  if (!flag || !flag->overlay) return std::nullopt;  // build_config reports a bad flag
  auto lower = storage::check_lower(build_detail::root_path(f, c));
  if (!lower) return fail(lower.error().code, "--rootfs {:?}", *f.rootfs);
  HUSK_TRY_ASSIGN(storage::ContainerLayer layer,
                  storage::ContainerLayer::prepare(
                      layer_options(f.name, *lower, !f.read_only, reuse))
                      .context("--rootfs {:?}", *f.rootfs));
  return std::optional<storage::ContainerLayer>(std::move(layer));
}

// husk run IMAGE: the image held for the container, and the container's layer
// over the image's layers.
Result<std::optional<storage::ContainerLayer>> prepare_image_layer(RunFlags& f,
                                                                  std::optional<ImageUse>& use,
                                                                  Caller& c, bool reuse) {
  std::string root = store_root();
  auto not_there = [&] {
    return fail_quiet(ENOENT, "image {:?}: not in the store ({}); pull or load it, or run a host "
                      "program after \"--\": husk run -- {}", f.image, root, f.image);
  };
  // docker's --pull: missing pulls what the store lacks, always pulls first, never does not.
  auto pull = [&]() -> Result<void> {
    if (auto r = pull_for_run(f.image); !r)
      return fail_quiet(r.error().code, "{}; or run a host program after \"--\": husk run -- {}",
                        r.error().what(), f.image);
    return ok();
  };
  // No store yet: nothing to find, and nothing is made for a run that fails.
  auto open_image = [&]() -> Result<ImageUse> {
    if (::access((root + "/image").c_str(), F_OK) < 0) return not_there();
    HUSK_TRY_ASSIGN(image::Store store, image::Store::open(root));
    auto opened = ImageUse::open(store, f.image, f.name);
    if (!opened && opened.error().code == ENOENT) return not_there();
    return opened;
  };
  if (f.pull == "always") HUSK_TRY(pull());
  auto first = open_image();
  if (first) {
    use.emplace(std::move(*first));
  } else if (first.error().code != ENOENT || f.pull != "missing") {
    return std::unexpected(std::move(first).error());
  } else {
    std::fprintf(stderr, "husk: image %s is not in the store: pulling it\n", f.image.c_str());
    HUSK_TRY(pull());
    HUSK_TRY_ASSIGN(ImageUse pulled, open_image());
    use.emplace(std::move(pulled));
  }
  c.image = use->root();
  const ImageUse* u = &*use;
  c.account_files = [u] { return u->account_files(); };
  if (f.publish_all) {
    for (const std::string& port : use->root().config.exposed_ports)
      f.network.publish.push_back(port);
  }
  // --read-only: an upper all the same, for the mount points an image may
  // lack; the root is remounted read-only once they are made, as runc does.
  HUSK_TRY_ASSIGN(storage::ContainerLayer layer,
                  storage::ContainerLayer::prepare(
                      layer_options(f.name, use->diffs().front(), true, reuse))
                      .context("image {:?}", f.image));
  return std::optional<storage::ContainerLayer>(std::move(layer));
}

// docker's `run [FLAGS] IMAGE [CMD...]`, and husk's `run [FLAGS] -- CMD` with
// no image: the positional words after "--" are the command; a word before
// "--" (or with no "--") is the image. With --rootfs every word is the command.
void take_image_word(const std::vector<std::string>& words, RunFlags& f) {
  if (f.rootfs || f.command.empty()) return;
  size_t after = 0;
  for (size_t i = 0; i < words.size(); ++i) {
    if (words[i] == "--") {
      after = words.size() - i - 1;
      break;
    }
  }
  if (f.command.size() <= after) return;
  f.image = f.command.front();
  f.command.erase(f.command.begin());
  // Once a positional word is seen CLI11 keeps a later "--" as a word: `IMAGE -- CMD`.
  if (!f.command.empty() && f.command.front() == "--" && after > 0 && f.command.size() == after + 1)
    f.command.erase(f.command.begin());
}

// --- --init ---

constexpr const char* kInitPath = "/run/husk-init";  // in the container (podman: /run/podman-init)

// A program beside husk (husk-monitor, husk-init).
std::string beside_husk(const char* name);

// --init: husk-init (cli/init) as PID 1, the command its child. The container
// gets a copy of its own, in its directory, bind-mounted read-only: even one
// allowed to remount (--cap-add SYS_ADMIN) can change only that copy, never
// the host's binary nor another container's. The copy is made afresh at each
// start, so what a run did to it does not outlive the run.
Result<void> add_init(config::Container& cfg, const std::string& name) {
  std::string host_init = beside_husk("husk-init");
  HUSK_TRY_ASSIGN(std::string bytes, read_file(host_init).context("--init"));
  std::string copy = manage::Store(store_root()).container_dir(name) + "/init";
  HUSK_TRY(write_file_atomic(copy, bytes, 0555, Durability::kVolatile).context("--init"));
  config::Mount m;
  m.destination = kInitPath;
  m.type = "bind";
  m.source = copy;
  m.options = {"bind", "ro", "nosuid", "nodev"};
  spec::apply_mount_options(m);
  cfg.mounts.push_back(std::move(m));
  cfg.process.args.insert(cfg.process.args.begin(), {kInitPath, "--"});
  return ok();
}

// --- the run itself ---

enum class Mode { kForeground, kLaunch };

// Everything a container's run makes and undoes, around runtime::run: the
// root's layer, the image's hold, volumes, the network. In the foreground it
// waits and undoes them (keeping the layer unless --rm); a launcher returns
// once the program runs and leaves them to the init.
Result<int> run_container(RunFlags& f, const RunCommand& c, manage::Record& rec,
                          EnvLookup getenv, Mode mode) {
  manage::Store store(store_root());
  bool reuse = mode == Mode::kLaunch;
  HUSK_TRY_ASSIGN(CgroupChoice cgroup, choose_cgroup(c.cgroup, f.name, systemd_host()));
  for (const auto& file : c.env_files) {
    HUSK_TRY_ASSIGN(std::vector<std::string> vars, read_env_file(file));
    f.env.insert(f.env.begin(), vars.begin(), vars.end());
  }
  auto net_mode = parse_net_mode(f.net);
  Caller caller = make_caller(f, std::move(getenv));
  if (net_mode && net_mode->attaches())
    caller.net_files_dir = net::files_dir_for(net::kNetRunRoot, f.name);
  caller.netns_of_container = netns_of_container;
  HUSK_TRY_ASSIGN(auto volume_mounts, check_volume_flags(f.volumes));
  // The image and its hold, released on every path out of here.
  std::optional<ImageUse> image_use;
  // The container's layer (--rootfs DIR:O or an image).
  HUSK_TRY_ASSIGN(std::optional<storage::ContainerLayer> layer,
                  f.image.empty() ? prepare_layer(f, caller, reuse)
                                  : prepare_image_layer(f, image_use, caller, reuse));
  if (layer) caller.layer = layer->paths();
  HUSK_TRY_ASSIGN(config::Container cfg, build_config(f, caller));
  cfg.cgroups_path = cgroup.cgroups_path;
  // A layer that goes with its run skips the upper's syncfs (linux/overlay_root.h).
  if (cfg.root_overlay && c.rm) cfg.root_overlay->volatile_upper = true;
  if (c.init) HUSK_TRY(add_init(cfg, f.name));
  if (image_use && rec.image_id.empty()) {
    // Later starts use this image, whatever the name points to by then.
    rec.image_id = image_use->record().id.str();
    if (rec.stop_signal.empty()) rec.stop_signal = image_use->root().config.stop_signal;
    HUSK_TRY(store.save_record(rec));
  }
  // Volumes: made, used by this container, filled on first use, mounted
  // after the default mounts.
  std::optional<RunVolumes> volumes;
  if (!volume_mounts.empty()) {
    HUSK_TRY_ASSIGN(RunVolumes prepared,
                    RunVolumes::prepare(std::move(volume_mounts), store_root(), f.name,
                                        rec.anonymous_volumes));
    volumes.emplace(std::move(prepared));
    if (volumes->made_anonymous()) {
      // Named in the record before the container runs: every later start
      // (start, restart, the restart policy) mounts these again, and rm -v
      // finds them even after a kill -9 of this process.
      rec.anonymous_volumes = volumes->anonymous();
      HUSK_TRY(store.save_record(rec));
    }
    if (cfg.root_overlay)  // the root's lowers, top first (--rootfs DIR:O, images)
      HUSK_TRY(volumes->fill(absolute_lowers(*cfg.root_overlay)));
    cfg.mounts.insert(cfg.mounts.end(), volumes->mounts().begin(), volumes->mounts().end());
  }
  runtime::CreateOptions opts;
  opts.root = runtime::kDefaultRoot;
  opts.id = f.name;
  opts.detach = mode == Mode::kLaunch;
  // -t under a monitor: a terminal of the container's own, whose master the
  // runtime hands to the monitor's console socket. In the foreground the
  // caller's stdio, a terminal or not, stays the container's.
  if (mode == Mode::kLaunch && rec.tty) {
    cfg.process.terminal = true;
    bool has_term = false;
    for (const auto& e : cfg.process.env) has_term = has_term || e.starts_with("TERM=");
    if (!has_term) cfg.process.env.push_back("TERM=xterm");
    opts.console_socket = manage::console_socket_path(manage::monitor_run_dir(rec.id));
  }
  opts.systemd_cgroup = cgroup.systemd;
  // The network: leased and its files written before create, plumbed while
  // the init waits, undone when the container is gone (net/attach.h).
  std::optional<net::Attachment> attachment;
  if (net_mode->attaches()) {
    HUSK_TRY_ASSIGN(auto req, attach_request(*net_mode, f.network, f.name, cfg.hostname));
    req.persistent_root = net::NetworkStore::default_root();
    HUSK_TRY_ASSIGN(net::Attachment prepared, net::Attachment::prepare(req));
    attachment.emplace(std::move(prepared));
  }
  // The keeper: this process in the foreground, the monitor (our parent)
  // for a launcher.
  manage::Status status;
  status.state = "running";
  status.started_at = now_rfc3339();
  status.keeper = manage::keeper_ref(mode == Mode::kLaunch ? ::getppid() : ::getpid());
  if (auto prev = store.load(f.name)) status.restarts = prev->status.restarts;
  // Once the init waits: the layer, hold and volumes pass to it (a kill -9 of
  // husk leaves them to the running container), the network is plumbed, and
  // the status names the init.
  opts.on_ready = [&](pid_t pid) -> Result<void> {
    if (layer) HUSK_TRY(layer->hand_to(pid));
    if (image_use) HUSK_TRY(image_use->hand_to(pid));
    if (volumes) HUSK_TRY(volumes->hand_to(pid));
    if (attachment) HUSK_TRY(attachment->plumb(pid));
    status.pid = pid;
    return store.save_status(f.name, status);
  };
  auto code = runtime::run(cfg, opts);
  if (mode == Mode::kLaunch && code) {
    // Running: all of it is the init's now, and the monitor's to clean up.
    if (layer) layer->release();
    if (image_use) image_use->release();
    if (volumes) volumes->release();
    if (attachment) attachment->release();
    return 0;
  }
  attachment.reset();
  if (volumes) {
    if (c.rm) {
      volumes->finish();  // --rm: its anonymous volumes go with it, as docker's
    } else if (code || status.pid != 0) {
      volumes->release();  // it ran: kept for the next start
    } else {
      volumes->abandon();  // never ran: what this run made goes
    }
  }
  volumes.reset();
  // Stopped: kept for `husk start`, unless --rm (then the caller removes it).
  if (layer) layer->release();
  if (!code) return std::unexpected(std::move(code).error());
  return *code;
}

// The words of the record, parsed again into the command they stand for.
Result<RunCommand> parse_words(const std::vector<std::string>& words) {
  RunCommand c;
  CLI::App app{"husk run", "husk run"};
  add_run_flags(app, c, false);
  std::vector<std::string> reversed(words.rbegin(), words.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    return fail_quiet(EINVAL, "the container's recorded flags: {}", e.what());
  }
  take_image_word(words, c.flags);
  return c;
}

// A new container's record, from its flags.
Result<manage::Record> make_record(RunCommand& c, const std::vector<std::string>& words) {
  RunFlags& f = c.flags;
  manage::Record r;
  r.id = manage::new_id();
  if (f.name.empty()) f.name = "husk-" + r.id.substr(0, 12);
  HUSK_TRY(manage::check_name(f.name));
  // The cgroup flags, checked before the record exists (run_container
  // chooses again from the recorded words, on the same host).
  HUSK_TRY(choose_cgroup(c.cgroup, f.name, systemd_host()));
  r.name = f.name;
  r.created = now_rfc3339();
  r.image = f.image;
  r.rootfs = f.rootfs.value_or("");
  r.command = f.command;
  r.args = words;
  char buf[PATH_MAX];
  r.cwd = ::getcwd(buf, sizeof buf) ? buf : "/";
  for (const auto& e : f.env) {
    if (e.find('=') != std::string::npos) continue;
    if (const char* v = ::getenv(e.c_str())) r.caller_env[e] = v;
  }
  for (const auto& file : c.env_files) {
    HUSK_TRY_ASSIGN(std::vector<std::string> vars, read_env_file(file));
    for (const auto& e : vars) {
      if (e.find('=') != std::string::npos) continue;
      if (const char* v = ::getenv(e.c_str())) r.caller_env[e] = v;
    }
  }
  for (const auto& l : c.labels) {
    size_t eq = l.find('=');
    if (eq == 0) return fail(0, "--label {:?}: no key", l);
    r.labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
  }
  r.ports = f.network.publish;
  HUSK_TRY_ASSIGN(r.restart, manage::parse_restart_policy(c.restart));
  if (r.restart.kind != manage::RestartPolicy::Kind::kNo && c.rm)
    return fail(0, "--restart {} and --rm: a container removed at exit cannot restart",
                c.restart);
  if (r.restart.kind != manage::RestartPolicy::Kind::kNo && !c.detach)
    return fail(0, "--restart {}: restarts are the monitor's, add -d", c.restart);
  r.auto_remove = c.rm;
  r.tty = c.tty;
  r.interactive = c.interactive;
  r.stop_signal = c.stop_signal;
  if (c.stop_timeout < 0) return fail(0, "--stop-timeout {}: not a number of seconds", c.stop_timeout);
  r.stop_timeout = c.stop_timeout;
  if (!c.log_max_size.empty()) {
    auto size = parse_ram_bytes(c.log_max_size);
    if (!size || *size < 4096)
      return fail(0, "--log-max-size {:?}: a size of at least 4k, e.g. 10m", c.log_max_size);
    r.log_max_size = static_cast<uint64_t>(*size);
  }
  if (c.log_max_files < 1 || c.log_max_files > 100)
    return fail(0, "--log-max-files {}: 1 to 100", c.log_max_files);
  r.log_max_files = c.log_max_files;
  return r;
}

// --rm containers while they exist: <root>/containers/.autoremove/<name>. A
// kill -9 of their keeper (husk, or the monitor) leaves one behind, and the
// next husk run (or volume rm/prune) removes what it stands for, as the
// container asked (reclaim_autoremoved).
std::string autoremove_dir() { return manage::Store(store_root()).dir() + "/.autoremove"; }

// The directory goes when its last mark does (an empty one is left by no
// run); a mark racing that rmdir makes it again.
void mark_autoremove(const std::string& name) {
  std::string dir = autoremove_dir();
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (::mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST) return;
    if (write_file_atomic(dir + "/" + name, "", 0600, Durability::kVolatile)) return;
  }
}

void unmark_autoremove(const std::string& name) {
  std::string dir = autoremove_dir();
  ::unlink((dir + "/" + name).c_str());
  ::rmdir(dir.c_str());  // only when empty
}

EnvLookup record_env(const manage::Record& r) {
  return [env = r.caller_env](const std::string& key) -> std::optional<std::string> {
    auto it = env.find(key);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
}

std::string g_own_path;

std::string beside_husk(const char* name) {
  std::string self = own_path();
  size_t slash = self.rfind('/');
  return (slash == std::string::npos ? std::string(".") : self.substr(0, slash)) + "/" + name;
}

std::string monitor_path() { return beside_husk("husk-monitor"); }

// Starts the container in the background under a monitor of its own
// (manage/monitor.h); the launcher is a copy of this process. Returns 0 once
// the program runs, or husk's exit code for a failed start (the launcher
// printed why).
int start_detached(const std::string& name, bool first, int attach_fd = -1) {
  manage::MonitorOptions o{.root = store_root(),
                           .name = name,
                           .husk = own_path(),
                           .remove_on_failure = first};
  o.attach_fd = attach_fd;
  if (auto ctr = manage::Store(store_root()).load(name)) {
    o.tty = ctr->record.tty;
    o.interactive = ctr->record.interactive;
    o.run_dir = manage::monitor_run_dir(ctr->record.id);
  }
  auto ready = manage::spawn_monitor(monitor_path(), o, [&](int err_fd) {
    g_err_fd = err_fd;
    return launch_command(name);
  });
  if (!ready) {
    print_error(ready.error().what());
    return kExitHuskError;
  }
  auto said = read_all(ready->get());
  if (said && said->starts_with("ok")) return 0;
  return kExitHuskError;
}

}  // namespace

// An account file is the root's, and hostile: opened O_PATH first (opening a
// device or a fifo may block or act), read only when it is a regular file,
// and only up to a size no real passwd file reaches.
AccountFiles read_account_files_in(int root_fd) {
  constexpr size_t kMaxAccountFile = 4 << 20;
  auto read_in_root = [&](const char* path) -> std::optional<std::string> {
    auto where = linux::open_in_root(root_fd, path, O_PATH | O_CLOEXEC);
    if (!where) return std::nullopt;
    struct stat st{};
    if (::fstat(where->get(), &st) < 0 || !S_ISREG(st.st_mode)) return std::nullopt;
    UniqueFd fd(::open(linux::proc_fd_path(where->get()).c_str(), O_RDONLY | O_NOCTTY | O_CLOEXEC));
    if (!fd) return std::nullopt;
    std::string text;
    char buf[16384];
    for (;;) {
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return std::nullopt;
      if (n == 0) break;
      text.append(buf, static_cast<size_t>(n));
      if (text.size() > kMaxAccountFile) return std::nullopt;
    }
    return text;
  };
  AccountFiles files;
  files.passwd = read_in_root("/etc/passwd");
  files.group = read_in_root("/etc/group");
  return files;
}

void add_resource_flags(CLI::App& app, ResourceFlags& r) { resource_flags(app, r); }

HostFacts host_facts(const ResourceFlags& r) {
  HostFacts host;
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  host.online_cpus = cpus > 0 ? static_cast<unsigned>(cpus) : 0;
  host.block_device = block_device;
  if (r.memory) host.swap_limit = host_limits_swap();
  return host;
}

void print_error(std::string msg) {
  // CLI11 capitalizes its messages; husk's are lowercase.
  if (msg.size() > 1 && std::isupper(static_cast<unsigned char>(msg[0])) &&
      std::islower(static_cast<unsigned char>(msg[1])))
    msg[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(msg[0])));
  std::string line = "husk: " + msg + "\n";
  (void)write_all(g_err_fd, line);
}

void remember_own_path() {
  if (const char* p = ::getenv("HUSK_SELF"); p != nullptr && *p == '/') {
    g_own_path = p;
    return;
  }
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return;
  g_own_path.assign(buf, static_cast<size_t>(n));
  // Kept across the sealed re-execution (and for the monitor's children).
  ::setenv("HUSK_SELF", g_own_path.c_str(), 1);
}

std::string own_path() { return g_own_path.empty() ? "/proc/self/exe" : g_own_path; }

void add_run_flags(CLI::App& run, RunCommand& c, bool create) {
  RunFlags& f = c.flags;
  run.add_option("--rootfs", f.rootfs,
                 "Root filesystem directory (default: the host's /); DIR:O: an overlay, the "
                 "container writes to a layer of its own");
  run.add_option("--name", f.name, "Container name, unique (default: husk-<id>)");
  run.add_option("--hostname", f.hostname, "Hostname inside (default: the container name)");
  run.add_option("-e,--env", f.env, "Set KEY=VALUE, or pass the caller's KEY through")
      ->allow_extra_args(false);
  run.add_option("--env-file", c.env_files, "Read KEY=VALUE lines from a file")
      ->allow_extra_args(false);
  run.add_option("-l,--label", c.labels, "Set a label KEY=VALUE on the container")
      ->allow_extra_args(false);
  run.add_option("-w,--workdir", f.workdir, "Working directory inside (default: /)");
  run.add_option("-u,--user", f.user, "UID[:GID] or NAME[:GROUP] (default: 0:0)");
  run.add_option("--net,--network", f.net,
                 "Network: bridge (the default network), NAME, none (only lo), host, "
                 "container:ID, ns:PATH or cni:NAME")
      ->capture_default_str();
  NetFlags& n = f.network;
  run.add_option("--ip", n.ip, "IPv4 address on the network (default: the next free one)");
  run.add_option("-p,--publish", n.publish,
                 "Publish a port: [HOSTIP:][HOSTPORT:]CTRPORT[/tcp|udp], ranges as 8000-8010:80-90")
      ->allow_extra_args(false);
  run.add_option("--dns", n.dns, "DNS server (replaces the host's)")->allow_extra_args(false);
  run.add_option("--dns-search", n.dns_search, "DNS search domain")->allow_extra_args(false);
  run.add_option("--dns-option", n.dns_option, "resolv.conf option")->allow_extra_args(false);
  run.add_option("--add-host", n.add_host, "Add NAME:IP to /etc/hosts (IP may be host-gateway)")
      ->allow_extra_args(false);
  run.add_option("--egress-rate", n.egress_rate, "Limit what the container sends, e.g. 10mbit");
  run.add_option("--egress-burst", n.egress_burst, "Burst for --egress-rate, e.g. 64kb");
  run.add_option("--ingress-rate", n.ingress_rate, "Limit what the container receives, e.g. 10mbit");
  run.add_option("--ingress-burst", n.ingress_burst, "Burst for --ingress-rate, e.g. 64kb");
  run.add_option("--cap-add", f.cap_add, "Add a capability (SYS_ADMIN, NET_ADMIN, ALL...)");
  run.add_option("--cap-drop", f.cap_drop, "Drop a capability of the default set");
  run.add_option("--entrypoint", f.entrypoint,
                 "Program to run instead of the image's Entrypoint (\"\": none); the image's "
                 "Cmd is dropped");
  run.add_option("--pull", f.pull,
                 "Pull the image: missing (when not in the store), always, never")
      ->check(CLI::IsMember({"missing", "always", "never"}))
      ->capture_default_str();
  run.add_flag("-P,--publish-all", f.publish_all,
               "Publish every port the image exposes to a free host port");
  run.add_flag("--read-only", f.read_only,
               "Mount --rootfs read-only (always for the host's /; with DIR:O, no upper layer)");
  if (!create) run.add_flag("-d,--detach", c.detach, "Run in the background and print the id");
  run.add_flag("-i,--interactive", c.interactive,
               "Keep stdin open (detached: for husk attach; in the foreground stdin is the caller's)");
  run.add_flag("-t,--tty", c.tty,
               "Give it a terminal (detached: its output is logged as stdout; in the foreground "
               "the caller's terminal passes through)");
  run.add_flag("--rm", c.rm, "Remove the container when it exits");
  run.add_flag("--init", c.init,
               "Run an init as PID 1 (husk-init) that forwards signals and reaps zombies");
  run.add_option("--restart", c.restart,
                 "Restart policy (with -d): no, on-failure[:N], always, unless-stopped")
      ->capture_default_str();
  run.add_option("--stop-signal", c.stop_signal, "Signal husk stop sends (default: SIGTERM)");
  run.add_option("--stop-timeout", c.stop_timeout,
                 "Seconds husk stop waits before SIGKILL")
      ->capture_default_str();
  run.add_option("--log-max-size", c.log_max_size,
                 "Rotate the log when it reaches this size (e.g. 10m; default: never)");
  run.add_option("--log-max-files", c.log_max_files,
                 "Log files kept, the current one included")
      ->capture_default_str();
  run.add_option("--cgroup-manager", c.cgroup.manager,
                 "cgroupfs, or systemd: a scope unit husk-NAME.scope (default: systemd when it "
                 "is PID 1 on a cgroup v2 host)");
  run.add_option("--slice", c.cgroup.slice,
                 "The systemd slice of the container's scope (default: machine.slice)");
  resource_flags(run, f.resources);
  add_volume_flags(run, f.volumes);
  // Not required() here: build_config says what is missing, in husk's words.
  run.add_option("command", f.command,
                 "IMAGE [CMD [ARG...]], or -- CMD [ARG...] with no image (--rootfs, host /)");
  run.positionals_at_end();  // everything from CMD on belongs to the container
  run.footer(kRunFooter);
}

int create_command(RunCommand& c, const std::vector<std::string>& words) {
  take_image_word(words, c.flags);
  auto rec = make_record(c, words);
  if (!rec) {
    print_error(rec.error().what());
    return kExitHuskError;
  }
  manage::Store store(store_root());
  if (auto made = store.create(*rec); !made) {
    print_error(made.error().what());
    return kExitHuskError;
  }
  std::printf("%s\n", rec->id.c_str());
  return 0;
}

int run_command(RunCommand& c, const std::vector<std::string>& words) {
  reclaim_autoremoved();
  take_image_word(words, c.flags);
  auto rec = make_record(c, words);
  if (!rec) {
    print_error(rec.error().what());
    return kExitHuskError;
  }
  manage::Store store(store_root());
  // We look after it until it runs (then the keeper is the monitor, or us).
  manage::Status made_by;
  made_by.keeper = manage::keeper_ref(::getpid());
  if (auto made = store.create(*rec, made_by); !made) {
    print_error(made.error().what());
    return kExitHuskError;
  }
  if (c.rm) mark_autoremove(rec->name);
  if (c.detach) {
    int code = start_detached(rec->name, /*first=*/true);
    if (code == 0) std::printf("%s\n", rec->id.c_str());
    return code;
  }
  auto code = run_container(c.flags, c, *rec, process_env(), Mode::kForeground);
  manage::Status st;
  if (auto now = store.load(rec->name)) st = now->status;
  st.state = "exited";
  st.pid = 0;
  st.finished_at = now_rfc3339();
  st.keeper.reset();
  st.exit_code = code ? *code : exit_code_for(code.error());
  if (!code) st.error = code.error().what();
  if (c.rm || (!code && st.started_at.empty())) {
    // --rm, or it never started: nothing of it is kept.
    if (auto removed = store.remove(rec->name); !removed) print_error(removed.error().what());
    unmark_autoremove(rec->name);
  } else if (auto saved = store.save_status(rec->name, st); !saved) {
    print_error(saved.error().what());
  }
  if (!code) {
    print_error(code.error().what());
    return exit_code_for(code.error());
  }
  return *code;
}

int launch_command(const std::string& name) {
  manage::Store store(store_root());
  auto ctr = store.load(name);
  if (!ctr) {
    print_error(ctr.error().what());
    return kExitHuskError;
  }
  manage::Record& rec = ctr->record;
  if (!rec.cwd.empty() && ::chdir(rec.cwd.c_str()) < 0) (void)::chdir("/");
  auto cmd = parse_words(rec.args);
  if (!cmd) {
    print_error(fmt::format("container {:?}: {}", name, cmd.error().what()));
    return kExitHuskError;
  }
  RunFlags& f = cmd->flags;
  f.name = rec.name;
  f.pull = "never";
  if (!rec.image_id.empty()) f.image = rec.image_id;
  auto code = run_container(f, *cmd, rec, record_env(rec), Mode::kLaunch);
  if (!code) {
    print_error(code.error().what());
    return exit_code_for(code.error());
  }
  return 0;
}

Result<config::Container> container_config(const std::string& name) {
  manage::Store store(store_root());
  HUSK_TRY_ASSIGN(manage::Container ctr, store.load(name));
  manage::Record& rec = ctr.record;
  HUSK_TRY_ASSIGN(RunCommand cmd, parse_words(rec.args).context("container {:?}", name));
  RunFlags& f = cmd.flags;
  f.name = rec.name;
  if (!rec.image_id.empty()) f.image = rec.image_id;
  // Relative paths in the flags are the creator's.
  if (!rec.cwd.empty() && ::chdir(rec.cwd.c_str()) < 0) (void)::chdir("/");
  Caller caller = make_caller(f, record_env(rec));
  auto net_mode = parse_net_mode(f.net);
  if (net_mode && net_mode->attaches())
    caller.net_files_dir = net::files_dir_for(net::kNetRunRoot, f.name);
  caller.netns_of_container = netns_of_container;
  std::optional<ImageUse> use;
  if (!f.image.empty()) {
    HUSK_TRY_ASSIGN(image::Store istore, image::Store::open(store_root()));
    HUSK_TRY_ASSIGN(ImageUse u, ImageUse::open(istore, f.image, f.name, /*hold=*/false));
    use.emplace(std::move(u));
    caller.image = use->root();
    const ImageUse* p = &*use;
    caller.account_files = [p] { return p->account_files(); };
  }
  if (!f.image.empty() || (f.rootfs && parse_rootfs_flag(*f.rootfs).value_or(RootfsFlag{}).overlay)) {
    storage::LayerPaths paths = storage::layer_paths(store.container_dir(name), "layer");
    if (f.read_only && f.image.empty()) paths.upper.clear(), paths.work.clear();
    caller.layer = paths;
  }
  return build_config(f, caller);
}

int start_command(const std::vector<std::string>& refs, const AttachFlags* attach) {
  manage::Store store(store_root());
  if (attach && refs.size() != 1) {
    print_error("start -a: one container at a time");
    return kExitHuskError;
  }
  int rc = 0;
  for (const auto& ref : refs) {
    auto ctr = store.find(ref);
    if (!ctr) {
      print_error(ctr.error().what());
      rc = kExitHuskError;
      continue;
    }
    if (ctr->state == manage::State::kRunning || ctr->state == manage::State::kPaused ||
        ctr->state == manage::State::kRestarting) {
      if (attach) return attach_command(ref, *attach);  // docker: start -a of a running one attaches
      std::printf("%s\n", ref.c_str());  // docker: starting a running container is a no-op
      continue;
    }
    // Checked before anything starts.
    std::optional<AttachSession> session;
    if (attach) {
      auto prepared = AttachSession::prepare(*ctr, *attach);
      if (!prepared) {
        print_error(prepared.error().what());
        return kExitHuskError;
      }
      session.emplace(std::move(*prepared));
    }
    // A start clears a stop's "do not restart".
    ::unlink((ctr->dir + "/stopped").c_str());
    // What the previous run left, if its cleanup did not run (a kill -9).
    (void)cleanup_command(ctr->record.name, false);
    int code = start_detached(ctr->record.name, /*first=*/false,
                              session ? session->monitor_end() : -1);
    if (session) session->started();
    if (code != 0) {
      rc = code;
      continue;
    }
    if (session) return session->run();
    std::printf("%s\n", ref.c_str());
  }
  return rc;
}

namespace {

// rm -v, --rm, a first start that failed: the container's anonymous volumes
// go with it. One that another container mounts by name stays, with a line
// saying so; named volumes are never the container's to remove.
void remove_anonymous_volumes(const manage::Record& r) {
  if (r.anonymous_volumes.empty()) return;
  storage::VolumeStore volumes(store_root());
  for (const auto& [target, name] : r.anonymous_volumes) {
    auto removed = volumes.remove(name);
    if (!removed && removed.error().code != ENOENT) print_error(removed.error().what());
  }
}

}  // namespace

void reclaim_autoremoved() {
  auto names = list_dir(autoremove_dir());
  if (!names) return;
  manage::Store store(store_root());
  for (const auto& name : *names) {
    if (name.starts_with('.')) continue;
    auto c = store.load(name);
    if (c && (c->state == manage::State::kRunning || c->state == manage::State::kPaused ||
              c->state == manage::State::kRestarting))
      continue;
    // Being made right now: its maker is its keeper until it runs.
    if (c && c->status.state == "created" && (!c->status.keeper || manage::keeper_alive(c->status)))
      continue;
    // Its keeper is gone, but it still runs: removed once it stops.
    if (manage::init_alive(name)) continue;
    (void)cleanup_command(name, true);
  }
}

std::vector<VolumeMount> volume_mounts_of(const manage::Record& r) {
  auto c = parse_words(r.args);
  if (!c) return {};
  auto mounts = parse_volume_flags(c->flags.volumes);
  if (!mounts) return {};
  return std::move(*mounts);
}

std::vector<std::string> named_volumes_of(const manage::Record& r) {
  std::vector<std::string> names;
  for (const auto& m : volume_mounts_of(r))
    if (m.kind == VolumeMount::Kind::kVolume && !m.source.empty()) names.push_back(m.source);
  return names;
}

int cleanup_command(const std::string& name, bool remove, bool remove_volumes) {
  manage::Store store(store_root());
  auto ctr = store.load(name);
  // The runtime's state and cgroups (a kill of what is left, if anything).
  if (auto d = runtime::destroy(runtime::kDefaultRoot, name, /*force=*/true); !d) {
    if (d.error().code != ENOENT) print_error(d.error().what());
  }
  // The network's lease, rules and files.
  std::string persistent = net::NetworkStore::default_root();
  if (auto found = net::find_lease(persistent, net::kNetRunRoot, name); found && *found)
    net::reclaim(net::kNetRunRoot, (*found)->network, (*found)->lease);
  // The image's hold.
  if (ctr && !ctr->record.image.empty() && ::access((store_root() + "/image").c_str(), F_OK) == 0) {
    if (auto s = image::Store::open(store_root()); s) (void)s->release(name);
  }
  if (remove || (ctr && ctr->record.auto_remove)) {
    // What the monitor's run left in /run (a monitor killed with -9 leaves it).
    if (ctr) manage::remove_monitor_run_dir(manage::monitor_run_dir(ctr->record.id));
    if (auto r = store.remove(name); !r) {
      print_error(r.error().what());
      return kExitHuskError;
    }
    unmark_autoremove(name);
    if (ctr && (remove_volumes || ctr->record.auto_remove)) remove_anonymous_volumes(ctr->record);
  }
  return 0;
}

}  // namespace husk::cli
