#include "cli/oci/help.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#ifndef HUSK_VERSION
#define HUSK_VERSION "0.0.0"
#endif

namespace husk::oci {

namespace {

// runc's help layout (urfave/cli): NAME, USAGE, then the commands or options,
// each under a capitalised heading. Engines and scripts written against runc
// read its first lines; the options themselves are CLI11's own rendering.
class RuncLayout : public CLI::Formatter {
 public:
  explicit RuncLayout(std::string prog) : prog_(std::move(prog)) { column_width(32); }

  // One heading for all options (GLOBAL OPTIONS / OPTIONS), not one per group.
  std::string make_group(std::string, bool is_positional,
                         std::vector<const CLI::Option*> opts) const override {
    std::string out;
    for (const CLI::Option* o : opts) out += "  " + make_option(o, is_positional);
    return out;
  }

  std::string make_help(const CLI::App* app, std::string name,
                        CLI::AppFormatMode mode) const override {
    if (mode == CLI::AppFormatMode::Sub) return CLI::Formatter::make_help(app, name, mode);
    return app->get_parent() == nullptr ? top(app, mode) : verb(app, mode);
  }

 private:
  std::string top(const CLI::App* app, CLI::AppFormatMode mode) const {
    std::string out = fmt::format("NAME:\n   {} - Open Container Initiative runtime{}\n\n", prog_,
                                  prog_ == "husk-oci" ? "" : " (husk-oci)");
    out += fmt::format(
        "husk-oci runs containers from OCI bundles: a directory holding config.json and a\n"
        "root filesystem. To start one:\n\n"
        "    # {} run [ -b bundle ] <container-id>\n\n",
        prog_);
    out += fmt::format("USAGE:\n   {} [global options] command [command options] [arguments...]\n\n",
                       prog_);
    out += "VERSION:\n   " HUSK_VERSION "\n\nCOMMANDS:\n";
    for (const CLI::App* sub : app->get_subcommands([](const CLI::App*) { return true; }))
      out += fmt::format("   {:<12} {}\n", sub->get_name(), sub->get_description());
    out += "\nGLOBAL OPTIONS:\n" + make_groups(app, mode);
    return out;
  }

  std::string verb(const CLI::App* app, CLI::AppFormatMode mode) const {
    std::string out = fmt::format("NAME:\n   {} {} - {}\n\nUSAGE:\n   {} {} [command options]",
                                  prog_, app->get_name(), app->get_description(), prog_,
                                  app->get_name());
    for (const CLI::Option* p : app->get_options([](const CLI::Option* o) {
           return o->get_positional();
         }))
      out += fmt::format(" <{}>", p->get_name());
    out += "\n\nOPTIONS:\n" + make_groups(app, mode);
    return out;
  }

  std::string prog_;
};

}  // namespace

void use_runc_help_layout(CLI::App& app, std::string prog) {
  app.formatter(std::make_shared<RuncLayout>(std::move(prog)));
}

std::string version_text(std::string_view prog) {
  return fmt::format("{} version " HUSK_VERSION "{}\ncommit: " HUSK_COMMIT "\nspec: 1.2.0", prog,
                     prog == "husk-oci" ? "" : " (husk-oci)");
}

}  // namespace husk::oci
