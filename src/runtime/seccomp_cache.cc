#include "runtime/seccomp_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "base/file.h"
#include "base/log.h"
#include "runtime/state.h"

namespace husk::runtime {
namespace {

// The file: this header, then the key, then the program.
struct Header {
  char magic[8];  // kMagic
  uint32_t key_size;
  uint32_t program_size;
  uint64_t load_flags;
  uint32_t uses_notify;
  uint32_t reserved;
};
constexpr char kMagic[8] = {'h', 'u', 's', 'k', 'b', 'p', 'f', '1'};
constexpr size_t kMaxProgram = 4096 * 8;  // BPF_MAXINSNS instructions of 8 bytes
constexpr size_t kMaxFile = sizeof(Header) + (1 << 20) + kMaxProgram;

// FNV-1a: names the file; the key inside decides.
std::string file_name(std::string_view key) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return fmt::format("{:016x}", h);
}

std::optional<linux::CompiledSeccomp> load(int dir_fd, const std::string& name,
                                           std::string_view key) {
  UniqueFd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return std::nullopt;
  struct stat st{};
  if (::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid() ||
      (st.st_mode & 022) != 0 || st.st_size < static_cast<off_t>(sizeof(Header)) ||
      static_cast<size_t>(st.st_size) > kMaxFile) {
    return std::nullopt;
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  if (::pread(fd.get(), data.data(), data.size(), 0) != st.st_size) return std::nullopt;
  Header h;
  std::memcpy(&h, data.data(), sizeof h);
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 || h.program_size == 0 ||
      h.program_size > kMaxProgram || h.program_size % 8 != 0 ||
      sizeof h + h.key_size + h.program_size != data.size()) {
    return std::nullopt;
  }
  if (std::string_view(data).substr(sizeof h, h.key_size) != key) return std::nullopt;
  const auto* prog = reinterpret_cast<const uint8_t*>(data.data() + sizeof h + h.key_size);
  return linux::CompiledSeccomp{.program = std::vector<uint8_t>(prog, prog + h.program_size),
                                .load_flags = static_cast<unsigned long>(h.load_flags),
                                .uses_notify = h.uses_notify != 0};
}

// Removes every entry of a full cache (programs are cheap to make again).
void trim(int dir_fd) {
  auto all = list_dir_at(dir_fd);
  if (!all) return;
  // Entries only: a writer's temp file (".<name>.<pid>") is its own to rename or remove.
  std::vector<std::string> names;
  for (auto& n : *all)
    if (!n.starts_with('.')) names.push_back(std::move(n));
  if (names.size() < kSeccompCacheMax) return;
  for (const auto& n : names) ::unlinkat(dir_fd, n.c_str(), 0);
}

Result<void> store(const std::string& root, const std::string& name, std::string_view key,
                   const linux::CompiledSeccomp& c) {
  HUSK_TRY(make_state_root(root));
  std::string dir = root + "/" + kSeccompCacheDir;
  if (::mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST) return fail_errno("create {}", dir);
  UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir_fd) return fail_errno("open {}", dir);
  trim(dir_fd.get());
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.key_size = static_cast<uint32_t>(key.size());
  h.program_size = static_cast<uint32_t>(c.program.size());
  h.load_flags = c.load_flags;
  h.uses_notify = c.uses_notify ? 1 : 0;
  std::string data(reinterpret_cast<const char*>(&h), sizeof h);
  data += key;
  data.append(reinterpret_cast<const char*>(c.program.data()), c.program.size());
  // Written whole under a name of our own, then renamed over: readers see all or nothing.
  std::string tmp = fmt::format(".{}.{}", name, ::getpid());
  UniqueFd fd(::openat(dir_fd.get(), tmp.c_str(),
                       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return fail_errno("create {}/{}", dir, tmp);
  auto written = write_all(fd.get(), data);
  if (written && ::renameat(dir_fd.get(), tmp.c_str(), dir_fd.get(), name.c_str()) == 0)
    return ok();
  int err = written ? errno : written.error().code;
  ::unlinkat(dir_fd.get(), tmp.c_str(), 0);
  return fail(err, "write {}/{}", dir, name);
}

}  // namespace

Result<linux::CompiledSeccomp> cached_seccomp(const std::string& root, const config::Seccomp& cfg) {
  std::string key = linux::seccomp_cache_key(cfg);
  std::string name = file_name(key);
  std::string dir = root + "/" + kSeccompCacheDir;
  if (UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      dir_fd) {
    struct stat st{};
    // Only a directory of ours that nobody else may write to.
    if (::fstat(dir_fd.get(), &st) == 0 && st.st_uid == ::geteuid() && (st.st_mode & 022) == 0) {
      if (auto hit = load(dir_fd.get(), name, key)) return std::move(*hit);
    }
  }
  HUSK_TRY_ASSIGN(linux::CompiledSeccomp compiled, linux::compile_seccomp(cfg));
  if (auto stored = store(root, name, key, compiled); !stored)
    log::debug("seccomp cache: {}", stored.error().what());
  return compiled;
}

}  // namespace husk::runtime
