// state.json as read back by every command after create: what save() writes
// parses, and anything else is an error (never an exception or a wild number).
#include <gtest/gtest.h>

#include "runtime/state.h"

namespace husk::runtime {
namespace {

TEST(StateJson, ReadsWhatSaveWrites) {
  auto s = parse_state_json(
      R"({"id":"web","init_process_pid":4242,"init_process_start":123456,"bundle":"/b",)"
      R"("rootfs":"/b/rootfs","created":"2026-12-03T14:00:00Z","owner":"",)"
      R"("annotations":{"a":"b","n":1},"cgroup_paths":{"":"/sys/fs/cgroup/x"},)"
      R"("cgroup_created":["/sys/fs/cgroup/x"],"poststart_hooks":true})");
  ASSERT_TRUE(s) << s.error().what();
  EXPECT_EQ(s->id, "web");
  EXPECT_EQ(s->pid, 4242);
  EXPECT_EQ(s->start_time, 123456u);
  EXPECT_EQ(s->rootfs, "/b/rootfs");
  EXPECT_EQ(s->annotations.size(), 1u);
  EXPECT_EQ(s->cgroup.paths.at(""), "/sys/fs/cgroup/x");
  EXPECT_TRUE(s->poststart_hooks);
  EXPECT_FALSE(s->poststop_hooks);
  EXPECT_TRUE(parse_state_json(R"({"id":"x","owner":null})"));
}

// Found by tests/fuzz (fuzz_state): a field of another type made nlohmann's
// value() throw (std::terminate), and a float pid was converted with undefined
// behaviour. Each is now an error naming the field.
TEST(StateJson, FieldOfAnotherTypeIsAnError) {
  for (const char* text : {R"({"id":5})", R"({"bundle":[]})", R"({"poststop_hooks":"yes"})",
                           R"({"init_process_pid":"12"})", R"({"init_process_start":true})"}) {
    auto s = parse_state_json(text);
    ASSERT_FALSE(s) << text;
    EXPECT_EQ(s.error().code, EINVAL) << text;
  }
  auto s = parse_state_json(R"({"id":{"deep":[1]}})");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "id: unexpected object value");
}

TEST(StateJson, PidOutOfRangeIsAnError) {
  for (const char* text : {R"({"init_process_pid":1e300})", R"({"init_process_pid":4294967296})",
                           R"({"init_process_pid":-1})", R"({"init_process_start":-5})",
                           R"({"init_process_pid":2.5})"}) {
    auto s = parse_state_json(text);
    EXPECT_FALSE(s) << text << " gave pid " << s->pid;
  }
}

TEST(StateJson, NotAnObjectIsAnError) {
  for (const char* text : {"", "[]", "{", "\"x\"", "nul"}) EXPECT_FALSE(parse_state_json(text));
}

}  // namespace
}  // namespace husk::runtime
