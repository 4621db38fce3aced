#include <gtest/gtest.h>

#include <string>

#include "image/config.h"

namespace husk::image {
namespace {

std::string dg(char c) { return "sha256:" + std::string(64, c); }

// Modelled on docker.io's nginx-like config (docker's image JSON, trimmed).
const std::string kNginxConfig = R"({
  "architecture": "amd64",
  "config": {
    "ExposedPorts": {"80/tcp": {}, "443/tcp": {}},
    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "NGINX_VERSION=1.25.3", "PKG_RELEASE=1~bookworm"],
    "Entrypoint": ["/docker-entrypoint.sh"],
    "Cmd": ["nginx", "-g", "daemon off;"],
    "Labels": {"maintainer": "NGINX Docker Maintainers <docker-maint@nginx.com>"},
    "StopSignal": "SIGQUIT",
    "Volumes": {"/var/cache/nginx": {}},
    "WorkingDir": "",
    "User": "",
    "ArgsEscaped": true
  },
  "created": "2023-12-19T00:00:00Z",
  "history": [
    {"created": "2023-12-19T00:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:abc in / "},
    {"created": "2023-12-19T00:00:00Z", "created_by": "/bin/sh -c #(nop)  CMD [\"bash\"]",
     "empty_layer": true},
    {"created": "2023-12-19T00:00:00Z", "created_by": "RUN /bin/sh -c set -x # buildkit",
     "comment": "buildkit.dockerfile.v0"}
  ],
  "os": "linux",
  "rootfs": {"type": "layers", "diff_ids": [
    "sha256:1111111111111111111111111111111111111111111111111111111111111111",
    "sha256:2222222222222222222222222222222222222222222222222222222222222222"]}
})";

// busybox's: a Cmd, no Entrypoint, no Env beyond PATH.
const std::string kBusyboxConfig = R"({"architecture":"amd64","config":{"Env":
  ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},
  "created":"2023-07-18T23:19:33Z","history":[{"created":"2023-07-18T23:19:33Z",
  "created_by":"/bin/sh -c #(nop) ADD file:7e9002edaafd4e4579b65c8f0aaabde1aeb7fd3f8d95579f7fd3443cef785fd1 in / "},
  {"created":"2023-07-18T23:19:33Z","created_by":"/bin/sh -c #(nop)  CMD [\"sh\"]","empty_layer":true}],
  "os":"linux","rootfs":{"type":"layers","diff_ids":
  ["sha256:3d24ee258efc3bfe4066a1a9fb83febf6dc0b1548dfe896161533668281c9f4f"]}})";

ImageConfig config_of(const std::string& text) {
  auto r = parse_config(text);
  EXPECT_TRUE(r) << r.error().what();
  return r ? *r : ImageConfig{};
}

std::string error_of(const std::string& text) {
  auto r = parse_config(text);
  return r ? "parsed" : r.error().what();
}

std::string replaced(std::string s, std::string_view what, std::string_view by) {
  size_t at = s.find(what);
  EXPECT_NE(at, std::string::npos) << what;
  if (at != std::string::npos) s.replace(at, what.size(), by);
  return s;
}

TEST(ImageConfig, ParsesDockersConfig) {
  ImageConfig c = config_of(kNginxConfig);
  EXPECT_EQ(c.architecture, "amd64");
  EXPECT_EQ(c.os, "linux");
  EXPECT_EQ(c.exposed_ports, (std::vector<std::string>{"443/tcp", "80/tcp"}));
  EXPECT_EQ(c.env.size(), 3u);
  EXPECT_EQ(c.env[1], "NGINX_VERSION=1.25.3");
  EXPECT_EQ(c.entrypoint, (std::vector<std::string>{"/docker-entrypoint.sh"}));
  EXPECT_EQ(c.cmd, (std::vector<std::string>{"nginx", "-g", "daemon off;"}));
  EXPECT_EQ(c.labels.at("maintainer"), "NGINX Docker Maintainers <docker-maint@nginx.com>");
  EXPECT_EQ(c.stop_signal, "SIGQUIT");
  EXPECT_EQ(c.volumes, (std::vector<std::string>{"/var/cache/nginx"}));
  ASSERT_EQ(c.diff_ids.size(), 2u);
  EXPECT_EQ(c.diff_ids[1].str(), dg('2'));
  ASSERT_EQ(c.history.size(), 3u);
  EXPECT_FALSE(c.history[0].empty_layer);
  EXPECT_TRUE(c.history[1].empty_layer);
  EXPECT_EQ(c.history[2].comment, "buildkit.dockerfile.v0");

  ImageConfig b = config_of(kBusyboxConfig);
  EXPECT_EQ(b.cmd, (std::vector<std::string>{"sh"}));
  EXPECT_TRUE(b.entrypoint.empty());
  EXPECT_EQ(b.diff_ids.size(), 1u);
}

