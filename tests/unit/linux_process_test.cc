// Process steps. Anything that changes credentials, limits or filters runs in
// a forked child, which reports back through a pipe; the finalize_process
// checks need root and skip otherwise.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>

#include "base/cleanup.h"
#include "base/file.h"
#include "child_test_util.h"
#include "linux/exec_lookup.h"
#include "linux/process.h"
#include "temp_dir_util.h"

namespace husk::linux {
namespace {

constexpr uint64_t bit(unsigned cap) { return uint64_t{1} << cap; }

using testing::run_in_child;

// The value of "Key:\t..." in /proc/<pid>/status text.
std::string status_field(const std::string& status, const std::string& key) {
  size_t pos = status.find("\n" + key + ":");
  if (pos == std::string::npos) return "<missing " + key + ">";
  pos += key.size() + 2;
  size_t end = status.find('\n', pos);
  std::string v = status.substr(pos, end - pos);
  while (!v.empty() && (v.front() == '\t' || v.front() == ' ')) v.erase(0, 1);
  while (!v.empty() && v.back() == ' ') v.pop_back();
  return v;
}

std::string hex16(uint64_t v) { return fmt::format("{:016x}", v); }

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("husk-proc") {}
  std::string make(const std::string& rel, mode_t mode) const {
    std::string p = path() + "/" + rel;
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    int fd = ::open(p.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, mode);
    if (fd >= 0) ::close(fd);
    ::chmod(p.c_str(), mode);
    return p;
  }
};

// ---- find_executable ----------------------------------------------------------------

TEST(ExecLookup, PathFromEnvTakesTheLastPathOrTheDefault) {
  EXPECT_EQ(path_from_env({"A=1", "PATH=/a", "PATHX=/x", "PATH=/b"}), "/b");
  EXPECT_EQ(path_from_env({"A=1"}), kDefaultPath);
  EXPECT_EQ(path_from_env({"PATH="}), "");
}

TEST(ExecLookup, SearchesPathInOrder) {
  TempDir t;
  std::string a = t.make("a/tool", 0755), b = t.make("b/tool", 0755);
  auto r = find_executable({"PATH=" + t.path() + "/a:" + t.path() + "/b"}, "tool");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(*r, a);
  r = find_executable({"PATH=" + t.path() + "/b/:" + t.path() + "/a"}, "tool");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(*r, b);
}

TEST(ExecLookup, SkipsNonExecutablesAndDirectories) {
  TempDir t;
  t.make("a/tool", 0644);
  std::filesystem::create_directories(t.path() + "/a/dir");
  std::filesystem::create_directories(t.path() + "/b/dir");
  std::string b = t.make("b/tool", 0750);
  std::string env = "PATH=" + t.path() + "/a:" + t.path() + "/b";
  auto r = find_executable({env}, "tool");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(*r, b);
  r = find_executable({env}, "dir");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "exec: \"dir\": executable file not found in $PATH");
}

TEST(ExecLookup, NotFoundMessageIsExact) {
  TempDir t;
  t.make("a/plain", 0644);  // present but not executable: Go reports "not found"
  for (const char* name : {"missing", "plain"}) {
    auto r = find_executable({"PATH=" + t.path() + "/a"}, name);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ENOENT);
    EXPECT_EQ(r.error().message,
              fmt::format("exec: \"{}\": executable file not found in $PATH", name));
  }
  // "PATH=" is an empty search list, not the default.
  auto r = find_executable({"PATH="}, "sh");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOENT);
}

TEST(ExecLookup, WithoutPathUsesTheDefault) {
  auto r = find_executable({"HOME=/"}, "sh");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_TRUE(r->ends_with("/sh")) << *r;
  EXPECT_TRUE(r->starts_with("/")) << *r;
}

