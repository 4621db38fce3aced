#include "storage/volume.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <optional>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/log.h"
#include "base/random.h"
#include "base/time.h"
#include "storage/volume_copy.h"
#include "sys/process.h"

namespace husk::storage {

namespace {

constexpr const char* kRecord = "volume.json";
constexpr const char* kNewPrefix = ".new-";
constexpr const char* kRemovedPrefix = ".rm-";
// Present while a fill copies: a fill killed midway is undone by the next one.
constexpr const char* kFillingMarker = "filling";

std::string random_hex(size_t bytes) {
  unsigned char buf[32] = {};
  if (bytes > sizeof buf) bytes = sizeof buf;
  std::string out;
  if (!random_bytes(buf, bytes)) {
    // No entropy source: the pid and the clock still make a unique name.
    return fmt::format("{:x}{:x}", static_cast<unsigned>(::getpid()),
                       static_cast<unsigned long>(::time(nullptr)));
  }
  for (size_t i = 0; i < bytes; ++i) out += fmt::format("{:02x}", buf[i]);
  return out;
}

std::string to_json(const Volume& v) {
  nlohmann::json j{{"name", v.name},       {"driver", v.driver},   {"mountpoint", v.mountpoint},
                   {"created", v.created}, {"labels", v.labels},   {"anonymous", v.anonymous},
                   {"filled", v.filled}};
  return j.dump(2) + "\n";
}

Result<Volume> read_record(const std::string& vdir, const std::string& name) {
  HUSK_TRY_ASSIGN(std::string text, read_file(vdir + "/" + kRecord));
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return fail(EINVAL, "{}/{}: not a volume record", vdir, kRecord);
  Volume v;
  try {
    v.name = j.at("name").get<std::string>();
    v.driver = j.value("driver", std::string("local"));
    v.mountpoint = j.at("mountpoint").get<std::string>();
    v.created = j.value("created", std::string());
    v.labels = j.value("labels", std::map<std::string, std::string>{});
    v.anonymous = j.value("anonymous", false);
    v.filled = j.value("filled", false);
  } catch (const nlohmann::json::exception& e) {
    return fail(EINVAL, "{}/{}: {}", vdir, kRecord, e.what());
  }
  if (v.name != name) return fail(EINVAL, "{}/{}: names volume {:?}", vdir, kRecord, v.name);
  return v;
}

Result<void> remove_tree(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) return fail(ec.value(), "remove {:?}", dir);
  return ok();
}

// A use record is the user's sys::ProcessRef: it counts while that process runs.
bool use_is_live(const std::string& path) {
  auto text = read_file(path);
  if (!text) return false;
  auto ref = sys::parse_ref(*text);
  return ref && sys::is_alive(*ref);
}

Result<void> write_use(const std::string& path, pid_t pid) {
  auto ref = sys::process_ref(pid);
  if (!ref) return fail(ESRCH, "start time of pid {}", pid);
  return write_file_atomic(path, sys::format_ref(*ref) + "\n", 0600, Durability::kVolatile);
}

// The store's lock, made with the store's directory (0700: volumes hold the
// containers' data).
Result<UniqueFd> lock_store(const std::string& dir) {
  HUSK_TRY(make_dirs(dir, 0700));
  return lock_file(dir + "/.lock", LOCK_EX).context("lock {:?}", dir);
}

// Removes what a crash left: half-made and half-removed volumes.
void sweep(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    if (!n.starts_with(kNewPrefix) && !n.starts_with(kRemovedPrefix)) continue;
    // A .new- directory may be in the making by another husk: those hold
    // the lock, which the caller holds now, so none is.
    if (auto r = remove_tree(e.path().string()); !r) log::warn("{}", r.error().what());
  }
}

std::vector<std::string> live_users(const std::string& vdir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(vdir + "/users", ec)) {
    std::string n = e.path().filename().string();
    if (n.find(kAtomicTempInfix) != std::string::npos) continue;
    if (use_is_live(e.path().string())) out.push_back(n);
  }
  return out;
}

Result<void> write_record(const std::string& vdir, const Volume& v) {
  return write_file_atomic(vdir + "/" + kRecord, to_json(v), 0600);
}

}  // namespace

