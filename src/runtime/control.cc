// pause, resume, update, ps and events: the commands that act on a live
// container through its cgroup (cgroup::Manager), as runc's do.
#include <poll.h>
#include <time.h>

#include <algorithm>
#include <cstdint>

#include "base/log.h"
#include "cgroup/manager.h"
#include "runtime/runtime.h"
#include "runtime/state.h"
#include "sys/process.h"

namespace husk::runtime {
namespace {

struct Loaded {
  ContainerState state;
  Status status;
  std::unique_ptr<cgroup::Manager> cgroup;
};

// The container's state, status and cgroup manager. The caller holds the
// state dir's lock for as long as it keeps `dir`.
Result<Loaded> load(const StateDir& dir) {
  Loaded l;
  HUSK_TRY_ASSIGN(l.state, dir.load());
  l.status = current_status(l.state, dir);
  HUSK_TRY_ASSIGN(l.cgroup, cgroup::Manager::load(l.state.cgroup));
  return l;
}

}  // namespace

Result<void> pause(const std::string& root, const std::string& id) {
  HUSK_TRY_ASSIGN(StateDir dir, StateDir::open(root, id));
  HUSK_TRY_ASSIGN(Loaded l, load(dir));
  // runc: only a running or created container can be paused.
  if (l.status != Status::kRunning && l.status != Status::kCreated)
    return fail(0, "container not running");
  return l.cgroup->freeze();
}

Result<void> resume(const std::string& root, const std::string& id) {
  HUSK_TRY_ASSIGN(StateDir dir, StateDir::open(root, id));
  HUSK_TRY_ASSIGN(Loaded l, load(dir));
  if (l.status != Status::kPaused) return fail(0, "container not paused");
  return l.cgroup->thaw();
}

Result<void> update(const std::string& root, const std::string& id, config::Resources r) {
  HUSK_TRY_ASSIGN(StateDir dir, StateDir::open(root, id));
  HUSK_TRY_ASSIGN(Loaded l, load(dir));
  if (l.status == Status::kStopped) return fail(0, "container not running");
  // runc's update leaves the device rules as they are (an engine sends the
  // whole linux.resources, devices included, and those rules lack the
  // defaults create appended), and takes pids.limit 0 as "unchanged".
  if (!r.devices.empty()) log::debug("update: device rules are not updated, ignored");
  r.devices.clear();
  if (r.pids && r.pids->limit.value_or(0) == 0) r.pids.reset();
  return l.cgroup->set(r);
}

Result<std::vector<int>> processes(const std::string& root, const std::string& id) {
  HUSK_TRY_ASSIGN(StateDir dir, StateDir::open(root, id));
  HUSK_TRY_ASSIGN(Loaded l, load(dir));
  HUSK_TRY_ASSIGN(std::vector<pid_t> pids, l.cgroup->pids());
  std::sort(pids.begin(), pids.end());
  return std::vector<int>(pids.begin(), pids.end());
}

Result<void> events(const std::string& root, const std::string& id, const EventsOptions& opts,
                    const std::function<void(const Event&)>& emit) {
  Loaded l;
  {
    // Not held while watching: the container's other commands must go on.
    HUSK_TRY_ASSIGN(StateDir dir, StateDir::open(root, id));
    HUSK_TRY_ASSIGN(l, load(dir));
  }
  if (l.status == Status::kStopped) return fail(0, "container with id {} is not running", id);
  auto stats = [&]() -> Result<Event> {
    HUSK_TRY_ASSIGN(cgroup::Stats s, l.cgroup->stats());
    return Event{"stats", cgroup::stats_to_json(s)};
  };
  if (opts.stats_once) {
    HUSK_TRY_ASSIGN(Event e, stats());
    emit(e);
    return ok();
  }
  if (opts.interval.count() <= 0) return fail(0, "duration interval must be greater than 0");

  // The init's pidfd says when the container stops; the check after opening
  // it makes sure it is the init we started, not a reused pid.
  HUSK_TRY_ASSIGN(UniqueFd pidfd, sys::pidfd_open(l.state.pid));
  auto start = sys::process_start_time(l.state.pid);
  if (!start || *start != l.state.start_time)
    return fail(0, "container with id {} is not running", id);
  std::unique_ptr<cgroup::OomWatcher> oom;
  if (auto w = l.cgroup->watch_oom(); w)
    oom = std::move(*w);
  else
    log::warn("events: no OOM notifications: {}", w.error().what());

  // Drains the OOM watcher; false once the cgroup is gone.
  auto check_oom = [&]() -> Result<bool> {
    auto n = oom->consume();
    if (!n) {
      if (n.error().code == ENOENT) return false;
      return std::unexpected(n.error());
    }
    if (*n > 0) emit(Event{"oom", ""});
    return true;
  };
  const int64_t interval = opts.interval.count();
  int64_t next = sys::monotonic_ms() + interval;
  for (;;) {
    pollfd fds[2] = {{pidfd.get(), POLLIN, 0}, {oom ? oom->fd() : -1, POLLIN, 0}};
    int64_t wait = std::max<int64_t>(0, next - sys::monotonic_ms());
    int n = ::poll(fds, 2, static_cast<int>(std::min<int64_t>(wait, INT32_MAX)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("wait for container events");
    }
    // OOM first: the kernel reports it before the killed init is gone.
    if (fds[1].revents != 0) {
      HUSK_TRY_ASSIGN(bool alive, check_oom());
      if (!alive) return ok();
    }
    if (fds[0].revents != 0) {
      if (oom) HUSK_TRY(check_oom());  // an OOM that raced the exit
      return ok();
    }
    if (sys::monotonic_ms() >= next) {
      next += interval;
      if (auto e = stats(); e)
        emit(*e);
      else
        log::error("events: {}", e.error().what());  // runc logs it and goes on
    }
  }
}

}  // namespace husk::runtime
