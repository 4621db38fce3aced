#include "runtime/state.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/log.h"
#include "spec/config.h"
#include "spec/default_spec.h"
#include "spec/state.h"
#include "sys/process.h"

namespace husk::runtime {

std::string_view status_name(Status s) {
  switch (s) {
    case Status::kCreating: return "creating";
    case Status::kCreated: return "created";
    case Status::kRunning: return "running";
    case Status::kPaused: return "paused";
    case Status::kStopped: return "stopped";
  }
  return "unknown";
}

Result<void> validate_id(const std::string& id) {
  if (id.empty()) return fail(0, "container id cannot be empty");
  if (id == "." || id == "..") return fail(0, "invalid container id {:?}", id);
  for (char c : id) {
    bool good = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '-' ||
                c == '.';
    if (!good) return fail(0, "invalid container id {:?}", id);
  }
  if (id.size() > 1024) return fail(0, "container id is too long");
  return ok();
}

namespace {

Result<UniqueFd> open_locked(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return fail_errno("open {}", path);
  while (::flock(fd.get(), LOCK_EX) < 0) {
    if (errno != EINTR) return fail_errno("lock {}", path);
  }
  return fd;
}

}  // namespace

Result<void> make_state_root(const std::string& root) {
  if (::mkdir(root.c_str(), 0711) == 0 || errno == EEXIST) return ok();
  if (errno != ENOENT) return fail_errno("create state root {}", root);
  for (size_t slash = root.find('/', 1); slash != std::string::npos; slash = root.find('/', slash + 1)) {
    std::string parent = root.substr(0, slash);
    if (::mkdir(parent.c_str(), 0711) < 0 && errno != EEXIST)
      return fail_errno("create state root {}", parent);
  }
  if (::mkdir(root.c_str(), 0711) < 0 && errno != EEXIST) return fail_errno("create state root {}", root);
  return ok();
}

Result<StateDir> StateDir::create(const std::string& root, const std::string& id) {
  HUSK_TRY(validate_id(id));
  HUSK_TRY(make_state_root(root));
  std::string path = root + "/" + id;
  if (::mkdir(path.c_str(), 0711) < 0) {
    if (errno == EEXIST) return fail_quiet(EEXIST, "container with id {:?} already exists", id);
    return fail_errno("create state directory {}", path);
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    auto e = fail_errno("open {}", path);
    ::rmdir(path.c_str());
    return e;
  }
  ::flock(fd.get(), LOCK_EX);
  StateDir dir(std::move(path), std::move(fd));
  dir.remove_on_destroy_ = true;
  return dir;
}

Result<StateDir> StateDir::open(const std::string& root, const std::string& id) {
  HUSK_TRY(validate_id(id));
  std::string path = root + "/" + id;
  auto fd = open_locked(path);
  if (!fd) {
    if (fd.error().code == ENOENT) return fail_quiet(ENOENT, "container {:?} does not exist", id);
    return std::unexpected(fd.error());
  }
  StateDir dir(std::move(path), std::move(*fd));
  // A directory removed while we waited for its lock is gone for us too.
  struct stat st{};
  if (::fstat(dir.fd(), &st) < 0 || st.st_nlink == 0)
    return fail_quiet(ENOENT, "container {:?} does not exist", id);
  return dir;
}

Result<StateDir> StateDir::peek(const std::string& root, const std::string& id) {
  HUSK_TRY(validate_id(id));
  std::string path = root + "/" + id;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return fail_quiet(ENOENT, "container {:?} does not exist", id);
    return fail_errno("open {}", path);
  }
  return StateDir(std::move(path), std::move(fd));
}

bool StateDir::busy() const {
  if (::flock(fd_.get(), LOCK_EX | LOCK_NB) == 0) {
    ::flock(fd_.get(), LOCK_UN);
    return false;
  }
  return errno == EWOULDBLOCK;
}

void StateDir::unlock() { ::flock(fd_.get(), LOCK_UN); }

void StateDir::lock() {
  while (::flock(fd_.get(), LOCK_EX) < 0 && errno == EINTR) {
  }
}

StateDir::~StateDir() {
  if (remove_on_destroy_ && fd_) (void)remove();
}

