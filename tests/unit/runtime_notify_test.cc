// The pure parts of runtime/notify.h: how NOTIFY_SOCKET and LISTEN_FDS change
// the container's config and options.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "runtime/notify.h"

namespace husk::runtime {
namespace {

using Env = std::vector<std::string>;

TEST(SetEnv, AppendsANewKey) {
  Env env = {"PATH=/bin"};
  set_env(env, "LISTEN_FDS", "2");
  EXPECT_EQ(env, (Env{"PATH=/bin", "LISTEN_FDS=2"}));
}

TEST(SetEnv, ReplacesTheFirstAndDropsLaterDuplicates) {
  Env env = {"A=1", "LISTEN_PID=9", "B=2", "LISTEN_PID=8"};
  set_env(env, "LISTEN_PID", "1");
  EXPECT_EQ(env, (Env{"A=1", "LISTEN_PID=1", "B=2"}));
}

TEST(SetEnv, MatchesWholeKeysOnly) {
  Env env = {"LISTEN_FDS_EXTRA=x", "LISTEN_FD=y", "LISTEN_FDS"};
  set_env(env, "LISTEN_FDS", "1");
  EXPECT_EQ(env, (Env{"LISTEN_FDS_EXTRA=x", "LISTEN_FD=y", "LISTEN_FDS", "LISTEN_FDS=1"}));
}

TEST(ListenFdsCount, CountsOnlyForOurPid) {
  EXPECT_EQ(listen_fds_count("2", "1234", 1234), 2);
  EXPECT_EQ(listen_fds_count("2", "1235", 1234), 0);
  EXPECT_EQ(listen_fds_count("2", nullptr, 1234), 0);
  EXPECT_EQ(listen_fds_count(nullptr, "1234", 1234), 0);
}

TEST(ListenFdsCount, MalformedValuesCountNothing) {
  for (const char* bad : {"", "0", "-1", "2x", " 2", "99999999999", "1048577"})
    EXPECT_EQ(listen_fds_count(bad, "7", 7), 0) << bad;
  EXPECT_EQ(listen_fds_count("1", "7x", 7), 0);
  EXPECT_EQ(listen_fds_count("1048576", "7", 7), 1048576);
}

TEST(AddListenFds, PassesThemAheadOfPreservedFds) {
  config::Container c;
  c.process.env = {"PATH=/bin", "LISTEN_FDS=5"};
  CreateOptions opts;
  opts.preserve_fds = 2;
  add_listen_fds(c, opts, 3);
  EXPECT_EQ(opts.preserve_fds, 5);  // fds 3..5 activation, 6..7 preserved
  EXPECT_EQ(c.process.env, (Env{"PATH=/bin", "LISTEN_FDS=3", "LISTEN_PID=1"}));
}

TEST(AddListenFds, NoneChangesNothing) {
  config::Container c;
  c.process.env = {"PATH=/bin"};
  CreateOptions opts;
  add_listen_fds(c, opts, 0);
  EXPECT_EQ(opts.preserve_fds, 0);
  EXPECT_EQ(c.process.env, (Env{"PATH=/bin"}));
}

TEST(AddNotifySocket, BindsTheStateDirsNotifyDirReadOnlyAndSetsTheEnv) {
  config::Container c;
  c.process.env = {"NOTIFY_SOCKET=/elsewhere", "PATH=/bin"};
  CreateOptions opts;
  opts.root = "/run/husk/";
  opts.id = "web";
  ASSERT_TRUE(add_notify_socket(c, opts, "/run/systemd/notify"));
  EXPECT_EQ(opts.notify_socket, "/run/systemd/notify");
  EXPECT_EQ(c.process.env, (Env{"NOTIFY_SOCKET=/run/notify/notify.sock", "PATH=/bin"}));
  ASSERT_EQ(c.mounts.size(), 1u);
  const config::Mount& m = c.mounts[0];
  EXPECT_EQ(m.destination, "/run/notify");
  EXPECT_EQ(m.source, "/run/husk/web/notify");
  EXPECT_TRUE(m.bind());
  unsigned long want = MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  EXPECT_EQ(m.flags & want, want);
  EXPECT_EQ(m.flags & MS_REC, 0u);
}

TEST(AddNotifySocket, ARelativeRootIsMadeAbsolute) {
  config::Container c;
  CreateOptions opts;
  opts.root = "state";
  opts.id = "x";
  ASSERT_TRUE(add_notify_socket(c, opts, "@notify"));
  ASSERT_EQ(c.mounts.size(), 1u);
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
  EXPECT_EQ(c.mounts[0].source, std::string(cwd) + "/state/x/notify");
}

TEST(AddNotifySocket, WithoutASocketNothingChanges) {
  config::Container c;
  CreateOptions opts;
  ASSERT_TRUE(add_notify_socket(c, opts, ""));
  EXPECT_TRUE(c.mounts.empty());
  EXPECT_TRUE(c.process.env.empty());
  EXPECT_TRUE(opts.notify_socket.empty());
}

}  // namespace
}  // namespace husk::runtime
