// sys::clone3_shared_vm and its stack: the child really runs in our memory,
// on the stack it was given, and its guard page stops an overflow.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "sys/process.h"

namespace husk::sys {
namespace {

struct Shared {
  int written = 0;
  uintptr_t stack_address = 0;
  pid_t seen_pid = 0;
};

void write_and_exit(void* arg) {
  auto* s = static_cast<Shared*>(arg);
  int local = 0;
  s->stack_address = reinterpret_cast<uintptr_t>(&local);
  s->seen_pid = ::getpid();
  s->written = 42;
  ::_exit(7);
}

void just_return(void*) {}

// Recurses until the stack runs out (the limit is never reached).
volatile int g_depth_limit = 1 << 30;
int deep(int n) {
  volatile char pad[4096];
  pad[0] = static_cast<char>(n);
  if (n >= g_depth_limit) return 0;
  return deep(n + 1) + pad[0];
}

void overflow(void*) { ::_exit(deep(0) == 0 ? 1 : 2); }

int wait_status(pid_t pid) {
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return status;
}

TEST(ChildStack, MapsTheSizeAskedForAboveAGuardPage) {
  auto stack = ChildStack::make(100000);
  ASSERT_TRUE(stack) << stack.error().what();
  EXPECT_TRUE(stack->valid());
  EXPECT_GE(stack->size(), 100000u);
  EXPECT_EQ(stack->size() % static_cast<size_t>(::sysconf(_SC_PAGESIZE)), 0u);
  ChildStack moved = std::move(*stack);
  EXPECT_TRUE(moved.valid());
  EXPECT_FALSE(stack->valid());
}

TEST(CloneSharedVm, ChildWritesOurMemoryFromItsOwnStack) {
  auto stack = ChildStack::make(64 * 1024);
  ASSERT_TRUE(stack);
  Shared s;
  auto pid = clone3_shared_vm(0, -1, *stack, write_and_exit, &s);
  if (!pid && pid.error().code == ENOSYS) GTEST_SKIP() << pid.error().what();
  ASSERT_TRUE(pid) << pid.error().what();
  int status = wait_status(*pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 7);
  // A copy of our memory would have left these as they were.
  EXPECT_EQ(s.written, 42);
  EXPECT_EQ(s.seen_pid, *pid);
  auto low = reinterpret_cast<uintptr_t>(stack->low());
  EXPECT_GE(s.stack_address, low);
  EXPECT_LT(s.stack_address, low + stack->size());
}

TEST(CloneSharedVm, EntryThatReturnsEndsTheChildWithZero) {
  auto stack = ChildStack::make(64 * 1024);
  ASSERT_TRUE(stack);
  auto pid = clone3_shared_vm(0, -1, *stack, just_return, nullptr);
  if (!pid && pid.error().code == ENOSYS) GTEST_SKIP() << pid.error().what();
  ASSERT_TRUE(pid) << pid.error().what();
  int status = wait_status(*pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(CloneSharedVm, OverflowHitsTheGuardPage) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan turns the SIGSEGV into its own report";
#endif
  auto stack = ChildStack::make(64 * 1024);
  ASSERT_TRUE(stack);
  auto pid = clone3_shared_vm(0, -1, *stack, overflow, nullptr);
  if (!pid && pid.error().code == ENOSYS) GTEST_SKIP() << pid.error().what();
  ASSERT_TRUE(pid) << pid.error().what();
  int status = wait_status(*pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGSEGV);
}

TEST(CloneSharedVm, BadFlagsAreAnError) {
  auto stack = ChildStack::make(64 * 1024);
  ASSERT_TRUE(stack);
  // CLONE_THREAD needs CLONE_SIGHAND: the kernel refuses, nothing runs.
  auto pid = clone3_shared_vm(CLONE_THREAD, -1, *stack, just_return, nullptr);
  ASSERT_FALSE(pid);
  EXPECT_TRUE(pid.error().code == EINVAL || pid.error().code == ENOSYS) << pid.error().what();
}

}  // namespace
}  // namespace husk::sys
