#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "base/file.h"
#include "child_test_util.h"
#include "linux/capabilities.h"
#include "linux/procfs.h"

namespace husk::linux {
namespace {

using testing::run_in_child;

TEST(ProcPath, OnlyPlainRelativePaths) {
  EXPECT_TRUE(valid_proc_path("self/oom_score_adj"));
  EXPECT_TRUE(valid_proc_path("thread-self/attr/apparmor/exec"));
  EXPECT_TRUE(valid_proc_path("sys/net/ipv4/conf/eth0.100/forwarding"));
  EXPECT_TRUE(valid_proc_path("1234/uid_map"));
  EXPECT_FALSE(valid_proc_path(""));
  EXPECT_FALSE(valid_proc_path("/proc/self/status"));
  EXPECT_FALSE(valid_proc_path("self/../1/status"));
  EXPECT_FALSE(valid_proc_path(".."));
  EXPECT_FALSE(valid_proc_path("./self"));
  EXPECT_FALSE(valid_proc_path("self//status"));
  EXPECT_FALSE(valid_proc_path("self/"));
}

// A kernel that knows capabilities 0..last.
auto kernel_knowing(unsigned last) {
  return [last](unsigned cap) { return cap <= last ? 1 : 0; };
}

TEST(CapProbe, FindsTheLastKnownCapability) {
  for (unsigned last : {0u, 1u, 31u, 32u, 40u, 62u, 63u}) {
    auto r = highest_known_cap(kernel_knowing(last));
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(*r, last);
  }
}

TEST(CapProbe, FewProbes) {
  int calls = 0;
  auto r = highest_known_cap([&](unsigned cap) { return ++calls, cap <= 40 ? 1 : 0; });
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 40u);
  EXPECT_LE(calls, 8);
}

TEST(CapProbe, FailuresAreErrors) {
  auto none = highest_known_cap([](unsigned) { return 0; });
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().what(), "probe capability 0: unknown to the kernel: Invalid argument");
  auto denied = highest_known_cap([](unsigned cap) { return cap < 20 ? 1 : -EPERM; });
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, EPERM);
}

TEST(CapProbe, MatchesTheKernel) {
  auto last = probe_last_cap();
  ASSERT_TRUE(last) << last.error().what();
  auto text = read_file("/proc/sys/kernel/cap_last_cap");
  ASSERT_TRUE(text);
  EXPECT_EQ(fmt::format("{}\n", *last), *text);
}

TEST(Procfs, NoHandleFailsEveryOpen) {
  Procfs none;
  auto fd = none.open_file("self/status", O_RDONLY);
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().what(), "/proc/self/status: no procfs handle: Bad file descriptor");
}

TEST(Procfs, OpensBeneathAndRefusesTheRest) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for a procfs of its own";
  auto proc = Procfs::open();
  ASSERT_TRUE(proc) << proc.error().what();
  auto status = proc->read("self/status");
  ASSERT_TRUE(status) << status.error().what();
  EXPECT_NE(status->find(fmt::format("\nPid:\t{}\n", ::getpid())), std::string::npos);
  auto sys = proc->read("sys/kernel/ostype");
  ASSERT_TRUE(sys) << sys.error().what();
  EXPECT_EQ(*sys, "Linux\n");
  // Magic links (fd/, exe, ns/) lead out of procfs: refused.
  auto magic = proc->open_file("self/fd/0", O_RDONLY);
  ASSERT_FALSE(magic);
  EXPECT_EQ(magic.error().code, ELOOP);
  auto up = proc->open_file("self/../../etc/passwd", O_RDONLY);
  ASSERT_FALSE(up);
  EXPECT_EQ(up.error().what(), "/proc/self/../../etc/passwd: invalid path: Invalid argument");
}

// The attack the handle exists for: a file bound over a /proc file takes
// writes made by path; the private instance has no such mount.
TEST(Procfs, ABindOverProcDoesNotTakeTheWrite) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for mount namespaces";
  std::string dir = "/tmp/husk-procfs-test." + std::to_string(::getpid());
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  std::string sentinel = dir + "/sentinel";
  ASSERT_TRUE(write_file_atomic(sentinel, "sentinel\n"));
  std::string out = run_in_child([&] {
    if (::unshare(CLONE_NEWNS | CLONE_NEWUTS) < 0) return std::string("unshare");
    if (::mount(nullptr, "/", nullptr, MS_PRIVATE | MS_REC, nullptr) < 0)
      return std::string("private");
    if (::mount(sentinel.c_str(), "/proc/sys/kernel/domainname", nullptr, MS_BIND, nullptr) < 0)
      return std::string("bind");
    auto proc = Procfs::open();
    if (!proc) return proc.error().what();
    if (auto r = proc->write("sys/kernel/domainname", "husk-private"); !r) return r.error().what();
    auto v = proc->read("sys/kernel/domainname");
    return v ? *v : v.error().what();
  });
  EXPECT_EQ(out, "husk-private\n");
  EXPECT_EQ(read_file(sentinel).value_or("?"), "sentinel\n");
  ::unlink(sentinel.c_str());
  ::rmdir(dir.c_str());
}

// Where the kernel refuses a new proc instance (a user namespace that does
// not own the pid namespace), a detached clone of /proc's top mount serves,
// and a mount its owner put beneath /proc is not part of it.
TEST(Procfs, CloneOfProcWhereANewInstanceIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for user namespaces";
  std::string out = run_in_child([] {
    if (::unshare(CLONE_NEWUSER) < 0) return std::string("unshare user");
    (void)write_file("/proc/self/setgroups", "deny");
    if (!write_file("/proc/self/uid_map", "0 0 1")) return std::string("uid_map");
    if (!write_file("/proc/self/gid_map", "0 0 1")) return std::string("gid_map");
    if (::unshare(CLONE_NEWNS | CLONE_NEWUTS) < 0) return std::string("unshare mount");
    UniqueFd fs(::fsopen("proc", FSOPEN_CLOEXEC));
    if (fs && ::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) == 0)
      return std::string("a new proc instance was allowed");
    if (::mount("tmpfs", "/proc/sys/kernel", "tmpfs", 0, nullptr) < 0) return std::string("cover");
    if (!write_file_atomic("/proc/sys/kernel/domainname", "fake\n"))
      return std::string("fake file");
    auto proc = Procfs::open();
    if (!proc) return proc.error().what();
    if (auto r = proc->write("sys/kernel/domainname", "husk-clone"); !r) return r.error().what();
    auto v = proc->read("sys/kernel/domainname");
    auto fake = read_file("/proc/sys/kernel/domainname");
    return (v ? *v : v.error().what()) + fake.value_or("?");
  });
  EXPECT_EQ(out, "husk-clone\nfake\n");
}

}  // namespace
}  // namespace husk::linux