TEST(ExecLookup, ArgWithSlashIsCheckedDirectly) {
  TempDir t;
  std::string exe = t.make("x/run", 0700), plain = t.make("x/data", 0644);
  auto r = find_executable({"PATH=/nonexistent"}, exe);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(*r, exe);

  r = find_executable({}, plain);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EACCES);
  EXPECT_EQ(r.error().message, fmt::format("exec: \"{}\": permission denied", plain));

  std::string gone = t.path() + "/x/gone";
  r = find_executable({}, gone);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOENT);
  EXPECT_EQ(r.error().message,
            fmt::format("exec: \"{}\": stat {}: no such file or directory", gone, gone));

  r = find_executable({}, t.path() + "/x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EISDIR);
}

TEST(ExecLookup, RelativeNamesResolveAgainstTheCwd) {
  TempDir t;
  t.make("bin/tool", 0755);
  t.make("bin/data", 0600);
  std::string old = std::filesystem::current_path().string();
  ASSERT_EQ(::chdir(t.path().c_str()), 0);
  Cleanup back([&] { (void)::chdir(old.c_str()); });

  auto r = find_executable({}, "bin/tool");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(*r, "bin/tool");
  r = find_executable({}, "./bin/data");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "exec: \"./bin/data\": permission denied");
  // An empty PATH element means the current directory.
  r = find_executable({"PATH=/nonexistent::" + t.path() + "/nothing"}, "tool");
  EXPECT_FALSE(r);
  ASSERT_EQ(::chdir("bin"), 0);
  r = find_executable({"PATH=/nonexistent:"}, "tool");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(*r, "./tool");
}

// ---- rlimits, oom score, labels -----------------------------------------------------

TEST(Process, RlimitLabels) {
  EXPECT_EQ(rlimit_label(RLIMIT_NOFILE), "RLIMIT_NOFILE");
  EXPECT_EQ(rlimit_label(RLIMIT_NPROC), "RLIMIT_NPROC");
  EXPECT_EQ(rlimit_label(99), "resource 99");
}

TEST(Process, RlimitErrorNamesTheResource) {
  // soft above hard fails with EINVAL before anything changes.
  auto r = apply_rlimits({{RLIMIT_NOFILE, 200, 100}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EINVAL);
  EXPECT_EQ(r.error().what(), "setrlimit RLIMIT_NOFILE: Invalid argument");
}

TEST(Process, RlimitsApplyInAChild) {
  std::string out = run_in_child([] {
    auto r = apply_rlimits({{RLIMIT_NOFILE, 64, 128}, {RLIMIT_CORE, 0, 0}});
    if (!r) return r.error().what();
    rlimit nofile{}, core{};
    ::getrlimit(RLIMIT_NOFILE, &nofile);
    ::getrlimit(RLIMIT_CORE, &core);
    return fmt::format("{}/{} {}/{}", nofile.rlim_cur, nofile.rlim_max, core.rlim_cur,
                       core.rlim_max);
  });
  EXPECT_EQ(out, "64/128 0/0");
}

TEST(Process, OomScoreAdjInAChild) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for a procfs of its own";
  std::string out = run_in_child([] {
    auto proc = Procfs::open();
    if (!proc) return proc.error().what();
    if (auto r = set_oom_score_adj(*proc, 500); !r) return r.error().what();
    auto v = read_file("/proc/self/oom_score_adj");
    return v ? *v : v.error().what();
  });
  EXPECT_EQ(out, "500\n");
}

TEST(Process, NoLabelsIsANoOp) {
  EXPECT_TRUE(apply_security_labels(Procfs{}, config::Process{}));
}

TEST(Process, AppArmorProfileWithoutAppArmorIsAnError) {
  auto enabled = read_file("/sys/module/apparmor/parameters/enabled");
  if (enabled && enabled->starts_with("Y")) GTEST_SKIP() << "apparmor is enabled here";
  config::Process p;
  p.apparmor_profile = "husk-test";
  auto r = apply_security_labels(Procfs{}, p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(),
            "apparmor profile \"husk-test\" requested but apparmor is not enabled on this host");
}