bool StateDir::has_exec_fifo() const {
  return ::faccessat(fd_.get(), kExecFifo, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

Result<void> StateDir::save(const ContainerState& s) const {
  nlohmann::json j = {
      {"id", s.id},           {"init_process_pid", s.pid}, {"init_process_start", s.start_time},
      {"bundle", s.bundle},   {"rootfs", s.rootfs},        {"created", s.created},
      {"owner", s.owner},     {"annotations", s.annotations},
      {"cgroup_paths", s.cgroup.paths}, {"cgroup_created", s.cgroup.created},
  };
  if (!s.cgroup.systemd_unit.empty()) {
    j["cgroup_systemd_unit"] = s.cgroup.systemd_unit;
    j["cgroup_systemd_slice"] = s.cgroup.systemd_slice;
  }
  if (s.poststart_hooks) j["poststart_hooks"] = true;
  if (s.poststop_hooks) j["poststop_hooks"] = true;
  if (s.rootfs_bind)
    j["rootfs_bind"] = {{"path", s.rootfs_bind->path},
                        {"mount_id", s.rootfs_bind->mount_id},
                        {"unique_id", s.rootfs_bind->unique_id}};
  return write_file_atomic(path_ + "/" + kStateFile, j.dump(), 0600);
}

namespace {

using Json = nlohmann::json;

// One field of state.json into out, when present. A value of another type than
// save() writes, or a number out of out's range, is an error: nlohmann's
// value() would throw (a crash here) or convert a float with undefined behaviour.
template <class T>
Result<void> read_field(const Json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return ok();
  bool fits = false;
  if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, bool>) {
    fits = std::is_same_v<T, bool> ? it->is_boolean() : it->is_string();
    if (fits) out = it->template get<T>();
  } else if (it->is_number_unsigned()) {
    auto v = it->template get<uint64_t>();
    fits = std::in_range<T>(v);
    if (fits) out = static_cast<T>(v);
  } else if (it->is_number_integer()) {
    auto v = it->template get<int64_t>();
    fits = v >= 0 && std::in_range<T>(v);  // no negative pid or start time
    if (fits) out = static_cast<T>(v);
  }
  // (type_name, not dump: dump recurses as deep as the value nests.)
  if (!fits) return fail(EINVAL, "{}: unexpected {} value", key, it->type_name());
  return ok();
}

}  // namespace

Result<ContainerState> parse_state_json(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return fail(EINVAL, "not a JSON object");
  ContainerState s;
  HUSK_TRY(read_field(j, "id", s.id));
  HUSK_TRY(read_field(j, "init_process_pid", s.pid));
  HUSK_TRY(read_field(j, "init_process_start", s.start_time));
  HUSK_TRY(read_field(j, "bundle", s.bundle));
  HUSK_TRY(read_field(j, "rootfs", s.rootfs));
  HUSK_TRY(read_field(j, "created", s.created));
  HUSK_TRY(read_field(j, "owner", s.owner));
  HUSK_TRY(read_field(j, "poststart_hooks", s.poststart_hooks));
  HUSK_TRY(read_field(j, "poststop_hooks", s.poststop_hooks));
  HUSK_TRY(read_field(j, "cgroup_systemd_unit", s.cgroup.systemd_unit));
  HUSK_TRY(read_field(j, "cgroup_systemd_slice", s.cgroup.systemd_slice));
  if (auto b = j.find("rootfs_bind"); b != j.end() && b->is_object()) {
    linux::HostBind hb;
    HUSK_TRY(read_field(*b, "path", hb.path));
    HUSK_TRY(read_field(*b, "mount_id", hb.mount_id));
    HUSK_TRY(read_field(*b, "unique_id", hb.unique_id));
    if (hb.path.empty() || hb.path.front() != '/' || hb.mount_id == 0)
      return fail(EINVAL, "rootfs_bind: not a mount");
    s.rootfs_bind = std::move(hb);
  }
  if (auto a = j.find("annotations"); a != j.end() && a->is_object()) {
    for (auto& [k, v] : a->items())
      if (v.is_string()) s.annotations[k] = v.get<std::string>();
  }
  if (auto c = j.find("cgroup_paths"); c != j.end() && c->is_object()) {
    for (auto& [k, v] : c->items())
      if (v.is_string()) s.cgroup.paths[k] = v.get<std::string>();
  }
  if (auto c = j.find("cgroup_created"); c != j.end() && c->is_array()) {
    for (auto& v : *c)
      if (v.is_string()) s.cgroup.created.push_back(v.get<std::string>());
  }
  return s;
}

Result<ContainerState> StateDir::load() const {
  HUSK_TRY_ASSIGN(std::string text, read_file_at(fd_.get(), kStateFile));
  auto s = parse_state_json(text);
  if (!s) return fail(EINVAL, "corrupt {}/{}: {}", path_, kStateFile, s.error().message);
  return s;
}

Result<void> StateDir::remove() {
  remove_on_destroy_ = false;
  for (const char* name : {kStateFile, kExecFifo, kConfigFile, kNotifySocket}) {
    if (::unlinkat(fd_.get(), name, 0) < 0 && errno != ENOENT)
      return fail_errno("remove {}/{}", path_, name);
  }
  // Temp files of a save that was killed before its rename (write_file_atomic).
  HUSK_TRY(remove_temp_files());
  for (const char* name : {kRootfsStage, kNotifyDir}) {
    if (::unlinkat(fd_.get(), name, AT_REMOVEDIR) < 0 && errno != ENOENT)
      return fail_errno("remove {}/{}", path_, name);
  }
  if (::rmdir(path_.c_str()) < 0 && errno != ENOENT) return fail_errno("remove {}", path_);
  return ok();
}

Result<void> StateDir::remove_temp_files() const {
  std::string prefix = std::string(kStateFile) + kAtomicTempInfix;
  int fd = ::openat(fd_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail_errno("open {}", path_);
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    auto e = fail_errno("open {}", path_);
    ::close(fd);
    return e;
  }
  Result<void> r = ok();
  while (dirent* e = ::readdir(d)) {
    if (!std::string_view(e->d_name).starts_with(prefix)) continue;
    if (::unlinkat(fd_.get(), e->d_name, 0) < 0 && errno != ENOENT) {
      r = fail_errno("remove {}/{}", path_, e->d_name);
      break;
    }
  }
  ::closedir(d);
  return r;
}

Status current_status(const ContainerState& s, const StateDir& dir) {
  if (s.pid <= 0) return Status::kStopped;
  auto stat = sys::process_stat(s.pid);
  if (!stat || stat->start_time != s.start_time) return Status::kStopped;
  // A zombie has exited: only its parent has not collected it yet.
  if (stat->state == 'Z' || stat->state == 'X') return Status::kStopped;
  // As runc: a live init in a frozen (or freezing) cgroup is paused, even
  // before start.
  if (!s.cgroup.paths.empty()) {
    if (auto cg = cgroup::Manager::load(s.cgroup)) {
      auto frozen = (*cg)->freezer_state();
      if (frozen && *frozen != cgroup::FreezerState::kThawed) return Status::kPaused;
    }
  }
  return dir.has_exec_fifo() ? Status::kCreated : Status::kRunning;
}

std::string now_rfc3339() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return spec::format_rfc3339_nano(ts.tv_sec, static_cast<uint32_t>(ts.tv_nsec));
}

Result<config::Container> load_saved_config(const StateDir& dir, const ContainerState& st) {
  auto text = read_file_at(dir.fd(), kConfigFile);
  if (!text) {
    if (text.error().code == ENOENT)
      return fail(0, "container {:?} was not made from a config.json", st.id);
    return std::unexpected(text.error());
  }
  return spec::parse_config(*text, st.bundle);
}

std::string hook_state_json(const ContainerState& st, std::string_view status) {
  spec::OciState s;
  s.oci_version = spec::kOciVersion;
  s.id = st.id;
  s.status = std::string(status);
  s.pid = status == "stopped" ? 0 : st.pid;
  s.bundle = st.bundle;
  s.annotations = st.annotations;
  return spec::to_hook_json(s);
}

}  // namespace husk::runtime