TEST(ImageConfig, NullsAndStringsAsDockerWritesThem) {
  // docker writes null for unset lists and a lone string for a shell-form Cmd in old images.
  ImageConfig c = config_of(R"({"os":"linux","config":{"Entrypoint":null,"Cmd":"/bin/sh",
    "Env":null,"Labels":null},"rootfs":{"type":"layers","diff_ids":[]}})");
  EXPECT_TRUE(c.entrypoint.empty());
  EXPECT_EQ(c.cmd, (std::vector<std::string>{"/bin/sh"}));
  EXPECT_TRUE(config_of(R"({"config":null,"rootfs":{"type":"layers"}})").cmd.empty());
}

TEST(ImageConfig, RefusesMalformedFields) {
  EXPECT_EQ(error_of(replaced(kNginxConfig, "\"type\": \"layers\"", "\"type\": \"tarball\"")),
            "image config: rootfs.type \"tarball\": not \"layers\"");
  EXPECT_EQ(error_of(R"({"os":"linux"})"), "image config: rootfs: missing");
  EXPECT_EQ(error_of(replaced(kNginxConfig, dg('2'), "sha256:22")),
            "image config: rootfs.diff_ids[1]: digest \"sha256:22\": not 64 hex digits");
  EXPECT_EQ(error_of(replaced(kNginxConfig, "\"NGINX_VERSION=1.25.3\"", "\"NGINX_VERSION\"")),
            "image config: config.Env[1] \"NGINX_VERSION\": not NAME=VALUE");
  EXPECT_EQ(error_of(replaced(kNginxConfig, "\"NGINX_VERSION=1.25.3\"", "\"=x\"")),
            "image config: config.Env[1] \"=x\": not NAME=VALUE");
  EXPECT_EQ(error_of(replaced(kNginxConfig, "\"nginx\", \"-g\"", "\"nginx\", 5")),
            "image config: config.Cmd: not an array of strings");
  EXPECT_EQ(error_of(replaced(kNginxConfig, "\"nginx\", \"-g\"", "\"ng\\u0000inx\", \"-g\"")),
            "image config: config.Cmd: holds a NUL byte");
  EXPECT_EQ(error_of(replaced(kNginxConfig, "\"StopSignal\": \"SIGQUIT\"", "\"StopSignal\": 3")),
            "image config: config.StopSignal: not a string");
  EXPECT_EQ(error_of(replaced(kNginxConfig, "\"empty_layer\": true", "\"empty_layer\": 1")),
            "image config: history[1].empty_layer: not a boolean");
  EXPECT_EQ(error_of(replaced(kNginxConfig, "\"maintainer\": \"NGINX", "\"m\": 1, \"x\": \"")),
            "image config: config.Labels[\"m\"]: not a string");
  EXPECT_EQ(error_of(std::string(kMaxConfigBytes + 1, ' ')),
            "image config: 4194305 bytes, more than the 4194304 allowed");
  std::string many = R"({"rootfs":{"type":"layers"},"config":{"Env":[)";
  for (size_t i = 0; i <= kMaxConfigItems; ++i) many += (i ? ",\"A=" : "\"A=") + std::string("\"");
  EXPECT_EQ(error_of(many + "]}}"), "image config: config.Env: more than 10000 entries");
}

TEST(ImageConfig, DiffIdsMustMatchTheManifestsLayers) {
  ImageManifest m;
  m.config.digest = *Digest::parse(dg('c'));
  m.layers.resize(2);
  ImageConfig c = config_of(kNginxConfig);
  EXPECT_TRUE(check_manifest_config(m, c));
  m.layers.resize(3);
  auto r = check_manifest_config(m, c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(),
            "image config " + dg('c') + ": 2 diff_ids for the manifest's 3 layers");
}

std::string argv_of(const ImageConfig& c, const ProcessFlags& f) {
  auto p = resolve_process(c, f);
  if (!p) return "error: " + p.error().what();
  std::string s;
  for (const auto& a : p->argv) s += (s.empty() ? "" : " ") + ("[" + a + "]");
  return s;
}