TEST(Process, SelinuxLabelWithoutSelinuxIsAnError) {
  auto fs = read_file("/proc/filesystems");
  if (fs && fs->find("\tselinuxfs") != std::string::npos) GTEST_SKIP() << "selinux is enabled";
  config::Process p;
  p.selinux_label = "system_u:system_r:container_t:s0";
  auto r = apply_security_labels(Procfs{}, p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(),
            "selinux label \"system_u:system_r:container_t:s0\" requested but selinux is not "
            "enabled on this host");
}

// ---- finalize_process (root) --------------------------------------------------------

config::Seccomp getppid_exdev_filter() {
  config::Seccomp s;  // default allow
  s.syscalls = {config::SeccompRule{{"getppid"}, config::SeccompAction::kErrno, EXDEV, {}}};
  return s;
}

template <class Filter>
std::string finalize_and_report(const config::Process& p, const Filter* s) {
  auto fd = finalize_process(p, s);
  if (!fd) return "ERR " + fd.error().what();
  std::string out;
  errno = 0;
  long ppid = ::syscall(SYS_getppid);
  out += fmt::format("getppid {} {}\n", ppid < 0 ? -1 : 1, ppid < 0 ? errno : 0);
  // Without CAP_SYS_RESOURCE, raising the hard limit must fail loudly.
  rlimit cur{};
  ::getrlimit(RLIMIT_NOFILE, &cur);
  auto r = apply_rlimits({{RLIMIT_NOFILE, cur.rlim_max, cur.rlim_max + 1}});
  out += "raise " + (r ? std::string("ok") : r.error().what()) + "\n";
  auto status = read_file("/proc/self/status");
  return out + (status ? *status : status.error().what());
}

TEST(FinalizeProcess, UserCapsNoNewPrivsAndLateSeccomp) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  config::Process p;
  p.user.uid = 1000;
  p.user.gid = 1001;
  p.user.additional_gids = {10, 20};
  p.user.umask = 027;
  p.no_new_privileges = true;
  config::Capabilities caps;
  caps.bounding = bit(CAP_CHOWN) | bit(CAP_KILL) | bit(CAP_NET_BIND_SERVICE) | bit(CAP_AUDIT_READ);
  caps.permitted = caps.effective = bit(CAP_NET_BIND_SERVICE) | bit(CAP_AUDIT_READ);
  caps.inheritable = bit(CAP_NET_BIND_SERVICE);
  caps.ambient = bit(CAP_NET_BIND_SERVICE);
  p.capabilities = caps;
  auto filter = getppid_exdev_filter();

  std::string out = run_in_child([&] { return finalize_and_report(p, &filter); });
  ASSERT_FALSE(out.starts_with("ERR")) << out;
  EXPECT_NE(out.find(fmt::format("getppid -1 {}\n", EXDEV)), std::string::npos) << out;
  EXPECT_NE(out.find("raise setrlimit RLIMIT_NOFILE: Operation not permitted\n"), std::string::npos)
      << out;
  EXPECT_EQ(status_field(out, "Uid"), "1000\t1000\t1000\t1000");
  EXPECT_EQ(status_field(out, "Gid"), "1001\t1001\t1001\t1001");
  EXPECT_EQ(status_field(out, "Groups"), "10 20");
  EXPECT_EQ(status_field(out, "Umask"), "0027");
  EXPECT_EQ(status_field(out, "CapInh"), hex16(caps.inheritable));
  EXPECT_EQ(status_field(out, "CapPrm"), hex16(caps.permitted));
  EXPECT_EQ(status_field(out, "CapEff"), hex16(caps.effective));
  EXPECT_EQ(status_field(out, "CapBnd"), hex16(caps.bounding));
  EXPECT_EQ(status_field(out, "CapAmb"), hex16(caps.ambient));
  EXPECT_EQ(status_field(out, "NoNewPrivs"), "1");
  EXPECT_EQ(status_field(out, "Seccomp"), "2");
}

