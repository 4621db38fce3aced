// linux/rootfs.h, mounts.h, devices.h, sysctl.h on a tiny fake rootfs. Every
// test that mounts runs in a forked child with its own private mount
// namespace (so nothing reaches the host) and reports back through a pipe.
// Skipped when not root.
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "base/file.h"
#include "linux/devices.h"
#include "linux/mounts.h"
#include "linux/path.h"
#include "linux/rootfs.h"
#include "linux/sysctl.h"

namespace husk::linux {
namespace {

using config::Mount;

// Runs fn in a child in new namespaces (always a mount namespace made
// rprivate); returns fn's report: "" when every check held.
std::string in_child(const std::function<std::string()>& fn, int extra_ns = 0) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    ::close(fds[0]);
    std::string out;
    if (::unshare(CLONE_NEWNS | extra_ns) < 0) {
      out = "unshare failed";
    } else if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) {
      out = "make / rprivate failed";
    } else {
      out = fn();
    }
    (void)write_all(fds[1], out);
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string report;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) report.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    report += " (child died, status " + std::to_string(status) + ")";
  return report;
}

// Collects failed checks in the child, where gtest macros must not run.
struct Checks {
  std::string out;
  void expect(bool ok, const std::string& what) {
    if (!ok) out += what + "\n";
  }
};

const MountInfo* find_mount(const std::vector<MountInfo>& infos, const std::string& point) {
  const MountInfo* found = nullptr;
  for (const auto& mi : infos)
    if (mi.mount_point == point) found = &mi;  // the last one is on top
  return found;
}

bool has_opt(const std::string& opts, const std::string& word) {
  return ("," + opts + ",").find("," + word + ",") != std::string::npos;
}

// Scratch trees live on tmpfs when there is one: the VM's ext4 makes every
// create and unlink a slow synchronous metadata update.
std::string scratch_dir(const char* prefix) {
  std::string base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm/" : "/tmp/";
  std::string tmpl = base + prefix + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return "";
  return tmpl;
}

int remove_entry(const char* path, const struct stat*, int, struct FTW*) {
  ::remove(path);
  return 0;
}

Mount make_mount(std::string dest, std::string type, std::string source, unsigned long flags,
                 std::string data = "") {
  Mount m;
  m.destination = std::move(dest);
  m.type = std::move(type);
  m.source = std::move(source);
  m.flags = flags;
  m.data = std::move(data);
  return m;
}

