#include "cli/husk/containers_cmd.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "front/exit_code.h"
#include "cli/husk/run_cmd.h"
#include "front/ps_format.h"
#include "front/user.h"
#include "image/store.h"
#include "front/units.h"
#include "manage/containers.h"
#include "manage/log_reader.h"
#include "manage/stats.h"
#include "manage/top.h"
#include "net/attach.h"
#include "runtime/runtime.h"
#include "spec/names.h"
#include "storage/volume.h"

namespace husk::cli {
namespace {

using namespace std::chrono_literals;
using manage::Container;
using manage::State;

manage::Store store() { return manage::Store(manage::Store::default_root()); }

bool is_up(State s) {
  return s == State::kRunning || s == State::kPaused || s == State::kRestarting;
}

int64_t now_seconds() { return static_cast<int64_t>(std::time(nullptr)); }

// Polls until the container has stopped (and its keeper has written so), or
// the deadline; returns the container as last read.
Result<Container> wait_stopped(const std::string& name, std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    HUSK_TRY_ASSIGN(Container c, store().load(name));
    if (c.state == State::kExited || c.state == State::kCreated) return c;
    if (std::chrono::steady_clock::now() >= until) return c;
    std::this_thread::sleep_for(20ms);
  }
}

// Until the keeper (the monitor, or a foreground husk) has finished its
// cleanup and gone; bounded.
void wait_keeper_gone(const std::string& name, std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    auto c = store().load(name);
    if (!c || !manage::keeper_alive(c->status)) return;
    std::this_thread::sleep_for(20ms);
  }
}

// One verb over every ref: each done or reported. The exit status is
// podman's: 125 for a container that is not there (1 for rm), 2 for one in
// the wrong state (EBUSY: rm of a running one), else 125 for a failure.
int each(const std::vector<std::string>& refs,
         const std::function<Result<void>(const Container&, const std::string& ref)>& fn,
         int missing = kExitHuskError) {
  int rc = 0;
  for (const auto& ref : refs) {
    auto c = store().find(ref);
    if (!c) {
      print_error(c.error().what());
      rc = missing;
      continue;
    }
    if (auto r = fn(*c, ref); !r) {
      print_error(r.error().what());
      rc = r.error().code == EBUSY ? 2 : kExitHuskError;
      continue;
    }
  }
  return rc;
}

Result<int> signal_of(const std::string& text) {
  auto sig = spec::signal_from_string(text);
  if (!sig) return fail_quiet(EINVAL, "invalid signal {:?}", text);
  return *sig;
}

// The status says paused while the cgroup is frozen (ps reads only the
// status). The monitor rewrites it whole when the container exits.
Result<void> set_paused(const std::string& name, bool paused) {
  HUSK_TRY_ASSIGN(Container now, store().load(name));
  if (now.status.state != "running" && now.status.state != "paused") return ok();
  now.status.state = paused ? "paused" : "running";
  return store().save_status(name, now.status);
}

// Marks a stop by the user: no restart policy brings it back (husk start
// clears the mark).
void mark_stopped(const Container& c) {
  (void)write_file_atomic(c.dir + "/stopped", "", 0600, Durability::kVolatile);
}

Result<void> stop_one(const Container& c, int timeout) {
  if (!is_up(c.state)) return ok();  // docker: stopping a stopped container succeeds
  mark_stopped(c);
  const std::string& name = c.record.name;
  std::string sigtext = c.record.stop_signal.empty() ? "SIGTERM" : c.record.stop_signal;
  HUSK_TRY_ASSIGN(int sig, signal_of(sigtext));
  if (timeout < 0) timeout = c.record.stop_timeout;
  if (c.state == State::kPaused) (void)runtime::resume(runtime::kDefaultRoot, name);
  if (c.state != State::kRestarting && timeout > 0) {
    if (auto k = runtime::kill(runtime::kDefaultRoot, name, sig, false); k) {
      HUSK_TRY_ASSIGN(Container now, wait_stopped(name, std::chrono::seconds(timeout)));
      if (!is_up(now.state)) return ok();
    }
  }
  // Still up: SIGKILL every process, then wait for the keeper to see it.
  (void)runtime::kill(runtime::kDefaultRoot, name, SIGKILL, true);
  HUSK_TRY_ASSIGN(Container now, wait_stopped(name, 10s));
  if (is_up(now.state)) return fail_quiet(ETIMEDOUT, "container {:?}: still running after SIGKILL", name);
  return ok();
}

