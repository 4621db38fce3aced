#include <gtest/gtest.h>
#include <linux/capability.h>

#include <string>

#include "base/file.h"
#include "linux/capabilities.h"

namespace husk::linux {
namespace {

constexpr uint64_t bit(unsigned cap) { return uint64_t{1} << cap; }

TEST(Capabilities, MaskUpToLastCap) {
  EXPECT_EQ(cap_mask_upto(0), 0x1u);
  EXPECT_EQ(cap_mask_upto(31), 0xffffffffull);
  EXPECT_EQ(cap_mask_upto(40), 0x1ffffffffffull);
  EXPECT_EQ(cap_mask_upto(63), ~uint64_t{0});
}

TEST(Capabilities, BoundingDropsWhatIsPresentAndNotKept) {
  uint64_t current = cap_mask_upto(40);
  uint64_t keep = bit(CAP_CHOWN) | bit(CAP_NET_BIND_SERVICE) | bit(CAP_AUDIT_READ);
  uint64_t drop = bounding_caps_to_drop(current, keep, 40);
  EXPECT_EQ(drop, current & ~keep);
  EXPECT_EQ(drop & keep, 0u);
  EXPECT_TRUE(drop & bit(CAP_SYS_ADMIN));
  EXPECT_TRUE(drop & bit(CAP_CHECKPOINT_RESTORE));  // 40: above the first u32 word
  // Caps already gone are not dropped again (that would need CAP_SETPCAP).
  EXPECT_EQ(bounding_caps_to_drop(bit(CAP_CHOWN), 0, 40), bit(CAP_CHOWN));
  EXPECT_EQ(bounding_caps_to_drop(0, 0, 40), 0u);
  // Caps the kernel does not know are never touched, even when "present".
  EXPECT_EQ(bounding_caps_to_drop(bit(45) | bit(3), 0, 40), bit(3));
  // Keeping everything drops nothing.
  EXPECT_EQ(bounding_caps_to_drop(current, ~uint64_t{0}, 40), 0u);
}

TEST(Capabilities, CapDataSplitsIntoTwoWords) {
  config::Capabilities caps;
  caps.effective = bit(CAP_KILL) | bit(CAP_BPF);  // 5, 39
  caps.permitted = bit(CAP_KILL) | bit(CAP_BPF) | bit(CAP_SETUID);
  caps.inheritable = bit(CAP_AUDIT_READ) | bit(50);  // 37, and one unknown
  caps.ambient = bit(CAP_KILL);                      // not part of capset
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
  to_cap_data(caps, 40, data);
  EXPECT_EQ(data[0].effective, 1u << CAP_KILL);
  EXPECT_EQ(data[1].effective, 1u << (CAP_BPF - 32));
  EXPECT_EQ(data[0].permitted, (1u << CAP_KILL) | (1u << CAP_SETUID));
  EXPECT_EQ(data[1].permitted, 1u << (CAP_BPF - 32));
  EXPECT_EQ(data[0].inheritable, 0u);
  EXPECT_EQ(data[1].inheritable, 1u << (CAP_AUDIT_READ - 32));  // bit 50 left out
}

TEST(Capabilities, LastCapMatchesTheKernel) {
  auto last = probe_last_cap();
  ASSERT_TRUE(last) << last.error().what();
  auto text = read_file("/proc/sys/kernel/cap_last_cap");
  ASSERT_TRUE(text);
  EXPECT_EQ(std::to_string(*last), std::string(text->substr(0, text->find('\n'))));
  EXPECT_GE(*last, unsigned{CAP_AUDIT_READ});
}

}  // namespace
}  // namespace husk::linux
