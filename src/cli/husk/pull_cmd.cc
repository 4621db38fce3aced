#include "cli/husk/pull_cmd.h"

#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <vector>

#include "front/exit_code.h"
#include "image/auth_file.h"
#include "image/pull.h"
#include "image/pull_progress.h"
#include "image/reference.h"
#include "image/registry.h"
#include "image/store.h"

namespace husk::cli {
namespace {

constexpr const char* kPullFooter = R"(
Progress goes to stderr (redrawn in place on a terminal), the image id to stdout.
Credentials: --creds, else the first auth file that has the registry: --authfile, else the file
husk login writes (see husk login --help), ~/.config/containers/auth.json, ~/.docker/config.json.
CA certificates: --cert-dir, else /etc/containers/certs.d/HOST or /etc/docker/certs.d/HOST.

Examples:
  husk pull 127.0.0.1:5000/app:1
  husk pull --platform linux/arm64 registry.example:5000/tools:latest
  husk pull --cert-dir ./ca --creds user:secret registry.example:5000/app@sha256:4c1a...
  husk pull -q --tls-verify=false 10.0.0.5:5000/app:1)";

constexpr const char* kLoginFooter = R"(
The credentials are checked against the registry (GET /v2/, with its token server if it has
one), then written to --authfile, else $REGISTRY_AUTH_FILE, else
${XDG_RUNTIME_DIR}/containers/auth.json, else /run/containers/UID/auth.json (0600; other
entries kept), where podman and skopeo read them too.

Examples:
  husk login -u alice -p secret 127.0.0.1:5000
  echo secret | husk login -u alice --password-stdin registry.example:5000
  husk logout registry.example:5000
  husk logout --all)";

int report(const Error& e) {
  std::fprintf(stderr, "husk: %s\n", e.what().c_str());
  return kExitHuskError;
}

// Progress on stderr: redrawn in place on a terminal, a line per state change otherwise.
class Display {
 public:
  explicit Display(bool tty) : tty_(tty) {}

  void on(const image::LayerProgress& p) {
    auto now = std::chrono::steady_clock::now();
    Row& row = rows_[p.index];
    bool changed = !row.seen || row.last.state != p.state;
    if (p.state == image::LayerState::kDownloading && changed) row.started = now;
    row.seen = true;
    row.last = p;
    if (!tty_) {
      if (changed) print_line(row, now);
      return;
    }
    if (!changed && now - last_draw_ < std::chrono::milliseconds(100)) return;
    redraw(now);
  }

  void finish() {
    if (tty_) redraw(std::chrono::steady_clock::now());
  }

 private:
  struct Row {
    bool seen = false;
    image::LayerProgress last;
    std::chrono::steady_clock::time_point started;
  };

  std::string text(const Row& row, std::chrono::steady_clock::time_point now) const {
    double secs = std::chrono::duration<double>(now - row.started).count();
    return image::progress_line(row.last, secs);
  }

  void print_line(const Row& row, std::chrono::steady_clock::time_point now) {
    std::fprintf(stderr, "%s\n", text(row, now).c_str());
  }

  void redraw(std::chrono::steady_clock::time_point now) {
    last_draw_ = now;
    std::string out;
    if (drawn_ > 0) out += fmt::format("\033[{}A", drawn_);
    for (const auto& [index, row] : rows_) out += "\r\033[K" + text(row, now) + "\n";
    drawn_ = rows_.size();
    std::fputs(out.c_str(), stderr);
    std::fflush(stderr);
  }

  bool tty_;
  std::map<size_t, Row> rows_;
  size_t drawn_ = 0;
  std::chrono::steady_clock::time_point last_draw_;
};

Result<image::RegistryOptions> registry_options(const PullCommands& c, const image::Reference& ref) {
  image::RegistryOptions o;
  o.tls_verify = c.tls_verify;
  o.ca_dir = c.cert_dir.empty() ? image::default_cert_dir(ref.domain()) : c.cert_dir;
  return o;
}