// Removes a stopped container: what its last run left (if its cleanup did
// not run), then its directory; with volumes (rm -v), its anonymous volumes.
Result<void> remove_one(const Container& c, bool force, bool volumes = false) {
  const std::string& name = c.record.name;
  if (is_up(c.state)) {
    if (!force)
      return fail_quiet(EBUSY, "cannot remove container {:?}: it is {}: stop it first, or rm -f",
                  name, manage::state_name(c.state));
    mark_stopped(c);
    (void)runtime::kill(runtime::kDefaultRoot, name, SIGKILL, true);
    (void)wait_stopped(name, 10s);
  }
  wait_keeper_gone(name, 10s);
  if (cleanup_command(name, true, volumes) != 0)
    return fail_quiet(EIO, "container {:?}: not removed", name);
  return ok();
}

std::string json_time(const std::string& t) { return t.empty() ? "0001-01-01T00:00:00Z" : t; }

// docker's inspect "Mounts": the container's bind mounts and volumes (named and
// anonymous), from its recorded flags; --tmpfs mounts are not listed, as in docker.
nlohmann::json mounts_json(const manage::Record& r) {
  nlohmann::json out = nlohmann::json::array();
  storage::VolumeStore volumes(image::Store::default_root());
  for (const auto& m : volume_mounts_of(r)) {
    const bool rw = !m.readonly;
    if (m.kind == VolumeMount::Kind::kBind) {
      out.push_back({{"Type", "bind"}, {"Source", m.source}, {"Destination", m.target},
                     {"Mode", rw ? "" : "ro"}, {"RW", rw},
                     {"Propagation", m.propagation.empty() ? "rprivate" : m.propagation}});
    } else if (m.kind == VolumeMount::Kind::kVolume) {
      std::string name = m.source;
      if (name.empty()) {  // anonymous: made at the first start
        auto it = r.anonymous_volumes.find(m.target);
        if (it == r.anonymous_volumes.end()) continue;
        name = it->second;
      }
      auto v = volumes.get(name);
      out.push_back({{"Type", "volume"}, {"Name", name},
                     {"Source", v ? v->mountpoint : std::string()}, {"Destination", m.target},
                     {"Driver", "local"}, {"Mode", rw ? "" : "ro"}, {"RW", rw},
                     {"Propagation", ""}});
    }
  }
  return out;
}

// docker's inspect, the parts husk knows.
nlohmann::json inspect_json(const Container& c) {
  const auto& r = c.record;
  const auto& s = c.status;
  nlohmann::json state = {{"Status", std::string(manage::state_name(c.state))},
                          {"Running", c.state == State::kRunning || c.state == State::kPaused},
                          {"Paused", c.state == State::kPaused},
                          {"Restarting", c.state == State::kRestarting},
                          {"OOMKilled", s.oom_killed},
                          {"Dead", false},
                          {"Pid", is_up(c.state) ? s.pid : 0},
                          {"ExitCode", s.exit_code},
                          {"Error", s.error},
                          {"StartedAt", json_time(s.started_at)},
                          {"FinishedAt", json_time(s.finished_at)}};
  nlohmann::json net = nlohmann::json::object();
  std::string persistent = net::NetworkStore::default_root();
  if (auto found = net::find_lease(persistent, net::kNetRunRoot, r.name); found && *found) {
    const auto& l = (*found)->lease;
    net = {{"Network", (*found)->network.name}, {"IPAddress", l.ipv4.str()}};
  }
  return {{"Id", r.id},
          {"Name", r.name},
          {"Created", r.created},
          {"Path", r.command.empty() ? "" : r.command.front()},
          {"Args", r.command.size() > 1
                       ? std::vector<std::string>(r.command.begin() + 1, r.command.end())
                       : std::vector<std::string>{}},
          {"State", state},
          {"Image", r.image_id.starts_with("sha256:") ? r.image_id.substr(7)
                                                      : (r.image_id.empty() ? r.image : r.image_id)},
          {"ImageName", r.image},
          {"Rootfs", r.rootfs},
          {"RestartCount", s.restarts},
          {"LogPath", store().log_path(r.name)},
          {"Config", {{"Labels", r.labels}, {"Cmd", r.command}, {"Tty", r.tty},
                      {"OpenStdin", r.interactive}, {"StopSignal", r.stop_signal},
                      {"StopTimeout", r.stop_timeout}}},
          {"HostConfig", {{"RestartPolicy", {{"Name", manage::format_restart_policy(r.restart)},
                                             {"MaximumRetryCount", r.restart.max}}},
                          {"AutoRemove", r.auto_remove},
                          {"PortBindings", r.ports},
                          {"LogConfig", {{"Type", "k8s-file"},
                                         {"MaxSize", r.log_max_size},
                                         {"MaxFiles", r.log_max_files}}}}},
          {"Mounts", mounts_json(r)},
          {"HuskArgs", r.args},
          {"NetworkSettings", net}};
}

