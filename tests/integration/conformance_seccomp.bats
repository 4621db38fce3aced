#!/usr/bin/env bats
# Seccomp as runc does it, where its own suite (seccomp.bats, seccomp-notify.bats) checks:
# ENOSYS for syscalls newer than the profile (the stub in front of libseccomp's program,
# linux/seccomp_filter.h), a startContainer hook that runs under the filter, and the
# words of the errors engines and runc's tests look for.

load helpers

setup_file() {
  husk_setup_file
  gcc -static -O2 -o "$FILE_TMP/seccomp-enosys" "$FIXTURES/seccomp-enosys.c" \
    2>"$FILE_TMP/gcc.err" || true
}

teardown() {
  delete_ctr
  husk_teardown
}

# What a static glibc program needs from execve to exit, and what the init does after
# the filter is loaded: all older than io_uring_setup (425). Not close_range (436): the
# init's close_range gets ENOSYS and it falls back to /proc/self/fd.
ALLOWED='["execve", "brk", "arch_prctl", "set_tid_address", "set_robust_list", "rseq",
  "prlimit64", "mmap", "munmap", "mprotect", "readlink", "readlinkat", "uname", "getrandom",
  "newfstatat", "fstat", "ioctl", "write", "writev", "read", "close", "fcntl", "openat",
  "getdents64", "prctl", "sendmsg", "sendto", "recvmsg", "recvfrom",
  "exit", "exit_group", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "futex",
  "getpid", "gettid", "tgkill"]'

# A profile written before clone3 (435): it allows ALLOWED, denies io_uring_setup (425)
# by name with the default's own errno, and denies everything else by default (EPERM).
old_profile() {
  [[ -x $FILE_TMP/seccomp-enosys ]] ||
    skip "gcc -static cannot build seccomp-enosys.c: $(<"$FILE_TMP/gcc.err")"
  add_mount /seccomp-enosys bind "$FILE_TMP/seccomp-enosys" bind ro
  update_config '.process.args = ["/seccomp-enosys"]
    | .linux.seccomp = {defaultAction: "SCMP_ACT_ERRNO",
        architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        syscalls: [{names: $allowed, action: "SCMP_ACT_ALLOW"},
                   {names: ["io_uring_setup"], action: "SCMP_ACT_ERRNO", errnoRet: 1}]}' \
    --argjson allowed "$ALLOWED"
}

@test "seccomp: a syscall newer than the profile gets ENOSYS, one it knows keeps EPERM" {
  [[ $(uname -m) == x86_64 ]] || skip "syscall numbers are x86_64's"
  old_profile
  run_ctr
  expect_status 0
  # Newer than anything the profile names: glibc falls back to clone on ENOSYS.
  expect_line "clone3 rc=-1 errno=ENOSYS"
  expect_line "nr1000 rc=-1 errno=ENOSYS"
  # Named and denied, and older and not named: the profile's EPERM.
  expect_line "io_uring_setup rc=-1 errno=EPERM"
  expect_line "chroot rc=-1 errno=EPERM"
}

@test "seccomp: exec gets the same ENOSYS stub" {
  [[ $(uname -m) == x86_64 ]] || skip "syscall numbers are x86_64's"
  old_profile
  # The init must live until exec: sleep's syscalls, older than 425 as well.
  update_config '.process.args = ["sleep", "60"]
    | .linux.seccomp.syscalls[0].names += ["nanosleep", "clock_nanosleep", "openat",
        "lseek", "getuid", "geteuid", "getgid", "getegid", "getppid", "wait4", "kill",
        "setpgid", "getpgrp", "sigaltstack", "pipe2", "dup2", "dup3", "chdir", "getcwd"]'
  run_detached
  run oci exec "$CID" /seccomp-enosys
  expect_status 0
  expect_line "clone3 rc=-1 errno=ENOSYS"
  expect_line "nr1000 rc=-1 errno=ENOSYS"
  expect_line "io_uring_setup rc=-1 errno=EPERM"
  expect_line "chroot rc=-1 errno=EPERM"
}

@test "seccomp: a profile that allows by default lets newer syscalls through to the kernel" {
  [[ $(uname -m) == x86_64 ]] || skip "syscall numbers are x86_64's"
  old_profile
  update_config '.linux.seccomp.defaultAction = "SCMP_ACT_ALLOW"
    | .linux.seccomp.syscalls = [{names: ["chroot"], action: "SCMP_ACT_ERRNO"}]'
  run_ctr
  expect_status 0
  # clone3(NULL, 0) reaches the kernel, which finds the size invalid.
  expect_line "clone3 rc=-1 errno=EINVAL"
  expect_line "chroot rc=-1 errno=EPERM"
}

@test "seccomp: a startContainer hook runs under the filter and its death is an error" {
  update_config '.process.args = ["true"]
    | .linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_KILL"}]}
    | .hooks.startContainer = [{path: "/bin/sh", args: ["sh", "-c", "mkdir /tmp/hook-dir"]}]'
  add_tmpfs /tmp
  run_ctr
  expect_status 1
  expect_contains "error running hook: startContainer hook #0 (/bin/sh)"
  expect_contains ": killed by signal 31 (bad system call)"
}

@test "seccomp: SCMP_ACT_NOTIFY with no agent listening says it cannot reach the agent" {
  update_config '.process.args = ["true"]
    | .linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", listenerPath: $sock,
        syscalls: [{names: ["mkdir"], action: "SCMP_ACT_NOTIFY"}]}' \
    --arg sock "$TEST_TMP/no-agent.sock"
  run_ctr
  expect_status 1
  expect_contains "failed to connect with seccomp agent at listenerPath \"$TEST_TMP/no-agent.sock\""
  expect_contains "No such file or directory"
  [[ ! -e $ROOT/$CID ]] || fail "state of $CID left behind"
}
