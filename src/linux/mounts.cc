#include "linux/mounts.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <limits>
#include <optional>

#include "base/file.h"
#include "linux/mount_fd.h"
#include "linux/path.h"
#include "linux/process.h"
#include "sys/mount_api.h"

namespace husk::linux {

namespace {

constexpr unsigned long kPropagationTypes = MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE;
// Per-mount flags a bind remount can change.
constexpr unsigned long kPerMountFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC |
                                         MS_NOATIME | MS_NODIRATIME | MS_RELATIME |
                                         MS_STRICTATIME;

std::string unescape_mountinfo(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3') {
      int v = 0;
      bool octal = true;
      for (size_t k = 1; k <= 3; ++k) {
        char c = s[i + k];
        if (c < '0' || c > '7') octal = false;
        v = v * 8 + (c - '0');
      }
      if (octal) {
        out += static_cast<char>(v);
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::vector<std::string_view> split_spaces(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    size_t j = line.find(' ', i);
    if (j == std::string_view::npos) j = line.size();
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

bool parse_int(std::string_view s, int& out) {
  if (s.empty()) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    if (v > (std::numeric_limits<int>::max() - (c - '0')) / 10) return false;  // not an int
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

bool parse_mountinfo_line(std::string_view line, MountInfo& mi) {
  auto f = split_spaces(line);
  size_t dash = 0;
  for (size_t i = 6; i < f.size(); ++i) {
    if (f[i] == "-") {
      dash = i;
      break;
    }
  }
  if (dash == 0 || dash + 3 > f.size()) return false;
  if (!parse_int(f[0], mi.id) || !parse_int(f[1], mi.parent)) return false;
  mi.root = unescape_mountinfo(f[3]);
  mi.mount_point = unescape_mountinfo(f[4]);
  mi.mount_options = std::string(f[5]);
  mi.optional.clear();
  for (size_t i = 6; i < dash; ++i) {
    if (!mi.optional.empty()) mi.optional += ' ';
    mi.optional += f[i];
  }
  mi.fs_type = unescape_mountinfo(f[dash + 1]);
  mi.source = unescape_mountinfo(f[dash + 2]);
  mi.super_options = dash + 3 < f.size() ? std::string(f[dash + 3]) : std::string();
  return true;
}

// Names a mount in errors: its source, or its type when the source is a dummy.
std::string mount_name(const config::Mount& m) {
  return m.source.empty() ? m.type : m.source;
}

// The part every mount shares once it exists: propagation, then mount_setattr
// for the recursive attributes ("rro", "rnosuid", ...).
Result<void> finish_mount(int mount_fd, const config::Mount& m) {
  HUSK_TRY(apply_propagation(mount_fd, m.propagation));
  if (m.recursive_set != 0 || m.recursive_clear != 0) {
    auto r = set_mount_attr_tree(mount_fd, m.recursive_set, m.recursive_clear);
    if (!r) return fail(r.error().code, "set recursive mount attributes");
  }
  return ok();
}

bool has_option(std::string_view data, std::string_view key_prefix) {
  size_t i = 0;
  while (i <= data.size()) {
    size_t j = data.find(',', i);
    if (j == std::string_view::npos) j = data.size();
    if (data.substr(i, j - i).starts_with(key_prefix)) return true;
    i = j + 1;
  }
  return false;
}

// fchmod needs a real open: an O_PATH fd of the mount's root cannot be
// changed, and a path through /proc/self/fd would be resolved again.
Result<void> chmod_mount_root(int mount_fd, mode_t mode) {
  UniqueFd dir(::openat(mount_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir || ::fchmod(dir.get(), mode) < 0) return fail_errno("chmod");
  return ok();
}

// The few files below /proc a mount may cover: the ones lxcfs emulates, as
// runc allows (checkProcMount in libcontainer/rootfs_linux.go).
constexpr std::string_view kProcMountable[] = {
    "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat",
    "/proc/swaps",   "/proc/uptime",    "/proc/loadavg", "/proc/slabinfo",
    "/proc/net/dev", "/proc/sys/kernel/ns_last_pid",     "/proc/sys/crypto/fips_enabled"};

// Nothing may be mounted inside the container's /proc: a file bound over
// /proc/sys/kernel/cap_last_cap or /proc/self/... would lie to whoever reads
// it later, the runtime included. /proc itself takes only a procfs. The
// destination is resolved inside the rootfs first: an image may hold
// /mnt -> /proc.
Result<void> check_proc_destination(int root_fd, const config::Mount& m, const std::string& dest) {
  HUSK_TRY_ASSIGN(std::string where, resolve_in_root(root_fd, dest));
  if (!path_has_prefix(where, "/proc")) return ok();
  if (where == "/proc") {
    bool bind = m.bind() || m.type == "bind";
    struct statfs sf {};
    if (bind ? ::statfs(m.source.c_str(), &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC
             : m.type == "proc")
      return ok();
    return fail_quiet(EPERM, "\"{}\" cannot be mounted because it is not of type proc", where);
  }
  // /proc/net/dev resolves through /proc/self: the name given counts too.
  for (auto allowed : kProcMountable)
    if (where == allowed || dest == allowed) return ok();
  return fail_quiet(EPERM, "\"{}\" cannot be mounted because it is inside /proc", where);
}

// proc and sysfs go on an ordinary directory of the image, never through a
// symlink (an image could move them where masked paths do not look) nor on a
// file. The message holds runc's words, which engines and runc's suite match.
Result<void> check_ordinary_directory(int root_fd, const config::Mount& m,
                                      const std::string& dest) {
  HUSK_TRY_ASSIGN(std::string resolved, resolve_in_root(root_fd, dest));
  constexpr std::string_view kRunc = "must be mounted on ordinary directory";
  if (resolved != dest)
    return fail_quiet(ELOOP, "\"{}\" is a symlink to \"{}\" in the rootfs: filesystem {:?} {}",
                      dest, resolved, m.type, kRunc);
  if (auto fd = open_in_root(root_fd, dest, O_PATH)) {
    struct stat st {};
    if (::fstat(fd->get(), &st) == 0 && !S_ISDIR(st.st_mode))
      return fail_quiet(ENOTDIR, "\"{}\" is not a directory: filesystem {:?} {}", dest, m.type,
                        kRunc);
  }
  return ok();
}

Result<void> mount_filesystem_inner(const MountContext& ctx, const config::Mount& m,
                                    const std::string& dest) {
  // A tmpfs without "mode=" keeps the mode its directory had in the image,
  // as runc does; one on a directory we create keeps tmpfs's own 1777.
  std::optional<mode_t> image_mode;
  if (m.type == "tmpfs" && !has_option(m.data, "mode=")) {
    if (auto fd = open_in_root(ctx.root_fd, dest, O_PATH | O_DIRECTORY)) {
      struct stat st {};
      if (::fstat(fd->get(), &st) == 0) image_mode = st.st_mode & 07777;
    }
  }
  HUSK_TRY_ASSIGN(UniqueFd target, create_mountpoint(ctx.root_fd, dest, true));

  unsigned long flags = m.flags & ~(kPropagationTypes | MS_BIND | MS_REC | MS_REMOUNT);
  // A tmpfs (and /dev) is mounted writable first: its mode is fixed and /dev
  // filled in before it turns read-only (/dev in finalize_rootfs).
  bool later_ro = (flags & MS_RDONLY) && (m.type == "tmpfs" || dest == "/dev");
  if (later_ro) flags &= ~MS_RDONLY;
  const std::string data = labelled_mount_data(m.type, m.data, ctx.mount_label);
  FsSpec fs{.type = m.type,
            .source = m.source.empty() ? std::string_view(m.type) : std::string_view(m.source),
            .flags = flags,
            .data = data};
  HUSK_TRY_ASSIGN(UniqueFd mnt,
                  mount_fs_onto(fs, {.fd = target.get(), .root_fd = ctx.root_fd, .path = dest}));
  // SELinux hosts only (mountLabel is refused elsewhere): mqueue takes no context= option.
  if (m.type == "mqueue" && !ctx.mount_label.empty() &&
      ::setxattr(proc_fd_path(mnt.get()).c_str(), "security.selinux", ctx.mount_label.data(),
                 ctx.mount_label.size(), 0) < 0)
    return fail_errno("set SELinux label {:?}", ctx.mount_label);
  if (image_mode) HUSK_TRY(chmod_mount_root(mnt.get(), *image_mode));
  if (later_ro && dest != "/dev") HUSK_TRY(set_mount_flags(mnt.get(), flags | MS_RDONLY, 0));
  return finish_mount(mnt.get(), m);
}

Result<void> mount_bind_inner(const MountContext& ctx, const config::Mount& m,
                              const std::string& dest, int source_fd) {
  struct stat st {};
  if (source_fd >= 0 ? ::fstat(source_fd, &st) < 0 : ::stat(m.source.c_str(), &st) < 0)
    return fail_errno("");  // a missing source
  HUSK_TRY_ASSIGN(UniqueFd target, create_mountpoint(ctx.root_fd, dest, S_ISDIR(st.st_mode)));
  HUSK_TRY_ASSIGN(UniqueFd mnt,
                  bind_onto(source_fd >= 0 ? source_fd : AT_FDCWD,
                            source_fd >= 0 ? "" : m.source.c_str(), (m.flags & MS_REC) != 0,
                            {.fd = target.get(), .root_fd = ctx.root_fd, .path = dest}));
  // A bind mount copies the source's flags; only a remount applies ours.
  if ((m.flags & kPerMountFlags) != 0 || (m.clear_flags & kPerMountFlags) != 0)
    HUSK_TRY(set_mount_flags(mnt.get(), m.flags, m.clear_flags));
  return finish_mount(mnt.get(), m);
}

Result<void> mount_sysfs(const MountContext& ctx, const config::Mount& m) {
  // sysfs belongs to the network namespace: a user namespace that does not
  // own its network namespace may not mount it. Fall back to a read-only
  // recursive bind of the host's /sys, as runc does.
  if (!ctx.in_user_namespace || ctx.new_network_namespace) {
    auto r = mount_filesystem(ctx, m);
    if (r || (r.error().code != EPERM && r.error().code != EBUSY)) return r;
  }
  config::Mount b = m;
  b.type = "bind";
  b.source = "/sys";
  b.flags = MS_BIND | MS_REC | MS_RDONLY | (m.flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC));
  b.clear_flags = 0;
  b.recursive_set |= MOUNT_ATTR_RDONLY;
  b.data.clear();
  return mount_bind(ctx, b);
}

}  // namespace

std::vector<MountInfo> parse_mountinfo(std::string_view text) {
  std::vector<MountInfo> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find('\n', i);
    if (j == std::string_view::npos) j = text.size();
    MountInfo mi;
    if (parse_mountinfo_line(text.substr(i, j - i), mi)) out.push_back(std::move(mi));
    i = j + 1;
  }
  return out;
}

Result<std::vector<MountInfo>> read_mountinfo() {
  HUSK_TRY_ASSIGN(std::string text, read_file("/proc/self/mountinfo"));
  return parse_mountinfo(text);
}

bool path_has_prefix(std::string_view child, std::string_view parent) {
  if (parent == "/") return child.starts_with('/');
  if (!child.starts_with(parent)) return false;
  return child.size() == parent.size() || child[parent.size()] == '/';
}

unsigned long statfs_to_ms_flags(unsigned long f) {
  unsigned long out = 0;
  if (f & ST_RDONLY) out |= MS_RDONLY;
  if (f & ST_NOSUID) out |= MS_NOSUID;
  if (f & ST_NODEV) out |= MS_NODEV;
  if (f & ST_NOEXEC) out |= MS_NOEXEC;
  if (f & ST_SYNCHRONOUS) out |= MS_SYNCHRONOUS;
  if (f & ST_MANDLOCK) out |= MS_MANDLOCK;
  if (f & ST_NOATIME) out |= MS_NOATIME;
  if (f & ST_NODIRATIME) out |= MS_NODIRATIME;
  if (f & ST_RELATIME) out |= MS_RELATIME;
  return out;
}

Result<void> remount_bind(int mount_fd, unsigned long flags, unsigned long clear_flags) {
  return set_mount_flags(mount_fd, flags, clear_flags);
}

Result<void> remount_readonly(int mount_fd) { return set_mount_readonly(mount_fd); }

Result<void> apply_propagation(int mount_fd, unsigned long propagation) {
  for (unsigned long type : {MS_SHARED, MS_SLAVE, MS_PRIVATE, MS_UNBINDABLE}) {
    if (!(propagation & type)) continue;
    auto r = set_mount_propagation(mount_fd, type | (propagation & MS_REC));
    if (!r) return fail(r.error().code, "set propagation");
  }
  return ok();
}

Result<void> check_mount_label(const std::string& label) {
  if (label.empty() || host_selinux_enabled()) return ok();
  return fail(0, "linux.mountLabel: {:?} needs SELinux, which is not enabled on this host", label);
}

std::string labelled_mount_data(std::string_view type, std::string_view data,
                                std::string_view label) {
  if (label.empty() || type == "proc" || type == "sysfs" || type == "mqueue" ||
      type == "cgroup" || type == "cgroup2" || type == "bind")
    return std::string(data);
  std::string context = fmt::format("context=\"{}\"", label);
  return data.empty() ? context : fmt::format("{},{}", data, context);
}

Result<void> mount_bind(const MountContext& ctx, const config::Mount& m, int source_fd) {
  std::string dest = clean_path(m.destination);
  return mount_bind_inner(ctx, m, dest, source_fd)
      .context("mount \"{}\" on \"{}\"", m.source, dest);
}

Result<void> mount_filesystem(const MountContext& ctx, const config::Mount& m) {
  std::string dest = clean_path(m.destination);
  return mount_filesystem_inner(ctx, m, dest)
      .context("mount \"{}\" on \"{}\"", mount_name(m), dest);
}

Result<void> mount_entry(const MountContext& ctx, const config::Mount& m, int source_fd) {
  if (m.idmap)
    return fail(EOPNOTSUPP, "mount \"{}\" on \"{}\": idmapped mounts are not supported",
                mount_name(m), clean_path(m.destination));
  HUSK_TRY(check_proc_destination(ctx.root_fd, m, clean_path(m.destination))
               .context("mount \"{}\" on \"{}\"", mount_name(m), clean_path(m.destination)));
  // Type "bind" alone (no "bind" option) is a bind mount too, as in runc.
  if (m.bind() || m.type == "bind") return mount_bind(ctx, m, source_fd);
  if (m.type == "proc" || m.type == "sysfs")
    HUSK_TRY(check_ordinary_directory(ctx.root_fd, m, clean_path(m.destination))
                 .context("mount \"{}\" on \"{}\"", mount_name(m), clean_path(m.destination)));
  if (m.type == "cgroup") return mount_cgroup(ctx, m);
  if (m.type == "sysfs") return mount_sysfs(ctx, m);
  return mount_filesystem(ctx, m);
}

}  // namespace husk::linux