int ps(ContainerCommands& c) {
  auto filters = front::parse_filters(c.filters);
  if (!filters) {
    print_error(filters.error().what());
    return kExitHuskError;
  }
  auto all = store().list();
  if (!all) {
    print_error(all.error().what());
    return kExitHuskError;
  }
  std::vector<Container> shown;
  bool any_status_filter = false;
  for (const auto& f : *filters) any_status_filter |= f.key == "status" || f.key == "exited";
  for (auto& ct : *all) {
    // docker: newest first; only running ones without -a (a status filter implies -a).
    if (!c.all && !any_status_filter && !is_up(ct.state)) continue;
    if (!front::matches(ct, *filters)) continue;
    shown.push_back(std::move(ct));
  }
  std::reverse(shown.begin(), shown.end());
  auto text = front::render_ps(shown, {.quiet = c.quiet, .no_trunc = c.no_trunc, .format = c.format},
                               now_seconds());
  if (!text) {
    print_error(text.error().what());
    return kExitHuskError;
  }
  std::fputs(text->c_str(), stdout);
  return 0;
}

// podman's exit status for an exec user or group the container lacks
// (docker's is 126).
constexpr int kExitNoSuchExecUser = 255;

// exec -u: the user as the running container's own /etc/passwd and
// /etc/group say, read through its init's root and resolved inside it
// (read_account_files_in): the container may have changed them since it
// started, and may have made them symlinks meant to reach a host file.
Result<ResolvedUser> exec_user(const std::string& name, const std::string& spec) {
  HUSK_TRY_ASSIGN(UniqueFd root, runtime::open_container_root(runtime::kDefaultRoot, name));
  return resolve_user(spec, read_account_files_in(root.get()));
}

// docker exec -u: the user's ids and groups; HOME from its passwd entry
// unless -e HOME is given or the container was given one (by its image or
// its own -e); and the capabilities build_config gives a run's user: the
// bounding set for root, none for anyone else.
void set_exec_user(config::Process& p, const ResolvedUser& u, const std::vector<std::string>& env) {
  p.user.uid = u.uid;
  p.user.gid = u.gid;
  p.user.additional_gids = u.additional_gids;
  p.user.username = u.name;
  if (p.capabilities) {
    auto& caps = *p.capabilities;
    caps.effective = caps.permitted = u.uid == 0 ? caps.bounding : 0;
    if (u.uid != 0) caps.inheritable = caps.ambient = 0;
  }
  auto is_home = [](const std::string& e) { return e.starts_with("HOME="); };
  if (std::ranges::any_of(env, is_home)) return;
  if (!p.home_is_default && std::ranges::any_of(p.env, is_home)) return;
  std::erase_if(p.env, is_home);
  p.env.push_back("HOME=" + (u.home.empty() ? std::string("/") : u.home));
}