Result<image::Credentials> split_creds(const std::string& text) {
  size_t colon = text.find(':');
  if (colon == std::string::npos || colon == 0)
    return fail_quiet(EINVAL, "--creds: not USER:PASSWORD");
  return image::Credentials{text.substr(0, colon), text.substr(colon + 1)};
}

// The pull itself, progress on stderr unless c.quiet; the image id is the caller's to print.
Result<image::PullResult> do_pull(const PullCommands& c) {
  HUSK_TRY_ASSIGN(image::Reference ref, image::Reference::parse(c.ref));
  image::PullOptions opts;
  HUSK_TRY_ASSIGN(opts.registry, registry_options(c, ref));
  if (!c.creds.empty()) {
    HUSK_TRY_ASSIGN(opts.registry.credentials, split_creds(c.creds));
  } else {
    std::vector<std::string> files =
        c.authfile.empty() ? image::auth_file_paths() : std::vector<std::string>{c.authfile};
    HUSK_TRY_ASSIGN(opts.registry.credentials, image::credentials_from_auth_files(ref, files));
  }
  if (!c.platform.empty()) opts.platform = HUSK_TRY(image::parse_platform(c.platform));
  HUSK_TRY_ASSIGN(image::Store store, image::Store::open(image::Store::default_root()));

  Display display(::isatty(STDERR_FILENO) == 1);
  if (!c.quiet) {
    std::fprintf(stderr, "Trying to pull %s...\n", ref.str().c_str());
    opts.progress = [&display](const image::LayerProgress& p) { display.on(p); };
    opts.note = [](std::string_view s) {
      std::fprintf(stderr, "%.*s\n", static_cast<int>(s.size()), s.data());
    };
  }
  auto r = image::pull_image(store, ref, opts);
  if (!c.quiet) display.finish();
  if (!r) return std::unexpected(std::move(r).error());
  if (!c.quiet)
    std::fprintf(stderr, "Pulled %s: %zu layers fetched, %zu already present\n",
                 ref.str().c_str(), r->layers_fetched, r->layers_present);
  return std::move(*r);
}

int pull(const PullCommands& c) {
  auto r = do_pull(c);
  if (!r) return report(r.error());
  std::printf("%s\n", std::string(r->image.id.hex()).c_str());
  return 0;
}

// A line from stdin, without its line end; on a terminal after `prompt`, not echoed when
// `secret`.
std::string read_line(const char* prompt, bool secret) {
  bool tty = ::isatty(STDIN_FILENO) == 1;
  termios saved {};
  bool quiet = tty && secret && ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (tty) std::fputs(prompt, stderr);
  if (quiet) {
    termios t = saved;
    t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &t);
  }
  std::string line;
  std::getline(std::cin, line);
  if (quiet) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::fputc('\n', stderr);
  }
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  return line;
}

int login(const PullCommands& c) {
  auto run = [&]() -> Result<void> {
    HUSK_TRY_ASSIGN(std::string key, image::auth_key(c.registry));
    if (!c.password.empty() && c.password_stdin)
      return fail_quiet(EINVAL, "-p and --password-stdin: one or the other");
    bool ask = ::isatty(STDIN_FILENO) == 1 && !c.password_stdin;
    image::Credentials creds{c.username, c.password};
    if (creds.username.empty() && ask) creds.username = read_line("Username: ", false);
    if (creds.username.empty()) return fail_quiet(EINVAL, "a user name is needed: -u USER");
    if (c.password_stdin || (creds.password.empty() && ask))
      creds.password = read_line("Password: ", true);
    if (creds.password.empty())
      return fail_quiet(EINVAL, "a password is needed: -p PASSWORD or --password-stdin");
    // Checked against the registry itself (the host part of the key).
    std::string host = key.substr(0, key.find('/'));
    HUSK_TRY_ASSIGN(image::Reference ref, image::Reference::parse(host + "/husk/login"));
    image::RegistryOptions o;
    HUSK_TRY_ASSIGN(o, registry_options(c, ref));
    o.credentials = creds;
    image::RegistryClient client(ref, o);
    if (auto checked = client.check_login(); !checked) {
      Error e = std::move(checked).error();
      if (!e.what().starts_with(host + ":")) e.wrap(host);  // transport errors name it already
      return std::unexpected(std::move(e));
    }
    std::string file = c.authfile.empty() ? image::login_auth_file() : c.authfile;
    return image::store_credentials(file, key, creds);
  }();
  if (!run) {
    Error e = run.error();
    e.wrap("login");
    return report(e);
  }
  std::printf("Login Succeeded!\n");
  return 0;
}

