// Container records (manage/containers.h), the monitor's back-off, and what `husk ps` prints
// from them (front/ps_format.h).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "front/ps_format.h"
#include "manage/containers.h"
#include "manage/monitor.h"

namespace husk::manage {
namespace {

using namespace std::chrono_literals;

Record sample_record() {
  Record r;
  r.id = std::string(64, 'a');
  r.name = "web";
  r.created = "2026-12-04T10:00:00.123456789Z";
  r.image = "busybox";
  r.image_id = "sha256:" + std::string(64, 'b');
  r.command = {"httpd", "-f"};
  r.args = {"-d", "--name", "web", "busybox", "httpd", "-f"};
  r.cwd = "/root";
  r.caller_env = {{"TOKEN", "x y"}};
  r.labels = {{"tier", "web"}};
  r.ports = {"8080:80"};
  r.restart = {RestartPolicy::Kind::kOnFailure, 3};
  r.stop_signal = "SIGQUIT";
  r.stop_timeout = 5;
  r.log_max_size = 1 << 20;
  r.log_max_files = 3;
  r.anonymous_volumes = {{"/data", std::string(64, 'c')}};
  return r;
}

TEST(ManageRecord, RoundTrips) {
  Record r = sample_record();
  auto back = parse_record(record_json(r));
  ASSERT_TRUE(back) << back.error().what();
  EXPECT_EQ(back->id, r.id);
  EXPECT_EQ(back->name, r.name);
  EXPECT_EQ(back->args, r.args);
  EXPECT_EQ(back->caller_env, r.caller_env);
  EXPECT_EQ(back->labels, r.labels);
  EXPECT_EQ(back->restart, r.restart);
  EXPECT_EQ(back->stop_timeout, 5);
  EXPECT_EQ(back->log_max_files, 3);
  EXPECT_EQ(back->anonymous_volumes, r.anonymous_volumes);
}

TEST(ManageRecord, OlderRecordsWithoutAnonymousVolumesStillRead) {
  auto old = parse_record(R"({"id": "ab", "name": "web", "args": ["--", "true"]})");
  ASSERT_TRUE(old) << old.error().what();
  EXPECT_TRUE(old->anonymous_volumes.empty());
  EXPECT_FALSE(parse_record(R"({"name": "web", "anonymous_volumes": ["/data"]})"));
  EXPECT_FALSE(parse_record(R"({"name": "web", "anonymous_volumes": {"/data": 7}})"));
}

TEST(ManageRecord, HostileOrDamagedTextIsAnErrorNamingTheFile) {
  for (const char* bad : {"", "[]", "{", R"({"name": 7})", R"({"name": "../etc"})",
                          R"({"name": "web", "restart": "sometimes"})"}) {
    auto r = parse_record(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().what().find("record.json"), std::string::npos) << r.error().what();
  }
  EXPECT_FALSE(parse_record(std::string(2 << 20, ' ')));  // bigger than any record
}

TEST(ManageStatus, RoundTripsWithItsKeeper) {
  Status s;
  s.state = "exited";
  s.exit_code = 137;
  s.restarts = 2;
  s.keeper = sys::ProcessRef{1234, 5678};
  s.error = "its monitor is gone";
  auto back = parse_status(status_json(s));
  ASSERT_TRUE(back) << back.error().what();
  EXPECT_EQ(back->state, "exited");
  EXPECT_EQ(back->exit_code, 137);
  EXPECT_EQ(back->restarts, 2);
  ASSERT_TRUE(back->keeper);
  EXPECT_EQ(*back->keeper, (sys::ProcessRef{1234, 5678}));
  EXPECT_FALSE(parse_status(R"({"keeper": "not a ref"})"));
  // Numbers that do not fit (nlohmann would convert them with undefined behaviour).
  EXPECT_FALSE(parse_status(R"({"pid": 88888888888888888888888888})"));
  EXPECT_FALSE(parse_status(R"({"pid": 4294967296})"));
  EXPECT_FALSE(parse_status(R"({"exit_code": 1.5})"));
  EXPECT_FALSE(parse_status(R"({"restarts": "3"})"));
  EXPECT_FALSE(parse_record(R"({"name": "web", "log_max_size": -1})"));
}

TEST(ManageRecord, RestartPolicies) {
  using K = RestartPolicy::Kind;
  EXPECT_EQ(parse_restart_policy("no")->kind, K::kNo);
  EXPECT_EQ(parse_restart_policy("always")->kind, K::kAlways);
  EXPECT_EQ(parse_restart_policy("unless-stopped")->kind, K::kUnlessStopped);
  EXPECT_EQ(*parse_restart_policy("on-failure:4"), (RestartPolicy{K::kOnFailure, 4}));
  EXPECT_EQ(*parse_restart_policy("on-failure"), (RestartPolicy{K::kOnFailure, 0}));
  for (const char* bad : {"sometimes", "on-failure:", "on-failure:x", "on-failure:-1", "always:3"})
    EXPECT_FALSE(parse_restart_policy(bad)) << bad;
  EXPECT_EQ(format_restart_policy({K::kOnFailure, 4}), "on-failure:4");
}

TEST(ManageRecord, NamesAreDockers) {
  for (const char* good : {"web", "a", "web-1.2_x", "A9"}) EXPECT_TRUE(check_name(good)) << good;
  for (const char* bad : {"", "-web", ".web", "we/b", "we b", "..", "ü"})
    EXPECT_FALSE(check_name(bad)) << bad;
  EXPECT_FALSE(check_name(std::string(129, 'a')));
}

TEST(ManageMonitor, BackOffDoublesToAMinute) {
  EXPECT_EQ(restart_delay(0), 100ms);
  EXPECT_EQ(restart_delay(1), 200ms);
  EXPECT_EQ(restart_delay(2), 400ms);
  EXPECT_EQ(restart_delay(9), 51200ms);
  EXPECT_EQ(restart_delay(10), 60000ms);
  EXPECT_EQ(restart_delay(1000), 60000ms);
}

class ManageStore : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/husk-manage-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string root_;
};

TEST_F(ManageStore, CreateClaimsTheNameOnceAndFindsByNameIdOrPrefix) {
  Store store(root_);
  Record a = sample_record();
  ASSERT_TRUE(store.create(a));
  Record clash = sample_record();
  clash.id = std::string(64, 'c');
  auto again = store.create(clash);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().what(),
            "the name \"web\" is in use by container aaaaaaaaaaaa: remove it (husk rm) or choose "
            "another name");
  Record b = sample_record();
  b.name = "db";
  b.id = "ab" + std::string(62, '0');
  b.created = "2026-12-04T11:00:00Z";
  ASSERT_TRUE(store.create(b));
  EXPECT_EQ(store.find("web")->record.id, a.id);
  EXPECT_EQ(store.find(a.id)->record.name, "web");
  EXPECT_EQ(store.find("aaaa")->record.name, "web");
  auto ambiguous = store.find("a");  // both ids start with "a"
  ASSERT_FALSE(ambiguous);
  EXPECT_EQ(ambiguous.error().what(), "container \"a\": the prefix matches 2 containers");
  auto missing = store.find("nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().what(), "no such container: nope");
  auto all = store.list();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].record.name, "web");  // oldest first
  ASSERT_TRUE(store.remove("web"));
  EXPECT_FALSE(std::filesystem::exists(store.container_dir("web")));
}

