// linux/path.h: lexical cleaning, and lookups/creations that must stay inside
// a root whatever symlinks the tree holds. No root privileges needed.
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <set>
#include <string>

#include "linux/path.h"
#include "linux/sysctl.h"

namespace husk::linux {
namespace {

TEST(CleanPath, Table) {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"", "/"},
      {"/", "/"},
      {"//", "/"},
      {".", "/"},
      {"..", "/"},
      {"/..", "/"},
      {"/../../a", "/a"},
      {"a", "/a"},
      {"a/b/", "/a/b"},
      {"/a//b///c", "/a/b/c"},
      {"/a/./b/.", "/a/b"},
      {"/a/b/../c", "/a/c"},
      {"/a/b/../../..", "/"},
      {"a/../../b/./c/..", "/b"},
      {"/proc/self/../1", "/proc/1"},
      {"/...", "/..."},
      {"/a/..b/c", "/a/..b/c"},
  };
  for (const auto& c : cases) EXPECT_EQ(clean_path(c.in), c.out) << "input: \"" << c.in << "\"";
}

TEST(ProcFdPath, Formats) { EXPECT_EQ(proc_fd_path(17), "/proc/self/fd/17"); }

TEST(SysctlPath, Table) {
  EXPECT_EQ(*sysctl_path("net.ipv4.ip_forward"), "net/ipv4/ip_forward");
  EXPECT_EQ(*sysctl_path("kernel.shm_rmid_forced"), "kernel/shm_rmid_forced");
  EXPECT_EQ(*sysctl_path("net/ipv4/conf/eth0.100/forwarding"),
            "net/ipv4/conf/eth0.100/forwarding");
  for (const char* bad : {"", ".", "..", "net..x", ".net.x", "net.x.", "/net/x", "net/../x",
                          "net/./x", "../../etc/passwd"}) {
    auto r = sysctl_path(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, EINVAL);
    EXPECT_NE(r.error().what().find("invalid key"), std::string::npos) << r.error().what();
  }
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

// A root with hostile symlinks, beside a host directory they aim at.
class InRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = scratch_dir("husk-path");
    ASSERT_FALSE(base_.empty());
    root_ = base_ + "/root";
    outside_ = base_ + "/outside";
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(outside_.c_str(), 0755), 0);
    write(outside_ + "/secret", "host");
    ASSERT_EQ(::mkdir((root_ + "/real").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((root_ + "/dir").c_str(), 0755), 0);
    write(root_ + "/file", "x");
    link(outside_, "abs");                      // absolute host path
    link("../outside", "rel");                  // climbs out of root by one
    link("../../../../../../../..", "dotdot");  // host "/"
    link("../../outside", "dir/up");            // nested climb
    link("/", "rootlink");
    link("real", "alias");
    link("/real", "absalias");
    link("../run/stub.conf", "resolv");        // dangling inside the root
    link(outside_ + "/newfile", "evilfile");  // dangling, aimed at the host
    link("loop2", "loop1");
    link("loop1", "loop2");
    root_fd_ = UniqueFd(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_fd_);
  }
  void TearDown() override {
    root_fd_.reset();
    ::nftw(base_.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  }

  void write(const std::string& path, const std::string& data) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    ASSERT_TRUE(fd);
    ASSERT_EQ(::write(fd.get(), data.data(), data.size()), static_cast<ssize_t>(data.size()));
  }
  void link(const std::string& target, const std::string& name) {
    ASSERT_EQ(::symlink(target.c_str(), (root_ + "/" + name).c_str()), 0) << name;
  }
  bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
  }
  // The host directory must still hold exactly what SetUp put there.
  void expect_outside_untouched() {
    std::set<std::string> names;
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(outside_.c_str()), ::closedir);
    ASSERT_TRUE(d);
    while (auto* e = ::readdir(d.get())) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.insert(n);
    }
    EXPECT_EQ(names, std::set<std::string>{"secret"});
  }
  ino_t inode_of(int fd) {
    struct stat st {};
    EXPECT_EQ(::fstat(fd, &st), 0);
    return st.st_ino;
  }
  ino_t inode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    return st.st_ino;
  }

  std::string base_, root_, outside_;
  UniqueFd root_fd_;
};

