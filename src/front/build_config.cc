#include "front/build_config.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string_view>
#include <utility>

#include "spec/default_spec.h"
#include "spec/mount_options.h"
#include "spec/names.h"
#include "spec/resources_out.h"

namespace husk::cli {
namespace {

constexpr const char* kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr const char* kDefaultHostname = "husk";
constexpr size_t kMaxHostname = 64;  // HOST_NAME_MAX

// Option words go through the same parser as config.json mounts, so husk and
// husk-oci agree on what every word means.
config::Mount mount(std::string dst, std::string type, std::string src,
                    std::vector<std::string> options) {
  config::Mount m;
  m.destination = std::move(dst);
  m.type = std::move(type);
  m.source = std::move(src);
  m.options = std::move(options);
  spec::apply_mount_options(m);
  return m;
}

// runc spec's mounts plus private /tmp and /run. /sys is sysfs only in a new
// network namespace (sysfs shows the mounter's netns); with the host's network
// it is a read-only rbind of the host's /sys, as runc does without a netns.
std::vector<config::Mount> default_mounts(bool host_net) {
  std::vector<config::Mount> m;
  m.push_back(mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}));
  m.push_back(
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  m.push_back(mount("/dev/pts", "devpts", "devpts",
                    {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}));
  m.push_back(mount("/dev/shm", "tmpfs", "shm",
                    {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  m.push_back(mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  if (host_net) {
    // "rro": the host's sub-mounts of /sys (cgroups, debugfs...) read-only too.
    m.push_back(
        mount("/sys", "bind", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro", "rro"}));
  } else {
    m.push_back(mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
  }
  // The container's own cgroups, read-only (docker and runc spec's default):
  // it sees its limits and usage there.
  m.push_back(mount("/sys/fs/cgroup", "cgroup", "cgroup",
                    {"nosuid", "noexec", "nodev", "relatime", "ro"}));
  m.push_back(mount("/tmp", "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=1777"}));
  m.push_back(mount("/run", "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=755"}));
  return m;
}

std::vector<config::Namespace> default_namespaces(bool host_net, std::string netns_path = {}) {
  using T = config::NamespaceType;
  std::vector<config::Namespace> ns{{T::kPid, ""}};
  if (!host_net) ns.push_back({T::kNetwork, std::move(netns_path)});
  for (T t : {T::kIpc, T::kUts, T::kMount, T::kCgroup}) ns.push_back({t, ""});
  return ns;
}

// Sets KEY=VALUE, replacing an earlier entry for KEY so -e overrides defaults.
void set_env(std::vector<std::string>& env, std::string_view key, std::string_view value) {
  std::string entry = fmt::format("{}={}", key, value);
  for (auto& e : env) {
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=') {
      e = std::move(entry);
      return;
    }
  }
  env.push_back(std::move(entry));
}

// The -e entries checked, a bare KEY replaced by KEY=<the caller's value> when
// the caller has one, dropped when not (an image's KEY then stays, as podman
// keeps it).
Result<std::vector<std::string>> env_flags(const RunFlags& f, const Caller& c) {
  std::vector<std::string> out;
  for (const auto& e : f.env) {
    size_t eq = e.find('=');
    std::string key = e.substr(0, eq);
    if (key.empty()) return fail(0, "-e \"{}\": empty variable name", e);
    if (key.find_first_of(" \t\n") != std::string::npos)
      return fail(0, "-e \"{}\": variable name contains whitespace", e);
    if (eq != std::string::npos) {
      out.push_back(e);
    } else if (auto v = c.getenv ? c.getenv(key) : std::nullopt) {
      out.push_back(key + "=" + *v);
    }
  }
  return out;
}

// A --rootfs run's environment: docker's defaults, then the -e flags. Marks
// HOME as the default when no flag set it (config::Process::home_is_default).
Result<void> build_env(const RunFlags& f, const Caller& c, const std::string& home,
                       config::Process& p) {
  std::vector<std::string> env{kDefaultPath};
  if (c.stdin_tty) env.push_back("TERM=xterm");
  env.push_back("HOME=" + home);
  p.home_is_default = true;
  HUSK_TRY_ASSIGN(std::vector<std::string> flags, env_flags(f, c));
  for (const auto& e : flags) {
    size_t eq = e.find('=');
    if (eq == std::string::npos) continue;
    set_env(env, e.substr(0, eq), std::string_view(e).substr(eq + 1));
    if (e.starts_with("HOME=")) p.home_is_default = false;
  }
  p.env = std::move(env);
  return ok();
}

// docker's capability names: with or without CAP_, any case, or ALL.
Result<uint64_t> parse_cap_names(const std::vector<std::string>& names, std::string_view flag) {
  uint64_t mask = 0;
  for (const auto& name : names) {
    std::string up;
    for (char ch : name) up += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (up == "ALL") {
      mask |= ~uint64_t{0} >> (63 - spec::last_known_capability());
      continue;
    }
    if (!up.starts_with("CAP_")) up = "CAP_" + up;
    auto cap = spec::capability_from_name(up);
    if (!cap) return fail(0, "{}: unknown capability {:?}", flag, name);
    mask |= uint64_t{1} << *cap;
  }
  return mask;
}

Result<config::Capabilities> default_caps(uint32_t uid, const RunFlags& f) {
  HUSK_TRY_ASSIGN(uint64_t add, parse_cap_names(f.cap_add, "--cap-add"));
  HUSK_TRY_ASSIGN(uint64_t drop, parse_cap_names(f.cap_drop, "--cap-drop"));
  config::Capabilities caps;
  caps.bounding = (kDefaultCaps | add) & ~drop;
  // Like docker: a non-root user keeps the bounding set but starts with no
  // effective or permitted capabilities.
  if (uid == 0) caps.effective = caps.permitted = caps.bounding;
  return caps;
}

}  // namespace

Result<RootfsFlag> parse_rootfs_flag(const std::string& v) {
  if (v.empty()) return fail(0, "--rootfs \"\": empty path");
  size_t colon = v.rfind(':');
  if (colon == std::string::npos || v.find('/', colon) != std::string::npos)
    return RootfsFlag{v, false};
  std::string opt = v.substr(colon + 1);
  if (opt != "O")
    return fail(0, "--rootfs {:?}: unknown option {:?} (only \":O\", an overlay, is known)", v,
                opt);
  if (colon == 0) return fail(0, "--rootfs {:?}: empty path", v);
  return RootfsFlag{v.substr(0, colon), true};
}

namespace build_detail {

Result<void> check_name(const std::string& name) {
  bool ok = !name.empty() && name != "." && name != ".." &&
            name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789_+-.") == std::string::npos;
  if (!ok)
    return fail(0, "--name \"{}\": use only letters, digits, \"_\", \"+\", \"-\" and \".\"", name);
  return husk::ok();
}

std::string root_path(const RunFlags& f, const Caller& c) {
  if (!f.rootfs) return std::string("/");
  auto flag = parse_rootfs_flag(*f.rootfs);
  std::filesystem::path p(flag ? flag->path : *f.rootfs);
  if (p.is_relative()) p = std::filesystem::path(c.cwd) / p;
  std::string s = p.lexically_normal().string();
  if (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace build_detail

std::vector<std::string> default_masked_paths() {
  return {"/proc/acpi",         "/proc/asound",     "/proc/kcore",       "/proc/keys",
          "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
          "/sys/firmware",      "/proc/scsi"};
}

std::vector<std::string> default_readonly_paths() {
  return {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
}

Result<config::Container> build_config(const RunFlags& f, const Caller& c) {
  using namespace build_detail;
  HUSK_TRY_ASSIGN(NetMode net, parse_net_mode(f.net));
  HUSK_TRY(check_net_flags(net, f.network));
  const bool from_image = c.image.has_value();
  if (f.command.empty() && !from_image)
    return fail(0, "no command given: husk run [FLAGS] IMAGE [CMD...] or husk run [FLAGS] -- CMD");
  if (!f.command.empty() && f.command.front().empty())
    return fail(0, "command \"\": empty program name");
  if (from_image && f.rootfs)
    return fail(0, "--rootfs {:?} and image {:?}: give one root", *f.rootfs, c.image->name);
  if (from_image && !c.layer) return fail(0, "image {:?}: no container layer", c.image->name);
  if (!from_image && f.entrypoint) return fail(0, "--entrypoint: needs an image");
  if (!from_image && f.publish_all) return fail(0, "-P: needs an image (its ExposedPorts)");
  if (!f.name.empty()) HUSK_TRY(check_name(f.name));
  if (f.hostname.size() > kMaxHostname)
    return fail(0, "--hostname \"{}\": longer than {} characters", f.hostname, kMaxHostname);
  if (!f.workdir.empty() && f.workdir.front() != '/')
    return fail(0, "-w \"{}\": must be an absolute path", f.workdir);
  RootfsFlag rootfs;
  if (f.rootfs) rootfs = HUSK_TRY(parse_rootfs_flag(*f.rootfs));
  if (f.rootfs && rootfs.path.front() != '/' && c.cwd.empty())
    return fail(0, "--rootfs \"{}\": relative, and the current directory is unknown", *f.rootfs);
  if (rootfs.overlay && !c.layer)
    return fail(0, "--rootfs \"{}\": no container layer to put the overlay on", *f.rootfs);

  bool host_net = net.kind == NetMode::kHost;
  std::string netns_path;
  if (net.kind == NetMode::kNamespace) netns_path = net.target;
  if (net.kind == NetMode::kContainer) {
    if (!c.netns_of_container) return fail(0, "--net container:{}: not supported here", net.target);
    HUSK_TRY_ASSIGN(netns_path, c.netns_of_container(net.target).context("--net container:{}", net.target));
  }
  std::string hostname = !f.hostname.empty() ? f.hostname : !f.name.empty() ? f.name : kDefaultHostname;
  if (hostname.size() > kMaxHostname) hostname.resize(kMaxHostname);
  // An image: docker's rules for its Entrypoint, Cmd, Env, WorkingDir and User.
  std::optional<image::ProcessSpec> from;
  if (from_image) {
    image::ProcessFlags pf;
    pf.entrypoint = f.entrypoint;
    pf.cmd = f.command;
    pf.env = HUSK_TRY(env_flags(f, c));
    pf.workdir = f.workdir;
    pf.user = f.user;
    pf.hostname = hostname;
    from = HUSK_TRY(image::resolve_process(c.image->config, pf).context("image {:?}", c.image->name));
    if (from->argv.empty())
      return fail(0, "image {:?}: no command: the image has no Entrypoint or Cmd; give one after it",
                  c.image->name);
  }
  const std::string& user_spec = from ? from->user : f.user;
  AccountFiles files;  // read only when a user is named
  if (!user_spec.empty() && c.account_files) files = c.account_files();
  auto resolved = resolve_user(user_spec, files);
  if (!resolved && from_image && f.user.empty())
    return fail(resolved.error().code, "image {:?}: User: {}", c.image->name, resolved.error().what());
  ResolvedUser user = HUSK_TRY(std::move(resolved));
  std::optional<config::Resources> resources = HUSK_TRY(build_resources(f.resources, c.host));

  config::Container cfg;
  cfg.oci_version = spec::kOciVersion;
  cfg.root_path = root_path(f, c);
  cfg.root_readonly = (!f.rootfs && !from_image) || f.read_only;
  if (from_image) {
    cfg.root_overlay = config::RootOverlay{.lower = c.image->lowers,
                                           .base = c.image->base,
                                           .upper = c.layer->upper,
                                           .work = c.layer->work};
    cfg.root_path = c.layer->merged;
    const image::ImageConfig& ic = c.image->config;
    if (!ic.stop_signal.empty()) cfg.annotations["org.opencontainers.image.stopSignal"] = ic.stop_signal;
    for (const auto& [key, value] : ic.labels) cfg.annotations[key] = value;
  } else if (rootfs.overlay) {
    // The lower by its absolute name: the mount is made in the container's
    // init, whose cwd is not the caller's.
    cfg.root_overlay = config::RootOverlay{
        .lower = {cfg.root_path}, .base = {}, .upper = c.layer->upper, .work = c.layer->work};
    cfg.root_path = c.layer->merged;
  }
  cfg.hostname = hostname;

  config::Process& p = cfg.process;
  if (from) {
    p.args = from->argv;
    p.env = from->env;
    // docker: HOME from the user's passwd entry, TERM with a terminal, unless set.
    auto has = [&p](std::string_view key) {
      return std::ranges::any_of(p.env, [&](const std::string& e) {
        return e.size() > key.size() && e.starts_with(key) && e[key.size()] == '=';
      });
    };
    if (!has("HOME")) {
      p.env.push_back("HOME=" + (user.home.empty() ? "/" : user.home));
      p.home_is_default = true;
    }
    if (c.stdin_tty && !has("TERM")) p.env.push_back("TERM=xterm");
    p.cwd = from->cwd;
    p.cwd_owned_by_user = f.workdir.empty();  // the image's WorkingDir, made for its user
  } else {
    p.args = f.command;
    HUSK_TRY(build_env(f, c, user.home, p));
    p.cwd = f.workdir.empty() ? "/" : f.workdir;
  }
  p.user.uid = user.uid;
  p.user.gid = user.gid;
  p.user.additional_gids = user.additional_gids;
  p.user.username = user.name;
  p.capabilities = HUSK_TRY(default_caps(user.uid, f));
  p.terminal = false;  // stdio passes through; the caller's tty stays the caller's
  p.no_new_privileges = false;

  cfg.mounts = default_mounts(host_net);
  if (!c.net_files_dir.empty()) {
    for (const char* file : {"resolv.conf", "hosts", "hostname"})
      cfg.mounts.push_back(mount(std::string("/etc/") + file, "bind", c.net_files_dir + "/" + file,
                                 {"bind", "nosuid", "nodev", "noexec"}));
  }
  cfg.namespaces = default_namespaces(host_net, std::move(netns_path));
  cfg.masked_paths = default_masked_paths();
  cfg.readonly_paths = default_readonly_paths();
  if (resources) cfg.resources_json = spec::resources_to_json(*resources);
  return cfg;
}

}  // namespace husk::cli