TEST(ImageProcess, EntrypointAndCmdFollowDocker) {
  ImageConfig nginx = config_of(kNginxConfig);
  ImageConfig busybox = config_of(kBusyboxConfig);
  EXPECT_EQ(argv_of(nginx, {}), "[/docker-entrypoint.sh] [nginx] [-g] [daemon off;]");
  EXPECT_EQ(argv_of(nginx, {.cmd = {"nginx-debug"}}), "[/docker-entrypoint.sh] [nginx-debug]");
  EXPECT_EQ(argv_of(busybox, {}), "[sh]");
  EXPECT_EQ(argv_of(busybox, {.cmd = {"echo", "hi"}}), "[echo] [hi]");
  // --entrypoint drops the image's Cmd, with or without arguments.
  EXPECT_EQ(argv_of(nginx, {.entrypoint = "/bin/sh"}), "[/bin/sh]");
  EXPECT_EQ(argv_of(nginx, {.entrypoint = "/bin/sh", .cmd = {"-c", "id"}}), "[/bin/sh] [-c] [id]");
  // --entrypoint "" resets it: the arguments are the whole command...
  EXPECT_EQ(argv_of(nginx, {.entrypoint = "", .cmd = {"ls", "/"}}), "[ls] [/]");
  // ...and without them there is none, even though the image has a Cmd.
  EXPECT_EQ(argv_of(nginx, {.entrypoint = ""}), "error: no command specified");
  EXPECT_EQ(argv_of(ImageConfig{}, {}), "error: no command specified");
  EXPECT_EQ(argv_of(busybox, {.cmd = {std::string("a\0b", 3)}}),
            "error: command argument holds a NUL byte");
}

std::vector<std::string> env_of(const ImageConfig& c, const ProcessFlags& f) {
  auto p = resolve_process(c, f);
  EXPECT_TRUE(p) << p.error().what();
  return p ? p->env : std::vector<std::string>{};
}

TEST(ImageProcess, EnvIsPathHostnameThenFlagsThenImage) {
  ImageConfig nginx = config_of(kNginxConfig);
  nginx.env[0] = "PATH=/opt/bin:/bin";
  using V = std::vector<std::string>;
  EXPECT_EQ(env_of(nginx, {.hostname = "c0ffee"}),
            (V{"PATH=/opt/bin:/bin", "HOSTNAME=c0ffee", "NGINX_VERSION=1.25.3",
               "PKG_RELEASE=1~bookworm"}));
  EXPECT_EQ(env_of(nginx, {.env = {"A=1", "NGINX_VERSION=2", "A=3"}}),
            (V{"PATH=/opt/bin:/bin", "A=3", "NGINX_VERSION=2", "PKG_RELEASE=1~bookworm"}));
  // A bare NAME removes it; PATH falls back to docker's default when nobody sets it.
  EXPECT_EQ(env_of(nginx, {.env = {"PKG_RELEASE", "PATH"}}), (V{"NGINX_VERSION=1.25.3"}));
  EXPECT_EQ(env_of(ImageConfig{.cmd = {"x"}}, {}), (V{"PATH=" + std::string(kDefaultPath)}));
  EXPECT_EQ(env_of(ImageConfig{.env = {"HOSTNAME=img"}, .cmd = {"x"}}, {.hostname = "rt"}),
            (V{"PATH=" + std::string(kDefaultPath), "HOSTNAME=img"}));
  auto bad = resolve_process(nginx, {.env = {"=x"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().what(), "environment variable \"=x\": not NAME=VALUE");
}

TEST(ImageProcess, WorkdirAndUser) {
  ImageConfig c = config_of(kBusyboxConfig);
  EXPECT_EQ(resolve_process(c, {})->cwd, "/");
  c.working_dir = "/srv//app/./x/../";
  EXPECT_EQ(resolve_process(c, {})->cwd, "/srv/app");
  EXPECT_EQ(resolve_process(c, {.workdir = "/tmp"})->cwd, "/tmp");
  EXPECT_EQ(resolve_process(c, {.workdir = "/.."})->cwd, "/");
  EXPECT_EQ(resolve_process(c, {.workdir = "tmp"}).error().what(),
            "working directory \"tmp\": not an absolute path");
  c.working_dir = "app";
  EXPECT_FALSE(resolve_process(c, {}));
  c.working_dir = "";
  EXPECT_EQ(resolve_process(c, {})->user, "");
  c.user = "nginx";
  EXPECT_EQ(resolve_process(c, {})->user, "nginx");
  EXPECT_EQ(resolve_process(c, {.user = "1000:1000"})->user, "1000:1000");
}

}  // namespace
}  // namespace husk::image
