// net/cni: config discovery and validation, the stdin and environment of a
// plugin, plugin execution, and ADD/DEL/CHECK driven through fake plugins
// (shell scripts that log their calls). No root, no network.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "net/cni.h"
#include "net/cni_detail.h"
#include "net/ports.h"
#include "child_test_util.h"
#include "net_cni_test_util.h"

namespace husk::net::cni {
namespace {

using detail::Json;
using testing::CniTempDir;

std::string err(const Error& e) { return "error: " + e.what(); }

template <class T>
std::string conf_error(const Result<T>& r) {
  return r ? "ok" : err(r.error());
}

// ---- versions, names, JSON ------------------------------------------------------------

TEST(NetCniConf, Versions) {
  EXPECT_EQ(detail::parse_version("1.0.0"), (std::array<int, 3>{1, 0, 0}));
  EXPECT_EQ(detail::parse_version("0.3.1"), (std::array<int, 3>{0, 3, 1}));
  for (const char* bad : {"", "1", "1.0", "1.0.0.0", "1.a.0", "-1.0.0", "1..0", "v1.0.0", "1.0.0 "})
    EXPECT_FALSE(detail::parse_version(bad)) << bad;
  EXPECT_TRUE(detail::version_at_least("0.4.0", 0, 4));
  EXPECT_TRUE(detail::version_at_least("1.0.0", 0, 4));
  EXPECT_FALSE(detail::version_at_least("0.3.1", 0, 4));
  EXPECT_FALSE(detail::version_at_least("junk", 0, 1));
}

TEST(NetCniConf, NamesFollowTheSpec) {
  for (const char* ok : {"a", "net-1", "my_net.v2", "0abc"}) EXPECT_TRUE(detail::is_valid_name(ok));
  for (const char* bad : {"", "-a", ".a", "_a", "a/b", "../x", "a b", "a:b"})
    EXPECT_FALSE(detail::is_valid_name(bad)) << bad;
}

TEST(NetCniConf, ParseJsonCapsNesting) {
  EXPECT_TRUE(detail::parse_json("{\"a\":[[[1]]]}"));
  std::string deep(100000, '[');
  EXPECT_EQ(conf_error(detail::parse_json(deep)),
            "error: invalid JSON: nested deeper than 512 levels");
  auto bad = detail::parse_json("{\"a\":");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().what().rfind("invalid JSON: parse error", 0), 0u) << bad.error().what();
}

// ---- validation -------------------------------------------------------------------------

TEST(NetCniConf, ValidListKeepsItsPlugins) {
  auto l = detail::parse_conf_list(R"({"cniVersion":"1.0.0","name":"n","disableCheck":true,
      "plugins":[{"type":"bridge","bridge":"b0"},{"type":"portmap","capabilities":{"portMappings":true}}]})");
  ASSERT_TRUE(l) << l.error().what();
  EXPECT_EQ(l->name, "n");
  EXPECT_EQ(l->cni_version, "1.0.0");
  EXPECT_TRUE(l->disable_check);
  ASSERT_EQ(l->json["plugins"].size(), 2u);
  EXPECT_EQ(l->json["plugins"][0]["bridge"], "b0");
}

TEST(NetCniConf, SingleConfIsAListOfOne) {
  auto l = detail::parse_conf_list(
      R"({"cniVersion":"0.4.0","name":"one","type":"bridge","ipam":{"type":"host-local"}})");
  ASSERT_TRUE(l) << l.error().what();
  EXPECT_EQ(l->name, "one");
  EXPECT_FALSE(l->disable_check);
  ASSERT_EQ(l->json["plugins"].size(), 1u);
  EXPECT_EQ(l->json["plugins"][0]["type"], "bridge");
  EXPECT_EQ(l->json["plugins"][0]["ipam"]["type"], "host-local");
  EXPECT_EQ(l->json["cniVersion"], "0.4.0");
}