Result<void> check_volume_name(const std::string& name) {
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  bool good = !name.empty() && name.size() <= 255 && alnum(name[0]);
  for (char c : name) good = good && (alnum(c) || c == '_' || c == '.' || c == '-');
  if (!good)
    return fail_quiet(EINVAL,
                "volume name {:?}: use a letter or digit, then letters, digits, \"_\", \".\" or "
                "\"-\" (at most 255)",
                name);
  return ok();
}

// Absolute: the mountpoint becomes a bind mount's source, read by the
// container's init, whose cwd is not the caller's.
VolumeStore::VolumeStore(const std::string& store_root)
    : dir_((std::filesystem::absolute(store_root) / "volumes").lexically_normal().string()) {}

Result<Volume> VolumeStore::create(const std::string& name_in,
                                   const std::map<std::string, std::string>& labels,
                                   bool anonymous) {
  std::string name = name_in.empty() ? random_hex(32) : name_in;
  HUSK_TRY(check_volume_name(name));
  HUSK_TRY_ASSIGN(UniqueFd lock, lock_store(dir_));
  sweep(dir_);
  std::string vdir = dir_ + "/" + name;
  if (::access(vdir.c_str(), F_OK) == 0) return get(name);  // docker: create is idempotent
  // Made whole under a temporary name, then renamed into place.
  std::string tmp = dir_ + "/" + kNewPrefix + name;
  HUSK_TRY(remove_tree(tmp));
  auto made = [&]() -> Result<Volume> {
    if (::mkdir(tmp.c_str(), 0700) < 0) return fail_errno("create {:?}", tmp);
    for (const char* sub : {"/_data", "/users"}) {
      std::string p = tmp + sub;
      if (::mkdir(p.c_str(), sub[1] == '_' ? 0755 : 0700) < 0) return fail_errno("create {:?}", p);
      if (::chmod(p.c_str(), sub[1] == '_' ? 0755 : 0700) < 0) return fail_errno("chmod {:?}", p);
    }
    Volume v;
    v.name = name;
    v.mountpoint = vdir + "/_data";
    v.created = now_rfc3339();
    v.labels = labels;
    v.anonymous = anonymous;
    HUSK_TRY(write_record(tmp, v));
    if (::rename(tmp.c_str(), vdir.c_str()) < 0) return fail_errno("rename {:?}", tmp);
    return v;
  }();
  if (!made) {
    (void)remove_tree(tmp);
    return std::move(made).context("create volume {:?}", name);
  }
  return made;
}

Result<Volume> VolumeStore::get(const std::string& name) const {
  HUSK_TRY(check_volume_name(name));
  std::string vdir = dir_ + "/" + name;
  struct stat st {};
  if (::lstat(vdir.c_str(), &st) < 0 || !S_ISDIR(st.st_mode))
    return fail_quiet(ENOENT, "volume {:?}: no such volume", name);
  return read_record(vdir, name).context("volume {:?}", name);
}

Result<std::vector<Volume>> VolumeStore::list() const {
  std::vector<Volume> out;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir_, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return out;
    return fail(ec.value(), "list {:?}", dir_);
  }
  for (const auto& e : it) {
    std::string n = e.path().filename().string();
    if (!check_volume_name(n)) continue;  // .lock, .new-*, .rm-*
    auto v = get(n);
    if (!v) {
      log::warn("{}", v.error().what());
      continue;
    }
    out.push_back(std::move(*v));
  }
  std::sort(out.begin(), out.end(),
            [](const Volume& a, const Volume& b) { return a.name < b.name; });
  return out;
}

std::vector<std::string> VolumeStore::users(const std::string& name) const {
  if (!check_volume_name(name)) return {};
  return live_users(dir_ + "/" + name);
}

Result<void> VolumeStore::remove(const std::string& name) {
  HUSK_TRY(check_volume_name(name));
  HUSK_TRY_ASSIGN(UniqueFd lock, lock_store(dir_));
  HUSK_TRY(get(name));  // under the lock: a concurrent rm may have taken it
  std::string vdir = dir_ + "/" + name;
  auto in_use = live_users(vdir);
  if (!in_use.empty())
    return fail_quiet(EBUSY, "volume {:?} is in use by container {}", name, in_use.front());
  std::string gone = dir_ + "/" + kRemovedPrefix + name;
  HUSK_TRY(remove_tree(gone));
  if (::rename(vdir.c_str(), gone.c_str()) < 0) return fail_errno("remove volume {:?}", name);
  return remove_tree(gone).context("remove volume {:?}", name);
}

