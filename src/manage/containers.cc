#include "manage/containers.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>
#include <cstdlib>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/random.h"
#include "runtime/runtime.h"
#include "runtime/state.h"

namespace husk::manage {
namespace {

using nlohmann::json;

constexpr const char* kRecordFile = "record.json";
constexpr const char* kStatusFile = "status.json";
constexpr const char* kLogFile = "ctr.log";
// record.json and status.json are small; a bigger one is damaged or hostile.
constexpr size_t kMaxFile = 1 << 20;

// Reads a field if present with the right type; a wrong type is an error. A
// number must be an integer that fits T: nlohmann converts a float, or a
// value out of T's range, with undefined behaviour (fuzz_container_record).
template <class T>
Result<void> take(const json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return ok();
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    bool fits = false;
    if (it->is_number_unsigned()) {
      fits = it->get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
      if (fits) out = static_cast<T>(it->get<uint64_t>());
    } else if (it->is_number_integer()) {
      int64_t v = it->get<int64_t>();
      fits = std::in_range<T>(v);
      if (fits) out = static_cast<T>(v);
    }
    if (!fits) return fail_quiet(EINVAL, "{}: not an integer in range", key);
    return ok();
  }
  try {
    out = it->get<T>();
  } catch (const json::exception&) {
    return fail_quiet(EINVAL, "{}: wrong type", key);
  }
  return ok();
}

Result<json> parse_object(std::string_view text, const char* what) {
  if (text.size() > kMaxFile) return fail_quiet(EFBIG, "{}: too big", what);
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(0, "{}: not a JSON object", what);
  return j;
}

Result<std::string> read_small(const std::string& path) {
  HUSK_TRY_ASSIGN(std::string text, read_file(path));
  if (text.size() > kMaxFile) return fail_quiet(EFBIG, "{}: too big", path);
  return text;
}

}  // namespace

