#include <gtest/gtest.h>

#include "base/error.h"

namespace husk {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return fail(EINVAL, "value {} is not positive", v);
  return v;
}

Result<int> doubled(int v) {
  int x = HUSK_TRY(parse_positive(v).context("doubling"));
  return 2 * x;
}

Result<void> assign_style(int v, int& out) {
  HUSK_TRY_ASSIGN(out, parse_positive(v));
  return ok();
}

TEST(Error, ContextChainRendersOuterFirst) {
  auto r = doubled(-1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EINVAL);
  EXPECT_EQ(r.error().what(), "doubling: value -1 is not positive: Invalid argument");
}

TEST(Error, ValuesPassThrough) {
  auto r = doubled(4);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 8);
  int out = 0;
  ASSERT_TRUE(assign_style(3, out));
  EXPECT_EQ(out, 3);
}

TEST(Error, NonSystemErrorHasNoErrnoSuffix) {
  Error e{0, "config.json: process.args: must not be empty"};
  EXPECT_EQ(e.what(), "config.json: process.args: must not be empty");
}

}  // namespace
}  // namespace husk
