// husk: the friendly front end. `husk run` builds a config::Container from
// flags (build_config.h) and runs it through runtime::run in this process:
// no bundle is written and nothing is re-executed.
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <CLI/CLI.hpp>

#include "base/error.h"
#include "base/file.h"
#include "base/random.h"
#include "cgroup/layout.h"
#include "cli/husk/image_cmd.h"
#include "cli/husk/image_run.h"
#include "cli/husk/network_cmd.h"
#include "cli/husk/pull_cmd.h"
#include "cli/husk/volume_cmd.h"
#include "cli/husk/volume_run.h"
#include "front/build_config.h"
#include "front/exit_code.h"
#include "image/store.h"
#include "net/attach.h"
#include "linux/path.h"
#include "runtime/exe_seal.h"
#include "runtime/runtime.h"
#include "storage/container_layer.h"

namespace husk::cli {
namespace {

constexpr const char* kRunFooter = R"(
husk run IMAGE [CMD...] runs an image of the store (husk pull, husk load) on an
overlay root: its layers below, a layer of the container's own on top, removed
with it. Words after "--" are the command: with no image before them, the root
is --rootfs DIR or else the host's own /, read-only; either way with a fresh
/proc, /dev and /sys and private tmpfs on /tmp and /run.

Examples:
  husk run busybox
  husk run --entrypoint sh busybox -c 'id; pwd'
  husk run -p 8080:80 busybox -- httpd -f -p 80
  husk run -- sh
  husk run --hostname demo -e FOO=bar -- sh -c 'hostname; echo $FOO'
  husk run --rootfs ./rootfs -u 1000:1000 -w /tmp -- id
  husk run --rootfs ./rootfs:O -- sh -c 'echo hi >/etc/motd'   # ./rootfs stays as it is
  husk run -p 8080:80 --name web -- httpd -f -p 80
  husk run --net none --egress-rate 10mbit -- sh
  husk run --rootfs ./rootfs:O -v data:/var/lib/app -v /srv/www:/www:ro -- sh
  husk run --tmpfs /scratch:size=64m,mode=1777 --mount type=volume,src=cache,dst=/cache -- sh)";

// docker's resource flags, values checked by build_resources.
void add_resource_flags(CLI::App& run, ResourceFlags& r) {
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

// --- volumes (volume_flags.h, volume_run.h) ---
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
// --- end volumes ---

void add_run_flags(CLI::App& run, RunFlags& f) {
  run.add_option("--rootfs", f.rootfs,
                 "Root filesystem directory (default: the host's /); DIR:O: an overlay, the "
                 "container writes to a layer of its own, removed with it");
  run.add_option("--name", f.name, "Container id (default: husk-<random>)");
  run.add_option("--hostname", f.hostname, "Hostname inside (default: the container id)");
  run.add_option("-e,--env", f.env, "Set KEY=VALUE, or pass the caller's KEY through")
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
  // Accepted for docker muscle memory: husk run always removes the container.
  run.add_flag("--rm")->description("Remove the container on exit (always on)");
  add_resource_flags(run, f.resources);
  add_volume_flags(run, f.volumes);
  // Wiring flags (-p, -v) go here, each into a RunFlags field that
  // build_config translates.
  // Not required() here: build_config says what is missing, in husk's words.
  run.add_option("command", f.command,
                 "IMAGE [CMD [ARG...]], or -- CMD [ARG...] with no image (--rootfs, host /)");
  run.positionals_at_end();  // everything from CMD on belongs to the container
  run.footer(kRunFooter);
}

std::string random_id() {
  unsigned char bytes[6] = {};
  // No entropy source: fall back to the pid.
  if (!random_bytes(bytes, sizeof bytes))
    return fmt::format("husk-{:012x}", static_cast<unsigned>(::getpid()));
  std::string id = "husk-";
  for (unsigned char b : bytes) id += fmt::format("{:02x}", b);
  return id;
}

// The root's /etc/passwd and /etc/group, resolved inside the root: a symlink
// in an image must not make husk read (and use) a host file. Missing or
// unreadable files count as absent; a name then fails to resolve.
AccountFiles read_account_files(const std::string& root) {
  AccountFiles files;
  UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) return files;
  auto read_in_root = [&](const char* path) -> std::optional<std::string> {
    auto fd = linux::open_in_root(root_fd.get(), path, O_RDONLY | O_CLOEXEC);
    if (!fd) return std::nullopt;
    auto text = read_file(linux::proc_fd_path(fd->get()));
    if (!text) return std::nullopt;
    return std::move(*text);
  };
  files.passwd = read_in_root("/etc/passwd");
  files.group = read_in_root("/etc/group");
  return files;
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

Caller make_caller(const RunFlags& f) {
  Caller c;
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  c.host.online_cpus = cpus > 0 ? static_cast<unsigned>(cpus) : 0;
  c.host.block_device = block_device;
  if (f.resources.memory) c.host.swap_limit = host_limits_swap();
  char buf[PATH_MAX];
  c.cwd = ::getcwd(buf, sizeof buf) ? buf : "";
  c.stdin_tty = ::isatty(STDIN_FILENO) == 1;
  c.getenv = [](const std::string& key) -> std::optional<std::string> {
    const char* v = ::getenv(key.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
  std::string root = build_detail::root_path(f, c);
  c.account_files = [root] { return read_account_files(root); };
  return c;
}

void print_error(std::string msg) {
  // CLI11 capitalizes its messages; husk's are lowercase.
  if (msg.size() > 1 && std::isupper(static_cast<unsigned char>(msg[0])) &&
      std::islower(static_cast<unsigned char>(msg[1])))
    msg[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(msg[0])));
  std::fprintf(stderr, "husk: %s\n", msg.c_str());
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

// --rootfs DIR:O: the container's layer, made before create (DIR checked
// first, so a bad DIR leaves nothing) after reclaiming what a killed husk left.
Result<std::optional<storage::ContainerLayer>> prepare_layer(const RunFlags& f,
                                                            const Caller& c) {
  if (!f.rootfs) return std::nullopt;
  auto flag = parse_rootfs_flag(*f.rootfs);
  if (!flag || !flag->overlay) return std::nullopt;  // build_config reports a bad flag
  HUSK_TRY(build_detail::check_name(f.name));
  auto lower = storage::check_lower(build_detail::root_path(f, c));
  if (!lower) return fail(lower.error().code, "--rootfs {:?}", *f.rootfs);
  storage::reclaim_stale(storage::kRunLayerRoot);
  HUSK_TRY_ASSIGN(storage::ContainerLayer layer,
                  storage::ContainerLayer::prepare({.root = storage::kRunLayerRoot,
                                                    .id = f.name,
                                                    .lower_root = *lower,
                                                    .writable = !f.read_only})
                      .context("--rootfs {:?}", *f.rootfs));
  return std::optional<storage::ContainerLayer>(std::move(layer));
}

// husk run IMAGE: the image held for the container, and the container's layer
// on the store's disk over the image's layers.
Result<std::optional<storage::ContainerLayer>> prepare_image_layer(RunFlags& f,
                                                                  std::optional<ImageUse>& use,
                                                                  Caller& c) {
  HUSK_TRY(build_detail::check_name(f.name));
  std::string store_root = image::Store::default_root();
  auto not_there = [&] {
    return fail_quiet(ENOENT, "image {:?}: not in the store ({}); pull or load it, or run a host "
                      "program after \"--\": husk run -- {}", f.image, store_root, f.image);
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
    if (::access((store_root + "/image").c_str(), F_OK) < 0) return not_there();
    HUSK_TRY_ASSIGN(image::Store store, image::Store::open(store_root));
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
  std::string layers = image_layer_root(store_root);
  storage::reclaim_stale(layers);
  HUSK_TRY_ASSIGN(storage::ContainerLayer layer,
                  storage::ContainerLayer::prepare({.root = layers,
                                                    .id = f.name,
                                                    .lower_root = use->diffs().front(),
                                                    // --read-only: an upper all the same, for
                                                    // the mount points an image may lack; the
                                                    // root is remounted read-only once they
                                                    // are made, as runc does.
                                                    .writable = true})
                      .context("image {:?}", f.image));
  return std::optional<storage::ContainerLayer>(std::move(layer));
}

int run_container(RunFlags& f) {
  if (f.name.empty()) f.name = random_id();
  auto mode = parse_net_mode(f.net);
  Caller caller = make_caller(f);
  if (mode && mode->attaches())
    caller.net_files_dir = net::files_dir_for(net::kNetRunRoot, f.name);
  caller.netns_of_container = netns_of_container;
  // --- volumes: flags and host paths checked before anything is made ---
  auto volume_mounts = check_volume_flags(f.volumes);
  if (!volume_mounts) {
    print_error(volume_mounts.error().what());
    return kExitHuskError;
  }
  // --- end volumes ---
  // The image and its hold, released on every path out of here.
  std::optional<ImageUse> image_use;
  // The container's layer (--rootfs DIR:O or an image): removed when the
  // container is gone, on every path out of here (its destructor).
  auto layer = f.image.empty() ? prepare_layer(f, caller)
                               : prepare_image_layer(f, image_use, caller);
  if (!layer) {
    print_error(layer.error().what());
    return kExitHuskError;
  }
  if (*layer) caller.layer = (*layer)->paths();
  auto cfg = build_config(f, caller);
  if (!cfg) {
    print_error(cfg.error().what());
    return kExitHuskError;
  }
  // --- volumes: made, used by this container, filled on first use, mounted
  // after the default mounts; uses end and anonymous volumes go with `volumes`.
  std::optional<RunVolumes> volumes;
  if (!volume_mounts->empty()) {
    auto prepared = RunVolumes::prepare(std::move(*volume_mounts),
                                        husk::image::Store::default_root(), f.name);
    if (!prepared) {
      print_error(prepared.error().what());
      return kExitHuskError;
    }
    volumes.emplace(std::move(*prepared));
    if (cfg->root_overlay) {  // the root's lowers, top first (--rootfs DIR:O, images)
      if (auto filled = volumes->fill(absolute_lowers(*cfg->root_overlay)); !filled) {
        print_error(filled.error().what());
        return kExitHuskError;
      }
    }
    cfg->mounts.insert(cfg->mounts.end(), volumes->mounts().begin(), volumes->mounts().end());
  }
  // --- end volumes ---
  runtime::CreateOptions opts;
  opts.root = runtime::kDefaultRoot;
  opts.id = f.name;
  // The network: leased and its files written before create, plumbed while
  // the init waits, undone when the container is gone (net/attach.h).
  std::optional<net::Attachment> attachment;
  if (mode->attaches()) {
    auto req = attach_request(*mode, f.network, f.name, cfg->hostname);
    if (!req) {
      print_error(req.error().what());
      return kExitHuskError;
    }
    req->persistent_root = net::NetworkStore::default_root();
    auto prepared = net::Attachment::prepare(*req);
    if (!prepared) {
      print_error(prepared.error().what());
      return kExitHuskError;
    }
    attachment.emplace(std::move(*prepared));
  }
  // Once the init waits: the layer passes to it (a kill -9 of husk leaves the
  // layer to the running container), then the network is plumbed.
  if (attachment || *layer || volumes) {
    opts.on_ready = [&attachment, &layer, &image_use, &volumes](pid_t pid) -> Result<void> {
      if (*layer) HUSK_TRY((*layer)->hand_to(pid));
      if (image_use) HUSK_TRY(image_use->hand_to(pid));
      if (volumes) HUSK_TRY(volumes->hand_to(pid));
      if (attachment) return attachment->plumb(pid);
      return ok();
    };
  }
  auto status = runtime::run(*cfg, opts);
  attachment.reset();
  volumes.reset();
  if (*layer) {
    if (auto removed = (*layer)->remove(); !removed) print_error(removed.error().what());
  }
  if (!status) {
    print_error(status.error().what());
    return exit_code_for(status.error());
  }
  return *status;
}

// docker's `run [FLAGS] IMAGE [CMD...]`, and husk's `run [FLAGS] -- CMD` with
// no image: the positional words after "--" are the command; a word before
// "--" (or with no "--") is the image. With --rootfs every word is the command.
void take_image_word(int argc, char** argv, RunFlags& f) {
  if (f.rootfs || f.command.empty()) return;
  size_t after = 0;
  bool seen_run = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (!seen_run) {
      seen_run = a == "run";
      continue;
    }
    if (a == "--") {
      after = static_cast<size_t>(argc - i - 1);
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

}  // namespace
}  // namespace husk::cli

int main(int argc, char** argv) {
  using namespace husk::cli;
  CLI::App app{"husk: containers from images or from any directory, with no daemon", "husk"};
  app.set_version_flag("--version", "husk version " HUSK_VERSION);
  app.require_subcommand(1);
  std::string store_root;
  app.add_option("--root", store_root,
                 "Where images, layers and volumes are kept (default: $HUSK_ROOT, else "
                 "/var/lib/husk)");
  app.fallthrough();  // `husk run --root DIR ...` too
  RunFlags flags;
  CLI::App* run = app.add_subcommand("run", "Run a command in a new container and wait for it");
  add_run_flags(*run, flags);
  NetworkCommands network;
  add_network_commands(app, network);
  PullCommands pull;  // husk pull, login, logout
  add_pull_commands(app, pull);
  ImageCommands images;
  add_image_commands(app, images);
  VolumeCommands volume;
  add_volume_commands(app, volume);

  if (argc <= 1) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  }
  // CVE-2019-5736 (runtime/exe_seal.h): every verb that starts a container
  // process runs from a sealed view of this binary.
  if (std::string_view(argv[1]) == "run") {
    if (auto sealed = husk::runtime::seal_own_executable(argv, environ); !sealed) {
      print_error(sealed.error().what());
      return kExitHuskError;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    print_error(e.what());
    return kExitHuskError;
  }
  if (!store_root.empty()) ::setenv("HUSK_ROOT", store_root.c_str(), 1);
  if (run->parsed()) {
    take_image_word(argc, argv, flags);
    return run_container(flags);
  }
  if (auto status = run_network_commands(network)) return *status;
  if (auto status = run_pull_commands(pull)) return *status;
  if (auto status = run_image_commands(images)) return *status;
  if (auto status = run_volume_commands(volume)) return *status;
  return kExitHuskError;
}