TEST(NetCniConf, ErrorsSayWhatIsWrongInOneLine) {
  auto e = [](std::string_view text) { return conf_error(detail::parse_conf_list(text)); };
  EXPECT_EQ(e(R"([1])"), "error: not a JSON object");
  EXPECT_EQ(e(R"({"name":"n","plugins":[{"type":"a"}]})"), "error: \"cniVersion\" is missing");
  EXPECT_EQ(e(R"({"cniVersion":1,"name":"n","plugins":[{"type":"a"}]})"),
            "error: \"cniVersion\" is not a string");
  EXPECT_EQ(e(R"({"cniVersion":"one","name":"n","plugins":[{"type":"a"}]})"),
            "error: \"cniVersion\" \"one\" is not a version");
  EXPECT_EQ(e(R"({"cniVersion":"1.0.0","plugins":[{"type":"a"}]})"), "error: \"name\" is missing");
  EXPECT_EQ(e(R"({"cniVersion":"1.0.0","name":"../n","plugins":[{"type":"a"}]})"),
            "error: \"name\" \"../n\" is not a valid network name");
  EXPECT_EQ(e(R"({"cniVersion":"1.0.0","name":"n"})"), "error: no \"plugins\" and no \"type\"");
  EXPECT_EQ(e(R"({"cniVersion":"1.0.0","name":"n","plugins":{}})"),
            "error: \"plugins\" is not a list");
  EXPECT_EQ(e(R"({"cniVersion":"1.0.0","name":"n","plugins":[]})"), "error: \"plugins\" is empty");
  EXPECT_EQ(e(R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"a"},{"bridge":"x"}]})"),
            "error: plugins[1]: no \"type\"");
  EXPECT_EQ(e(R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"a"},7]})"),
            "error: plugins[1]: not an object");
  EXPECT_EQ(e(R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":["a"]}]})"),
            "error: plugins[0]: \"type\" is not a string");
  for (const char* t : {"../../bin/sh", "/bin/sh", ".", "..", "", "a/b"})
    EXPECT_EQ(
        e(fmt::format(R"({{"cniVersion":"1.0.0","name":"n","plugins":[{{"type":"{}"}}]}})", t)),
        fmt::format("error: plugins[0]: \"type\" \"{}\" is not a plain file name", t));
  EXPECT_EQ(e(R"({"cniVersion":"1.0.0","name":"n","type":"../sh"})"),
            "error: \"type\" \"../sh\" is not a plain file name");
  EXPECT_EQ(e(R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"a","capabilities":[]}]})"),
            "error: plugins[0]: \"capabilities\" is not an object");
  EXPECT_EQ(e(R"({"cniVersion":"1.0.0","name":"n","disableCheck":"yes","plugins":[{"type":"a"}]})"),
            "error: \"disableCheck\" is not a boolean");
}

// ---- discovery --------------------------------------------------------------------------

constexpr const char* kTwoPlugins =
    R"({"cniVersion":"1.0.0","name":"NAME","plugins":[{"type":"fa","x":1},)"
    R"({"type":"fb","capabilities":{"portMappings":true,"bandwidth":false}}]})";

std::string list_named(std::string_view name) {
  std::string s = kTwoPlugins;
  s.replace(s.find("NAME"), 4, name);
  return s;
}

TEST(NetCniFind, PrefersNameDotConflist) {
  CniTempDir t;
  t.write("10-other.conflist", list_named("net"));  // same name, found later
  t.write("net.conflist", R"({"cniVersion":"0.4.0","name":"net","plugins":[{"type":"mine"}]})");
  auto l = detail::find_conf_list(t.path(), "net");
  ASSERT_TRUE(l) << l.error().what();
  EXPECT_EQ(l->json["plugins"][0]["type"], "mine");
}

TEST(NetCniFind, ScansForTheNameInConflistConfAndJsonFiles) {
  CniTempDir t;
  t.write("00-broken.conflist", "{ not json");  // not ours: passed over
  t.write("05-a.conflist", list_named("a"));
  t.write("10-b.conf", R"({"cniVersion":"1.0.0","name":"b","type":"bridge"})");
  t.write("20-c.json", list_named("c"));
  t.write("30-d.txt", list_named("d"));              // wrong extension
  ::mkdir((t.path() + "/40-e.conf").c_str(), 0755);  // a directory: passed over
  auto b = detail::find_conf_list(t.path(), "b");
  ASSERT_TRUE(b) << b.error().what();
  EXPECT_EQ(b->json["plugins"][0]["type"], "bridge");
  auto c = detail::find_conf_list(t.path(), "c");
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_EQ(c->name, "c");
  EXPECT_EQ(conf_error(detail::find_conf_list(t.path(), "d")),
            fmt::format("error: no config in {} (d.conflist, or a .conflist, .conf or .json whose "
                        "\"name\" is \"d\")",
                        t.path()));
  EXPECT_EQ(conf_error(detail::find_conf_list(t.path(), "e")).find("error: no config in"), 0u);
}

