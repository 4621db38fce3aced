#include "linux/mounts.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <limits>
#include <optional>

#include "base/file.h"
#include "linux/path.h"
#include "sys/mount_api.h"

namespace husk::linux {

namespace {

constexpr unsigned long kPropagationTypes = MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE;
// Per-mount flags a bind remount can change.
constexpr unsigned long kPerMountFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC |
                                         MS_NOATIME | MS_NODIRATIME | MS_RELATIME |
                                         MS_STRICTATIME;
// Flags the kernel locks on mounts copied into a less privileged user namespace.
constexpr unsigned long kLockableFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;

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

Result<void> mount_at_fd(const char* source, int target_fd, const char* type,
                         unsigned long flags, const std::string& data) {
  std::string target = proc_fd_path(target_fd);
  if (::mount(source, target.c_str(), type, flags, data.empty() ? nullptr : data.c_str()) < 0)
    return fail_errno("");  // callers say which mount
  return ok();
}

// The part every mount shares once it exists: propagation, then mount_setattr
// for the recursive attributes ("rro", "rnosuid", ...).
Result<void> finish_mount(int mount_fd, const config::Mount& m) {
  HUSK_TRY(apply_propagation(mount_fd, m.propagation));
  if (m.recursive_set != 0 || m.recursive_clear != 0) {
    auto r = sys::mount_setattr(mount_fd, "", AT_EMPTY_PATH | AT_RECURSIVE, m.recursive_set,
                                m.recursive_clear);
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

// runc refuses to mount proc or sysfs through a symlink: an image could
// otherwise move them somewhere masked paths do not cover.
Result<void> check_no_symlink(int root_fd, const std::string& dest) {
  auto resolved = resolve_in_root(root_fd, dest);
  if (!resolved) return std::unexpected(std::move(resolved).error());
  if (*resolved != dest)
    return fail(ELOOP, "must be mounted on an ordinary directory, \"{}\" is a symlink", dest);
  return ok();
}

Result<void> mount_filesystem_inner(const MountContext& ctx, const config::Mount& m,
                                    const std::string& dest) {
  if (m.type == "proc" || m.type == "sysfs") HUSK_TRY(check_no_symlink(ctx.root_fd, dest));
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
  std::string source = m.source.empty() ? m.type : m.source;
  HUSK_TRY(mount_at_fd(source.c_str(), target.get(), m.type.c_str(), flags, m.data));

  HUSK_TRY_ASSIGN(UniqueFd mnt, open_in_root(ctx.root_fd, dest, O_PATH | O_DIRECTORY));
  if (image_mode && ::chmod(proc_fd_path(mnt.get()).c_str(), *image_mode) < 0)
    return fail_errno("chmod");
  if (later_ro && dest != "/dev") HUSK_TRY(remount_bind(mnt.get(), flags | MS_RDONLY, 0));
  return finish_mount(mnt.get(), m);
}

Result<void> mount_bind_inner(const MountContext& ctx, const config::Mount& m,
                              const std::string& dest) {
  struct stat st {};
  if (::stat(m.source.c_str(), &st) < 0) return fail_errno("");  // a missing source
  HUSK_TRY_ASSIGN(UniqueFd target, create_mountpoint(ctx.root_fd, dest, S_ISDIR(st.st_mode)));
  HUSK_TRY(mount_at_fd(m.source.c_str(), target.get(), nullptr, MS_BIND | (m.flags & MS_REC), ""));

  HUSK_TRY_ASSIGN(UniqueFd mnt, open_in_root(ctx.root_fd, dest, O_PATH));
  // A bind mount copies the source's flags; only a remount applies ours.
  if ((m.flags & kPerMountFlags) != 0 || (m.clear_flags & kPerMountFlags) != 0)
    HUSK_TRY(remount_bind(mnt.get(), m.flags, m.clear_flags));
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
  unsigned long f = MS_BIND | MS_REMOUNT | (flags & kPerMountFlags);
  auto r = mount_at_fd(nullptr, mount_fd, nullptr, f, "");
  if (r || r.error().code != EPERM) return std::move(r).context("remount");
  struct statfs sf {};
  if (::fstatfs(mount_fd, &sf) < 0) return fail_errno("remount: statfs");
  unsigned long locked = statfs_to_ms_flags(sf.f_flags) & kLockableFlags;
  // The user asked for one of these to be cleared: the EPERM is the answer.
  if (locked & clear_flags) return fail(EPERM, "remount: flags locked by the kernel");
  if ((locked & ~f) == 0) return fail(EPERM, "remount");
  return mount_at_fd(nullptr, mount_fd, nullptr, f | locked, "").context("remount");
}

Result<void> remount_readonly(int mount_fd) {
  struct statfs sf {};
  if (::fstatfs(mount_fd, &sf) < 0) return fail_errno("statfs");
  // No atime flag given: the kernel keeps the mount's atime mode.
  unsigned long keep = statfs_to_ms_flags(sf.f_flags) & kLockableFlags;
  return mount_at_fd(nullptr, mount_fd, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, "")
      .context("remount read-only");
}

Result<void> apply_propagation(int mount_fd, unsigned long propagation) {
  for (unsigned long type : {MS_SHARED, MS_SLAVE, MS_PRIVATE, MS_UNBINDABLE}) {
    if (!(propagation & type)) continue;
    auto r = mount_at_fd(nullptr, mount_fd, nullptr, type | (propagation & MS_REC), "");
    if (!r) return fail(r.error().code, "set propagation");
  }
  return ok();
}

Result<void> mount_bind(const MountContext& ctx, const config::Mount& m) {
  std::string dest = clean_path(m.destination);
  return mount_bind_inner(ctx, m, dest).context("mount \"{}\" on \"{}\"", m.source, dest);
}

Result<void> mount_filesystem(const MountContext& ctx, const config::Mount& m) {
  std::string dest = clean_path(m.destination);
  return mount_filesystem_inner(ctx, m, dest)
      .context("mount \"{}\" on \"{}\"", mount_name(m), dest);
}

Result<void> mount_entry(const MountContext& ctx, const config::Mount& m) {
  if (m.idmap)
    return fail(EOPNOTSUPP, "mount \"{}\" on \"{}\": idmapped mounts are not supported",
                mount_name(m), clean_path(m.destination));
  // Type "bind" alone (no "bind" option) is a bind mount too, as in runc.
  if (m.bind() || m.type == "bind") return mount_bind(ctx, m);
  if (m.type == "cgroup") return mount_cgroup(ctx, m);
  if (m.type == "sysfs") return mount_sysfs(ctx, m);
  return mount_filesystem(ctx, m);
}

}  // namespace husk::linux
