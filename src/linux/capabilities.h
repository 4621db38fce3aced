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

// The highest capability the running kernel knows: /proc/sys/kernel/cap_last_cap,
// or probed with PR_CAPBSET_READ when /proc is not there.
Result<unsigned> read_cap_last_cap();

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
