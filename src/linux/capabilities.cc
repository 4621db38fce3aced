#include "linux/capabilities.h"

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "base/log.h"
#include "spec/names.h"

namespace husk::linux {
namespace {

std::string cap_label(unsigned cap) {
  std::string_view name = spec::capability_name(static_cast<int>(cap));
  return name.empty() ? fmt::format("capability {}", cap) : std::string(name);
}

}  // namespace

Result<unsigned> probe_last_cap() {
  return highest_known_cap([](unsigned cap) {
    if (::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0) return 1;
    return errno == EINVAL ? 0 : -errno;
  });
}

uint64_t cap_mask_upto(unsigned last_cap) {
  if (last_cap >= kMaxCapProbe) return ~uint64_t{0};
  return (uint64_t{1} << (last_cap + 1)) - 1;
}

uint64_t bounding_caps_to_drop(uint64_t current, uint64_t keep, unsigned last_cap) {
  return current & ~keep & cap_mask_upto(last_cap);
}

void to_cap_data(const config::Capabilities& caps, unsigned last_cap,
                 __user_cap_data_struct out[_LINUX_CAPABILITY_U32S_3]) {
  uint64_t known = cap_mask_upto(last_cap);
  uint64_t eff = caps.effective & known;
  uint64_t prm = caps.permitted & known;
  uint64_t inh = caps.inheritable & known;
  for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; ++i) {
    out[i].effective = static_cast<uint32_t>(eff >> (32 * i));
    out[i].permitted = static_cast<uint32_t>(prm >> (32 * i));
    out[i].inheritable = static_cast<uint32_t>(inh >> (32 * i));
  }
}

Result<void> drop_bounding_set(uint64_t keep, unsigned last_cap) {
  // Only drop what is still there: dropping needs CAP_SETPCAP even when it
  // would change nothing.
  uint64_t current = 0;
  for (unsigned cap = 0; cap <= last_cap; ++cap) {
    int rc = ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (rc < 0) return fail_errno("read bounding set: {}", cap_label(cap));
    if (rc == 1) current |= uint64_t{1} << cap;
  }
  uint64_t drop = bounding_caps_to_drop(current, keep, last_cap);
  for (unsigned cap = 0; cap <= last_cap; ++cap) {
    if ((drop & (uint64_t{1} << cap)) == 0) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
      return fail_errno("drop {} from the bounding set", cap_label(cap));
  }
  return ok();
}

Result<void> apply_capabilities(const config::Capabilities& caps, unsigned last_cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  to_cap_data(caps, last_cap, data);
  if (::syscall(SYS_capset, &header, data) < 0) return fail_errno("capset");
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
    return fail_errno("clear ambient capabilities");
  uint64_t ambient = caps.ambient & cap_mask_upto(last_cap);
  for (unsigned cap = 0; cap <= last_cap; ++cap) {
    if ((ambient & (uint64_t{1} << cap)) == 0) continue;
    // Ambient needs the cap in permitted and inheritable; runc only warns.
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
      log::debug("cannot raise ambient capability {}: {}", cap_label(cap), std::strerror(errno));
  }
  return ok();
}

}  // namespace husk::linux