Result<std::vector<std::string>> VolumeStore::prune(bool all, const std::set<std::string>& keep) {
  HUSK_TRY_ASSIGN(auto vols, list());
  std::vector<std::string> removed;
  for (const auto& v : vols) {
    if ((!all && !v.anonymous) || keep.contains(v.name)) continue;
    auto r = remove(v.name);
    if (!r) {
      if (r.error().code != EBUSY) log::warn("{}", r.error().what());
      continue;
    }
    removed.push_back(v.name);
  }
  return removed;
}

Result<VolumeUse> VolumeStore::use(const std::string& name, const std::string& id) {
  if (id.empty() || id == "." || id == ".." || id.find('/') != std::string::npos)
    return fail(EINVAL, "volume {:?}: container id {:?} is not a file name", name, id);
  HUSK_TRY(check_volume_name(name));
  HUSK_TRY_ASSIGN(UniqueFd lock, lock_store(dir_));
  // Under the lock: a volume removed meanwhile must not get its users/ back.
  HUSK_TRY(get(name));
  std::string users = dir_ + "/" + name + "/users";
  VolumeUse u;
  u.path_ = users + "/" + id;
  HUSK_TRY(write_use(u.path_, ::getpid()).context("volume {:?}", name));
  u.armed_ = true;
  return u;
}

Result<bool> VolumeStore::fill(const std::string& name, const std::vector<std::string>& lowers,
                               const std::string& target) {
  HUSK_TRY(check_volume_name(name));
  HUSK_TRY_ASSIGN(UniqueFd lock, lock_store(dir_));
  std::string vdir = dir_ + "/" + name;
  HUSK_TRY_ASSIGN(Volume v, read_record(vdir, name).context("volume {:?}", name));
  if (v.filled) return false;
  std::string data = vdir + "/_data";
  UniqueFd data_fd(::open(data.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!data_fd) return fail_errno("volume {:?}: open {:?}", name, data);
  // A fill killed midway (kill -9) left its marker: what it copied is undone.
  std::string marker = vdir + "/" + kFillingMarker;
  if (::access(marker.c_str(), F_OK) == 0) {
    HUSK_TRY(empty_dir(data_fd.get()).context("volume {:?}: undo a broken fill", name));
    if (::unlink(marker.c_str()) < 0) return fail_errno("volume {:?}: remove {:?}", name, marker);
  }
  HUSK_TRY_ASSIGN(bool empty, dir_is_empty(data_fd.get()));
  if (!empty) return false;  // docker: only an empty volume is filled
  HUSK_TRY_ASSIGN(UniqueFd root, open_merged_root(lowers));
  HUSK_TRY(write_file_atomic(marker, "", 0600).context("volume {:?}", name));
  auto copied = copy_into_volume(root.get(), target, data_fd.get());
  if (!copied) {
    if (empty_dir(data_fd.get())) ::unlink(marker.c_str());
    Result<bool> failed = std::unexpected(std::move(copied).error());
    return std::move(failed).context("fill volume {:?} from {:?}", name, target);
  }
  if (*copied) {
    v.filled = true;
    HUSK_TRY(write_record(vdir, v).context("volume {:?}", name));
  }
  ::unlink(marker.c_str());
  return *copied;
}

VolumeUse::VolumeUse(VolumeUse&& o) noexcept
    : path_(std::move(o.path_)), armed_(std::exchange(o.armed_, false)) {}

VolumeUse::~VolumeUse() { end(); }

Result<void> VolumeUse::hand_to(pid_t pid) {
  if (!armed_) return ok();
  return write_use(path_, pid).context("volume use {:?}", path_);
}

void VolumeUse::end() {
  if (!armed_) return;
  armed_ = false;
  if (::unlink(path_.c_str()) < 0 && errno != ENOENT)
    log::warn("remove volume use {:?}: {}", path_, std::strerror(errno));
}

}  // namespace husk::storage