TEST_F(InRoot, OpenNeverReachesTheHost) {
  for (const char* p : {"/abs/secret", "rel/secret", "/dotdot" "/tmp", "/dir/up/secret",
                        "/../outside/secret", "/rootlink/../outside/secret"}) {
    auto r = open_in_root(root_fd_.get(), p, O_RDONLY);
    EXPECT_FALSE(r) << p << " opened something";
    if (!r) {
      EXPECT_EQ(r.error().code, ENOENT) << p;
      EXPECT_NE(r.error().what().find("in rootfs"), std::string::npos) << r.error().what();
    }
  }
  // Through the full host path as seen from the root: still not the host file.
  std::string via_dotdot = "/dotdot" + outside_ + "/secret";
  EXPECT_FALSE(open_in_root(root_fd_.get(), via_dotdot, O_RDONLY));
  expect_outside_untouched();
}

TEST_F(InRoot, OpenFollowsSymlinksRelativeToTheRoot) {
  auto a = open_in_root(root_fd_.get(), "/absalias", O_PATH | O_DIRECTORY);
  ASSERT_TRUE(a) << a.error().what();
  EXPECT_EQ(inode_of(a->get()), inode_of(root_ + "/real"));
  auto b = open_in_root(root_fd_.get(), "/rootlink/rootlink/alias", O_PATH | O_DIRECTORY);
  ASSERT_TRUE(b) << b.error().what();
  EXPECT_EQ(inode_of(b->get()), inode_of(root_ + "/real"));
  auto c = open_in_root(root_fd_.get(), "/dotdot/file", O_RDONLY);
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_EQ(inode_of(c->get()), inode_of(root_ + "/file"));
}

TEST_F(InRoot, OpenRefusesMagicLinks) {
  link("/proc/self/root", "magic");
  // Inside the root /proc does not exist; through the host's /proc the magic
  // link must be refused, not followed.
  std::string host_proc = "/dotdot/proc/self/root";
  EXPECT_FALSE(open_in_root(root_fd_.get(), host_proc, O_PATH));
  UniqueFd host_root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  auto r = open_in_root(host_root.get(), "/proc/self/root/etc", O_PATH);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ELOOP);  // what RESOLVE_NO_MAGICLINKS returns
}

TEST_F(InRoot, ResolveFollowsLinksInsideTheRoot) {
  EXPECT_EQ(*resolve_in_root(root_fd_.get(), "/resolv"), "/run/stub.conf");
  EXPECT_EQ(*resolve_in_root(root_fd_.get(), "/abs/x"), outside_ + "/x");
  EXPECT_EQ(*resolve_in_root(root_fd_.get(), "/rel/a/b"), "/outside/a/b");
  EXPECT_EQ(*resolve_in_root(root_fd_.get(), "/dir/up"), "/outside");
  EXPECT_EQ(*resolve_in_root(root_fd_.get(), "/alias/x/../y"), "/real/y");
  EXPECT_EQ(*resolve_in_root(root_fd_.get(), "/missing/../absalias"), "/real");
  EXPECT_EQ(*resolve_in_root(root_fd_.get(), "dotdot"), "/");
  auto loop = resolve_in_root(root_fd_.get(), "/loop1");
  ASSERT_FALSE(loop);
  EXPECT_EQ(loop.error().code, ELOOP);
}

