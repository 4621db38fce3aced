// husk-init: the container's PID 1 under `husk run --init` (docker's
// --init, which runs tini). A program written to be a command, not an init,
// neither reaps the orphans the kernel hands to PID 1 nor dies of SIGTERM
// (the kernel drops a signal PID 1 has no handler for). This init runs the
// command as its child and
//   - forwards every signal it can catch to it;
//   - reaps every process that exits, so orphans leave no zombies;
//   - exits with the command's status (128+N when a signal N killed it),
//     which ends the rest of the pid namespace with it.
// husk copies it into the container's directory and bind-mounts that copy
// read-only at /run/husk-init (run_cmd.cc): the container never reaches the
// host's binary. Only libc here: it stays small, as one copy is made per
// container, and it holds no memory the command could use.
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

namespace {

// One line on stderr; no stdio (it would bring its buffers and locale).
void say(const char* a, const char* b = "", const char* c = "", const char* d = "") {
  const char* parts[] = {"husk-init: ", a, b, c, d, "\n"};
  for (const char* p : parts) {
    size_t n = strlen(p);
    while (n > 0) {
      ssize_t w = write(STDERR_FILENO, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return;
      p += w;
      n -= static_cast<size_t>(w);
    }
  }
}

int status_code(int ws) {
  if (WIFEXITED(ws)) return WEXITSTATUS(ws);
  if (WIFSIGNALED(ws)) return 128 + WTERMSIG(ws);
  return 255;
}

// In the child: its own process group, in the terminal's foreground when
// there is one, so that ^C on a terminal reaches the command once and not the
// init too; then the signal mask the init was started with.
[[noreturn]] void run_command(char** argv, const sigset_t& original) {
  setpgid(0, 0);
  if (isatty(STDIN_FILENO)) {
    // A background group asking for the terminal gets SIGTTOU: ignored for
    // the call, then back to the default for the command.
    signal(SIGTTOU, SIG_IGN);
    (void)tcsetpgrp(STDIN_FILENO, getpgrp());
    signal(SIGTTOU, SIG_DFL);
  }
  sigprocmask(SIG_SETMASK, &original, nullptr);
  execvp(argv[0], argv);
  int err = errno;
  say("exec ", argv[0], ": ", err == ENOENT ? "no such file in $PATH" : strerror(err));
  _exit(err == ENOENT ? 127 : 126);
}

}  // namespace

int main(int argc, char** argv) {
  int first = 1;
  if (first < argc && strcmp(argv[first], "--") == 0) ++first;
  if (first >= argc) {
    say("no command: husk-init [--] CMD [ARG...]");
    return 2;
  }
  // Without a pid namespace of its own (--pid host) the init is not PID 1:
  // the orphans still come here.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  // Every signal is taken with sigwaitinfo, none by a handler: blocked
  // signals reach PID 1 even though it has no handler for them.
  sigset_t all, original;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &original);
  pid_t child = fork();
  if (child < 0) {
    say("fork: ", strerror(errno));
    return 126;
  }
  if (child == 0) run_command(argv + first, original);
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&all, &si);
    if (sig < 0) continue;  // EINTR
    if (sig != SIGCHLD) {
      // Terminal stops reach the child through its own group; the init
      // itself never stops.
      (void)kill(child, sig);
      continue;
    }
    int ws = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &ws, WNOHANG)) > 0) {
      if (pid == child) return status_code(ws);
    }
  }
}
