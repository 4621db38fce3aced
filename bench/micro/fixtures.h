// Inputs shared by the husk_bench micro-benchmarks: the config.json texts a
// container start parses, a docker-like seccomp profile, and a scratch
// directory standing in for a cgroup tree (as tests/unit does).
#pragma once

#include <string>
#include <vector>

namespace husk::bench {

// `runc spec` (= `husk-oci spec`) with terminal off and args ["true"]: what
// bench/run starts.
std::string runc_default_config();

// The same config with a seccomp profile shaped like the default docker and
// podman send: default SCMP_ACT_ERRNO, ~330 allowed names in one rule, a few
// argument-filtered rules (personality, clone, socket), and the given
// architectures ("SCMP_ARCH_X86_64", ...).
std::string docker_like_config(const std::vector<std::string>& arches);

// A temporary directory (tmpfs when /dev/shm exists) removed on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  // Writes rel (parents created) with content.
  void write(const std::string& rel, const std::string& content) const;
  void mkdir(const std::string& rel) const;
  // An O_DIRECTORY fd of rel ("" for the root); the caller closes it.
  int open(const std::string& rel = "") const;

 private:
  std::string path_;
};

// Text of a file, empty when unreadable.
std::string slurp(const std::string& path);

}  // namespace husk::bench
