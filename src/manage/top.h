// `husk top`: docker top's default output, which is `ps -ef` (UID PID PPID C
// STIME TTY TIME CMD) for the container's processes, read from /proc here
// (no ps to depend on) and laid out as docker's tabwriter does.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace husk::manage {

// A process as its /proc files describe it.
struct ProcInfo {
  pid_t pid = 0;
  pid_t ppid = 0;
  uint32_t euid = 0;
  char state = 0;
  uint64_t tty_nr = 0;       // the kernel's dev_t encoding
  uint64_t cpu_ticks = 0;    // utime + stime
  uint64_t start_ticks = 0;  // since boot
  std::string comm;
  std::string cmdline;  // NUL-separated, as the kernel gives it
};
// /proc/PID/stat, /proc/PID/status and /proc/PID/cmdline texts.
Result<ProcInfo> parse_proc(pid_t pid, std::string_view stat, std::string_view status,
                            std::string_view cmdline);

// What ps needs of the host, read once.
struct Clock {
  long ticks_per_second = 100;
  time_t boot_time = 0;  // /proc/stat btime
  double uptime = 0;     // /proc/uptime, seconds
  time_t now = 0;
};

// The columns, as procps formats them.
std::string ps_user(uint32_t uid, const std::map<uint32_t, std::string>& names);
std::string ps_c(uint64_t cpu_ticks, uint64_t start_ticks, const Clock& c);
std::string ps_stime(uint64_t start_ticks, const Clock& c);  // local time, like ps
std::string ps_time(uint64_t cpu_ticks, long ticks_per_second);
std::string ps_tty(uint64_t tty_nr);
std::string ps_cmd(const ProcInfo& p);

// The names of /etc/passwd's uids (the first entry of each uid wins, as getpwuid).
std::map<uint32_t, std::string> parse_passwd_names(std::string_view passwd);

// The table for these processes (gone ones are skipped).
std::string format_top(const std::vector<ProcInfo>& procs, const Clock& clock,
                       const std::map<uint32_t, std::string>& names);

// docker top ID: every process of the container, from runtime::processes.
// Fails naming the container when it is not running.
Result<std::string> top_table(const std::string& root, const std::string& id);

}  // namespace husk::manage
