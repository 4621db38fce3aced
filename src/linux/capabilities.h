// Capability steps of the container's init: the bounding set, then the
// effective/permitted/inheritable sets (capset, two u32 words so caps above
// 31 count) and the ambient set. Masks are config::Capabilities bit sets.
#pragma once
#undef linux  // GNU mode predefines `linux` as 1, which breaks `namespace husk::linux`

#include <linux/capability.h>

#include <cstdint>

#include "base/error.h"
#include "config/container.h"

namespace husk::linux {

// The highest capability number a config mask can hold.
inline constexpr unsigned kMaxCapProbe = 63;

// The highest capability for which probe(cap) says "known" (1), given that
// the kernel knows 0..N and nothing above (0); a negative probe result is
// -errno and fails the search. Binary search over 0..kMaxCapProbe.
template <class Probe>
Result<unsigned> highest_known_cap(Probe probe) {
  int r = probe(0u);
  if (r < 0) return fail(-r, "probe capability 0");
  if (r == 0) return fail(EINVAL, "probe capability 0: unknown to the kernel");
  unsigned known = 0, unknown = kMaxCapProbe + 1;
  while (unknown - known > 1) {
    unsigned mid = known + (unknown - known) / 2;
    r = probe(mid);
    if (r < 0) return fail(-r, "probe capability {}", mid);
    (r > 0 ? known : unknown) = mid;
  }
  return known;
}

// The highest capability the running kernel knows, probed with
// PR_CAPBSET_READ (EINVAL past the last one). No file is read: whatever is
// mounted at /proc/sys/kernel/cap_last_cap has no say.
Result<unsigned> probe_last_cap();

// Every capability 0..last_cap.
uint64_t cap_mask_upto(unsigned last_cap);

// Of the capabilities in `current` (those the kernel knows), the ones not in `keep`.
uint64_t bounding_caps_to_drop(uint64_t current, uint64_t keep, unsigned last_cap);

// The capset(2) payload for caps (bits above last_cap are left out).
void to_cap_data(const config::Capabilities& caps, unsigned last_cap,
                 __user_cap_data_struct out[_LINUX_CAPABILITY_U32S_3]);

// PR_CAPBSET_DROP for each cap of the bounding set that is not in keep.
Result<void> drop_bounding_set(uint64_t keep, unsigned last_cap);

// capset(effective, permitted, inheritable), then the ambient set: cleared,
// then raised cap by cap. Like runc, a cap that cannot be raised to ambient
// is only warned about.
Result<void> apply_capabilities(const config::Capabilities& caps, unsigned last_cap);

}  // namespace husk::linux