TEST(FinalizeProcess, EarlySeccompAndNoCapabilities) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  config::Process p;  // root, no capabilities object: every set empty
  auto filter = getppid_exdev_filter();
  std::string out = run_in_child([&] { return finalize_and_report(p, &filter); });
  ASSERT_FALSE(out.starts_with("ERR")) << out;
  EXPECT_NE(out.find(fmt::format("getppid -1 {}\n", EXDEV)), std::string::npos) << out;
  EXPECT_EQ(status_field(out, "Uid"), "0\t0\t0\t0");
  EXPECT_EQ(status_field(out, "Groups"), "");
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
    EXPECT_EQ(status_field(out, set), hex16(0)) << set;
  EXPECT_EQ(status_field(out, "NoNewPrivs"), "0");
  EXPECT_EQ(status_field(out, "Seccomp"), "2");
}

TEST(FinalizeProcess, NoSeccompLeavesFilterOff) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  config::Process p;
  p.capabilities = config::Capabilities{bit(CAP_KILL), bit(CAP_KILL), 0, bit(CAP_KILL), 0};
  std::string out = run_in_child(
      [&] { return finalize_and_report(p, static_cast<const config::Seccomp*>(nullptr)); });
  ASSERT_FALSE(out.starts_with("ERR")) << out;
  EXPECT_NE(out.find("getppid 1 0\n"), std::string::npos) << out;
  EXPECT_EQ(status_field(out, "Seccomp"), "0");
  EXPECT_EQ(status_field(out, "CapBnd"), hex16(bit(CAP_KILL)));
  EXPECT_EQ(status_field(out, "CapEff"), hex16(bit(CAP_KILL)));
}

TEST(FinalizeProcess, BadProfileChangesNothing) {
  // Runs unprivileged too: the profile is compiled before any step.
  config::Process p;
  p.no_new_privileges = true;
  p.user.umask = 077;
  config::Seccomp bad = getppid_exdev_filter();
  bad.architectures = {"SCMP_ARCH_NOPE"};
  std::string out = run_in_child([&] {
    auto fd = finalize_process(p, &bad);
    auto status = read_file("/proc/self/status");
    return (fd ? std::string("ok") : fd.error().what()) + "\n" + status.value_or("");
  });
  EXPECT_TRUE(out.starts_with("unknown seccomp architecture \"SCMP_ARCH_NOPE\"\n")) << out;
  EXPECT_EQ(status_field(out, "NoNewPrivs"), "0");
  EXPECT_NE(status_field(out, "Umask"), "0077");
}

TEST(FinalizeProcess, PrecompiledFilter) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  auto compiled = compile_seccomp(getppid_exdev_filter());
  ASSERT_TRUE(compiled) << compiled.error().what();
  config::Process p;
  p.user.uid = 1234;
  p.user.gid = 1234;
  std::string out = run_in_child([&] { return finalize_and_report(p, &*compiled); });
  ASSERT_FALSE(out.starts_with("ERR")) << out;
  EXPECT_NE(out.find(fmt::format("getppid -1 {}\n", EXDEV)), std::string::npos) << out;
  EXPECT_EQ(status_field(out, "Uid"), "1234\t1234\t1234\t1234");
  EXPECT_EQ(status_field(out, "Seccomp"), "2");
}

// A filter with SCMP_ACT_NOTIFY rules: the sink gets the listener fd as soon
// as it is loaded (before the user switch without no_new_privs, after it
// with), and the fd is closed once the sink returns.
struct SinkRecord {
  int fd = -1;
  std::string kind;
  uid_t euid = 0;
};

Result<void> record_sink(int fd, void* arg) {
  auto* r = static_cast<SinkRecord*>(arg);
  r->fd = fd;
  r->euid = ::geteuid();
  char link[64] = {};
  std::string proc = "/proc/self/fd/" + std::to_string(fd);
  if (::readlink(proc.c_str(), link, sizeof link - 1) > 0) r->kind = link;
  return ok();
}

