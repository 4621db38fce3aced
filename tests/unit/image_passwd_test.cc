#include <gtest/gtest.h>

#include <string>

#include "image/passwd.h"

namespace husk::image {
namespace {

// Modelled on alpine's files.
constexpr std::string_view kPasswd =
    "root:x:0:0:root:/root:/bin/ash\n"
    "daemon:x:2:2:daemon:/sbin:/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/:/sbin/nologin\n"
    "# a comment:x:7:7::/c:\n"
    "+nisuser:x:8:8::/n:\n"
    "broken:x:notanumber:5::/b:\n"
    ":x:9:9::/noname:\n"
    "short:x:10\n"
    "nginx:x:101:101:nginx:/var/lib/nginx:/sbin/nologin\r\n"
    "  app:x:1000:1000::/home/app:/bin/sh  \n"
    "dup:x:1000:2000::/home/dup:/bin/sh\n"
    "nohome:x:1001:1001\n";

constexpr std::string_view kGroup =
    "root:x:0:root\n"
    "wheel:x:10:root,app\n"
    "www-data:x:82:nginx, app\n"
    "nginx:x:101:nginx\n"
    "app:x:1000:\n"
    "wheel2:x:10:app\n"
    "bad:x:x1:app\n"
    "users:x:100:games,app,\n";

std::string show(std::string_view spec, std::optional<std::string_view> passwd = kPasswd,
                 std::optional<std::string_view> group = kGroup) {
  auto r = resolve_user(spec, passwd, group);
  if (!r) return r.error().what();
  std::string s = std::to_string(r->uid) + ":" + std::to_string(r->gid) + " [";
  for (size_t i = 0; i < r->sgids.size(); ++i) s += (i ? "," : "") + std::to_string(r->sgids[i]);
  return s + "] " + r->home;
}

TEST(ImagePasswd, NamesAndUidsFromPasswd) {
  EXPECT_EQ(show(""), "0:0 [0,10] /root");
  EXPECT_EQ(show("root"), "0:0 [0,10] /root");
  EXPECT_EQ(show("nginx"), "101:101 [82,101] /var/lib/nginx");
  EXPECT_EQ(show("101"), "101:101 [82,101] /var/lib/nginx");
  // Leading spaces and a trailing \r are trimmed; member lists tolerate spaces.
  EXPECT_EQ(show("app"), "1000:1000 [10,82,100] /home/app");
  // A number is always a uid, and the first entry with it wins.
  EXPECT_EQ(show("1000"), "1000:1000 [10,82,100] /home/app");
  EXPECT_EQ(show("dup"), "1000:2000 [] /home/dup");
  EXPECT_EQ(show("nohome"), "1001:1001 [] /");
}

TEST(ImagePasswd, NumericIdsNeedNoEntry) {
  EXPECT_EQ(show("4242"), "4242:0 [] /");  // runc: gid 0, home /
  EXPECT_EQ(show("4242:4343"), "4242:4343 [] /");
  EXPECT_EQ(show("4242", std::nullopt, std::nullopt), "4242:0 [] /");
  EXPECT_EQ(show("2147483647"), "2147483647:0 [] /");
  EXPECT_EQ(show("2147483648"), "user \"2147483648\": uid out of range 0-2147483647");
  EXPECT_EQ(show("99999999999999999999999"),
            "user \"99999999999999999999999\": uid out of range 0-2147483647");
  EXPECT_EQ(show("1:2147483648"), "group \"2147483648\": gid out of range 0-2147483647");
  EXPECT_EQ(show("", std::nullopt, std::nullopt), "0:0 [] /");
}

TEST(ImagePasswd, AGroupPartSetsTheGidAndDropsSupplementaryGroups) {
  EXPECT_EQ(show("app:wheel"), "1000:10 [] /home/app");
  EXPECT_EQ(show("app:82"), "1000:82 [] /home/app");
  EXPECT_EQ(show("nginx:5555"), "101:5555 [] /var/lib/nginx");
  EXPECT_EQ(show("1000:users"), "1000:100 [] /home/app");
  EXPECT_EQ(show(":wheel"), "0:10 [] /root");
}

TEST(ImagePasswd, ErrorsNameTheFile) {
  EXPECT_EQ(show("ghost"), "user \"ghost\": no such user in /etc/passwd");
  EXPECT_EQ(show("ghost", std::nullopt), "user \"ghost\": no /etc/passwd in the image");
  EXPECT_EQ(show("app:ghosts"), "group \"ghosts\": no such group in /etc/group");
  EXPECT_EQ(show("app:ghosts", kPasswd, std::nullopt),
            "group \"ghosts\": no /etc/group in the image");
  EXPECT_EQ(show("a:b:c"), "user \"a:b:c\": not user[:group]");
  EXPECT_EQ(show("app:"), "user \"app:\": empty group");
  // Malformed lines are skipped, not half-used: their names do not resolve.
  EXPECT_EQ(show("broken"), "user \"broken\": no such user in /etc/passwd");
  EXPECT_EQ(show("short"), "user \"short\": no such user in /etc/passwd");
  EXPECT_EQ(show("+nisuser"), "user \"+nisuser\": no such user in /etc/passwd");
  EXPECT_EQ(show("# a comment"), "user \"# a comment\": no such user in /etc/passwd");
  EXPECT_EQ(show("app:bad"), "group \"bad\": no such group in /etc/group");
  EXPECT_EQ(show(std::string("ro\0ot", 5)).substr(0, 8), "user \"ro");
}

TEST(ImagePasswd, HostileFilesAreBounded) {
  std::string long_line = "evil:x:5:5::/" + std::string(kMaxIdLineBytes, 'a') + ":\n";
  EXPECT_EQ(show("evil", long_line + std::string(kPasswd)),
            "user \"evil\": no such user in /etc/passwd");
  EXPECT_EQ(show("root", long_line + std::string(kPasswd)), "0:0 [0,10] /root");
  std::string huge(kMaxIdFileBytes + 1, '\n');
  EXPECT_EQ(show("root", huge), "/etc/passwd: larger than 8388608 bytes");
  EXPECT_EQ(show("root", kPasswd, huge), "/etc/group: larger than 8388608 bytes");
  std::string nul_line("nul:x:3:3::/n:\0\n", 16);
  EXPECT_EQ(show("nul", nul_line + std::string(kPasswd)),
            "user \"nul\": no such user in /etc/passwd");
  EXPECT_EQ(show("root", nul_line + std::string(kPasswd)), "0:0 [0,10] /root");
  std::string many_groups;
  for (int i = 0; i < 100; ++i) many_groups += "g" + std::to_string(i) + ":x:7:app\n";
  EXPECT_EQ(show("app", kPasswd, many_groups), "1000:1000 [7] /home/app");  // each gid once
}

}  // namespace
}  // namespace husk::image
