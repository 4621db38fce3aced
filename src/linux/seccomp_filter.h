// Seccomp: translate config::Seccomp to a libseccomp filter, export it as
// classic BPF and load it with seccomp(2) ourselves (as runc does), so every
// kernel flag, SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV included, is ours to
// pass whatever libseccomp version we link. Runs in the container's init.
// Not named seccomp.h: with -Isrc, libseccomp's `#include <linux/seccomp.h>`
// would find this file instead of the kernel's.
#pragma once
#undef linux  // GNU mode predefines `linux` as 1, which breaks `namespace husk::linux`

#include <cstdint>
#include <optional>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "config/container.h"

namespace husk::linux {

// Owns a scmp_filter_ctx plus the seccomp(2) flags the config asked for.
class SeccompFilter {
 public:
  SeccompFilter() = default;
  SeccompFilter(SeccompFilter&& o) noexcept;
  SeccompFilter& operator=(SeccompFilter&& o) noexcept;
  SeccompFilter(const SeccompFilter&) = delete;
  SeccompFilter& operator=(const SeccompFilter&) = delete;
  ~SeccompFilter();

  void* ctx() const { return ctx_; }  // scmp_filter_ctx
  // SECCOMP_FILTER_FLAG_* for seccomp(SECCOMP_SET_MODE_FILTER, ...).
  unsigned long load_flags() const { return load_flags_; }
  // Some rule uses SCMP_ACT_NOTIFY: loading yields a listener fd.
  bool uses_notify() const { return uses_notify_; }
  // The ENOSYS stub export_bpf puts in front of libseccomp's program (struct
  // sock_filter array; empty when the profile needs none, see build_seccomp_filter).
  const std::vector<uint8_t>& enosys_stub() const { return enosys_stub_; }

 private:
  friend Result<SeccompFilter> build_seccomp_filter(const config::Seccomp& cfg);
  void* ctx_ = nullptr;
  unsigned long load_flags_ = 0;
  bool uses_notify_ = false;
  std::vector<uint8_t> enosys_stub_;
};

// The libseccomp action value for an action and its optional errno
// (ERRNO and TRACE default to EPERM, like runc).
uint32_t seccomp_action_value(config::SeccompAction action, std::optional<uint32_t> errno_ret);

// Builds the filter without touching the calling process. Unknown syscall
// names are skipped, as are rules whose action equals the default action.
//
// ENOSYS for syscalls newer than the profile: a profile whose default action
// denies (ERRNO other than ENOSYS, KILL, TRAP, TRACE) would otherwise give a
// syscall added to the kernel after the profile was written that default,
// EPERM for most, and glibc falls back to an older syscall only on ENOSYS
// (clone3 -> clone, faccessat2 -> faccessat, ...). libseccomp cannot compare
// syscall numbers, so the filter gets a stub in front of libseccomp's program:
// for each architecture in the filter, a syscall number above the highest one
// the profile names for that architecture (in any rule, whatever its action)
// returns ENOSYS; everything else goes on to libseccomp's program unchanged. On
// x86_64 the x32 calls (bit 30 set) are compared with the profile's highest x32
// number, or left to libseccomp when the filter has no x32. An architecture the
// profile names no syscall for gets no stub, nor does an ALLOW or LOG default.
Result<SeccompFilter> build_seccomp_filter(const config::Seccomp& cfg);

// The filter as a BPF program (struct sock_filter array, 8 bytes each): the
// ENOSYS stub, then libseccomp's export.
Result<std::vector<uint8_t>> export_bpf(const SeccompFilter& filter);

// A filter ready for seccomp(2). Compiling costs milliseconds (tens with the
// x86_64+x86+x32 arches engines ask for), loading microseconds: the runtime
// may compile before clone, or cache the program keyed by the profile.
struct CompiledSeccomp {
  std::vector<uint8_t> program;  // struct sock_filter array
  unsigned long load_flags = 0;  // SECCOMP_FILTER_FLAG_*
  bool uses_notify = false;
};

// What build_seccomp_filter accepts, for husk-oci `features`:
// the "architectures" names, SCMP_ARCH_* of every architecture in husk's table
// that the linked libseccomp resolves (a byte order other than the native one
// is still refused when the filter is built);
std::vector<std::string> seccomp_architecture_names();
// the "flags" names, in table order;
std::vector<std::string_view> seccomp_flag_names();
// and those of the flags the running kernel takes in the form husk passes
// them (TSYNC as no flag at all, WAIT_KILLABLE_RECV only with NEW_LISTENER).
// Probed with seccomp(SECCOMP_SET_MODE_FILTER, flags, NULL): the kernel checks
// the flags before it reads the program, so EFAULT means accepted and nothing
// is ever loaded.
std::vector<std::string_view> supported_seccomp_flag_names();
// The linked libseccomp's version, "2.5.4".
std::string libseccomp_version();

// build_seccomp_filter + export_bpf.
Result<CompiledSeccomp> compile_seccomp(const config::Seccomp& cfg);

// Everything compile_seccomp's output depends on, as text: the profile (every field the
// filter is built from, in order), the linked libseccomp's version and the API level it
// found in the running kernel. Equal keys compile to equal programs, so a program cached
// under its key may be loaded instead of compiling (runtime/seccomp_cache.h).
std::string seccomp_cache_key(const config::Seccomp& cfg);

// Loads the program into the calling thread. Returns the notify listener fd
// (close-on-exec) when uses_notify, else an invalid fd. Needs no_new_privs or
// CAP_SYS_ADMIN.
Result<UniqueFd> load_seccomp(const CompiledSeccomp& compiled);
// compile_seccomp + load.
Result<UniqueFd> load_seccomp(const config::Seccomp& cfg);

}  // namespace husk::linux