int exec(ContainerCommands& c) {
  auto ctr = store().find(c.ref);
  if (!ctr) {
    print_error(ctr.error().what());
    return kExitHuskError;
  }
  if (ctr->state != State::kRunning) {
    print_error(fmt::format("container {:?} is not running ({})", ctr->record.name,
                            manage::state_name(ctr->state)));
    return kExitHuskError;
  }
  if (c.command.empty()) {
    print_error("exec: no command");
    return kExitHuskError;
  }
  auto cfg = container_config(ctr->record.name);
  if (!cfg) {
    print_error(cfg.error().what());
    return kExitHuskError;
  }
  if (!c.user.empty()) {
    // Without -u the process keeps the container's own user (its config's).
    auto user = exec_user(ctr->record.name, c.user);
    if (!user) {
      print_error(fmt::format("container {:?}: {}", ctr->record.name, user.error().what()));
      return user.error().code == ENOENT ? kExitNoSuchExecUser : kExitHuskError;
    }
    set_exec_user(cfg->process, *user, c.env);
  }
  runtime::ExecOptions o;
  o.container = &*cfg;
  o.id = ctr->record.name;
  o.args = c.command;
  o.env = c.env;
  o.cwd = c.workdir;
  o.tty = c.tty;
  o.detach = c.detach;
  if (c.detach) {
    // Nothing to show it to: its output goes nowhere, as docker's.
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
      ::dup2(null, STDIN_FILENO);
      ::dup2(null, STDOUT_FILENO);
    }
  } else if (!c.interactive) {
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null >= 0) ::dup2(null, STDIN_FILENO);
  }
  auto code = runtime::exec(o);
  if (!code) {
    print_error(code.error().what());
    return exit_code_for(code.error());
  }
  return *code;
}

int update(ContainerCommands& c) {
  HostFacts host = host_facts(c.resources);
  auto r = build_resources(c.resources, host);
  if (!r) {
    print_error(r.error().what());
    return kExitHuskError;
  }
  if (!*r) {
    print_error("update: no resource flag given (--cpus, --memory, --pids-limit...)");
    return kExitHuskError;
  }
  return each(c.refs, [&](const Container& ct, const std::string& ref) -> Result<void> {
    if (!is_up(ct.state)) return fail_quiet(EINVAL, "container {:?} is not running", ct.record.name);
    HUSK_TRY(runtime::update(runtime::kDefaultRoot, ct.record.name, **r));
    std::printf("%s\n", ref.c_str());
    return ok();
  });
}

int logs(ContainerCommands& c) {
  auto ctr = store().find(c.ref);
  if (!ctr) {
    print_error(ctr.error().what());
    return kExitHuskError;
  }
  manage::LogQuery q;
  q.follow = c.follow;
  q.timestamps = c.timestamps;
  if (c.tail != "all") {
    auto n = parse_uint64(c.tail);
    if (!n) {
      print_error(fmt::format("--tail {:?}: a number of lines, or all", c.tail));
      return kExitHuskError;
    }
    q.tail = *n;
  }
  int64_t now = manage::log_now_ns();
  for (auto [flag, value, out] : {std::tuple{"--since", &c.since, &q.since_ns},
                                  std::tuple{"--until", &c.until, &q.until_ns}}) {
    if (value->empty()) continue;
    auto t = manage::parse_log_time(flag, *value, now);
    if (!t) {
      print_error(t.error().what());
      return kExitHuskError;
    }
    *out = *t;
  }
  std::string name = ctr->record.name;
  std::string path = store().log_path(name);
  if (::access(path.c_str(), F_OK) < 0 && !q.follow) return 0;  // never ran detached
  manage::FdLogSink sink(STDOUT_FILENO, STDERR_FILENO);
  // Follow until the monitor is gone: it is the log's only writer.
  auto running = [name] {
    auto now = store().load(name);
    return now && now->status.keeper && manage::keeper_alive(now->status) &&
           now->state != State::kCreated;
  };
  if (auto r = manage::read_logs(path, q, sink, running); !r) {
    print_error(r.error().what());
    return kExitHuskError;
  }
  return 0;
}

