// husk_timeit: the clock of bench/run. Runs commands the way hyperfine -N
// does (posix_spawn, which is a vfork: no copy of our memory) and prints how
// long they took, so that a sample is the runtime's time and not the cost
// of a shell forking itself (on the development VM bash's fork+exec+wait of
// /bin/true takes 5 ms, a spawn 2 ms).
//
//   husk_timeit [-n TASKS] [-j JOBS] [-o FILE] CMD [ARG...] [::: CMD [ARG...]]...
//
// A task runs the commands in order, each waited for; "{}" in an argument
// becomes the task's number (0, 1, ...), for unique container ids. TASKS
// tasks (default 1) run at most JOBS at a time (default 1), like xargs -P.
// Prints the wall time in microseconds from the first spawn to the last exit
// (to FILE with -o). The commands inherit stdin, stdout and stderr. A command
// that fails (or cannot be started) is named on stderr, no new task starts,
// and the exit status is 1 once the running ones are done; 2 for bad usage.
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace {

using Command = std::vector<std::string>;

struct Options {
  long tasks = 1;
  long jobs = 1;
  const char* out = nullptr;
  std::vector<Command> commands;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "husk_timeit: %s\n"
               "usage: husk_timeit [-n TASKS] [-j JOBS] [-o FILE] CMD [ARG...] "
               "[::: CMD [ARG...]]...\n",
               why);
  std::exit(2);
}

long positive(const char* flag, const char* value) {
  if (value == nullptr) usage("missing number");
  char* end = nullptr;
  long n = std::strtol(value, &end, 10);
  if (*value == '\0' || *end != '\0' || n < 1) {
    std::fprintf(stderr, "husk_timeit: %s needs a whole number >= 1, not \"%s\"\n", flag, value);
    std::exit(2);
  }
  return n;
}

Options parse(int argc, char** argv) {
  Options o;
  int i = 1;
  for (; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "-n") {
      o.tasks = positive("-n", argv[++i]);
    } else if (a == "-j") {
      o.jobs = positive("-j", argv[++i]);
    } else if (a == "-o") {
      if (++i >= argc) usage("-o needs a file");
      o.out = argv[i];
    } else if (a == "--") {
      ++i;
      break;
    } else if (a.starts_with("-")) {
      usage("unknown option");
    } else {
      break;
    }
  }
  o.commands.emplace_back();
  for (; i < argc; ++i) {
    if (std::string_view(argv[i]) == ":::") {
      o.commands.emplace_back();
      continue;
    }
    o.commands.back().emplace_back(argv[i]);
  }
  for (const auto& c : o.commands)
    if (c.empty()) usage("empty command");
  return o;
}

int64_t now_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000 + ts.tv_nsec / 1000;
}

std::string with_task(const std::string& arg, long task) {
  std::string out = arg;
  std::string n = std::to_string(task);
  for (size_t at = out.find("{}"); at != std::string::npos; at = out.find("{}", at + n.size()))
    out.replace(at, 2, n);
  return out;
}

// Starts cmd for task; 0 if it could not be started.
pid_t spawn(const Command& cmd, long task) {
  std::vector<std::string> args;
  for (const auto& a : cmd) args.push_back(with_task(a, task));
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int err = ::posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ);
  if (err != 0) {
    std::fprintf(stderr, "husk_timeit: %s: %s\n", argv[0], std::strerror(err));
    return 0;
  }
  return pid;
}

struct Running {
  long task;
  size_t step;
};

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  std::map<pid_t, Running> running;
  long next_task = 0;
  bool failed = false;
  auto start = [&](long task, size_t step) {
    pid_t pid = spawn(o.commands[step], task);
    if (pid == 0) {
      failed = true;
      return;
    }
    running[pid] = Running{task, step};
  };

  int64_t t0 = now_us();
  while (!failed && next_task < o.tasks && static_cast<long>(running.size()) < o.jobs)
    start(next_task++, 0);
  while (!running.empty()) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      std::perror("husk_timeit: waitpid");
      return 1;
    }
    auto it = running.find(pid);
    if (it == running.end()) continue;
    Running r = it->second;
    running.erase(it);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "husk_timeit: task %ld: %s %s %d\n", r.task,
                   o.commands[r.step][0].c_str(), WIFEXITED(status) ? "exited" : "killed by signal",
                   WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
      failed = true;
      continue;
    }
    if (!failed && r.step + 1 < o.commands.size()) {
      start(r.task, r.step + 1);
    } else if (!failed && next_task < o.tasks) {
      start(next_task++, 0);
    }
  }
  int64_t elapsed = now_us() - t0;
  if (failed) return 1;
  FILE* out = o.out != nullptr ? std::fopen(o.out, "w") : stdout;
  if (out == nullptr) {
    std::fprintf(stderr, "husk_timeit: %s: %s\n", o.out, std::strerror(errno));
    return 1;
  }
  std::fprintf(out, "%lld\n", static_cast<long long>(elapsed));
  return std::fclose(out) == 0 ? 0 : 1;
}