TEST(NetCniFind, ErrorsNameTheFile) {
  CniTempDir t;
  std::string p =
      t.write("x.conflist", R"({"cniVersion":"1.0.0","name":"x","plugins":[{"type":"a"},{}]})");
  EXPECT_EQ(conf_error(detail::find_conf_list(t.path(), "x")),
            fmt::format("error: {}: plugins[1]: no \"type\"", p));
  std::string q = t.write("y.conflist", list_named("z"));
  EXPECT_EQ(conf_error(detail::find_conf_list(t.path(), "y")),
            fmt::format("error: {}: \"name\" is \"z\", not \"y\"", q));
  std::string w = t.write("50-w.conf", R"({"cniVersion":"1.0.0","name":"w","type":"a/b"})");
  EXPECT_EQ(conf_error(detail::find_conf_list(t.path(), "w")),
            fmt::format("error: {}: \"type\" \"a/b\" is not a plain file name", w));
  EXPECT_EQ(conf_error(detail::find_conf_list(t.path() + "/nope", "w")),
            fmt::format("error: {}/nope: No such file or directory", t.path()));
}

// ---- stdin and runtimeConfig ------------------------------------------------------------

Request base_request() {
  Request r;
  r.network = "t";
  r.container_id = "c1";
  r.netns_path = "/proc/self/ns/net";
  return r;
}

TEST(NetCniStdin, RuntimeValuesOfTheRequest) {
  Request r = base_request();
  EXPECT_EQ(detail::runtime_values(r), Json::object());
  r.ports = {{"", 8080, 80, Proto::kTcp}, {"127.0.0.1", 5353, 53, Proto::kUdp}};
  r.bandwidth = Bandwidth{1000, 2000, 3000, 4000};
  r.ips = {"10.1.0.9/24"};
  EXPECT_EQ(
      detail::dump(detail::runtime_values(r)),
      R"({"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"},)"
      R"({"hostPort":5353,"containerPort":53,"protocol":"udp","hostIP":"127.0.0.1"}],)"
      R"("bandwidth":{"ingressRate":1000,"ingressBurst":2000,"egressRate":3000,"egressBurst":4000},)"
      R"("ips":["10.1.0.9/24"]})");
  EXPECT_TRUE(detail::check_ports(r));
  r.ports.push_back({"", 0, 443, Proto::kTcp});
  EXPECT_EQ(conf_error(detail::check_ports(r)),
            "error: port 443/tcp has no host port (CNI's portmap cannot choose one)");
}

TEST(NetCniStdin, PluginGetsNameVersionPrevResultAndOnlyItsCapabilities) {
  auto list = detail::parse_conf_list(
      R"({"cniVersion":"1.0.0","name":"net","plugins":[
          {"type":"bridge","name":"ignored","cniVersion":"0.1.0","bridge":"b0"},
          {"type":"portmap","capabilities":{"portMappings":true,"bandwidth":false,"ips":true},
           "runtimeConfig":{"stale":1}},
          {"type":"tuning","runtimeConfig":{"kept":1},"capabilities":{"mac":true}}]})");
  ASSERT_TRUE(list) << list.error().what();
  Request r = base_request();
  r.ports = {{"", 8080, 80, Proto::kTcp}};
  r.bandwidth = Bandwidth{1, 2, 3, 4};
  Json values = detail::runtime_values(r);

  Json first = Json::parse(detail::plugin_stdin(*list, 0, nullptr, values));
  EXPECT_EQ(detail::dump(first),
            R"({"type":"bridge","name":"net","cniVersion":"1.0.0","bridge":"b0"})");

  Json prev = {{"cniVersion", "1.0.0"}, {"ips", {{{"address", "10.0.0.2/24"}}}}};
  Json second = Json::parse(detail::plugin_stdin(*list, 1, &prev, values));
  EXPECT_EQ(second["name"], "net");
  EXPECT_EQ(second["cniVersion"], "1.0.0");
  EXPECT_EQ(second["prevResult"], prev);
  // portMappings declared and given; bandwidth given but declared false; ips
  // declared but not given.
  EXPECT_EQ(detail::dump(second["runtimeConfig"]),
            R"({"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]})");

  // Nothing to pass: the plugin's own runtimeConfig is left alone.
  Json third = Json::parse(detail::plugin_stdin(*list, 2, &prev, values));
  EXPECT_EQ(detail::dump(third["runtimeConfig"]), R"({"kept":1})");
}