// husk stats: every running container (or those named), from the records.
int stats(ContainerCommands& c) {
  auto targets = []() -> Result<std::vector<manage::StatsTarget>> {
    HUSK_TRY_ASSIGN(std::vector<Container> all, store().list());
    std::vector<manage::StatsTarget> out;
    for (const auto& ct : all) {
      if (ct.state != State::kRunning && ct.state != State::kPaused) continue;
      out.push_back({ct.record.id, ct.record.name, runtime::kDefaultRoot, ct.record.name});
    }
    return out;
  };
  if (!c.format.empty() && c.format != "json" && c.format != "table") {
    print_error(fmt::format("--format {:?}: table or json", c.format));
    return kExitHuskError;
  }
  manage::StatsOptions o{.no_stream = c.no_stream, .json = c.format == "json", .ids = c.refs};
  if (auto r = manage::run_stats(targets, o); !r) {
    print_error(r.error().what());
    return kExitHuskError;
  }
  return 0;
}

int top(ContainerCommands& c) {
  auto ctr = store().find(c.ref);
  if (!ctr) {
    print_error(ctr.error().what());
    return kExitHuskError;
  }
  if (!is_up(ctr->state)) {
    print_error(fmt::format("container {:?} is not running", ctr->record.name));
    return kExitHuskError;
  }
  auto table = manage::top_table(runtime::kDefaultRoot, ctr->record.name);
  if (!table) {
    print_error(table.error().what());
    return kExitHuskError;
  }
  std::fputs(table->c_str(), stdout);
  return 0;
}

int prune(ContainerCommands&) {
  auto all = store().list();
  if (!all) {
    print_error(all.error().what());
    return kExitHuskError;
  }
  int rc = 0;
  for (const auto& ct : *all) {
    if (ct.state != State::kExited && ct.state != State::kCreated) continue;
    if (auto r = remove_one(ct, false); !r) {
      print_error(r.error().what());
      rc = 1;
      continue;
    }
    std::printf("%s\n", ct.record.id.c_str());
  }
  return rc;
}

}  // namespace