class Rootfs : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for mount namespaces";
    base_ = scratch_dir("husk-rootfs");
    ASSERT_FALSE(base_.empty());
    root_ = base_ + "/rootfs";
    for (const char* d : {"", "/bin", "/proc", "/dev", "/sys", "/tmp"})
      ASSERT_EQ(::mkdir((root_ + d).c_str(), 0755), 0) << d;
    ASSERT_EQ(::chmod((root_ + "/tmp").c_str(), 0710), 0);  // kept by its tmpfs
    copy_file("/bin/busybox", root_ + "/bin/busybox", 0755);
    ASSERT_EQ(::mkdir((base_ + "/hostdata").c_str(), 0755), 0);
    ASSERT_TRUE(write_file_atomic(base_ + "/hostdata/file", "data", 0644));
    ASSERT_TRUE(write_file_atomic(base_ + "/hostname", "fake-host\n", 0644));

    c_.root_path = root_;
    c_.namespaces = {{config::NamespaceType::kMount, ""}};
    const unsigned long kSafe = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    c_.mounts = {
        make_mount("/proc", "proc", "proc", kSafe),
        make_mount("/dev", "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k"),
        make_mount("/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
                   "newinstance,ptmxmode=0666,mode=0620"),
        make_mount("/dev/shm", "tmpfs", "shm", kSafe, "mode=1777,size=65536k"),
        make_mount("/dev/mqueue", "mqueue", "mqueue", kSafe),
        make_mount("/sys", "sysfs", "sysfs", kSafe | MS_RDONLY),
        make_mount("/sys/fs/cgroup", "cgroup", "cgroup", kSafe | MS_RDONLY),
        make_mount("/data", "bind", base_ + "/hostdata", MS_BIND | MS_REC | MS_RDONLY | MS_NOSUID),
        make_mount("/etc/conf/hostname", "bind", base_ + "/hostname", MS_BIND),
        make_mount("/tmp", "tmpfs", "tmpfs", MS_NOSUID | MS_RDONLY),
        make_mount("/run", "tmpfs", "tmpfs", MS_NOSUID),  // no /run in the image
    };
    config::Device custom;
    custom.path = "/dev/null";  // overrides the default entry: mode 0600
    custom.major = 1;
    custom.minor = 3;
    custom.file_mode = 0600;
    c_.devices = {custom};
    c_.readonly_paths = {"/proc/sys", "/proc/does-not-exist"};
    c_.masked_paths = {"/proc/timer_list", "/proc/acpi", "/proc/kcore", "/no/such/path"};
    c_.root_readonly = true;
  }
  // In-kernel copy: a 2 MB busybox through user space costs tens of ms.
  void copy_file(const std::string& from, const std::string& to, mode_t mode) {
    UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(in) << from;
    UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    ASSERT_TRUE(out) << to;
    struct stat st {};
    ASSERT_EQ(::fstat(in.get(), &st), 0);
    off_t left = st.st_size;
    while (left > 0) {
      ssize_t n = ::sendfile(out.get(), in.get(), nullptr, static_cast<size_t>(left));
      ASSERT_GT(n, 0) << "copy " << from;
      left -= n;
    }
  }
  void TearDown() override {
    if (!base_.empty()) ::nftw(base_.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  }

  std::string base_, root_;
  config::Container c_;
};

std::string check_mounts_inside(const config::Container&) {
  Checks ck;
  auto infos = read_mountinfo();
  if (!infos) return "read mountinfo: " + infos.error().what();
  auto expect_mount = [&](const std::string& point, const std::string& type,
                          std::initializer_list<const char*> opts) {
    const MountInfo* mi = find_mount(*infos, point);
    ck.expect(mi != nullptr, point + " not mounted");
    if (mi == nullptr) return;
    if (!type.empty()) ck.expect(mi->fs_type == type, point + " has type " + mi->fs_type);
    for (const char* o : opts)
      ck.expect(has_opt(mi->mount_options, o), point + " lacks " + o + ": " + mi->mount_options);
  };
  expect_mount("/", "", {"ro"});  // the scratch dir's filesystem
  expect_mount("/proc", "proc", {"rw", "nosuid", "nodev", "noexec"});
  expect_mount("/dev", "tmpfs", {"rw", "nosuid"});
  expect_mount("/dev/pts", "devpts", {"nosuid", "noexec"});
  expect_mount("/dev/shm", "tmpfs", {"nosuid", "nodev", "noexec"});
  expect_mount("/dev/mqueue", "mqueue", {"nosuid"});
  expect_mount("/sys", "sysfs", {"ro", "nosuid"});
  // As runc: the tmpfs stays writable, the hierarchies in it are read-only.
  expect_mount("/sys/fs/cgroup", "tmpfs", {"rw", "nosuid", "nodev", "noexec"});
  expect_mount("/data", "", {"ro", "nosuid"});
  expect_mount("/tmp", "tmpfs", {"ro", "nosuid"});
  expect_mount("/proc/sys", "proc", {"ro", "nosuid", "nodev", "noexec"});
  expect_mount("/proc/acpi", "tmpfs", {"ro"});
  return ck.out;
}