std::string finalize_with_sink(bool no_new_privs) {
  config::Process p;
  p.user.uid = 1000;
  p.user.gid = 1000;
  p.no_new_privileges = no_new_privs;
  config::Seccomp s;
  s.listener_path = "/unused";
  s.syscalls = {config::SeccompRule{{"getppid"}, config::SeccompAction::kNotify, {}, {}}};
  SinkRecord rec;
  auto r = finalize_process(p, &s, NotifyFdSink{.send = record_sink, .arg = &rec});
  if (!r) return "ERR " + r.error().what();
  bool closed = ::fcntl(rec.fd, F_GETFD) < 0 && errno == EBADF;
  return fmt::format("{} euid={} closed={}", rec.kind, rec.euid, closed);
}

TEST(FinalizeProcess, NotifyFdGoesToTheSinkAtTheLoad) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  EXPECT_EQ(run_in_child([] { return finalize_with_sink(false); }),
            "anon_inode:seccomp notify euid=0 closed=true");
  EXPECT_EQ(run_in_child([] { return finalize_with_sink(true); }),
            "anon_inode:seccomp notify euid=1000 closed=true");
}

TEST(FinalizeProcess, NotifyWithoutASinkChangesNothing) {
  config::Process p;
  p.no_new_privileges = true;
  config::Seccomp s;
  s.syscalls = {config::SeccompRule{{"getppid"}, config::SeccompAction::kNotify, {}, {}}};
  auto compiled = compile_seccomp(s);
  ASSERT_TRUE(compiled) << compiled.error().what();
  std::string out = run_in_child([&] {
    auto r = finalize_process(p, &*compiled);
    auto status = read_file("/proc/self/status");
    return (r ? std::string("ok") : r.error().what()) + "\n" + status.value_or("");
  });
  EXPECT_TRUE(out.starts_with("seccomp: SCMP_ACT_NOTIFY rules need a listener for the notify "
                              "fd: Invalid argument\n"))
      << out;
  EXPECT_EQ(status_field(out, "NoNewPrivs"), "0");
  EXPECT_EQ(status_field(out, "Seccomp"), "0");
}

// Whether setgroups is denied is learnt from setgroups(2), not from
// /proc/self/setgroups: an empty list is then fine, any group an error.
TEST(FinalizeProcess, SetgroupsDeniedInAUserNamespace) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  auto in_userns = [](std::vector<uint32_t> gids) {
    return run_in_child([&] {
      if (::unshare(CLONE_NEWUSER) < 0) return std::string("unshare");
      if (!write_file("/proc/self/setgroups", "deny") ||
          !write_file("/proc/self/uid_map", "0 0 1") || !write_file("/proc/self/gid_map", "0 0 1"))
        return std::string("maps");
      config::Process p;
      p.user.additional_gids = gids;
      p.capabilities = config::Capabilities{};
      auto r = finalize_process(p, nullptr);
      return r ? std::string("ok") : r.error().what();
    });
  };
  EXPECT_EQ(in_userns({}), "ok");
  EXPECT_EQ(in_userns({0}),
            "setgroups 0: setgroups is denied in this user namespace: Operation not permitted");
}

TEST(FinalizeProcess, FailingStepIsNamed) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  config::Process p;
  config::Capabilities caps;
  caps.bounding = bit(CAP_KILL);
  caps.inheritable = bit(CAP_SYS_ADMIN);  // outside the bounding set: capset refuses
  p.capabilities = caps;
  std::string out = run_in_child([&] {
    auto fd = finalize_process(p, nullptr);
    return fd ? std::string("ok") : fd.error().what();
  });
  EXPECT_EQ(out, "set capabilities: capset: Operation not permitted");
}

}  // namespace
}  // namespace husk::linux