TEST_F(ManageStore, AStatusWhoseKeeperIsGoneIsExitedWithTheReason) {
  Store store(root_);
  Record r = sample_record();
  ASSERT_TRUE(store.create(r));
  Status s;
  s.state = "running";
  s.keeper = sys::ProcessRef{::getpid(), 1};  // our pid, but not our start time: a reused pid
  ASSERT_TRUE(store.save_status("web", s));
  auto c = store.load("web");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->state, State::kExited);
  EXPECT_NE(c->status.error.find("monitor is gone"), std::string::npos);
  s.keeper = keeper_ref(::getpid());
  s.state = "paused";
  ASSERT_TRUE(store.save_status("web", s));
  EXPECT_EQ(store.load("web")->state, State::kPaused);
}

}  // namespace
}  // namespace husk::manage

namespace husk::front {
namespace {

manage::Container container(std::string name, manage::State state, int code = 0) {
  manage::Container c;
  c.record.id = std::string(64, name[0]);
  c.record.name = std::move(name);
  c.record.created = "2026-12-04T10:00:00Z";
  c.record.image = "busybox";
  c.record.command = {"sh", "-c", "sleep 1000; echo a long command"};
  c.record.labels = {{"tier", "web"}};
  c.state = state;
  c.status.started_at = "2026-12-04T10:00:05Z";
  c.status.finished_at = "2026-12-04T10:01:00Z";
  c.status.exit_code = code;
  return c;
}

constexpr int64_t kNow = 1796378465;  // 2026-12-04T10:01:05Z

TEST(PsFormat, DockersHumanDurations) {
  EXPECT_EQ(human_duration(0), "Less than a second");
  EXPECT_EQ(human_duration(1), "1 second");
  EXPECT_EQ(human_duration(59), "59 seconds");
  EXPECT_EQ(human_duration(60), "About a minute");
  EXPECT_EQ(human_duration(300), "5 minutes");
  EXPECT_EQ(human_duration(3600), "About an hour");
  EXPECT_EQ(human_duration(3 * 3600), "3 hours");
  EXPECT_EQ(human_duration(3 * 86400), "3 days");
  EXPECT_EQ(human_duration(21 * 86400), "3 weeks");
  EXPECT_EQ(epoch_seconds("2026-12-04T10:01:05.999Z"), kNow);
  EXPECT_EQ(epoch_seconds("garbage"), 0);
}

TEST(PsFormat, StatusColumn) {
  EXPECT_EQ(status_text(container("a", manage::State::kRunning), kNow), "Up About a minute");
  EXPECT_EQ(status_text(container("a", manage::State::kPaused), kNow), "Up About a minute (Paused)");
  EXPECT_EQ(status_text(container("a", manage::State::kExited, 137), kNow), "Exited (137) 5 seconds ago");
  EXPECT_EQ(status_text(container("a", manage::State::kCreated), kNow), "Created");
}

TEST(PsFormat, TableTemplateAndQuiet) {
  std::vector<manage::Container> cs = {container("web", manage::State::kRunning),
                                       container("db", manage::State::kExited, 3)};
  auto table = render_ps(cs, {}, kNow);
  ASSERT_TRUE(table);
  EXPECT_EQ(*table,
            "CONTAINER ID   IMAGE     COMMAND                CREATED              STATUS                     PORTS   NAMES\n"
            "wwwwwwwwwwww   busybox   \"sh -c sleep 1000; …   About a minute ago   Up About a minute                  web\n"
            "dddddddddddd   busybox   \"sh -c sleep 1000; …   About a minute ago   Exited (3) 5 seconds ago           db\n");
  EXPECT_EQ(*render_ps(cs, {.format = "{{.Names}}\\t{{ .State }}"}, kNow), "web\trunning\ndb\texited\n");
  EXPECT_EQ(*render_ps(cs, {.quiet = true}, kNow), "wwwwwwwwwwww\ndddddddddddd\n");
  auto bad = render_ps(cs, {.format = "{{.Nope}}"}, kNow);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().what(), "--format \"{{.Nope}}\": no field \"Nope\" (ID, Names, Image, Command, "
                                "CreatedAt, RunningFor, Status, State, Ports, Labels)");
}

TEST(PsFormat, Filters) {
  auto f = parse_filters({"status=exited", "label=tier=web"});
  ASSERT_TRUE(f);
  EXPECT_TRUE(matches(container("db", manage::State::kExited), *f));
  EXPECT_FALSE(matches(container("web", manage::State::kRunning), *f));
  // Values of one key are alternatives.
  auto either = parse_filters({"name=we", "name=db"});
  EXPECT_TRUE(matches(container("web", manage::State::kRunning), *either));
  EXPECT_TRUE(matches(container("db", manage::State::kRunning), *either));
  EXPECT_FALSE(matches(container("cache", manage::State::kRunning), *either));
  EXPECT_FALSE(parse_filters({"status=sleeping"}));
  EXPECT_FALSE(parse_filters({"exited=x"}));
  EXPECT_FALSE(parse_filters({"color=red"}));
  EXPECT_FALSE(parse_filters({"novalue"}));
}

}  // namespace
}  // namespace husk::front
