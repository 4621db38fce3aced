#include "cli/husk/image_cmd.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include "base/unique_fd.h"
#include "front/exit_code.h"
#include "image/archive.h"
#include "image/image_view.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "image/store.h"

namespace husk::cli {
namespace {

using image::ImageRecord;
using image::Store;

constexpr const char* kImageFooter = R"(
Examples:
  husk load -i busybox.tar        (docker save / podman save output, docker or OCI format)
  husk save -o app.tar app:1 app:2
  husk import rootfs.tar.gz myroot:1
  husk images --format json
  husk image inspect busybox
  husk rmi -f 3f57d9401f8d
  husk image prune)";

int report(std::string_view verb, const Error& e) {
  std::fprintf(stderr, "husk: %s: %s\n", std::string(verb).c_str(), e.what().c_str());
  return kExitHuskError;
}

bool parsed(const std::vector<CLI::App*>& apps) {
  for (CLI::App* a : apps)
    if (a->parsed()) return true;
  return false;
}

Result<Store> open_store() { return Store::open(Store::default_root()); }

std::string short_id(const image::Digest& d, bool no_trunc) {
  return no_trunc ? d.str() : std::string(d.hex().substr(0, 12));
}

int load(const ImageCommands& c) {
  std::string what = c.input.empty() ? "load" : "load -i " + c.input;
  auto store = open_store();
  if (!store) return report(what, store.error());
  if ((c.input.empty() || c.input == "-") && ::isatty(0))
    return report(what, fail(0, "stdin is a terminal: give -i FILE or pipe an archive in").error());
  UniqueFd fd(c.input.empty() || c.input == "-" ? ::dup(0)
                                                : ::open(c.input.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return report(what, fail_errno("open").error());
  auto loaded = image::load_archive(*store, fd.get(), "");
  if (!loaded) return report(what, loaded.error());
  if (c.quiet) return 0;
  for (const ImageRecord& r : *loaded) {
    if (r.repo_tags.empty()) std::printf("Loaded image ID: %s\n", r.id.str().c_str());
    for (const std::string& t : r.repo_tags) {
      auto ref = image::Reference::parse(t);
      std::printf("Loaded image: %s\n", ref ? ref->familiar().c_str() : t.c_str());
    }
  }
  return 0;
}

int save(const ImageCommands& c) {
  std::string what = "save -o " + c.output;
  auto store = open_store();
  if (!store) return report(what, store.error());
  if (auto r = image::save_archive(*store, c.names, c.output); !r) return report(what, r.error());
  return 0;
}

int import(const ImageCommands& c) {
  const std::string& file = c.names[0];
  std::string what = "import " + file;
  if (c.names.size() > 2)
    return report(what, fail(0, "FILE [NAME[:TAG]]: too many arguments").error());
  std::string tag = c.names.size() == 2 ? c.names[1] : "";
  auto store = open_store();
  if (!store) return report(what, store.error());
  UniqueFd fd(file == "-" ? ::dup(0) : ::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return report(what, fail_errno("open").error());
  auto r = image::import_rootfs(*store, fd.get(), file, tag);
  if (!r) return report(what, r.error());
  std::printf("%s\n", r->id.str().c_str());
  return 0;
}

int ls(const ImageCommands& c) {
  auto store = open_store();
  if (!store) return report("images", store.error());
  auto usage = store->usage();
  if (!usage) return report("images", usage.error());
  if (c.format != "table" && c.format != "json")
    return report("images", fail(0, "--format {}: table or json", c.format).error());
  if (c.quiet) {
    std::set<image::Digest> seen;
    for (const ImageRecord& r : usage->images)
      if (seen.insert(r.id).second) std::printf("%s\n", short_id(r.id, c.no_trunc).c_str());
    return 0;
  }
  std::time_t now = std::time(nullptr);
  if (c.format == "json") {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const ImageRecord& r : usage->images)
      out.push_back({{"Id", r.id.str()},
                     {"RepoTags", r.repo_tags},
                     {"RepoDigests", r.repo_digests},
                     {"Created", r.created},
                     {"Size", r.size},
                     {"SharedSize", r.shared_size},
                     {"UniqueSize", r.unique_size},
                     {"Layers", r.layers.size()}});
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("%-40s %-16s %-14s %-24s %-10s %-12s %s\n", "REPOSITORY", "TAG",
              c.no_trunc ? "IMAGE ID" : "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE",
              "UNIQUE SIZE");
  for (const ImageRecord& r : usage->images) {
    std::vector<std::pair<std::string, std::string>> rows;
    for (const std::string& t : r.repo_tags) {
      auto ref = image::Reference::parse(t);
      if (ref) rows.emplace_back(ref->familiar_name(), ref->tag());
    }
    if (rows.empty()) rows.emplace_back("<none>", "<none>");
    for (const auto& [repo, tag] : rows)
      std::printf("%-40s %-16s %-14s %-24s %-10s %-12s %s\n", repo.c_str(), tag.c_str(),
                  short_id(r.id, c.no_trunc).c_str(), image::time_ago(r.created, now).c_str(),
                  image::human_size(r.size).c_str(), image::human_size(r.shared_size).c_str(),
                  image::human_size(r.unique_size).c_str());
  }
  std::printf("Total: %zu images, %s (%s shared)\n", usage->images.size(),
              image::human_size(usage->total_size).c_str(),
              image::human_size(usage->shared_size).c_str());
  return 0;
}

int rm(const ImageCommands& c) {
  auto store = open_store();
  if (!store) return report("rmi", store.error());
  int status = 0;
  for (const std::string& name : c.names) {
    auto before = store->resolve(name);
    auto removed = store->remove_image(name, c.force);
    if (!removed) {
      status = report("rmi", removed.error());
      continue;
    }
    auto ref = image::Reference::parse(name);
    if (before && ref && !ref->digest() &&
        std::find(before->repo_tags.begin(), before->repo_tags.end(), ref->str()) !=
            before->repo_tags.end())
      std::printf("Untagged: %s\n", ref->familiar().c_str());
    else if (before && !removed->empty())
      for (const std::string& t : before->repo_tags)
        if (auto tr = image::Reference::parse(t))
          std::printf("Untagged: %s\n", tr->familiar().c_str());
    for (const image::Digest& d : *removed) std::printf("Deleted: %s\n", d.str().c_str());
  }
  return status;
}

int inspect(const ImageCommands& c) {
  auto store = open_store();
  if (!store) return report("image inspect", store.error());
  auto out = nlohmann::ordered_json::array();
  for (size_t i = 0; i < c.names.size(); ++i) {
    auto r = store->resolve(c.names[i]);
    if (!r) return report("image inspect", r.error());
    auto config = store->read_blob(r->id, image::kMaxConfigBytes);
    if (!config) return report("image inspect", config.error());
    auto j = image::inspect_json(*r, *config);
    if (!j) return report("image inspect", j.error());
    out.push_back(nlohmann::ordered_json::parse(*j));  // docker's layout: a 4-space array
  }
  std::printf("%s\n", out.dump(4).c_str());
  return 0;
}

int prune(const ImageCommands&) {
  auto store = open_store();
  if (!store) return report("image prune", store.error());
  auto r = store->prune();
  if (!r) return report("image prune", r.error());
  if (!r->images.empty()) std::printf("Deleted Images:\n");
  for (const auto& d : r->images) std::printf("deleted: %s\n", d.str().c_str());
  for (const auto& d : r->layers) std::printf("deleted layer: %s\n", d.str().c_str());
  for (const auto& d : r->blobs) std::printf("deleted blob: %s\n", d.str().c_str());
  if (r->tmp_entries) std::printf("deleted: %zu leftovers in tmp/\n", r->tmp_entries);
  std::printf("Total reclaimed space: %s\n", image::human_size(r->reclaimed).c_str());
  return 0;
}

void add_load(CLI::App* parent, ImageCommands& c) {
  CLI::App* a = parent->add_subcommand("load", "Load images from a docker-archive or oci-archive");
  a->add_option("-i,--input", c.input, "Read from this tar (maybe compressed), not stdin");
  a->add_flag("-q,--quiet", c.quiet, "Print nothing");
  a->footer("\nExamples:\n  husk load -i busybox.tar\n  podman save busybox | husk load");
  c.load.push_back(a);
}

void add_save(CLI::App* parent, ImageCommands& c) {
  CLI::App* a = parent->add_subcommand("save", "Save images to a docker-archive tarball");
  a->add_option("-o,--output", c.output, "The tar file to write")->required();
  a->add_option("images", c.names, "Images (names or ids)")->required();
  a->footer("\nExamples:\n  husk save -o app.tar app:1 app:2\n  docker load -i app.tar");
  c.save.push_back(a);
}

void add_import(CLI::App* parent, ImageCommands& c) {
  CLI::App* a = parent->add_subcommand("import", "Make a one-layer image from a rootfs tarball");
  a->add_option("args", c.names, "FILE (or - for stdin) and NAME[:TAG]")
      ->required()
      ->expected(1, 2);
  a->footer(
      "\nExamples:\n  husk import rootfs.tar.gz myroot:1\n  tar -C dir -c . | husk import - mine");
  c.import.push_back(a);
}

void add_ls(CLI::App* a, ImageCommands& c) {
  a->add_flag("-q,--quiet", c.quiet, "Only the image ids");
  a->add_flag("-a,--all", c.all, "All images (husk keeps no intermediate images: the same list)");
  a->add_option("--format", c.format, "table or json");
  a->add_flag("--no-trunc", c.no_trunc, "Full image ids");
  a->footer("\nExamples:\n  husk images\n  husk images --format json");
  c.ls.push_back(a);
}

void add_rm(CLI::App* a, ImageCommands& c) {
  a->add_flag("-f,--force", c.force, "Remove an image with several tags, or untag one in use");
  a->add_option("images", c.names, "Images (names, ids or id prefixes)")->required();
  a->footer("\nExamples:\n  husk rmi busybox\n  husk rmi -f 3f57d9401f8d");
  c.rm.push_back(a);
}

}  // namespace

void add_image_commands(CLI::App& app, ImageCommands& c) {
  CLI::App* image = app.add_subcommand("image", "Manage images (load, save, import, ls, rm, ...)");
  image->require_subcommand(1);
  image->footer(kImageFooter);
  for (CLI::App* parent : {&app, image}) {
    add_load(parent, c);
    add_save(parent, c);
    add_import(parent, c);
  }
  add_ls(app.add_subcommand("images", "List images"), c);
  add_ls(image->add_subcommand("ls", "List images")->alias("list"), c);
  add_rm(app.add_subcommand("rmi", "Remove images"), c);
  add_rm(image->add_subcommand("rm", "Remove images")->alias("remove"), c);
  CLI::App* in = image->add_subcommand("inspect", "Show images as a JSON array");
  in->add_option("images", c.names, "Images (names, ids or id prefixes)")->required();
  in->footer("\nExamples:\n  husk image inspect busybox");
  c.inspect.push_back(in);
  CLI::App* pr = image->add_subcommand(
      "prune", "Remove dangling images, unused layers and blobs, and writers' leftovers");
  pr->add_flag("-f,--force", c.force, "Do not ask (husk never asks)");
  pr->footer("\nExamples:\n  husk image prune");
  c.prune.push_back(pr);
}

std::optional<int> run_image_commands(const ImageCommands& c) {
  if (parsed(c.load)) return load(c);
  if (parsed(c.save)) return save(c);
  if (parsed(c.import)) return import(c);
  if (parsed(c.ls)) return ls(c);
  if (parsed(c.rm)) return rm(c);
  if (parsed(c.inspect)) return inspect(c);
  if (parsed(c.prune)) return prune(c);
  return std::nullopt;
}

}  // namespace husk::cli
