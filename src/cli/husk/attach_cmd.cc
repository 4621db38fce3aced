#include "cli/husk/attach_cmd.h"

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>

#include "cli/husk/run_cmd.h"
#include "front/exit_code.h"
#include "manage/attach.h"
#include "manage/monitor.h"
#include "runtime/runtime.h"

namespace husk::cli {

void add_attach_flags(CLI::App& cmd, AttachFlags& f, bool start) {
  f.start = start;
  if (start) {
    cmd.add_flag("-i,--interactive", f.interactive, "Attach stdin too (a container made with -i)");
  } else {
    cmd.add_flag("--no-stdin", f.no_stdin, "Do not attach stdin");
    cmd.add_flag("--sig-proxy", f.sig_proxy,
                 "Pass the signals husk gets on to the container (no terminal only); "
                 "--sig-proxy=false to not")
        ->capture_default_str();
  }
  cmd.add_option("--detach-keys", f.detach_keys,
                 "Keys that leave the container running: a,b or ctrl-X,... (\"\": none)")
      ->capture_default_str();
}

Result<AttachSession> AttachSession::prepare(const manage::Container& c, const AttachFlags& f) {
  AttachSession s;
  s.ctr_ = c;
  s.flags_ = f;
  HUSK_TRY_ASSIGN(s.keys_, manage::parse_detach_keys(f.detach_keys));
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return fail_errno("attach socket pair");
  s.ours_ = UniqueFd(sv[0]);
  s.theirs_ = UniqueFd(sv[1]);
  return s;
}

int AttachSession::run() {
  const manage::Record& r = ctr_.record;
  manage::AttachOptions o;
  o.forward_stdin = flags_.wants_stdin() && r.interactive;
  o.tty = r.tty;
  o.detach_keys = o.forward_stdin ? keys_ : std::string();
  if (flags_.sig_proxy && !r.tty) {
    std::string name = r.name;
    o.proxy_signal = [name](int sig) {
      (void)runtime::kill(runtime::kDefaultRoot, name, sig, false);
    };
  }
  auto end = manage::attach_session(ours_.get(), o);
  if (!end) {
    print_error(fmt::format("attach to {:?}: {}", r.name, end.error().what()));
    return kExitHuskError;
  }
  using Kind = manage::AttachEnd::Kind;
  if (end->kind == Kind::kExited) return end->code;
  if (end->kind == Kind::kDetached) return 0;
  // The monitor closed without an exit code: the run ended before it served
  // us, or the monitor was killed. The record says which.
  auto now = manage::Store(manage::Store::default_root()).load(r.name);
  if (now && now->state == manage::State::kExited && now->status.error.empty()) return now->status.exit_code;
  print_error(fmt::format("attach to {:?}: {}", r.name,
                          now && !now->status.error.empty() ? now->status.error
                                                            : std::string("its monitor went away")));
  return kExitHuskError;
}

int attach_command(const std::string& ref, const AttachFlags& f) {
  manage::Store store(manage::Store::default_root());
  auto c = store.find(ref);
  if (!c) {
    print_error(c.error().what());
    return kExitHuskError;
  }
  const std::string& name = c->record.name;
  if (c->state == manage::State::kPaused) {
    print_error(fmt::format("cannot attach to container {:?}: it is paused: unpause it first", name));
    return kExitHuskError;
  }
  if (c->state != manage::State::kRunning) {
    print_error(fmt::format("cannot attach to container {:?}: it is {}: start it first (husk start -a)",
                            name, manage::state_name(c->state)));
    return kExitHuskError;
  }
  auto keys = manage::parse_detach_keys(f.detach_keys);
  if (!keys) {
    print_error(keys.error().what());
    return kExitHuskError;
  }
  auto sock = manage::connect_attach(manage::monitor_run_dir(c->record.id));
  if (!sock) {
    print_error(fmt::format("cannot attach to container {:?}: {}", name, sock.error().what()));
    return kExitHuskError;
  }
  AttachSession s;
  s.ctr_ = *c;
  s.flags_ = f;
  s.keys_ = std::move(*keys);
  s.ours_ = std::move(*sock);
  return s.run();
}

}  // namespace husk::cli
