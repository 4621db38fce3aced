#include "linux/exec_lookup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace husk::linux {
namespace {

// Go spells errno text in lower case ("permission denied"); engines match on it.
std::string errno_text(int code) {
  std::string s = std::strerror(code);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

// 0 when path is an executable regular file, else the errno that says why.
// The reason for a failed stat comes back in *stat_failed.
int check_executable(const std::string& path, bool* stat_failed) {
  struct stat st {};
  *stat_failed = false;
  if (::stat(path.c_str(), &st) < 0) {
    *stat_failed = true;
    return errno;
  }
  if (S_ISDIR(st.st_mode)) return EISDIR;
  if (::faccessat(AT_FDCWD, path.c_str(), X_OK, AT_EACCESS) == 0) return 0;
  int err = errno;
  // No faccessat2, or a seccomp profile that denies it: judge by the mode bits.
  if (err != ENOSYS && err != EPERM) return err;
  return (st.st_mode & 0111) != 0 ? 0 : EACCES;
}

}  // namespace

std::string_view path_from_env(const std::vector<std::string>& env) {
  constexpr std::string_view kKey = "PATH=";
  const std::string* last = nullptr;
  for (const auto& e : env)
    if (std::string_view(e).starts_with(kKey)) last = &e;
  if (last == nullptr) return kDefaultPath;
  return std::string_view(*last).substr(kKey.size());
}

Result<std::string> find_executable(const std::vector<std::string>& env, const std::string& arg0) {
  bool stat_failed = false;
  if (arg0.find('/') != std::string::npos) {
    int err = check_executable(arg0, &stat_failed);
    if (err == 0) return arg0;
    if (stat_failed) return fail_quiet(err, "exec: \"{}\": stat {}: {}", arg0, arg0, errno_text(err));
    return fail_quiet(err, "exec: \"{}\": {}", arg0, errno_text(err));
  }
  std::string_view path = path_from_env(env);
  // "PATH=" searches nothing; "a::b" and "a:" have an empty element, which means ".".
  for (size_t start = 0; !path.empty() && start <= path.size();) {
    size_t colon = std::min(path.find(':', start), path.size());
    std::string_view dir = path.substr(start, colon - start);
    start = colon + 1;
    if (dir.empty()) dir = ".";
    std::string candidate(dir);
    if (candidate.back() != '/') candidate += '/';
    candidate += arg0;
    if (check_executable(candidate, &stat_failed) == 0) return candidate;
  }
  return fail_quiet(ENOENT, "exec: \"{}\": executable file not found in $PATH", arg0);
}

}  // namespace husk::linux
