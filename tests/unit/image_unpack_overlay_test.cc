// Two layers unpacked by unpack_layer, stacked by a real overlayfs mount: the
// whiteout and the opaque directory of the upper layer hide the lower files.
// The mount lives in a private mount namespace of a child (unshare -m), so
// nothing leaks to the host even if the test dies.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/file.h"
#include "image/unpack.h"
#include "image_tar_util.h"
#include "temp_dir_util.h"

extern char** environ;

namespace husk::image {
namespace {

// Runs argv, returns its exit status and stdout+stderr.
std::pair<int, std::string> run(const std::vector<std::string>& args) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) < 0) return {-1, "pipe"};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid;
  int rc = ::posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(pipefd[1]);
  UniqueFd r(pipefd[0]);
  if (rc != 0) return {-1, "spawn"};
  std::string out = read_all(r.get()).value_or("");
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

Result<LayerDigests> unpack_into(const std::string& dir, const std::string& blob_path,
                                 const std::vector<test::TarSpec>& entries) {
  if (::mkdir(dir.c_str(), 0755) < 0) return fail_errno("mkdir");
  UniqueFd blob = test::blob_fd(blob_path, test::make_tar(entries, test::Compression::kGzip));
  UniqueFd dest(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  return unpack_layer(blob.get(), dest.get(), {.name = dir});
}

TEST(UnpackOverlay, WhiteoutsAndOpaqueDirsHideLowerFilesInARealMount) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (overlayfs mount)";
  if (run({"unshare", "--version"}).first != 0) GTEST_SKIP() << "no unshare(1)";
  test::TempDir tmp("husk-overlay");
  std::string lower = tmp.path() + "/lower", upper = tmp.path() + "/upper",
              mnt = tmp.path() + "/mnt";
  ASSERT_EQ(::mkdir(mnt.c_str(), 0755), 0);
  auto l = unpack_into(
      lower, tmp.path() + "/l.tgz",
      {test::file("deleted", "lower"), test::file("kept", "kept"), test::dir("opq/"),
       test::file("opq/old", "old"), test::dir("plain/"), test::file("plain/old", "old")});
  ASSERT_TRUE(l) << l.error().what();
  auto u = unpack_into(
      upper, tmp.path() + "/u.tgz",
      {test::file(".wh.deleted", ""), test::dir("opq/"), test::file("opq/.wh..wh..opq", ""),
       test::file("opq/new", "new"), test::dir("plain/"), test::file("plain/new", "new")});
  ASSERT_TRUE(u) << u.error().what();

  std::string script = fmt::format(
      "mount -t overlay overlay -o ro,lowerdir={}:{} {} && cd {} && "
      "echo root: $(ls -A) && echo opq: $(ls -A opq) && echo plain: $(ls -A plain) && "
      "cat kept && (test -e deleted && echo deleted-visible || echo deleted-gone)",
      upper, lower, mnt, mnt);
  auto [status, out] = run({"unshare", "-m", "--propagation", "private", "sh", "-c", script});
  ASSERT_EQ(status, 0) << out;
  EXPECT_EQ(out,
            "root: kept opq plain\n"
            "opq: new\n"        // the opaque directory hides opq/old
            "plain: new old\n"  // a plain directory merges
            "kept"
            "deleted-gone\n");  // the whiteout hides the lower file
  // Nothing stayed mounted here: the namespace died with the child.
  struct stat st;
  ASSERT_EQ(::stat((mnt + "/kept").c_str(), &st), -1);
}

}  // namespace
}  // namespace husk::image
