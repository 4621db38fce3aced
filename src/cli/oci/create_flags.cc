#include <unistd.h>

#include <cstdlib>

#include "cli/oci/verbs.h"
#include "runtime/notify.h"
#include "spec/config.h"

namespace husk::oci {

void add_create_flags(CLI::App& sub, CreateFlags& f) {
  sub.add_option("id", f.id, "container id")->required();
  sub.add_option("-b,--bundle", f.bundle, "path to the root of the bundle directory");
  sub.add_option("--console-socket", f.opts.console_socket,
                 "unix socket that receives the pseudoterminal master");
  sub.add_option("--pid-file", f.opts.pid_file, "file to write the process id to");
  sub.add_flag("--no-pivot", f.opts.no_pivot, "do not use pivot_root to jail the process");
  sub.add_flag("--no-new-keyring", f.opts.no_new_keyring, "do not create a new session keyring");
  sub.add_option("--preserve-fds", f.opts.preserve_fds, "pass N additional fds to the container")
      ->check(CLI::NonNegativeNumber);
}

Result<config::Container> load_for_create(const GlobalArgs& g, CreateFlags& f, bool detached) {
  f.opts.root = g.root;
  f.opts.id = f.id;
  f.opts.systemd_cgroup = g.systemd_cgroup;
  HUSK_TRY_ASSIGN(config::Container c, spec::load_bundle(f.bundle));
  if (c.process.terminal && f.opts.console_socket.empty() && detached)
    return fail(0, "cannot allocate tty if husk-oci will detach without setting console socket");
  if (!c.process.terminal && !f.opts.console_socket.empty())
    return fail(0, "cannot use console socket if husk-oci will not allocate tty");
  // Started by systemd: sd_notify passthrough and socket activation, as runc.
  if (const char* notify = std::getenv("NOTIFY_SOCKET"); notify != nullptr && *notify != '\0')
    HUSK_TRY(runtime::add_notify_socket(c, f.opts, notify));
  runtime::add_listen_fds(c, f.opts,
                          runtime::listen_fds_count(std::getenv("LISTEN_FDS"),
                                                    std::getenv("LISTEN_PID"), ::getpid()));
  return c;
}

}  // namespace husk::oci
