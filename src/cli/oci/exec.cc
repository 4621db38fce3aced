#include <memory>

#include "base/file.h"
#include "cli/oci/verbs.h"

namespace husk::oci {

namespace {
struct ExecArgs {
  runtime::ExecOptions opts;
  std::string process_file;
};
}  // namespace

void add_exec(CLI::App& app, const GlobalArgs& g, Action& action) {
  auto* sub = app.add_subcommand("exec", "execute a new process inside the container");
  auto a = std::make_shared<ExecArgs>();
  auto& o = a->opts;
  sub->add_option("id", o.id, "container id")->required();
  sub->add_option("-p,--process", a->process_file, "path to a process.json (replaces the command)");
  sub->add_option("--console-socket", o.console_socket,
                  "unix socket that receives the pseudoterminal master");
  sub->add_option("--cwd", o.cwd, "current working directory in the container");
  sub->add_option("-e,--env", o.env, "set an environment variable (KEY=VALUE)")->allow_extra_args(false);
  sub->add_flag("-t,--tty", o.tty, "allocate a pseudo-TTY");
  sub->add_option("-u,--user", o.user, "UID[:GID] to run as");
  sub->add_option("-g,--additional-gids", o.additional_gids, "additional gids")->allow_extra_args(false);
  sub->add_flag("-d,--detach", o.detach, "detach from the process");
  sub->add_option("--pid-file", o.pid_file, "file to write the process id to");
  sub->add_option("--process-label", o.process_label, "SELinux label for the process");
  sub->add_option("--apparmor", o.apparmor, "AppArmor profile for the process");
  sub->add_flag("--no-new-privs", o.no_new_privs, "set no_new_privs for the process");
  sub->add_option("-c,--cap", o.caps, "add a capability to the process")->allow_extra_args(false);
  sub->add_option("--preserve-fds", o.preserve_fds, "pass N additional fds to the process")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--ignore-paused", o.ignore_paused, "allow exec in a paused container");
  sub->add_option("--cgroup", o.cgroups,
                  "run the process in an (existing) sub-cgroup: [CONTROLLER[,...]:]PATH")
      ->allow_extra_args(false);
  // Everything after the id is the command, flags included: `exec ID sh -c x`.
  sub->prefix_command();
  sub->callback([&g, &action, a, sub] {
    a->opts.args = sub->remaining();
    action = [&g, a]() -> Result<int> {
      a->opts.root = g.root;
      if (!a->process_file.empty()) {
        HUSK_TRY_ASSIGN(a->opts.process_json, read_file(a->process_file));
        a->opts.process_doc = a->process_file;
      }
      return runtime::exec(a->opts);
    };
  });
}

}  // namespace husk::oci