void add_container_commands(CLI::App& app, ContainerCommands& c) {
  auto refs = [&](CLI::App* sub) {
    sub->add_option("containers", c.refs, "Names, ids or unique id prefixes")->required();
  };
  c.start = app.add_subcommand("start", "Start stopped containers in the background");
  c.start->add_flag("-a,--attach", c.attach,
                    "Attach to its output (and stdin with -i) until it exits; exit with its code");
  add_attach_flags(*c.start, c.start_attach, /*start=*/true);
  refs(c.start);
  c.start->footer("\nExamples:\n  husk start web\n  husk start -a job\n  husk start -ai shell");

  c.attach_cmd = app.add_subcommand("attach", "Join a running container's stdin, stdout and stderr");
  add_attach_flags(*c.attach_cmd, c.attach_flags, /*start=*/false);
  c.attach_cmd->add_option("container", c.ref, "Name, id or unique id prefix")->required();
  c.attach_cmd->footer("\nctrl-p ctrl-q (--detach-keys) leaves it running; otherwise husk attach\n"
                       "exits with the container's exit code.\n"
                       "Examples:\n  husk attach web\n  husk attach --no-stdin job\n"
                       "  husk attach --detach-keys ctrl-x,x shell");

  c.stop = app.add_subcommand("stop", "Stop containers: the stop signal, then SIGKILL");
  c.stop->add_option("-t,--time", c.timeout, "Seconds to wait before SIGKILL (default: the "
                     "container's --stop-timeout, 10)");
  refs(c.stop);
  c.stop->footer("\nExamples:\n  husk stop web\n  husk stop -t 0 web db");

  c.kill = app.add_subcommand("kill", "Send a signal to containers (default SIGKILL)");
  c.kill->add_option("-s,--signal", c.signal, "Signal name or number")->capture_default_str();
  refs(c.kill);
  c.kill->footer("\nExamples:\n  husk kill web\n  husk kill -s HUP web");

  c.restart = app.add_subcommand("restart", "Stop and start containers again");
  c.restart->add_option("-t,--time", c.timeout, "Seconds to wait before SIGKILL");
  refs(c.restart);

  c.pause = app.add_subcommand("pause", "Freeze every process of containers");
  refs(c.pause);
  c.unpause = app.add_subcommand("unpause", "Thaw paused containers");
  refs(c.unpause);

  c.wait = app.add_subcommand("wait", "Wait for containers to stop; print their exit codes");
  refs(c.wait);

  c.rm = app.add_subcommand("rm", "Remove containers (their layer, log and record)");
  c.rm->alias("remove");
  c.rm->add_flag("-f,--force", c.force, "Kill running containers first");
  c.rm->add_flag("-v,--volumes", c.volumes, "Also remove their anonymous volumes");
  refs(c.rm);
  c.rm->footer("\nExamples:\n  husk rm web\n  husk rm -f $(husk ps -aq)");

  c.ps = app.add_subcommand("ps", "List containers");
  c.ps->alias("list");
  c.ps->add_flag("-a,--all", c.all, "All of them, not only the running ones");
  c.ps->add_flag("-q,--quiet", c.quiet, "Only the ids");
  c.ps->add_flag("--no-trunc", c.no_trunc, "Full ids and commands");
  c.ps->add_option("-f,--filter", c.filters,
                   "KEY=VALUE: id, name, status, label, exited, ancestor")
      ->allow_extra_args(false);
  c.ps->add_option("--format", c.format, "table, json, or a template: '{{.ID}}\\t{{.Names}}'");
  c.ps->footer("\nExamples:\n  husk ps -a\n  husk ps --filter status=exited -q\n"
               "  husk ps --format '{{.Names}} {{.Status}}'\n  husk ps --format json");

  c.inspect = app.add_subcommand("inspect", "Show containers as JSON");
  refs(c.inspect);

  c.exec = app.add_subcommand("exec", "Run a command in a running container");
  c.exec->add_flag("-i,--interactive", c.interactive, "Keep stdin open");
  c.exec->add_flag("-t,--tty", c.tty, "Give it a terminal");
  c.exec->add_flag("-d,--detach", c.detach, "Run it in the background");
  c.exec->add_option("-u,--user", c.user,
                     "UID[:GID] or NAME[:GROUP], as the container's /etc/passwd and /etc/group say");
  c.exec->add_option("-w,--workdir", c.workdir, "Working directory inside");
  c.exec->add_option("-e,--env", c.env, "Set KEY=VALUE")->allow_extra_args(false);
  c.exec->add_option("container", c.ref, "Name, id or unique id prefix")->required();
  c.exec->add_option("command", c.command, "CMD [ARG...]")->required();
  c.exec->positionals_at_end();
  c.exec->footer("\nExamples:\n  husk exec web cat /etc/hostname\n  husk exec -it web sh\n"
                 "  husk exec -u nobody web id");

  c.update = app.add_subcommand("update", "Change the resource limits of running containers");
  add_resource_flags(*c.update, c.resources);
  refs(c.update);
  c.update->footer("\nExamples:\n  husk update --cpus 0.5 --memory 256m web");

  c.logs = app.add_subcommand("logs", "Show a container's stdout and stderr");
  c.logs->add_flag("-f,--follow", c.follow, "Keep showing new lines until the container stops");
  c.logs->add_flag("-t,--timestamps", c.timestamps, "Prefix each line with its time");
  c.logs->add_option("-n,--tail", c.tail, "Only the last N lines")->capture_default_str();
  c.logs->add_option("--since", c.since, "Lines since a time (RFC 3339, unix time) or a "
                     "duration ago (10m, 1h30m)");
  c.logs->add_option("--until", c.until, "Lines until a time or a duration ago");
  c.logs->add_option("container", c.ref, "Name, id or unique id prefix")->required();
  c.logs->footer("\nThe log is kept in the Kubernetes CRI format (docs/cli.md, \"Logs\").\n"
                 "Examples:\n  husk logs web\n  husk logs -f --tail 10 web\n"
                 "  husk logs --since 5m -t web");

  c.stats = app.add_subcommand("stats", "Live CPU, memory, network, block I/O and pids of containers");
  c.stats->add_flag("--no-stream", c.no_stream, "One table, then exit");
  c.stats->add_option("--format", c.format, "table or json");
  c.stats->add_option("containers", c.refs, "Names, ids or unique id prefixes (default: all running)");
  c.stats->footer("\nRead from the containers' cgroup accounting (husk-oci events --stats has the same).\n"
                  "Examples:\n  husk stats\n  husk stats --no-stream --format json web");

  c.top = app.add_subcommand("top", "The processes of a container");
  c.top->add_option("container", c.ref, "Name, id or unique id prefix")->required();
  c.top->footer("\nExamples:\n  husk top web");

  CLI::App* container = app.add_subcommand("container", "Manage containers");
  container->require_subcommand(1);
  c.prune = container->add_subcommand("prune", "Remove every stopped container");
  c.prune->add_flag("-f,--force", c.force, "Do not ask (husk never asks)");
}

