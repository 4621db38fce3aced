// Internal to spec/: the pieces of the config.json parser, one per section.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "config/container.h"
#include "spec/json_node.h"

namespace husk::spec::detail {

// config_process.cc
Result<config::Process> parse_process(const Node& n);

// config_sched.cc: process.scheduler, process.ioPriority,
// process.execCPUAffinity (into p) and linux.personality.
Result<std::optional<config::Scheduler>> parse_scheduler(const Node& n);
Result<std::optional<config::IoPriority>> parse_io_priority(const Node& n);
Result<void> parse_exec_cpu_affinity(const Node& n, config::Process& p);
Result<std::optional<unsigned long>> parse_personality(const Node& n);

// config_linux.cc: the "linux" object into c's linux.* fields.
Result<void> parse_linux(const Node& n, config::Container& c);
Result<std::vector<config::IdMapping>> parse_id_mappings(const Node& n);
Result<std::map<std::string, std::string>> parse_string_map(const Node& n);

// config_seccomp.cc
Result<config::Seccomp> parse_seccomp(const Node& n);

// The names the parser accepts, in its own tables' order (`features` lists them).
std::vector<std::string_view> hook_names();              // config.cc: "hooks" keys
std::vector<std::string_view> namespace_names();         // config_linux.cc
std::vector<std::string_view> seccomp_action_names();    // config_seccomp.cc
std::vector<std::string_view> seccomp_operator_names();  // config_seccomp.cc

}  // namespace husk::spec::detail
