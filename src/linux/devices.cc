#include "linux/devices.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <string_view>

#include "base/cleanup.h"
#include "linux/mount_fd.h"
#include "linux/path.h"

namespace husk::linux {

namespace {

struct DefaultDevice {
  const char* path;
  int major;
  int minor;
};

constexpr DefaultDevice kDefaultDevices[] = {
    {"/dev/null", 1, 3},    {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
    {"/dev/random", 1, 8},  {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

Result<mode_t> node_type(const config::Device& d) {
  switch (d.type) {
    case 'c':
    case 'u':
      return S_IFCHR;
    case 'b':
      return S_IFBLK;
    case 'p':
      return S_IFIFO;
    default:
      return fail(EINVAL, "device \"{}\": unknown type '{}'", d.path, d.type);
  }
}

struct Parent {
  UniqueFd dir;
  std::string base;
};

Result<Parent> open_parent(int root_fd, const std::string& path) {
  std::string clean = clean_path(path);
  if (clean == "/") return fail(EINVAL, "device path \"{}\" is the root", path);
  size_t slash = clean.rfind('/');
  std::string dir = slash == 0 ? "/" : clean.substr(0, slash);
  HUSK_TRY_ASSIGN(UniqueFd fd, mkdir_all_in_root(root_fd, dir, 0755));
  return Parent{std::move(fd), clean.substr(slash + 1)};
}

Result<void> bind_device(int root_fd, const config::Device& d) {
  HUSK_TRY_ASSIGN(UniqueFd target, create_mountpoint(root_fd, d.path, false));
  auto mnt = bind_onto(AT_FDCWD, d.path.c_str(), false,
                       {.fd = target.get(), .root_fd = root_fd, .path = d.path});
  if (!mnt) return fail(mnt.error().code, "bind mount \"{}\"", d.path);
  return ok();
}

Result<void> mknod_device(int root_fd, const config::Device& d, bool& fall_back_to_bind) {
  HUSK_TRY_ASSIGN(mode_t type, node_type(d));
  HUSK_TRY_ASSIGN(Parent p, open_parent(root_fd, d.path));
  dev_t dev = makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor));
  if (::mknodat(p.dir.get(), p.base.c_str(), type | (d.file_mode & 07777), dev) < 0) {
    if (errno == EEXIST) return ok();
    if (errno == EPERM) {
      fall_back_to_bind = true;
      return ok();
    }
    return fail_errno("mknod \"{}\"", d.path);
  }
  if (::fchownat(p.dir.get(), p.base.c_str(), d.uid, d.gid, AT_SYMLINK_NOFOLLOW) < 0)
    return fail_errno("chown \"{}\"", d.path);
  return ok();
}

// Removes whatever sits at dir/name (not a directory) and puts a symlink there.
Result<void> replace_with_symlink(int dir_fd, const char* name, const char* target) {
  if (::unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT)
    return fail_errno("remove \"/dev/{}\"", name);
  if (::symlinkat(target, dir_fd, name) < 0) return fail_errno("symlink \"/dev/{}\"", name);
  return ok();
}

}  // namespace

std::vector<config::Device> default_devices() {
  std::vector<config::Device> out;
  for (const auto& d : kDefaultDevices) {
    config::Device dev;
    dev.path = d.path;
    dev.type = 'c';
    dev.major = d.major;
    dev.minor = d.minor;
    dev.file_mode = 0666;
    out.push_back(std::move(dev));
  }
  return out;
}

std::vector<config::Device> merge_devices(const std::vector<config::Device>& user) {
  std::vector<config::Device> out;
  for (auto& d : default_devices()) {
    bool overridden = false;
    for (const auto& u : user) overridden = overridden || clean_path(u.path) == d.path;
    if (!overridden) out.push_back(std::move(d));
  }
  out.insert(out.end(), user.begin(), user.end());
  return out;
}

Result<void> create_devices(int root_fd, const std::vector<config::Device>& devices,
                            bool in_user_namespace) {
  // Modes are the config's, not the runtime's umask's.
  mode_t old_mask = ::umask(0);
  Cleanup restore([old_mask] { ::umask(old_mask); });
  for (const auto& d : devices) {
    bool bind = in_user_namespace;
    if (!bind) HUSK_TRY(mknod_device(root_fd, d, bind).context("device \"{}\"", d.path));
    if (bind) HUSK_TRY(bind_device(root_fd, d).context("device \"{}\"", d.path));
  }
  return ok();
}

Result<void> create_dev_symlinks(int root_fd) {
  HUSK_TRY_ASSIGN(UniqueFd dev, mkdir_all_in_root(root_fd, "/dev", 0755));
  HUSK_TRY(replace_with_symlink(dev.get(), "ptmx", "pts/ptmx"));
  struct Link {
    const char* name;
    const char* target;
  };
  constexpr Link kLinks[] = {{"fd", "/proc/self/fd"},
                             {"stdin", "/proc/self/fd/0"},
                             {"stdout", "/proc/self/fd/1"},
                             {"stderr", "/proc/self/fd/2"}};
  for (const auto& l : kLinks) {
    if (::symlinkat(l.target, dev.get(), l.name) < 0 && errno != EEXIST)
      return fail_errno("symlink \"/dev/{}\"", l.name);
  }
  if (::access("/proc/kcore", F_OK) == 0) {
    if (::symlinkat("/proc/kcore", dev.get(), "core") < 0 && errno != EEXIST)
      return fail_errno("symlink \"/dev/core\"");
  }
  return ok();
}

}  // namespace husk::linux