TEST_F(InRoot, MkdirAllCreatesInsideTheRoot) {
  auto a = mkdir_all_in_root(root_fd_.get(), "/rel/a/b", 0755);
  ASSERT_TRUE(a) << a.error().what();
  EXPECT_EQ(inode_of(a->get()), inode_of(root_ + "/outside/a/b"));
  auto b = mkdir_all_in_root(root_fd_.get(), "/abs/c", 0755);
  ASSERT_TRUE(b) << b.error().what();
  EXPECT_TRUE(exists(root_ + outside_ + "/c"));
  ASSERT_TRUE(mkdir_all_in_root(root_fd_.get(), "/dir/up/d", 0755));
  EXPECT_TRUE(exists(root_ + "/outside/d"));
  ASSERT_TRUE(mkdir_all_in_root(root_fd_.get(), "/dotdot/escaped", 0755));
  EXPECT_TRUE(exists(root_ + "/escaped"));
  ASSERT_TRUE(mkdir_all_in_root(root_fd_.get(), "/absalias/sub/sub2", 0755));
  EXPECT_TRUE(exists(root_ + "/real/sub/sub2"));
  expect_outside_untouched();
}

TEST_F(InRoot, MkdirAllMakesALastComponentOrFollowsADanglingLinkInside) {
  // Only the last component missing: made in place.
  auto r = mkdir_all_in_root(root_fd_.get(), "/alias/fresh", 0700);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(inode_of(r->get()), inode_of(root_ + "/real/fresh"));
  struct stat st {};
  ASSERT_EQ(::stat((root_ + "/real/fresh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // A dangling symlink as the last component is followed, inside the root.
  link("../made-by-link", "ghost");
  auto g = mkdir_all_in_root(root_fd_.get(), "/ghost", 0755);
  ASSERT_TRUE(g) << g.error().what();
  EXPECT_EQ(inode_of(g->get()), inode_of(root_ + "/made-by-link"));
  // And one aimed at the host lands inside the root too.
  link(outside_ + "/hostdir", "evildir");
  auto e = mkdir_all_in_root(root_fd_.get(), "/evildir", 0755);
  ASSERT_TRUE(e) << e.error().what();
  EXPECT_TRUE(exists(root_ + outside_ + "/hostdir"));
  expect_outside_untouched();
}

TEST_F(InRoot, MkdirAllReturnsExistingDirectory) {
  auto r = mkdir_all_in_root(root_fd_.get(), "/alias", 0755);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(inode_of(r->get()), inode_of(root_ + "/real"));
}

TEST_F(InRoot, MkdirAllErrorsNameThePath) {
  auto r = mkdir_all_in_root(root_fd_.get(), "/file/x", 0755);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOTDIR);
  EXPECT_EQ(r.error().what(), "mkdir \"/file/x\" in rootfs: Not a directory");
  auto loop = mkdir_all_in_root(root_fd_.get(), "/loop1/x", 0755);
  ASSERT_FALSE(loop);
  EXPECT_EQ(loop.error().code, ELOOP);
}

TEST_F(InRoot, CreateMountpointFileFollowsDanglingLinksInside) {
  auto r = create_mountpoint(root_fd_.get(), "/resolv", false);
  ASSERT_TRUE(r) << r.error().what();
  struct stat st {};
  ASSERT_EQ(::lstat((root_ + "/run/stub.conf").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 0);
  EXPECT_EQ(inode_of(r->get()), st.st_ino);

  auto e = create_mountpoint(root_fd_.get(), "/evilfile", false);
  ASSERT_TRUE(e) << e.error().what();
  EXPECT_TRUE(exists(root_ + outside_ + "/newfile"));
  expect_outside_untouched();
}

TEST_F(InRoot, CreateMountpointReusesExistingTargets) {
  auto f = create_mountpoint(root_fd_.get(), "/file", false);
  ASSERT_TRUE(f) << f.error().what();
  EXPECT_EQ(inode_of(f->get()), inode_of(root_ + "/file"));
  auto d = create_mountpoint(root_fd_.get(), "/new/dir/tree", true);
  ASSERT_TRUE(d) << d.error().what();
  EXPECT_EQ(inode_of(d->get()), inode_of(root_ + "/new/dir/tree"));
  auto nested = create_mountpoint(root_fd_.get(), "/etc/conf/hostname", false);
  ASSERT_TRUE(nested) << nested.error().what();
  EXPECT_TRUE(exists(root_ + "/etc/conf/hostname"));
  auto bad = create_mountpoint(root_fd_.get(), "/file/sub", false);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ENOTDIR);
}

}  // namespace
}  // namespace husk::linux
