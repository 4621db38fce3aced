// husk stats and husk top: docker's formulas, units and tables, the /proc
// parsers, and the cgroup usage reader on fixture trees of each hierarchy kind.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "cgroup/stats.h"
#include "cgroup/usage.h"
#include "cgroup_test_util.h"
#include "manage/stats.h"
#include "manage/text_table.h"
#include "manage/top.h"

namespace husk::manage {
namespace {

using cgroup::testing::FixtureDir;

// --- host and /proc parsers ---

TEST(ManageStats, SystemCpuSumsSevenFieldsAsDocker) {
  // user nice system idle iowait irq softirq [steal guest guest_nice]: steal is left out.
  std::string stat = "cpu  100 2 30 5000 7 1 3 999 0 0\ncpu0 50 1 15 2500 3 0 1 0 0 0\n";
  EXPECT_EQ(parse_system_cpu_ns(stat, 100), uint64_t{100 + 2 + 30 + 5000 + 7 + 1 + 3} * 10000000);
  EXPECT_EQ(parse_system_cpu_ns("cpu0 1 2 3\n", 100), std::nullopt);
  EXPECT_EQ(parse_system_cpu_ns("cpu  1 2 3\n", 100), std::nullopt);  // too few fields
}

TEST(ManageStats, MemTotal) {
  EXPECT_EQ(parse_mem_total("MemTotal:       24684384 kB\nMemFree: 1 kB\n"),
            uint64_t{24684384} * 1024);
  EXPECT_EQ(parse_mem_total("MemFree: 1 kB\n"), std::nullopt);
}

TEST(ManageStats, NetDevSumsEveryInterfaceButLo) {
  std::string dev =
      "Inter-|   Receive                                                |  Transmit\n"
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
      "drop fifo colls carrier compressed\n"
      "    lo:  123456     100    0    0    0     0          0         0   123456     100    0 "
      "   0    0     0       0          0\n"
      "  eth0:    1000      10    0    0    0     0          0         0     2000      20    0 "
      "   0    0     0       0          0\n"
      "averyveryverylongname:30 1 0 0 0 0 0 0 40 1 0 0 0 0 0 0\n";
  NetBytes n = parse_net_dev(dev);
  EXPECT_EQ(n.rx, 1030u);
  EXPECT_EQ(n.tx, 2040u);
  EXPECT_EQ(parse_net_dev("garbage\nlo: 1 2\n").rx, 0u);
}

TEST(ManageStats, MemUsageLessInactiveFile) {
  EXPECT_EQ(docker_mem_usage(100, 30), 70u);
  EXPECT_EQ(docker_mem_usage(100, 100), 100u);  // not below: usage as it is
  EXPECT_EQ(docker_mem_usage(100, 200), 100u);
}

// --- formulas ---

Sample at(uint64_t cpu_ns, uint64_t system_ns) {
  Sample s;
  s.cpu_ns = cpu_ns;
  s.system_ns = system_ns;
  s.online_cpus = 2;
  return s;
}

TEST(ManageStats, CpuPercentIsDockers) {
  // Half a CPU over one second on a 2-CPU host: 0.5 s of 2 s of host time, times 2 CPUs.
  EXPECT_DOUBLE_EQ(cpu_percent(at(1000000000, 10000000000), at(1500000000, 12000000000)), 50.0);
  // Both CPUs busy: 200%, as docker shows it.
  EXPECT_DOUBLE_EQ(cpu_percent(at(0, 0), at(2000000000, 2000000000)), 200.0);
  EXPECT_EQ(cpu_percent(at(5, 10), at(5, 20)), 0.0);   // idle
  EXPECT_EQ(cpu_percent(at(50, 10), at(5, 20)), 0.0);  // counter went back: restarted
  EXPECT_EQ(cpu_percent(at(5, 10), at(50, 10)), 0.0);  // no host time passed
}

TEST(ManageStats, RowFromTwoSamples) {
  Sample prev = at(1000000000, 10000000000);
  Sample cur = at(1500000000, 12000000000);
  cur.mem_usage = 512 * 1024 * 1024;
  cur.mem_limit = 2048ull * 1024 * 1024;
  cur.net_rx = 7;
  cur.blk_write = 9;
  cur.pids = 3;
  Row r = make_row({"0123456789abcdef", "web", "/run/husk", "rt"}, "", prev, cur);
  EXPECT_EQ(r.container, "0123456789ab");  // not named by the user: the short id
  EXPECT_DOUBLE_EQ(r.cpu_percent, 50.0);
  EXPECT_DOUBLE_EQ(r.mem_percent, 25.0);
  EXPECT_EQ(r.net_rx, 7u);
  EXPECT_EQ(r.blk_write, 9u);
  EXPECT_EQ(r.pids, 3u);
  EXPECT_EQ(make_row({"0123456789abcdef", "web", "", ""}, "web", prev, cur).container, "web");
  cur.mem_limit = 0;
  EXPECT_EQ(make_row({"x", "", "", ""}, "", prev, cur).mem_percent, 0.0);
}

// --- units (go-units, as docker calls it) ---

TEST(ManageStats, BinarySizes) {
  EXPECT_EQ(binary_size(0), "0B");
  EXPECT_EQ(binary_size(1023), "1023B");
  EXPECT_EQ(binary_size(1024), "1KiB");
  EXPECT_EQ(binary_size(1536), "1.5KiB");
  EXPECT_EQ(binary_size(5902336), "5.629MiB");  // 5.62890625 MiB
  EXPECT_EQ(binary_size(2095944294.4), "1.952GiB");
  EXPECT_EQ(binary_size(1048575), "1024KiB");  // %.4g of 1023.999
  EXPECT_EQ(binary_size(24684384.0 * 1024), "23.54GiB");
}

TEST(ManageStats, DecimalSizes) {
  EXPECT_EQ(decimal_size(0), "0B");
  EXPECT_EQ(decimal_size(916), "916B");
  EXPECT_EQ(decimal_size(1000), "1kB");
  EXPECT_EQ(decimal_size(147456), "147kB");
  EXPECT_EQ(decimal_size(1048576), "1.05MB");
  EXPECT_EQ(decimal_size(999600), "1e+03kB");  // Go's %.3g says the same
  EXPECT_EQ(decimal_size(3.5e12), "3.5TB");
}

// --- tables ---

Row sample_row() {
  Row r;
  r.id = "0123456789abcdef0123";
  r.name = "web";
  r.container = "web";
  r.cpu_percent = 50.004;
  r.mem_usage = 1572864;
  r.mem_limit = 2147483648;
  r.mem_percent = 0.0732421875;
  r.net_rx = 916;
  r.blk_read = 147000;
  r.pids = 9;
  return r;
}

TEST(ManageStats, TableAsDockersTabwriter) {
  Row other = sample_row();
  other.id = "fedcba9876543210";
  other.name = "";
  other.pids = 120;
  EXPECT_EQ(format_table({sample_row(), other}),
            "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O     "
            "BLOCK I/O    PIDS\n"
            "0123456789ab   web       50.00%    1.5MiB / 2GiB       0.07%     916B / 0B   "
            "147kB / 0B   9\n"
            "fedcba987654   --        50.00%    1.5MiB / 2GiB       0.07%     916B / 0B   "
            "147kB / 0B   120\n");
  EXPECT_EQ(format_table({}),
            "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   "
            "BLOCK I/O   PIDS\n");
}

TEST(ManageStats, JsonLinesWithDockersKeys) {
  EXPECT_EQ(format_json({sample_row(), sample_row()}),
            std::string("{\"BlockIO\":\"147kB / 0B\",\"CPUPerc\":\"50.00%\",\"Container\":\"web\","
                        "\"ID\":\"0123456789ab\",\"MemPerc\":\"0.07%\",\"MemUsage\":\"1.5MiB / "
                        "2GiB\",\"Name\":\"web\",\"NetIO\":\"916B / 0B\",\"PIDs\":\"9\"}\n") +
                "{\"BlockIO\":\"147kB / 0B\",\"CPUPerc\":\"50.00%\",\"Container\":\"web\","
                "\"ID\":\"0123456789ab\",\"MemPerc\":\"0.07%\",\"MemUsage\":\"1.5MiB / "
                "2GiB\",\"Name\":\"web\",\"NetIO\":\"916B / 0B\",\"PIDs\":\"9\"}\n");
  EXPECT_EQ(format_json({}), "");
}

TEST(ManageStats, AlignColumnsCountsCharacters) {
  // "é" is two bytes, one column.
  EXPECT_EQ(align_columns({{"a", "b"}, {"\xc3\xa9", "c"}}, 1, 2), "a  b\n\xc3\xa9  c\n");
  EXPECT_EQ(text_width("\xc3\xa9t\xc3\xa9"), 3u);
}

// --- picking containers by id, prefix or name ---

TEST(ManageStats, PickTargets) {
  std::vector<StatsTarget> all = {{"abc123", "web", "/r", "abc123"},
                                  {"abd456", "db", "/r", "abd456"},
                                  {"ff0000", "abc", "/r", "ff0000"}};
  auto every = pick_targets(all, {});
  ASSERT_TRUE(every);
  ASSERT_EQ(every->size(), 3u);
  EXPECT_EQ((*every)[1].named_as, "abd456");

  auto some = pick_targets(all, {"db", "abc1", "abc"});
  ASSERT_TRUE(some) << some.error().what();
  ASSERT_EQ(some->size(), 3u);
  EXPECT_EQ((*some)[0].target.id, "abd456");
  EXPECT_EQ((*some)[1].target.id, "abc123");  // a prefix
  EXPECT_EQ((*some)[2].target.id, "ff0000");  // a name beats a prefix of another id
  EXPECT_EQ((*some)[2].named_as, "abc");

  auto missing = pick_targets(all, {"web", "nope"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().what(), "no such container: nope");
  auto lenient = pick_targets(all, {"web", "nope"}, true);
  ASSERT_TRUE(lenient);
  EXPECT_EQ(lenient->size(), 1u);

  auto ambiguous = pick_targets(all, {"ab"});
  ASSERT_FALSE(ambiguous);
  EXPECT_EQ(ambiguous.error().what(), "multiple containers match \"ab\": give more of the id");
}

// --- the cgroup usage reader ---

TEST(ManageStats, UsageV1ReadsRuncsBlkioChoice) {
  FixtureDir d;
  d.write("cpuacct/cpuacct.usage", "46957949\n");
  d.write("memory/memory.usage_in_bytes", "10485760\n");
  d.write("memory/memory.limit_in_bytes", "9223372036854771712\n");
  d.write("memory/memory.stat", "cache 8192\ninactive_file 1\ntotal_inactive_file 4096\n");
  // BFQ's files exist (the module is loaded) but this device uses another
  // scheduler: empty, so the throttle files are the ones with the numbers.
  d.write("blkio/blkio.bfq.io_service_bytes_recursive", "Total 0\n");
  d.write("blkio/blkio.throttle.io_service_bytes_recursive",
          "8:0 Read 4096\n8:0 Write 512\n8:0 Sync 4608\n8:0 Total 4608\n"
          "8:16 Read 1\n8:16 Write 2\nTotal 4611\n");
  d.write("pids/pids.current", "3\n");
  cgroup::SavedState saved;
  for (const char* c : {"cpuacct", "memory", "blkio", "pids"}) saved.paths[c] = d / c;
  saved.paths["cpu"] = d / "cpuacct";
  auto u = cgroup::read_usage(saved);
  ASSERT_TRUE(u) << u.error().what();
  EXPECT_EQ(u->cpu_ns, 46957949u);
  EXPECT_EQ(u->memory, 10485760u);
  EXPECT_EQ(u->inactive_file, 4096u);  // the hierarchical total, as docker takes it
  EXPECT_EQ(u->memory_limit, 9223372036854771712u);
  EXPECT_EQ(u->io_read, 4097u);
  EXPECT_EQ(u->io_write, 514u);
  EXPECT_EQ(u->pids, 3u);

  // events --stats makes the same choice.
  UniqueFd fd(d.open("blkio"));
  cgroup::BlkioStats b;
  ASSERT_TRUE(cgroup::v1::read_blkio(fd.get(), b));
  EXPECT_EQ(b.io_service_bytes_recursive.size(), 6u);
}

TEST(ManageStats, UsageV2) {
  FixtureDir d;
  d.write("c/cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n");
  d.write("c/memory.current", "1048576\n");
  d.write("c/memory.max", "max\n");
  d.write("c/memory.stat", "anon 1000\nfile 2000\ninactive_file 24576\n");
  d.write("c/io.stat",
          "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n"
          "8:16 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0\n");
  d.write("c/pids.current", "2\n");
  cgroup::SavedState saved;
  saved.paths[""] = d / "c";
  auto u = cgroup::read_usage(saved);
  ASSERT_TRUE(u) << u.error().what();
  EXPECT_EQ(u->cpu_ns, 1500000u);
  EXPECT_EQ(u->memory, 1048576u);
  EXPECT_EQ(u->inactive_file, 24576u);
  EXPECT_EQ(u->memory_limit, cgroup::kMax);
  EXPECT_EQ(u->io_read, 101u);
  EXPECT_EQ(u->io_write, 202u);
  EXPECT_EQ(u->pids, 2u);
}

TEST(ManageStats, UsageV2WithoutControllersReadsZero) {
  FixtureDir d;
  d.write("c/cpu.stat", "usage_usec 7\n");  // a core file: there without the cpu controller
  cgroup::SavedState saved;
  saved.paths[""] = d / "c";
  auto u = cgroup::read_usage(saved);
  ASSERT_TRUE(u) << u.error().what();
  EXPECT_EQ(u->cpu_ns, 7000u);
  EXPECT_EQ(u->memory, 0u);
  EXPECT_EQ(u->memory_limit, cgroup::kMax);
  EXPECT_EQ(u->pids, 0u);
}

TEST(ManageStats, UsageHybridNeverOpensTheCgroup2Directory) {
  FixtureDir d;
  d.write("cpuacct/cpuacct.usage", "5\n");
  d.write("memory/memory.usage_in_bytes", "1\n");
  d.write("memory/memory.limit_in_bytes", "2\n");
  d.write("blkio/blkio.throttle.io_service_bytes_recursive", "Total 0\n");
  d.write("pids/pids.current", "1\n");
  cgroup::SavedState saved;
  for (const char* c : {"cpuacct", "memory", "blkio", "pids"}) saved.paths[c] = d / c;
  saved.paths[""] = d / "no-such-dir";  // every number came from v1: not opened
  auto u = cgroup::read_usage(saved);
  ASSERT_TRUE(u) << u.error().what();
  EXPECT_EQ(u->cpu_ns, 5u);
  EXPECT_EQ(u->io_read, 0u);

  saved.paths.erase("pids");  // now it is needed, and missing
  auto gone = cgroup::read_usage(saved);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ENOENT);
}

// --- husk top ---

TEST(ManageTop, ParseProc) {
  std::string stat =
      "1234 (my (odd) name) S 7 1234 1234 34817 1234 4194560 100 0 0 0 150 50 0 0 20 0 1 0 "
      "4242 1000 10 18446744073709551615\n";
  std::string status = "Name:\tx\nUmask:\t0022\nState:\tS\nUid:\t0\t1000\t0\t1000\nGid:\t0\n";
  auto p = parse_proc(1234, stat, status,
                      std::string("sleep\0"
                                  "100\0",
                                  10));
  ASSERT_TRUE(p) << p.error().what();
  EXPECT_EQ(p->comm, "my (odd) name");
  EXPECT_EQ(p->state, 'S');
  EXPECT_EQ(p->ppid, 7);
  EXPECT_EQ(p->tty_nr, 34817u);
  EXPECT_EQ(p->cpu_ticks, 200u);
  EXPECT_EQ(p->start_ticks, 4242u);
  EXPECT_EQ(p->euid, 1000u);  // effective, as ps -f shows
  EXPECT_EQ(ps_cmd(*p), "sleep 100");
  EXPECT_FALSE(parse_proc(1, "1 (x) S 1 2\n", status, ""));
  EXPECT_FALSE(parse_proc(1, stat, "Name:\tx\n", ""));
}

TEST(ManageTop, Columns) {
  EXPECT_EQ(ps_time(100 * 3725, 100), "01:02:05");
  EXPECT_EQ(ps_time(100 * (2 * 86400 + 5), 100), "2-00:00:05");
  EXPECT_EQ(ps_tty(0), "?");
  EXPECT_EQ(ps_tty((136 << 8) | 3), "pts/3");
  EXPECT_EQ(ps_tty(1 | (136 << 8) | (256 << 12)), "pts/257");  // the kernel's tty_nr encoding
  EXPECT_EQ(ps_tty((4 << 8) | 1), "tty1");
  EXPECT_EQ(ps_tty((4 << 8) | 65), "ttyS1");

  std::map<uint32_t, std::string> names = {{0, "root"}, {998, "systemd-network"}};
  EXPECT_EQ(ps_user(0, names), "root");
  EXPECT_EQ(ps_user(998, names), "systemd+");  // procps cuts names wider than its column
  EXPECT_EQ(ps_user(100000, names), "100000");

  Clock c{.ticks_per_second = 100, .boot_time = 0, .uptime = 10, .now = 0};
  EXPECT_EQ(ps_c(50, 0, c), "5");     // 0.5 s of CPU in 10 s of life
  EXPECT_EQ(ps_c(5000, 0, c), "99");  // capped, as procps does
  EXPECT_EQ(ps_c(50, 1000, c), "0");  // born this very second

  ProcInfo zombie{.pid = 9, .state = 'Z', .comm = "sh"};
  EXPECT_EQ(ps_cmd(zombie), "[sh] <defunct>");
  ProcInfo odd{.pid = 9, .comm = "x", .cmdline = std::string("a\tb\0c\0", 6)};
  EXPECT_EQ(ps_cmd(odd), "a?b c");
}

TEST(ManageTop, StartTimeAsPs) {
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  Clock c{.ticks_per_second = 100, .boot_time = 1700000000};  // 2023-11-14 22:13:20
  c.now = c.boot_time + 3600;
  EXPECT_EQ(ps_stime(100 * 60, c), "22:14");
  c.now = c.boot_time + 86400;
  EXPECT_EQ(ps_stime(100 * 60, c), "Nov14");
  c.now = c.boot_time + 400 * 86400;
  EXPECT_EQ(ps_stime(100 * 60, c), "2023");
}

TEST(ManageTop, PasswdNames) {
  auto names = parse_passwd_names(
      "root:x:0:0:root:/root:/bin/bash\n# comment\nbad line\n:x:5:5::/:/bin/sh\n"
      "daemon:x:1:1::/:/bin/sh\ntoor:x:0:0::/:/bin/sh\nnum:x:abc:1::/:/bin/sh");
  EXPECT_EQ(names, (std::map<uint32_t, std::string>{{0, "root"}, {1, "daemon"}}));
}

TEST(ManageTop, TableAsDockerTop) {
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  Clock c{.ticks_per_second = 100, .boot_time = 1700000000, .uptime = 100};
  c.now = c.boot_time + 100;
  ProcInfo p{.pid = 4242,
             .ppid = 4240,
             .euid = 0,
             .state = 'S',
             .cpu_ticks = 1000,
             .start_ticks = 0,
             .comm = "sleep",
             .cmdline = std::string("sleep\0infinity\0", 15)};
  EXPECT_EQ(format_top({p}, c, {{0, "root"}}),
            "UID                 PID                 PPID                C                   "
            "STIME               TTY                 TIME                CMD\n"
            "root                4242                4240                10                  "
            "22:13               ?                   00:00:10            sleep infinity\n");
}

}  // namespace
}  // namespace husk::manage
