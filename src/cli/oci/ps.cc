// husk-oci ps: the container's processes, as a JSON array of pids
// (`ps --format json ID`, what containerd runs) or as ps(1)'s table filtered
// to them (`ps ID [-- PS-ARGS...]`, default args -ef).
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "base/unique_fd.h"
#include "cli/oci/ps_filter.h"
#include "cli/oci/verbs.h"

extern char** environ;

namespace husk::oci {
namespace {

struct PsArgs {
  std::string id;
  std::string format = "table";
  std::vector<std::string> ps_args;
};

// Runs ps(1) from PATH with args; its stdout and stderr together.
Result<std::string> run_ps(const std::vector<std::string>& args) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return fail_errno("pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), STDERR_FILENO);
  std::vector<char*> argv{const_cast<char*>("ps")};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, "ps", &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return fail(rc, "run ps");
  wr.reset();
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return fail(0, "ps exited with status {}: {}",
                WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out);
  }
  return out;
}

}  // namespace

void add_ps(CLI::App& app, const GlobalArgs& g, Action& action) {
  auto* sub = app.add_subcommand("ps", "display the processes running inside a container");
  auto a = std::make_shared<PsArgs>();
  sub->add_option("-f,--format", a->format, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  sub->add_option("id", a->id, "container id")->required();
  sub->add_option("ps-args", a->ps_args, "arguments for ps(1) (after --), default -ef");
  sub->positionals_at_end();
  sub->callback([&g, &action, a] {
    action = [&g, a]() -> Result<int> {
      HUSK_TRY_ASSIGN(std::vector<int> pids, runtime::processes(g.root, a->id));
      if (a->format == "json") {
        std::string json = pids_json(pids);
        std::fwrite(json.data(), 1, json.size(), stdout);
        std::fputc('\n', stdout);
        return 0;
      }
      std::vector<std::string> args = a->ps_args;
      // After the id everything is ps's, "--" included: drop that separator.
      if (!args.empty() && args.front() == "--") args.erase(args.begin());
      if (args.empty()) args = {"-ef"};
      HUSK_TRY_ASSIGN(std::string output, run_ps(args));
      HUSK_TRY_ASSIGN(std::string table, filter_ps_output(output, pids));
      std::fwrite(table.data(), 1, table.size(), stdout);
      return 0;
    };
  });
}

}  // namespace husk::oci
