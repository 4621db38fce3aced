// linux.mountLabel: the runc rule that adds `context="LABEL"` to a mount's
// data (linux/mounts.h, pure) and the refusal on a host without SELinux.
#include <gtest/gtest.h>

#include "linux/mounts.h"
#include "linux/process.h"

namespace husk::linux {
namespace {

TEST(LinuxMountLabel, ContextOptionAppendedAsRuncDoes) {
  const std::string label = "system_u:object_r:container_file_t:s0:c1,c2";
  const std::string ctx = "context=\"system_u:object_r:container_file_t:s0:c1,c2\"";
  EXPECT_EQ(labelled_mount_data("tmpfs", "mode=755,size=65536k", label),
            "mode=755,size=65536k," + ctx);
  EXPECT_EQ(labelled_mount_data("tmpfs", "", label), ctx);
  EXPECT_EQ(labelled_mount_data("devpts", "newinstance,ptmxmode=0666", label),
            "newinstance,ptmxmode=0666," + ctx);
  EXPECT_EQ(labelled_mount_data("shm", "", label), ctx);
  // runc leaves these alone: proc and sysfs are never labelled, mqueue gets
  // the label as a file attribute, cgroups and binds take no data.
  for (const char* type : {"proc", "sysfs", "mqueue", "cgroup", "cgroup2", "bind"})
    EXPECT_EQ(labelled_mount_data(type, "a=b", label), "a=b") << type;
  // No label: the data as written.
  EXPECT_EQ(labelled_mount_data("tmpfs", "mode=755", ""), "mode=755");
}

TEST(LinuxMountLabel, RefusedWithoutSelinux) {
  EXPECT_TRUE(check_mount_label(""));
  if (host_selinux_enabled()) GTEST_SKIP() << "SELinux is enabled on this host";
  auto r = check_mount_label("system_u:object_r:container_file_t:s0");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(),
            "linux.mountLabel: \"system_u:object_r:container_file_t:s0\" needs SELinux, which "
            "is not enabled on this host");
}

}  // namespace
}  // namespace husk::linux