int logout(const PullCommands& c) {
  std::string file = c.authfile.empty() ? image::login_auth_file() : c.authfile;
  if (c.all) {
    if (::unlink(file.c_str()) != 0 && errno != ENOENT)
      return report(fail_errno("logout: remove {}", file).error());
    std::printf("Removed login credentials for all registries\n");
    return 0;
  }
  if (c.registry.empty()) return report(fail_quiet(EINVAL, "logout: a registry, or --all").error());
  auto key = image::auth_key(c.registry);
  if (!key) return report(key.error());
  auto removed = image::remove_credentials(file, *key);
  if (!removed) return report(removed.error());
  if (!*removed) return report(fail_quiet(ENOENT, "logout: not logged in to {}", *key).error());
  std::printf("Removed login credentials for %s\n", key->c_str());
  return 0;
}

}  // namespace

void add_pull_commands(CLI::App& app, PullCommands& c) {
  auto tls = [&c](CLI::App* a) {
    a->add_flag("--tls-verify", c.tls_verify,
                "Verify the registry's certificate and require HTTPS (default true; =false also "
                "allows plain HTTP)");
    a->add_option("--cert-dir", c.cert_dir, "Directory of CA certificates (*.crt) and "
                                            "client.cert/client.key");
    a->add_option("--authfile", c.authfile, "The auth file to use");
  };
  c.pull = app.add_subcommand("pull", "Pull an image from a registry into the image store");
  c.pull->footer(kPullFooter);
  c.pull->add_flag("-q,--quiet", c.quiet, "No progress: print only the image id");
  c.pull->add_option("--platform", c.platform,
                     "os/arch[/variant] to take from a multi-platform image (default linux/"
                     "the host's)");
  tls(c.pull);
  c.pull->add_option("--creds", c.creds, "USER:PASSWORD for the registry");
  c.pull->add_option("ref", c.ref, "Image reference (name[:tag][@digest])")->required();

  c.login = app.add_subcommand("login", "Check credentials with a registry and store them");
  c.login->footer(kLoginFooter);
  c.login->add_option("-u,--username", c.username, "User name");
  c.login->add_option("-p,--password", c.password, "Password (visible to ps: prefer stdin)");
  c.login->add_flag("--password-stdin", c.password_stdin, "Read the password from stdin");
  tls(c.login);
  c.login->add_option("registry", c.registry, "Registry host[:port]")->required();

  c.logout = app.add_subcommand("logout", "Remove a registry's stored credentials");
  c.logout->footer(kLoginFooter);
  c.logout->add_flag("-a,--all", c.all, "Remove the whole auth file");
  c.logout->add_option("--authfile", c.authfile, "The auth file to use");
  c.logout->add_option("registry", c.registry, "Registry host[:port]");
}

Result<void> pull_for_run(const std::string& ref) {
  PullCommands c;
  c.ref = ref;
  HUSK_TRY(do_pull(c));
  return ok();
}

std::optional<int> run_pull_commands(const PullCommands& c) {
  if (c.pull && c.pull->parsed()) return pull(c);
  if (c.login && c.login->parsed()) return login(c);
  if (c.logout && c.logout->parsed()) return logout(c);
  return std::nullopt;
}

}  // namespace husk::cli