TEST(NetCniStdin, ResultIps) {
  auto ips = [](const char* text) -> std::string {
    auto r = detail::result_ips(Json::parse(text));
    if (!r) return err(r.error());
    std::string out;
    for (const auto& ip : *r) out += (out.empty() ? "" : " ") + ip;
    return out;
  };
  EXPECT_EQ(ips(R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24","gateway":"10.0.0.1"},
                {"address":"fd00::2/64"}]})"),
            "10.0.0.2/24 fd00::2/64");
  EXPECT_EQ(ips(R"({"cniVersion":"0.2.0","ip4":{"ip":"10.0.0.3/16"},"ip6":{"ip":"fd00::3/64"}})"),
            "10.0.0.3/16 fd00::3/64");
  EXPECT_EQ(ips(R"({"cniVersion":"1.0.0"})"), "");
  EXPECT_EQ(ips(R"([])"), "error: the result is not a JSON object");
  EXPECT_EQ(ips(R"({"ips":{}})"), "error: result: \"ips\" is not a list");
  EXPECT_EQ(ips(R"({"ips":[{"address":"10.0.0.2/24"},{"address":5}]})"),
            "error: result: ips[1]: no \"address\"");
  EXPECT_EQ(ips(R"({"ip4":"10.0.0.1"})"), "error: result: \"ip4\": no \"ip\"");
}

// ---- plugin lookup, environment, failures -------------------------------------------------

TEST(NetCniPlugin, FoundInTheSearchPathAsAnExecutableFile) {
  CniTempDir t;
  t.write("a/plain", "data", 0644);
  t.write("b/plain", "#!/bin/sh\n", 0755);
  ::mkdir((t.path() + "/a/dir").c_str(), 0755);
  std::string search = fmt::format("{0}/none::{0}/a:{0}/b", t.path());
  EXPECT_EQ(*detail::find_plugin("plain", search), t.path() + "/b/plain");
  EXPECT_EQ(
      conf_error(detail::find_plugin("dir", search)),
      fmt::format("error: plugin \"dir\" not found in {} ({}/a/dir is not an executable file)",
                  search, t.path()));
  EXPECT_EQ(conf_error(detail::find_plugin("bridge", t.path() + "/a")),
            fmt::format("error: plugin \"bridge\" not found in {}/a", t.path()));
  EXPECT_EQ(conf_error(detail::find_plugin("../b/plain", t.path() + "/a")),
            "error: plugin \"../b/plain\": not a plain file name");
}

TEST(NetCniPlugin, SearchPathFromTheRequestThenTheEnvironment) {
  Request r = base_request();
  const char* saved = std::getenv("CNI_PATH");
  std::string keep = saved ? saved : "";
  ::unsetenv("CNI_PATH");
  EXPECT_EQ(detail::search_path(r), kDefaultPath);
  ::setenv("CNI_PATH", "/x:/y", 1);
  EXPECT_EQ(detail::search_path(r), "/x:/y");
  r.cni_path = "/z";
  EXPECT_EQ(detail::search_path(r), "/z");
  if (saved)
    ::setenv("CNI_PATH", keep.c_str(), 1);
  else
    ::unsetenv("CNI_PATH");
}

TEST(NetCniPlugin, Environment) {
  Request r = base_request();
  r.ifname = "net1";
  auto env = detail::plugin_env("DEL", r, "", "/p1:/p2");
  ASSERT_EQ(env.size(), 7u);
  EXPECT_EQ(env[0], "CNI_COMMAND=DEL");
  EXPECT_EQ(env[1], "CNI_CONTAINERID=c1");
  EXPECT_EQ(env[2], "CNI_NETNS=");
  EXPECT_EQ(env[3], "CNI_IFNAME=net1");
  EXPECT_EQ(env[4], "CNI_ARGS=IgnoreUnknown=1");
  EXPECT_EQ(env[5], "CNI_PATH=/p1:/p2");
  EXPECT_EQ(env[6].rfind("PATH=", 0), 0u);
}