std::optional<int> run_container_commands(ContainerCommands& c) {
  auto parsed = [](CLI::App* a) { return a != nullptr && a->parsed(); };
  if (parsed(c.start)) return start_command(c.refs, c.attach ? &c.start_attach : nullptr);
  if (parsed(c.attach_cmd)) return attach_command(c.ref, c.attach_flags);
  if (parsed(c.stop)) {
    return each(c.refs, [&](const Container& ct, const std::string& ref) -> Result<void> {
      HUSK_TRY(stop_one(ct, c.timeout));
      std::printf("%s\n", ref.c_str());
      return ok();
    });
  }
  if (parsed(c.kill)) {
    auto sig = signal_of(c.signal);
    if (!sig) {
      print_error(sig.error().what());
      return kExitHuskError;
    }
    return each(c.refs, [&](const Container& ct, const std::string& ref) -> Result<void> {
      if (!is_up(ct.state))
        return fail_quiet(EINVAL, "cannot kill container {:?}: it is not running", ct.record.name);
      mark_stopped(ct);
      HUSK_TRY(runtime::kill(runtime::kDefaultRoot, ct.record.name, *sig, false));
      std::printf("%s\n", ref.c_str());
      return ok();
    });
  }
  if (parsed(c.restart)) {
    return each(c.refs, [&](const Container& ct, const std::string& ref) -> Result<void> {
      HUSK_TRY(stop_one(ct, c.timeout));
      wait_keeper_gone(ct.record.name, 10s);
      std::fflush(stdout);
      if (start_command({ct.record.name}) != 0)
        return fail_quiet(EIO, "container {:?}: did not start again", ct.record.name);
      (void)ref;
      return ok();
    });
  }
  if (parsed(c.pause)) {
    return each(c.refs, [&](const Container& ct, const std::string& ref) -> Result<void> {
      HUSK_TRY(runtime::pause(runtime::kDefaultRoot, ct.record.name));
      HUSK_TRY(set_paused(ct.record.name, true));
      std::printf("%s\n", ref.c_str());
      return ok();
    });
  }
  if (parsed(c.unpause)) {
    return each(c.refs, [&](const Container& ct, const std::string& ref) -> Result<void> {
      HUSK_TRY(runtime::resume(runtime::kDefaultRoot, ct.record.name));
      HUSK_TRY(set_paused(ct.record.name, false));
      std::printf("%s\n", ref.c_str());
      return ok();
    });
  }
  if (parsed(c.wait)) {
    return each(c.refs, [&](const Container& ct, const std::string&) -> Result<void> {
      HUSK_TRY_ASSIGN(Container now, wait_stopped(ct.record.name, std::chrono::hours(24 * 365)));
      std::printf("%d\n", now.status.exit_code);
      std::fflush(stdout);
      return ok();
    });
  }
  if (parsed(c.rm)) {
    return each(
        c.refs,
        [&](const Container& ct, const std::string& ref) -> Result<void> {
          HUSK_TRY(remove_one(ct, c.force, c.volumes));
          std::printf("%s\n", ref.c_str());
          return ok();
        },
        /*missing=*/1);
  }
  if (parsed(c.ps)) return ps(c);
  if (parsed(c.inspect)) {
    nlohmann::json arr = nlohmann::json::array();
    int rc = each(c.refs, [&](const Container& ct, const std::string&) -> Result<void> {
      arr.push_back(inspect_json(ct));
      return ok();
    });
    std::printf("%s\n", arr.dump(4).c_str());
    return rc;
  }
  if (parsed(c.exec)) return exec(c);
  if (parsed(c.logs)) return logs(c);
  if (parsed(c.stats)) return stats(c);
  if (parsed(c.top)) return top(c);
  if (parsed(c.update)) return update(c);
  if (parsed(c.prune)) return prune(c);
  return std::nullopt;
}

}  // namespace husk::cli
