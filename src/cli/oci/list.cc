#include <cstdio>
#include <memory>

#include "base/log.h"
#include "cli/oci/verbs.h"

namespace husk::oci {

namespace {

struct ListArgs {
  std::string format = "table";
  bool quiet = false;
};

std::string to_json(const std::vector<runtime::ListEntry>& entries) {
  std::string out = "[";
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    if (i > 0) out += ",";
    out += "{\"ociVersion\":\"1.2.0\",\"id\":";
    log::append_json_string(out, e.id);
    out += fmt::format(",\"pid\":{},\"status\":", e.pid);
    log::append_json_string(out, e.status);
    out += ",\"bundle\":";
    log::append_json_string(out, e.bundle);
    out += ",\"rootfs\":";
    log::append_json_string(out, e.rootfs);
    out += ",\"created\":";
    log::append_json_string(out, e.created);
    out += ",\"owner\":";
    log::append_json_string(out, e.owner);
    out += "}";
  }
  return out + "]";
}

}  // namespace

void add_list(CLI::App& app, const GlobalArgs& g, Action& action) {
  auto* sub = app.add_subcommand("list", "list containers started by husk-oci with this root");
  sub->alias("ls");
  auto a = std::make_shared<ListArgs>();
  sub->add_option("-f,--format", a->format, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  sub->add_flag("-q,--quiet", a->quiet, "display only container ids");
  sub->callback([&g, &action, a] {
    action = [&g, a]() -> Result<int> {
      HUSK_TRY_ASSIGN(auto entries, runtime::list(g.root));
      if (a->quiet) {
        for (const auto& e : entries) fmt::print("{}\n", e.id);
      } else if (a->format == "json") {
        fmt::print("{}\n", to_json(entries));
      } else {
        fmt::print("{:<12} {:<8} {:<10} {:<40} {:<31} {}\n", "ID", "PID", "STATUS", "BUNDLE",
                   "CREATED", "OWNER");
        for (const auto& e : entries)
          fmt::print("{:<12} {:<8} {:<10} {:<40} {:<31} {}\n", e.id, e.pid, e.status, e.bundle,
                     e.created, e.owner.empty() ? "root" : e.owner);
      }
      return 0;
    };
  });
}

}  // namespace husk::oci