TEST(NetCniPlugin, FailureMessages) {
  int exit1 = 1 << 8;  // a wait status: exited with 1
  EXPECT_EQ(
      detail::plugin_failure(
          "bridge", exit1,
          R"({"cniVersion":"1.0.0","code":11,"msg":"failed to set up\nbridge","details":"no such device"})"),
      "bridge: failed to set up bridge; no such device (code 11)");
  EXPECT_EQ(detail::plugin_failure("bridge", exit1, R"({"code":7,"msg":"bad"})"),
            "bridge: bad (code 7)");
  EXPECT_EQ(detail::plugin_failure("bridge", exit1, R"({"msg":"bad","details":""})"),
            "bridge: bad");
  EXPECT_EQ(detail::plugin_failure("x", exit1, "panic: oops\ngoroutine 1"),
            "x: exited with status 1: panic: oops");
  EXPECT_EQ(detail::plugin_failure("x", 2 << 8, ""), "x: exited with status 2");
  EXPECT_EQ(detail::plugin_failure("x", SIGKILL, ""), "x: killed by signal 9");
}

detail::Invocation script(const CniTempDir& t, const std::string& body,
                          std::string_view stdin_text = "") {
  std::string path = t.write("bin/p", "#!/bin/sh\n" + body, 0755);
  return {"p", path, {"CNI_COMMAND=ADD", "A=1"}, std::string(stdin_text)};
}

TEST(NetCniRun, StdinInStdoutOutOnlyTheGivenEnvironment) {
  CniTempDir t;
  auto out = detail::run_plugin(script(t, "cat; env | sort\n", "{\"in\":1}\n"));
  ASSERT_TRUE(out) << out.error().what();
  EXPECT_EQ(out->substr(0, 9), "{\"in\":1}\n");
  // sh adds PWD (and may add SHLVL, _); nothing of ours leaks in.
  EXPECT_NE(out->find("A=1\n"), std::string::npos);
  EXPECT_NE(out->find("CNI_COMMAND=ADD\n"), std::string::npos);
  EXPECT_EQ(out->find("HOME="), std::string::npos) << *out;
}

TEST(NetCniRun, ErrorJsonBecomesOneLine) {
  CniTempDir t;
  auto out = detail::run_plugin(
      script(t, "echo '{\"code\":11,\"msg\":\"boom\",\"details\":\"more\"}'; exit 1\n"));
  EXPECT_EQ(conf_error(out), "error: p: boom; more (code 11)");
  out = detail::run_plugin(script(t, "kill -9 $$\n"));
  EXPECT_EQ(conf_error(out), "error: p: killed by signal 9");
}

TEST(NetCniRun, APluginThatIgnoresStdinIsNoSigpipe) {
  CniTempDir t;
  std::string big(4 << 20, 'x');  // far more than a socket buffer
  auto out = detail::run_plugin(script(t, "echo done\n", big));
  ASSERT_TRUE(out) << out.error().what();
  EXPECT_EQ(*out, "done\n");
  auto big_in = detail::run_plugin(script(t, "wc -c\n", big));
  ASSERT_TRUE(big_in) << big_in.error().what();
  EXPECT_EQ(std::stoul(*big_in), big.size());
}

TEST(NetCniRun, TimesOutKillsAndReaps) {
  CniTempDir t;
  auto inv = script(t, "echo $$ > " + t.path() + "/pid; exec sleep 30\n");
  auto start = std::chrono::steady_clock::now();
  auto out = detail::run_plugin(inv, 300);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(conf_error(out), "error: p: timed out after 300 ms");
  EXPECT_LT(took, std::chrono::seconds(5));
  pid_t pid = std::stoi(t.read("pid"));
  EXPECT_NE(::kill(pid, 0), 0);  // killed and reaped: no such process
  EXPECT_EQ(errno, ESRCH);
}

