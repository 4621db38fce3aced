#include "linux/overlay_root.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <utility>
#include <vector>

#include "base/unique_fd.h"
#include "sys/mount_api.h"

namespace husk::linux {

namespace {

// One page: what mount(2), and a legacy fs context, take as option data.
constexpr size_t kMaxMountData = 4095;

// "lowerdir=a:b" needs ':' and '\' escaped within a name (overlayfs splits on
// an unescaped ':').
std::string escape_lower(const std::string& name) {
  std::string out;
  for (char ch : name) {
    if (ch == ':' || ch == '\\') out += '\\';
    out += ch;
  }
  return out;
}

std::string joined_lowers(const std::vector<std::string>& lower) {
  std::string s;
  for (const auto& l : lower) {
    if (!s.empty()) s += ':';
    s += escape_lower(l);
  }
  return s;
}

// The lowers one by one ("lowerdir+", Linux 6.8: no page limit, no escaping),
// or as one string where the kernel does not know "lowerdir+".
Result<void> config_lowers(int fs, const std::vector<std::string>& lower) {
  auto first = sys::fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", lower.front().c_str());
  if (first) {
    for (size_t i = 1; i < lower.size(); ++i)
      HUSK_TRY(sys::fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", lower[i].c_str())
                   .context("lower {:?}", lower[i]));
    return ok();
  }
  if (first.error().code != EINVAL) return std::move(first).context("lower {:?}", lower.front());
  std::string all = joined_lowers(lower);
  if (all.size() > kMaxMountData)
    return fail(E2BIG, "{} lower layers: longer than a page (use shorter names)", lower.size());
  return sys::fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir", all.c_str()).context("lowerdir");
}

// The lowers, top first. Without an upper the kernel wants 2 at least ("at
// least 2 lowerdir are needed while upperdir nonexistent"): a lone lower gets
// the target, an empty directory, below it.
std::vector<std::string> lowers_of(const config::RootOverlay& o, const std::string& target) {
  std::vector<std::string> lower = o.lower;
  if (o.read_only() && lower.size() == 1) lower.push_back(target);
  return lower;
}

// An option this kernel may not have (index: 4.13, volatile: 5.10) is skipped.
Result<void> config_optional(int fs, unsigned cmd, const char* key, const char* value) {
  auto r = sys::fsconfig(fs, cmd, key, value);
  if (!r && r.error().code != EINVAL) return std::move(r).context("{}", key);
  return ok();
}

// overlayfs logs most of its refusals to the kernel log only (pr_err), not to
// the fs context: name the likeliest cause ourselves.
std::string create_failure_hint(const config::RootOverlay& o) {
  constexpr long kOverlayMagic = 0x794c7630;  // OVERLAYFS_SUPER_MAGIC
  for (const auto& l : o.lower) {
    struct statfs sf {};
    if (::statfs(l.c_str(), &sf) == 0 && sf.f_type == kOverlayMagic)
      return fmt::format("lower {:?} is on overlayfs, and the kernel stacks filesystems only "
                         "2 deep (see the kernel log)",
                         l);
  }
  return "see the kernel log";
}

Result<void> mount_new_api(const config::RootOverlay& o, int target_fd,
                           const std::string& target) {
  HUSK_TRY_ASSIGN(UniqueFd fs, sys::fsopen("overlay"));
  HUSK_TRY(config_lowers(fs.get(), lowers_of(o, target)));
  if (!o.read_only()) {
    HUSK_TRY(sys::fsconfig(fs.get(), FSCONFIG_SET_STRING, "upperdir", o.upper.c_str())
                 .context("upper {:?}", o.upper));
    HUSK_TRY(sys::fsconfig(fs.get(), FSCONFIG_SET_STRING, "workdir", o.work.c_str())
                 .context("work {:?}", o.work));
    if (o.volatile_upper) HUSK_TRY(config_optional(fs.get(), FSCONFIG_SET_FLAG, "volatile", nullptr));
  }
  HUSK_TRY(config_optional(fs.get(), FSCONFIG_SET_STRING, "index", "off"));
  if (auto r = sys::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr); !r) {
    if (r.error().message != "fsconfig") return std::move(r).context("create");
    return fail(r.error().code, "create: {}", create_failure_hint(o));
  }
  HUSK_TRY_ASSIGN(UniqueFd mnt, sys::fsmount(fs.get(), o.read_only() ? MOUNT_ATTR_RDONLY : 0));
  return sys::move_mount(mnt.get(), "", target_fd, "",
                         MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

// mount(2), for kernels without the new mount API: one page of options, and
// no ',' in a name (it would split the option string).
Result<void> mount_legacy(const config::RootOverlay& o, const std::string& target) {
  std::vector<std::string> lower = lowers_of(o, target);
  std::string data = "lowerdir=" + joined_lowers(lower);
  if (!o.read_only()) data += ",upperdir=" + o.upper + ",workdir=" + o.work;
  if (!o.read_only() && o.volatile_upper) data += ",volatile";
  data += ",index=off";
  if (data.size() > kMaxMountData) return fail(E2BIG, "options longer than a page");
  for (const auto& p : lower)
    if (p.find(',') != std::string::npos) return fail(EINVAL, "lower {:?}: contains ','", p);
  unsigned long flags = o.read_only() ? MS_RDONLY : 0;
  if (::mount("overlay", target.c_str(), "overlay", flags, data.c_str()) < 0)
    return fail_errno("mount");
  return ok();
}

// Runs f with the cwd in dir (when given), then moves it back.
template <typename F>
Result<void> in_dir(const std::string& dir, F&& f) {
  if (dir.empty()) return f();
  UniqueFd old(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!old) return fail_errno("open the current directory");
  if (::chdir(dir.c_str()) < 0) return fail_errno("chdir to layer base {:?}", dir);
  Result<void> r = f();
  if (::fchdir(old.get()) < 0 && r) return fail_errno("chdir back from {:?}", dir);
  return r;
}

}  // namespace

Result<void> mount_root_overlay(const config::RootOverlay& o, const std::string& target) {
  if (o.lower.empty()) return fail(EINVAL, "overlay root {:?}: no lower layer", target);
  if (o.upper.empty() != o.work.empty())
    return fail(EINVAL, "overlay root {:?}: upper and work go together", target);
  UniqueFd target_fd(::open(target.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!target_fd) return fail_errno("overlay root {:?}", target);
  return in_dir(o.base,
                [&]() -> Result<void> {
                  if (!sys::has_new_mount_api()) return mount_legacy(o, target);
                  return mount_new_api(o, target_fd.get(), target);
                })
      .context("mount overlay root {:?}", target);
}

}  // namespace husk::linux
