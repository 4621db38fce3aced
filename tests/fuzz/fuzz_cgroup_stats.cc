// The v1 and v2 stats readers (cgroup/stats.h) over a directory of files with
// fuzzed contents, as a hostile container could leave them in a delegated
// cgroup. Input: files, each a line "== NAME" then its contents up to the next
// such line. NAME is kept to [a-z0-9._-] (the readers list the directory for
// hugetlb.<size>.* names).
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "cgroup/stats.h"
#include "fuzz_util.h"

namespace {

using namespace husk;

int g_dir = -1;

void write_file(const std::string& name, std::string_view body) {
  int fd = ::openat(g_dir, name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  if (::write(fd, body.data(), body.size()) < 0) {
  }
  ::close(fd);
}

std::string clean_name(std::string_view raw) {
  std::string out;
  for (char c : raw)
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
        (c >= 'A' && c <= 'Z'))
      out += c;
  if (out.empty() || out == "." || out == "..") return {};
  return out.substr(0, 200);
}

// The files of one input, written; returns their names for removal.
std::vector<std::string> write_files(std::string_view text) {
  std::vector<std::string> names;
  std::string name, body;
  auto flush = [&] {
    if (!name.empty()) {
      write_file(name, body);
      names.push_back(name);
    }
    body.clear();
  };
  for (size_t i = 0; i < text.size();) {
    size_t j = text.find('\n', i);
    if (j == std::string_view::npos) j = text.size();
    std::string_view line = text.substr(i, j - i);
    if (line.starts_with("== ")) {
      flush();
      name = clean_name(line.substr(3));
    } else {
      body.append(line);
      if (j < text.size()) body += '\n';
    }
    i = j + 1;
  }
  flush();
  return names;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                     "/husk-fuzz-stats.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
  g_dir = ::open(tmpl.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  // Removed now: the open fd keeps it usable, and nothing is left behind.
  if (g_dir < 0 || ::rmdir(tmpl.c_str()) < 0) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> names = write_files(fuzz::as_text(data, size));
  cgroup::Stats v1;
  (void)cgroup::v1::read_cpu(g_dir, v1.cpu);
  (void)cgroup::v1::read_cpuacct(g_dir, v1.cpu);
  (void)cgroup::v1::read_cpuset(g_dir, v1.cpuset);
  (void)cgroup::v1::read_memory(g_dir, v1.memory);
  (void)cgroup::v1::read_pids(g_dir, v1.pids);
  (void)cgroup::v1::read_blkio(g_dir, v1.blkio);
  (void)cgroup::v1::read_hugetlb(g_dir, v1.hugetlb);
  (void)cgroup::stats_to_json(v1);
  cgroup::Stats v2;
  (void)cgroup::v2::read_cpu(g_dir, v2.cpu);
  (void)cgroup::v2::read_cpuset(g_dir, v2.cpuset);
  (void)cgroup::v2::read_memory(g_dir, v2.memory);
  (void)cgroup::v2::read_pids(g_dir, v2.pids);
  (void)cgroup::v2::read_io(g_dir, v2.blkio);
  (void)cgroup::v2::read_hugetlb(g_dir, v2.hugetlb);
  (void)cgroup::stats_to_json(v2);
  for (const auto& n : names) ::unlinkat(g_dir, n.c_str(), 0);
  return 0;
}