TEST(NetCniRun, ReturnsWhenThePluginExitsEvenIfItsChildHoldsStdout) {
  CniTempDir t;
  auto start = std::chrono::steady_clock::now();
  auto out = detail::run_plugin(script(t, "sleep 3 & echo $! > " + t.path() + "/bg; echo '{}'\n"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  ASSERT_TRUE(out) << out.error().what();
  EXPECT_EQ(*out, "{}\n");
  ::kill(std::stoi(t.read("bg")), SIGKILL);  // ours to clean up (reparented to init)
}

TEST(NetCniRun, AStatusTakenByAnotherWaitIsAnErrorNotAHang) {
  CniTempDir t;
  auto inv = script(t, "exit 0\n");
  // SIGCHLD ignored: the kernel reaps the plugin itself (in a child of the
  // test, which keeps its own SIGCHLD).
  std::string got = testing::run_in_child([&] {
    ::signal(SIGCHLD, SIG_IGN);
    return conf_error(detail::run_plugin(inv, 5000));
  });
  EXPECT_EQ(got, "error: p: its exit status was taken by another wait");
}

// ---- ADD, DEL and CHECK through fake plugins ---------------------------------------------

// A plugin that logs "<COMMAND> <type> netns=<CNI_NETNS> if=<CNI_IFNAME>", keeps its stdin in
// <type>.<COMMAND>.stdin and answers ADD with `result`; it fails `fail_on` with an error JSON.
void fake_plugin(const CniTempDir& t, const std::string& type, const std::string& result,
                 const std::string& fail_on = "") {
  std::string d = t.path();
  t.write("bin/" + type,
          fmt::format("#!/bin/sh\n"
                      "echo \"$CNI_COMMAND {0} netns=$CNI_NETNS if=$CNI_IFNAME\" >> {1}/log\n"
                      "cat > {1}/{0}.$CNI_COMMAND.stdin\n"
                      "if [ \"$CNI_COMMAND\" = '{2}' ]; then\n"
                      "  echo '{{\"code\":11,\"msg\":\"{0} broke\",\"details\":\"on purpose\"}}'\n"
                      "  exit 1\n"
                      "fi\n"
                      "[ \"$CNI_COMMAND\" = ADD ] && echo '{3}'\n"
                      "exit 0\n",
                      type, d, fail_on, result),
          0755);
}

constexpr const char* kResultA = R"({"cniVersion":"1.0.0","ips":[{"address":"10.9.0.2/24"}]})";
constexpr const char* kResultB =
    R"({"cniVersion":"1.0.0","ips":[{"address":"10.9.0.2/24"},{"address":"fd00::2/64"}]})";

class NetCniFlow : public ::testing::Test {
 protected:
  void SetUp() override {
    t_.write("conf/t.conflist", list_named("t"));
    fake_plugin(t_, "fa", kResultA);
    fake_plugin(t_, "fb", kResultB);
  }
  Request request() const {
    Request r = base_request();
    r.conf_dir = t_.path() + "/conf";
    r.cni_path = t_.path() + "/bin";
    r.cache_dir = t_.path() + "/cache";
    r.ports = {{"", 8080, 80, Proto::kTcp}};
    return r;
  }
  std::string log() const { return t_.exists("log") ? t_.read("log") : ""; }
  Json stdin_of(const std::string& type, const std::string& command) const {
    return Json::parse(t_.read(type + "." + command + ".stdin"));
  }
  std::string cache_file() const { return "cache/t-c1.json"; }
  CniTempDir t_;
};

TEST_F(NetCniFlow, AddChainsResultsAndCachesTheLast) {
  auto res = add(request());
  ASSERT_TRUE(res) << res.error().what();
  EXPECT_EQ(res->ips, (std::vector<std::string>{"10.9.0.2/24", "fd00::2/64"}));
  EXPECT_EQ(Json::parse(res->json), Json::parse(kResultB));
  EXPECT_EQ(log(),
            "ADD fa netns=/proc/self/ns/net if=eth0\nADD fb netns=/proc/self/ns/net if=eth0\n");
  Json a = stdin_of("fa", "ADD"), b = stdin_of("fb", "ADD");
  EXPECT_FALSE(a.contains("prevResult"));
  EXPECT_FALSE(a.contains("runtimeConfig"));  // fa declares no capability
  EXPECT_EQ(a["x"], 1);
  EXPECT_EQ(b["prevResult"], Json::parse(kResultA));
  EXPECT_EQ(b["runtimeConfig"]["portMappings"][0]["hostPort"], 8080);
  Json cache = Json::parse(t_.read(cache_file()));
  EXPECT_EQ(cache["result"], Json::parse(kResultB));
  EXPECT_EQ(cache["config"]["name"], "t");
  EXPECT_EQ(cache["ifName"], "eth0");
  struct stat st {};
  ASSERT_EQ(::stat((t_.path() + "/" + cache_file()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(NetCniFlow, CheckThenDelUseTheCachedResultAndConfig) {
  ASSERT_TRUE(add(request()));
  // The config file changes after ADD: DEL and CHECK undo what ADD did.
  t_.write("conf/t.conflist", R"({"cniVersion":"1.0.0","name":"t","plugins":[{"type":"other"}]})");
  std::filesystem::remove(t_.path() + "/log");
  auto checked = check(request());
  ASSERT_TRUE(checked) << checked.error().what();
  EXPECT_EQ(stdin_of("fa", "CHECK")["prevResult"], Json::parse(kResultB));
  EXPECT_EQ(stdin_of("fb", "CHECK")["runtimeConfig"]["portMappings"][0]["containerPort"], 80);

  Request r = request();
  r.ports.clear();  // DEL gets the ADD's portMappings from the cache
  auto deleted = del(r);
  ASSERT_TRUE(deleted) << deleted.error().what();
  EXPECT_EQ(log(),
            "CHECK fa netns=/proc/self/ns/net if=eth0\n"
            "CHECK fb netns=/proc/self/ns/net if=eth0\n"
            "DEL fb netns=/proc/self/ns/net if=eth0\n"
            "DEL fa netns=/proc/self/ns/net if=eth0\n");
  EXPECT_EQ(stdin_of("fa", "DEL")["prevResult"], Json::parse(kResultB));
  EXPECT_EQ(stdin_of("fb", "DEL")["runtimeConfig"]["portMappings"][0]["hostPort"], 8080);
  EXPECT_FALSE(t_.exists(cache_file()));
  // A second DEL has no cache: the config file, no prevResult, still called.
  std::filesystem::remove(t_.path() + "/log");
  fake_plugin(t_, "other", kResultA);
  ASSERT_TRUE(del(r));
  EXPECT_EQ(log(), "DEL other netns=/proc/self/ns/net if=eth0\n");
  EXPECT_FALSE(stdin_of("other", "DEL").contains("prevResult"));
}

TEST_F(NetCniFlow, FailedAddUndoesInReverseAndLeavesNoCache) {
  fake_plugin(t_, "fb", kResultB, "ADD");
  auto res = add(request());
  EXPECT_EQ(conf_error(res), "error: cni \"t\": fb: fb broke; on purpose (code 11)");
  EXPECT_EQ(log(),
            "ADD fa netns=/proc/self/ns/net if=eth0\n"
            "ADD fb netns=/proc/self/ns/net if=eth0\n"
            "DEL fb netns=/proc/self/ns/net if=eth0\n"
            "DEL fa netns=/proc/self/ns/net if=eth0\n");
  EXPECT_EQ(stdin_of("fa", "DEL")["prevResult"], Json::parse(kResultA));
  EXPECT_FALSE(t_.exists(cache_file()));
}

TEST_F(NetCniFlow, ABadResultIsAnErrorAndUndone) {
  fake_plugin(t_, "fb", "not json");
  auto res = add(request());
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().what().rfind("cni \"t\": fb: result: invalid JSON", 0), 0u)
      << res.error().what();
  EXPECT_NE(log().find("DEL fa"), std::string::npos);
  EXPECT_FALSE(t_.exists(cache_file()));
}

TEST_F(NetCniFlow, MissingPluginRunsNothingAndLeavesNoCache) {
  std::filesystem::remove(t_.path() + "/bin/fb");
  auto res = add(request());
  EXPECT_EQ(conf_error(res),
            fmt::format("error: cni \"t\": plugin \"fb\" not found in {}/bin", t_.path()));
  EXPECT_EQ(log(), "");
  EXPECT_FALSE(t_.exists(cache_file()));
}

TEST_F(NetCniFlow, RequestIsChecked) {
  Request r = request();
  r.ports[0].host_port = 0;
  EXPECT_EQ(conf_error(add(r)),
            "error: cni \"t\": port 80/tcp has no host port (CNI's portmap cannot choose one)");
  r = request();
  r.container_id = "../x";
  EXPECT_EQ(conf_error(add(r)), "error: cni \"t\": container ID \"../x\" is not valid");
  r = request();
  r.network = "a/b";
  EXPECT_EQ(conf_error(del(r)).find("error: cni \"a/b\": not a valid network name"), 0u);
  r = request();
  r.netns_path = t_.path() + "/nope";
  EXPECT_EQ(
      conf_error(add(r)),
      fmt::format("error: cni \"t\": netns \"{}/nope\": No such file or directory", t_.path()));
  r = request();
  r.network = "missing";
  EXPECT_EQ(conf_error(add(r)).find("error: cni \"missing\": no config in"), 0u);
  EXPECT_EQ(log(), "");
}

TEST_F(NetCniFlow, DelPassesNoNetnsWhenItIsGoneOrAnother) {
  ASSERT_TRUE(add(request()));
  std::filesystem::remove(t_.path() + "/log");
  Request r = request();
  r.netns_path = t_.write("not-the-netns", "");  // exists, another inode: a reused pid
  ASSERT_TRUE(del(r));
  EXPECT_EQ(log(), "DEL fb netns= if=eth0\nDEL fa netns= if=eth0\n");

  ASSERT_TRUE(add(request()));
  std::filesystem::remove(t_.path() + "/log");
  r.netns_path = t_.path() + "/gone";
  ASSERT_TRUE(del(r));
  EXPECT_EQ(log(), "DEL fb netns= if=eth0\nDEL fa netns= if=eth0\n");
}

TEST_F(NetCniFlow, DelCallsEveryPluginAndJoinsTheErrors) {
  ASSERT_TRUE(add(request()));
  std::filesystem::remove(t_.path() + "/log");
  fake_plugin(t_, "fb", kResultB, "DEL");
  std::filesystem::remove(t_.path() + "/bin/fa");
  auto res = del(request());
  EXPECT_EQ(conf_error(res),
            fmt::format("error: cni \"t\": fb: fb broke; on purpose (code 11); plugin \"fa\" not "
                        "found in {}/bin",
                        t_.path()));
  EXPECT_EQ(log(), "DEL fb netns=/proc/self/ns/net if=eth0\n");
  EXPECT_FALSE(t_.exists(cache_file()));
}

TEST_F(NetCniFlow, CheckNeedsACacheAndVersion040) {
  EXPECT_EQ(conf_error(check(request())),
            "error: cni \"t\": no cached result for container \"c1\"");
  t_.write("conf/t.conflist", R"({"cniVersion":"0.3.1","name":"t","plugins":[{"type":"fa"}]})");
  ASSERT_TRUE(add(request()));
  EXPECT_EQ(conf_error(check(request())),
            "error: cni \"t\": CHECK needs cniVersion 0.4.0 or later, the config has 0.3.1");
  ASSERT_TRUE(del(request()));
  EXPECT_FALSE(stdin_of("fa", "DEL").contains("prevResult"));  // 0.3.1: DEL had none

  t_.write("conf/t.conflist",
           R"({"cniVersion":"1.0.0","name":"t","disableCheck":true,"plugins":[{"type":"fa"}]})");
  ASSERT_TRUE(add(request()));
  std::filesystem::remove(t_.path() + "/log");
  EXPECT_TRUE(check(request()));
  EXPECT_EQ(log(), "");
}

TEST_F(NetCniFlow, ACorruptCacheFallsBackToTheConfigFile) {
  ASSERT_TRUE(add(request()));
  t_.write(cache_file(), "{\"kind\":");
  std::filesystem::remove(t_.path() + "/log");
  ASSERT_TRUE(del(request()));
  EXPECT_EQ(log(),
            "DEL fb netns=/proc/self/ns/net if=eth0\nDEL fa netns=/proc/self/ns/net if=eth0\n");
  EXPECT_FALSE(stdin_of("fa", "DEL").contains("prevResult"));
  EXPECT_FALSE(t_.exists(cache_file()));
}

}  // namespace
}  // namespace husk::net::cni
