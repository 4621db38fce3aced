#include <signal.h>
#include <sys/resource.h>

#include <gtest/gtest.h>

#include "spec/names.h"

namespace husk::spec {
namespace {

TEST(SpecNames, Capabilities) {
  EXPECT_EQ(capability_from_name("CAP_CHOWN"), 0);
  EXPECT_EQ(capability_from_name("CAP_SYS_ADMIN"), 21);
  EXPECT_EQ(capability_from_name("CAP_AUDIT_WRITE"), 29);
  EXPECT_EQ(capability_from_name("CAP_PERFMON"), 38);
  EXPECT_EQ(capability_from_name("CAP_CHECKPOINT_RESTORE"), 40);
  EXPECT_FALSE(capability_from_name("cap_chown"));
  EXPECT_FALSE(capability_from_name("CHOWN"));
  EXPECT_FALSE(capability_from_name(""));
  EXPECT_EQ(last_known_capability(), 40);
  EXPECT_EQ(capability_name(7), "CAP_SETUID");
  EXPECT_EQ(capability_name(41), "");
  EXPECT_EQ(capability_name(-1), "");
  auto all = all_capability_names();
  ASSERT_EQ(all.size(), 41u);
  for (int i = 0; i <= last_known_capability(); ++i) {
    EXPECT_EQ(all[static_cast<size_t>(i)], capability_name(i));
    EXPECT_EQ(capability_from_name(all[static_cast<size_t>(i)]), i);
  }
}

TEST(SpecNames, Signals) {
  EXPECT_EQ(signal_from_string("TERM"), SIGTERM);
  EXPECT_EQ(signal_from_string("SIGTERM"), SIGTERM);
  EXPECT_EQ(signal_from_string("sigterm"), SIGTERM);
  EXPECT_EQ(signal_from_string("kill"), SIGKILL);
  EXPECT_EQ(signal_from_string("9"), 9);
  EXPECT_EQ(signal_from_string("0"), 0);
  EXPECT_EQ(signal_from_string("WINCH"), SIGWINCH);
  EXPECT_EQ(signal_from_string("SIGIOT"), SIGABRT);
  EXPECT_EQ(signal_from_string("RTMIN"), SIGRTMIN);
  EXPECT_EQ(signal_from_string("RTMIN+3"), SIGRTMIN + 3);
  EXPECT_EQ(signal_from_string("SIGRTMAX-1"), SIGRTMAX - 1);
  EXPECT_FALSE(signal_from_string("RTMIN-1"));
  EXPECT_FALSE(signal_from_string("RTMIN+99"));
  EXPECT_FALSE(signal_from_string("NOPE"));
  EXPECT_FALSE(signal_from_string(""));
  EXPECT_FALSE(signal_from_string("SIG"));
  EXPECT_FALSE(signal_from_string("-1"));
  EXPECT_FALSE(signal_from_string("65"));
  EXPECT_FALSE(signal_from_string("9x"));
  EXPECT_EQ(signal_name(SIGHUP), "SIGHUP");
  EXPECT_EQ(signal_name(SIGSTKFLT), "SIGSTKFLT");
  EXPECT_EQ(signal_name(SIGSYS), "SIGSYS");
  EXPECT_EQ(signal_name(0), "");
  auto all = all_signal_names();
  ASSERT_EQ(all.size(), 31u);
  for (size_t i = 0; i < all.size(); ++i) {
    int sig = static_cast<int>(i) + 1;
    EXPECT_EQ(signal_from_string(all[i]), sig) << all[i];
    EXPECT_EQ(signal_name(sig), all[i]);
  }
}

TEST(SpecNames, Rlimits) {
  EXPECT_EQ(rlimit_from_name("RLIMIT_NOFILE"), RLIMIT_NOFILE);
  EXPECT_EQ(rlimit_from_name("RLIMIT_CPU"), RLIMIT_CPU);
  EXPECT_EQ(rlimit_from_name("RLIMIT_RTTIME"), RLIMIT_RTTIME);
  EXPECT_FALSE(rlimit_from_name("NOFILE"));
  EXPECT_FALSE(rlimit_from_name("rlimit_nofile"));
  for (int r = 0; r < RLIMIT_NLIMITS; ++r) {
    auto name = rlimit_name(r);
    ASSERT_FALSE(name.empty()) << r;
    EXPECT_EQ(rlimit_from_name(name), r);
  }
}

}  // namespace
}  // namespace husk::spec
