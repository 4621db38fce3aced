// Name tables shared by the spec parser and the CLI: capabilities, signals and
// rlimits, spelled as in config.json and on runc's command line.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace husk::spec {

// "CAP_CHOWN" -> 0 ... "CAP_CHECKPOINT_RESTORE" -> 40. Exact, upper-case names only
// (runc compares against "CAP_" + the upper-case kernel name).
std::optional<int> capability_from_name(std::string_view name);
// 0 -> "CAP_CHOWN"; empty for numbers this table does not know.
std::string_view capability_name(int cap);
// The highest capability number in the table (CAP_CHECKPOINT_RESTORE, 40).
int last_known_capability();
// Every name in the table, in number order.
std::vector<std::string_view> all_capability_names();

// "TERM", "SIGTERM", "sigterm", "15", "RTMIN+3", "SIGRTMAX-1" -> the signal
// number. Numbers are taken as they are (0 .. SIGRTMAX), as runc's kill does.
std::optional<int> signal_from_string(std::string_view s);
// 15 -> "SIGTERM"; empty for numbers without a classic name.
std::string_view signal_name(int sig);
// The classic signal names with the SIG prefix, in number order.
std::vector<std::string_view> all_signal_names();

// "RLIMIT_NOFILE" -> RLIMIT_NOFILE.
std::optional<int> rlimit_from_name(std::string_view name);
std::string_view rlimit_name(int resource);

}  // namespace husk::spec