Result<RestartPolicy> parse_restart_policy(std::string_view text) {
  using K = RestartPolicy::Kind;
  if (text.empty() || text == "no") return RestartPolicy{};
  if (text == "always") return RestartPolicy{K::kAlways, 0};
  if (text == "unless-stopped") return RestartPolicy{K::kUnlessStopped, 0};
  if (text.starts_with("on-failure")) {
    std::string_view rest = text.substr(10);
    if (rest.empty()) return RestartPolicy{K::kOnFailure, 0};
    if (rest.front() == ':' && rest.size() > 1 && rest.size() <= 6 &&
        std::all_of(rest.begin() + 1, rest.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return RestartPolicy{K::kOnFailure, std::atoi(std::string(rest.substr(1)).c_str())};
    return fail(0, "--restart {:?}: on-failure takes a count, on-failure:N", text);
  }
  return fail(0, "--restart {:?}: not no, on-failure[:N], always or unless-stopped", text);
}

std::string format_restart_policy(const RestartPolicy& p) {
  using K = RestartPolicy::Kind;
  switch (p.kind) {
    case K::kNo: return "no";
    case K::kAlways: return "always";
    case K::kUnlessStopped: return "unless-stopped";
    case K::kOnFailure: return p.max > 0 ? fmt::format("on-failure:{}", p.max) : "on-failure";
  }
  return "no";
}

std::string_view state_name(State s) {
  switch (s) {
    case State::kCreated: return "created";
    case State::kRunning: return "running";
    case State::kPaused: return "paused";
    case State::kRestarting: return "restarting";
    case State::kExited: return "exited";
    case State::kRemoving: return "removing";
  }
  return "unknown";
}

std::string record_json(const Record& r) {
  json j = {{"id", r.id},
            {"name", r.name},
            {"created", r.created},
            {"image", r.image},
            {"image_id", r.image_id},
            {"rootfs", r.rootfs},
            {"command", r.command},
            {"args", r.args},
            {"cwd", r.cwd},
            {"caller_env", r.caller_env},
            {"labels", r.labels},
            {"ports", r.ports},
            {"anonymous_volumes", r.anonymous_volumes},
            {"restart", format_restart_policy(r.restart)},
            {"auto_remove", r.auto_remove},
            {"tty", r.tty},
            {"interactive", r.interactive},
            {"stop_signal", r.stop_signal},
            {"stop_timeout", r.stop_timeout},
            {"log_max_size", r.log_max_size},
            {"log_max_files", r.log_max_files}};
  return j.dump(2) + "\n";
}

Result<Record> parse_record(std::string_view text) {
  HUSK_TRY_ASSIGN(json j, parse_object(text, kRecordFile));
  Record r;
  std::string restart;
  auto fields = [&]() -> Result<void> {
    HUSK_TRY(take(j, "id", r.id));
    HUSK_TRY(take(j, "name", r.name));
    HUSK_TRY(take(j, "created", r.created));
    HUSK_TRY(take(j, "image", r.image));
    HUSK_TRY(take(j, "image_id", r.image_id));
    HUSK_TRY(take(j, "rootfs", r.rootfs));
    HUSK_TRY(take(j, "command", r.command));
    HUSK_TRY(take(j, "args", r.args));
    HUSK_TRY(take(j, "cwd", r.cwd));
    HUSK_TRY(take(j, "caller_env", r.caller_env));
    HUSK_TRY(take(j, "labels", r.labels));
    HUSK_TRY(take(j, "ports", r.ports));
    HUSK_TRY(take(j, "anonymous_volumes", r.anonymous_volumes));
    HUSK_TRY(take(j, "restart", restart));
    HUSK_TRY(take(j, "auto_remove", r.auto_remove));
    HUSK_TRY(take(j, "tty", r.tty));
    HUSK_TRY(take(j, "interactive", r.interactive));
    HUSK_TRY(take(j, "stop_signal", r.stop_signal));
    HUSK_TRY(take(j, "stop_timeout", r.stop_timeout));
    HUSK_TRY(take(j, "log_max_size", r.log_max_size));
    HUSK_TRY(take(j, "log_max_files", r.log_max_files));
    return ok();
  };
  HUSK_TRY(fields().context(kRecordFile));
  HUSK_TRY_ASSIGN(r.restart, parse_restart_policy(restart).context(kRecordFile));
  HUSK_TRY(check_name(r.name).context(kRecordFile));
  return r;
}

std::string status_json(const Status& s) {
  json j = {{"state", s.state},
            {"pid", s.pid},
            {"started_at", s.started_at},
            {"finished_at", s.finished_at},
            {"exit_code", s.exit_code},
            {"restarts", s.restarts},
            {"oom_killed", s.oom_killed},
            {"stopped_by_user", s.stopped_by_user},
            {"error", s.error}};
  if (s.keeper) j["keeper"] = sys::format_ref(*s.keeper);
  return j.dump() + "\n";
}

Result<Status> parse_status(std::string_view text) {
  HUSK_TRY_ASSIGN(json j, parse_object(text, kStatusFile));
  Status s;
  std::string keeper;
  auto fields = [&]() -> Result<void> {
    HUSK_TRY(take(j, "state", s.state));
    HUSK_TRY(take(j, "pid", s.pid));
    HUSK_TRY(take(j, "started_at", s.started_at));
    HUSK_TRY(take(j, "finished_at", s.finished_at));
    HUSK_TRY(take(j, "exit_code", s.exit_code));
    HUSK_TRY(take(j, "restarts", s.restarts));
    HUSK_TRY(take(j, "oom_killed", s.oom_killed));
    HUSK_TRY(take(j, "stopped_by_user", s.stopped_by_user));
    HUSK_TRY(take(j, "error", s.error));
    HUSK_TRY(take(j, "keeper", keeper));
    return ok();
  };
  HUSK_TRY(fields().context(kStatusFile));
  if (!keeper.empty()) {
    s.keeper = sys::parse_ref(keeper);
    if (!s.keeper) return fail_quiet(EINVAL, "{}: keeper {:?}: not \"PID START_TIME\"", kStatusFile, keeper);
  }
  return s;
}

Result<void> check_name(const std::string& name) {
  auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  bool good = !name.empty() && name.size() <= 128 && word(name.front()) &&
              std::all_of(name.begin(), name.end(),
                          [&](char c) { return word(c) || c == '_' || c == '.' || c == '-'; });
  if (!good)
    return fail(0, "container name {:?}: use letters, digits and _.- (not first), at most 128",
                name);
  return ok();
}

std::string new_id() {
  unsigned char bytes[32] = {};
  std::string id;
  if (!random_bytes(bytes, sizeof bytes)) {
    // No entropy source: the time and pid are unique enough for a handle.
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return fmt::format("{:016x}{:016x}{:032x}", static_cast<uint64_t>(ts.tv_sec),
                       static_cast<uint64_t>(ts.tv_nsec), static_cast<unsigned>(::getpid()));
  }
  for (unsigned char b : bytes) id += fmt::format("{:02x}", b);
  return id;
}

Store::Store(std::string root) : dir_(std::move(root) + "/containers") {}

std::string Store::default_root() {
  const char* root = std::getenv("HUSK_ROOT");
  return root != nullptr && *root != '\0' ? root : "/var/lib/husk";
}

std::string Store::log_path(const std::string& name) const {
  return container_dir(name) + "/" + kLogFile;
}

Result<void> Store::create(const Record& r, const Status& initial) {
  HUSK_TRY(check_name(r.name));
  HUSK_TRY(make_dirs(dir_, 0700));
  std::string dir = container_dir(r.name);
  if (::mkdir(dir.c_str(), 0700) < 0) {
    if (errno == EEXIST) {
      auto other = load(r.name);
      std::string id = other ? other->record.id.substr(0, 12) : std::string("?");
      return fail_quiet(EEXIST,
                        "the name {:?} is in use by container {}: remove it (husk rm) or choose "
                        "another name",
                        r.name, id);
    }
    return fail_errno("create {:?}", dir);
  }
  auto written = [&]() -> Result<void> {
    HUSK_TRY(write_file_atomic(dir + "/" + kRecordFile, record_json(r), 0600));
    return write_file_atomic(dir + "/" + kStatusFile, status_json(initial), 0600);
  }();
  if (!written) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    Error e = std::move(written).error();
    e.wrap(fmt::format("container {:?}", r.name));
    return std::unexpected(std::move(e));
  }
  return ok();
}

Result<void> Store::save_record(const Record& r) const {
  return write_file_atomic(container_dir(r.name) + "/" + kRecordFile, record_json(r), 0600)
      .context("container {:?}", r.name);
}

Result<void> Store::save_status(const std::string& name, const Status& s) const {
  return write_file_atomic(container_dir(name) + "/" + kStatusFile, status_json(s), 0600)
      .context("container {:?}", name);
}

std::optional<sys::ProcessRef> keeper_ref(pid_t pid) {
  auto r = sys::process_ref(pid);
  if (!r) return std::nullopt;
  return *r;
}

bool init_alive(const std::string& name) {
  auto dir = runtime::StateDir::peek(runtime::kDefaultRoot, name);
  if (!dir) return false;
  auto st = dir->load();
  return st && runtime::current_status(*st, *dir) != runtime::Status::kStopped;
}

bool keeper_alive(const Status& s) { return s.keeper && sys::is_alive(*s.keeper); }

State live_state(const Status& s) {
  if (s.state == "created") return State::kCreated;
  if (s.state == "exited") return State::kExited;
  if (!s.keeper || !sys::is_alive(*s.keeper)) return State::kExited;
  if (s.state == "restarting") return State::kRestarting;
  // husk pause and unpause say so in the status: ps reads no runtime state
  // or cgroup file per container (1000 of them in well under 100 ms).
  if (s.state == "paused") return State::kPaused;
  return State::kRunning;
}

Result<Container> Store::load(const std::string& name) const {
  Container c;
  c.dir = container_dir(name);
  HUSK_TRY_ASSIGN(std::string rtext, read_small(c.dir + "/" + kRecordFile));
  HUSK_TRY_ASSIGN(c.record, parse_record(rtext).context("container {:?}", name));
  if (c.record.name != name) return fail_quiet(EINVAL, "container {:?}: record names {:?}", name, c.record.name);
  auto stext = read_small(c.dir + "/" + kStatusFile);
  if (stext) {
    HUSK_TRY_ASSIGN(c.status, parse_status(*stext).context("container {:?}", name));
  } else if (stext.error().code != ENOENT) {
    return std::unexpected(std::move(stext).error());
  }
  c.state = live_state(c.status);
  if (c.state == State::kExited && c.status.state != "exited") {
    // The keeper died without writing the end: a kill -9 of husk or of the
    // monitor, or a reboot. The container cannot run without it.
    c.status.exit_code = c.status.exit_code ? c.status.exit_code : -1;
    if (c.status.error.empty())
      c.status.error = "its monitor is gone (killed, or the host restarted)";
  }
  return c;
}

Result<std::vector<Container>> Store::list() const {
  std::vector<Container> out;
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return fail_errno("{:?}", dir_);
  }
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    if (auto c = load(e->d_name)) out.push_back(std::move(*c));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const Container& a, const Container& b) {
    return a.record.created < b.record.created;
  });
  return out;
}

Result<Container> Store::find(const std::string& ref) const {
  if (ref.empty()) return fail_quiet(EINVAL, "no container named");
  if (check_name(ref)) {
    auto byname = load(ref);
    if (byname) return byname;
    if (byname.error().code != ENOENT) return byname;
  }
  // docker: a full id, else a unique prefix of one.
  bool hex = std::all_of(ref.begin(), ref.end(),
                         [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  if (hex) {
    HUSK_TRY_ASSIGN(std::vector<Container> all, list());
    const Container* hit = nullptr;
    int hits = 0;
    for (const auto& c : all) {
      if (c.record.id.starts_with(ref)) {
        hit = &c;
        ++hits;
      }
    }
    if (hits == 1) return *hit;
    if (hits > 1) return fail_quiet(EINVAL, "container {:?}: the prefix matches {} containers", ref, hits);
  }
  return fail_quiet(ENOENT, "no such container: {}", ref);
}

Result<void> Store::remove(const std::string& name) const {
  std::error_code ec;
  std::filesystem::remove_all(container_dir(name), ec);
  if (ec) return fail(ec.value(), "remove container {:?}", name);
  return ok();
}

}  // namespace husk::manage