std::string check_files_inside() {
  Checks ck;
  struct stat st {};
  ck.expect(::stat("/bin/busybox", &st) == 0 && S_ISREG(st.st_mode), "no /bin/busybox");
  ck.expect(::lstat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3),
            "/dev/null is not char 1:3");
  ck.expect((st.st_mode & 07777) == 0600, "/dev/null mode is not the config's 0600");
  ck.expect(::lstat("/dev/urandom", &st) == 0 && st.st_rdev == makedev(1, 9), "no /dev/urandom");
  ck.expect(::lstat("/dev/tty", &st) == 0 && st.st_rdev == makedev(5, 0), "no /dev/tty");
  char buf[256] = {};
  ck.expect(::readlink("/dev/ptmx", buf, sizeof buf - 1) > 0 && std::string(buf) == "pts/ptmx",
            "/dev/ptmx is not a pts/ptmx symlink");
  std::fill(std::begin(buf), std::end(buf), 0);
  ck.expect(::readlink("/dev/stderr", buf, sizeof buf - 1) > 0 &&
                std::string(buf) == "/proc/self/fd/2",
            "bad /dev/stderr");
  auto masked = read_file("/proc/timer_list");
  ck.expect(masked && masked->empty(), "/proc/timer_list is not masked");
  auto data = read_file("/data/file");
  ck.expect(data && *data == "data", "/data/file not readable");
  auto host = read_file("/etc/conf/hostname");
  ck.expect(host && *host == "fake-host\n", "file bind mount missing");
  // Opening for write is refused by a read-only mount before any write.
  int fd = ::open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC);
  ck.expect(fd < 0 && errno == EROFS, "/proc/sys is writable");
  if (fd >= 0) ::close(fd);
  fd = ::open("/new-file", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ck.expect(fd < 0 && errno == EROFS, "root is writable");
  if (fd >= 0) ::close(fd);
  fd = ::open("/data/new-file", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ck.expect(fd < 0 && errno == EROFS, "/data is writable");
  if (fd >= 0) ::close(fd);
  ck.expect(::stat("/sys/fs/cgroup/memory", &st) == 0 && S_ISDIR(st.st_mode),
            "no /sys/fs/cgroup/memory");
  ck.expect(::stat("/tmp", &st) == 0 && (st.st_mode & 07777) == 0710, "/tmp lost its mode");
  ck.expect(::stat("/run", &st) == 0 && (st.st_mode & 07777) == 01777, "/run is not 1777");
  ck.expect(::mkdir("/sys/fs/cgroup/memory/husk-x", 0755) < 0 && errno == EROFS,
            "cgroup hierarchy is writable");
  return ck.out;
}

TEST_F(Rootfs, PrepareEnterFinalize) {
  std::string report = in_child([&] {
    RootfsOptions o;
    if (auto r = prepare_rootfs(c_, o); !r) return "prepare: " + r.error().what();
    if (auto r = enter_rootfs(c_, false); !r) return "enter: " + r.error().what();
    if (auto r = finalize_rootfs(c_); !r) return "finalize: " + r.error().what();
    return check_mounts_inside(c_) + check_files_inside();
  });
  EXPECT_EQ(report, "");
}

TEST_F(Rootfs, NoPivotMovesRootAndChroots) {
  c_.mounts.resize(2);  // /proc and /dev
  c_.root_readonly = false;
  std::string report = in_child([&] {
    if (auto r = prepare_rootfs(c_, {}); !r) return "prepare: " + r.error().what();
    if (auto r = enter_rootfs(c_, true); !r) return "enter: " + r.error().what();
    if (auto r = finalize_rootfs(c_); !r) return "finalize: " + r.error().what();
    Checks ck;
    struct stat st {};
    ck.expect(::stat("/bin/busybox", &st) == 0, "no /bin/busybox after chroot");
    ck.expect(::stat(base_.c_str(), &st) < 0, "host tree still visible");
    auto masked = read_file("/proc/timer_list");
    ck.expect(masked && masked->empty(), "/proc/timer_list is not masked");
    return ck.out;
  });
  EXPECT_EQ(report, "");
}

TEST_F(Rootfs, CgroupNamespaceMountsFreshHierarchies) {
  c_.mounts = {make_mount("/sys", "sysfs", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC),
               make_mount("/sys/fs/cgroup", "cgroup", "cgroup", MS_NOSUID | MS_RDONLY)};
  std::string root = root_;
  std::string report = in_child(
      [&] {
        RootfsOptions o;
        o.new_cgroup_namespace = true;
        if (auto r = prepare_rootfs(c_, o); !r) return "prepare: " + r.error().what();
        Checks ck;
        auto infos = read_mountinfo();
        if (!infos) return infos.error().what();
        const MountInfo* mem = find_mount(*infos, root + "/sys/fs/cgroup/memory");
        ck.expect(mem && mem->fs_type == "cgroup" && has_opt(mem->mount_options, "ro"),
                  "memory hierarchy not mounted read-only");
        const MountInfo* sd = find_mount(*infos, root + "/sys/fs/cgroup/systemd");
        ck.expect(sd && has_opt(sd->super_options, "name=systemd"), "systemd hierarchy missing");
        const MountInfo* uni = find_mount(*infos, root + "/sys/fs/cgroup/unified");
        ck.expect(uni && uni->fs_type == "cgroup2", "unified hierarchy missing");
        // In a new cgroup namespace the hierarchy's root is our own cgroup.
        ck.expect(mem && mem->root == "/", "memory mount root is " + (mem ? mem->root : "?"));
        return ck.out;
      },
      CLONE_NEWCGROUP);
  EXPECT_EQ(report, "");
}

TEST_F(Rootfs, ErrorsNameTheMountAndReason) {
  c_.mounts = {make_mount("/data", "bind", base_ + "/missing", MS_BIND)};
  std::string want = "mount \"" + base_ + "/missing\" on \"/data\": No such file or directory";
  EXPECT_EQ(in_child([&] {
              auto r = prepare_rootfs(c_, {});
              return r ? std::string("no error") : r.error().what();
            }),
            want);
  c_.mounts = {make_mount("/proc", "proc", "proc", 0)};
  ASSERT_EQ(::symlink("/tmp", (root_ + "/proc2").c_str()), 0);
  c_.mounts[0].destination = "/proc2";
  EXPECT_EQ(in_child([&] {
              auto r = prepare_rootfs(c_, {});
              return r ? std::string("no error") : r.error().what();
            }),
            "mount \"proc\" on \"/proc2\": \"/proc2\" is a symlink to \"/tmp\" in the rootfs: "
            "filesystem \"proc\" must be mounted on ordinary directory");
  // Nor on a file.
  ASSERT_EQ(::close(::open((root_ + "/proc3").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644)), 0);
  c_.mounts[0].destination = "/proc3";
  EXPECT_EQ(in_child([&] {
              auto r = prepare_rootfs(c_, {});
              return r ? std::string("no error") : r.error().what();
            }),
            "mount \"proc\" on \"/proc3\": \"/proc3\" is not a directory: "
            "filesystem \"proc\" must be mounted on ordinary directory");
  c_.mounts = {make_mount("/x", "nosuchfs", "", 0)};
  EXPECT_EQ(in_child([&] {
              auto r = prepare_rootfs(c_, {});
              return r ? std::string("no error") : r.error().what();
            }),
            "mount \"nosuchfs\" on \"/x\": No such device");
}

TEST_F(Rootfs, BindDevicesInUserNamespaceMode) {
  std::string report = in_child([&] {
    UniqueFd root(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    auto r = create_devices(root.get(), default_devices(), true);
    if (!r) return r.error().what();
    Checks ck;
    struct stat st {};
    ck.expect(::stat((root_ + "/dev/zero").c_str(), &st) == 0 && S_ISCHR(st.st_mode) &&
                  st.st_rdev == makedev(1, 5),
              "/dev/zero not bound from the host");
    auto infos = read_mountinfo();
    ck.expect(infos && find_mount(*infos, root_ + "/dev/zero") != nullptr, "no bind mount");
    return ck.out;
  });
  EXPECT_EQ(report, "");
  // The bind targets are plain empty files on disk once the namespace is gone.
  struct stat st {};
  ASSERT_EQ(::stat((root_ + "/dev/zero").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

// Enters a user namespace mapping only root, and a mount namespace it owns:
// every mount copied from the parent namespace then has its flags locked.
std::string enter_user_namespace() {
  if (::unshare(CLONE_NEWUSER) < 0) return "unshare user";
  (void)write_file("/proc/self/setgroups", "deny");
  if (!write_file("/proc/self/uid_map", "0 0 1")) return "uid_map";
  if (!write_file("/proc/self/gid_map", "0 0 1")) return "gid_map";
  if (::unshare(CLONE_NEWNS) < 0) return "unshare mount";
  return "";
}

TEST_F(Rootfs, UserNamespaceKeepsLockedFlagsAndFallsBackForSysfs) {
  std::string src = base_ + "/locked";
  ASSERT_EQ(::mkdir(src.c_str(), 0755), 0);
  c_.mounts = {
      make_mount("/sys", "sysfs", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC),
      make_mount("/locked", "bind", src, MS_BIND | MS_NOEXEC),
  };
  c_.namespaces.push_back({config::NamespaceType::kUser, ""});  // no network namespace
  std::string root = root_;
  std::string report = in_child([&] {
    if (::mount("tmpfs", src.c_str(), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) < 0)
      return std::string("mount source tmpfs");
    if (auto e = enter_user_namespace(); !e.empty()) return e;
    RootfsOptions o;
    o.in_user_namespace = true;
    if (auto r = prepare_rootfs(c_, o); !r) return "prepare: " + r.error().what();
    Checks ck;
    auto infos = read_mountinfo();
    if (!infos) return infos.error().what();
    const MountInfo* locked = find_mount(*infos, root + "/locked");
    ck.expect(locked != nullptr, "/locked not mounted");
    if (locked != nullptr) {
      for (const char* o : {"ro", "nosuid", "nodev", "noexec"})
        ck.expect(has_opt(locked->mount_options, o), std::string("/locked lacks ") + o);
    }
    const MountInfo* sys = find_mount(*infos, root + "/sys");
    ck.expect(sys && sys->root == "/" && has_opt(sys->mount_options, "ro"),
              "/sys is not a read-only bind of the host's");
    const MountInfo* sub = find_mount(*infos, root + "/sys/fs/cgroup");
    ck.expect(sub && has_opt(sub->mount_options, "ro"), "/sys submounts are writable");
    struct stat st {};
    ck.expect(::stat((root + "/dev/null").c_str(), &st) == 0 && S_ISCHR(st.st_mode),
              "/dev/null not bound from the host");
    return ck.out;
  });
  EXPECT_EQ(report, "");

  // Asking to clear a locked flag ("rw" on a read-only source) is an error.
  c_.mounts = {make_mount("/locked", "bind", src, MS_BIND | MS_NOEXEC)};
  c_.mounts[0].clear_flags = MS_RDONLY;
  report = in_child([&] {
    if (::mount("tmpfs", src.c_str(), "tmpfs", MS_RDONLY, nullptr) < 0)
      return std::string("mount source tmpfs");
    if (auto e = enter_user_namespace(); !e.empty()) return e;
    auto r = prepare_rootfs(c_, {.in_user_namespace = true});
    return r ? std::string("no error") : r.error().what();
  });
  EXPECT_EQ(report, "mount \"" + src +
                        "\" on \"/locked\": remount: flags locked by the kernel: "
                        "Operation not permitted");
}

TEST(MergeDevices, UserEntryWinsByPath) {
  config::Device tty;
  tty.path = "/dev//tty";
  tty.major = 5;
  tty.file_mode = 0620;
  config::Device fuse;
  fuse.path = "/dev/fuse";
  fuse.major = 10;
  fuse.minor = 229;
  auto all = merge_devices({tty, fuse});
  ASSERT_EQ(all.size(), 7u);
  int ttys = 0;
  for (const auto& d : all)
    if (clean_path(d.path) == "/dev/tty") {
      ++ttys;
      EXPECT_EQ(d.file_mode, 0620u);
    }
  EXPECT_EQ(ttys, 1);
  EXPECT_EQ(all.back().path, "/dev/fuse");
}

// Found by tests/fuzz (fuzz_mountinfo): a mount id beyond int overflowed
// (undefined behaviour); such a line is malformed and skipped.
TEST(Mountinfo, IdBeyondIntIsSkipped) {
  auto v = parse_mountinfo(
      "99999999999 1 0:1 / / rw - ext4 /dev/a rw\n"
      "26 2147483648 254:0 / / rw - ext4 /dev/vda rw\n"
      "2147483647 1 0:2 / /x rw - tmpfs tmpfs rw\n");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].id, 2147483647);
  EXPECT_EQ(v[0].mount_point, "/x");
}

TEST(Mountinfo, ParsesFieldsAndEscapes) {
  auto v = parse_mountinfo(
      "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n"
      "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime shared:5 master:2 - cgroup2 cgroup2 rw\n"
      "50 26 0:40 /sub /mnt/with\\040space rw - tmpfs tmp\\134fs rw,size=4k\n"
      "garbage line\n");
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].id, 26);
  EXPECT_EQ(v[0].parent, 1);
  EXPECT_EQ(v[0].mount_point, "/");
  EXPECT_EQ(v[0].fs_type, "ext4");
  EXPECT_EQ(v[0].super_options, "rw,discard");
  EXPECT_EQ(v[1].optional, "shared:5 master:2");
  EXPECT_EQ(v[1].fs_type, "cgroup2");
  EXPECT_EQ(v[2].root, "/sub");
  EXPECT_EQ(v[2].mount_point, "/mnt/with space");
  EXPECT_EQ(v[2].source, "tmp\\fs");
}

TEST(PathPrefix, ComponentWise) {
  EXPECT_TRUE(path_has_prefix("/a/b", "/a"));
  EXPECT_TRUE(path_has_prefix("/a", "/a"));
  EXPECT_TRUE(path_has_prefix("/a", "/"));
  EXPECT_FALSE(path_has_prefix("/ab", "/a"));
  EXPECT_FALSE(path_has_prefix("/", "/a"));
}

TEST(StatfsFlags, MapsToMountFlags) {
  EXPECT_EQ(statfs_to_ms_flags(ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC),
            MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
  EXPECT_EQ(statfs_to_ms_flags(ST_RELATIME), static_cast<unsigned long>(MS_RELATIME));
  EXPECT_EQ(statfs_to_ms_flags(ST_NOATIME | ST_NODIRATIME),
            static_cast<unsigned long>(MS_NOATIME | MS_NODIRATIME));
}

TEST(Sysctl, WritesInOwnUtsNamespaceAndNamesBadKeys) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for a UTS namespace";
  std::string report = in_child(
      [] {
        auto proc = Procfs::open();
        if (!proc) return proc.error().what();
        auto r = apply_sysctl(*proc, {{"kernel.hostname", "husk-sysctl-test"}});
        if (!r) return r.error().what();
        struct utsname u {};
        ::uname(&u);
        if (std::string(u.nodename) != "husk-sysctl-test") return std::string("not applied");
        auto bad = apply_sysctl(*proc, {{"kernel.no_such_key_husk", "1"}});
        if (bad) return std::string("missing key accepted");
        return bad.error().what();
      },
      CLONE_NEWUTS);
  EXPECT_EQ(report,
            "sysctl \"kernel.no_such_key_husk\": open /proc/sys/kernel/no_such_key_husk: No such "
            "file or directory");
}

}  // namespace
}  // namespace husk::linux
