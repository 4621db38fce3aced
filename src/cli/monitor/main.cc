// husk-monitor: the monitor of one detached container (manage/monitor.h).
// Started by husk only (husk run -d, husk start), never by hand, so its
// command line is plain "--key value" pairs and a flag; no CLI library, to
// keep it small: one runs per container for as long as the container does.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "manage/monitor.h"

int main(int argc, char** argv) {
  husk::manage::MonitorOptions o;
  auto number = [](const char* s) { return static_cast<int>(std::strtol(s, nullptr, 10)); };
  for (int i = 1; i < argc; ++i) {
    std::string_view key = argv[i];
    if (key == "--remove-on-failure" || key == "--tty" || key == "--interactive") {
      (key == "--tty" ? o.tty : key == "--interactive" ? o.interactive : o.remove_on_failure) = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "husk-monitor: %s: no value\n", argv[i]);
      return 2;
    }
    const char* value = argv[++i];
    if (key == "--root") {
      o.root = value;
    } else if (key == "--name") {
      o.name = value;
    } else if (key == "--husk") {
      o.husk = value;
    } else if (key == "--launcher") {
      o.launcher = number(value);
    } else if (key == "--out-fd") {
      o.out_fd = number(value);
    } else if (key == "--err-fd") {
      o.err_fd = number(value);
    } else if (key == "--ready-fd") {
      o.ready_fd = number(value);
    } else if (key == "--run-dir") {
      o.run_dir = value;
    } else if (key == "--console-fd") {
      o.console_fd = number(value);
    } else if (key == "--stdin-fd") {
      o.stdin_fd = number(value);
    } else if (key == "--attach-fd") {
      o.attach_fd = number(value);
    } else {
      std::fprintf(stderr, "husk-monitor: unknown option %s (it is started by husk only)\n",
                   argv[i - 1]);
      return 2;
    }
  }
  if (o.root.empty() || o.name.empty() || o.husk.empty() || o.launcher <= 0) {
    std::fprintf(stderr, "husk-monitor: --root, --name, --husk and --launcher are needed "
                         "(it is started by husk only)\n");
    return 2;
  }
  return husk::manage::run_monitor(o);
}
