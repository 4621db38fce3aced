#!/usr/bin/env bats
# `husk run`: the friendly CLI. Its default root is the host's / read-only with fresh
# /proc, /dev, /sys and private tmpfs on /tmp and /run. Checked against
# tests/fixtures/husk-ref (the same spec run by runc) with HUSK_CLI=tests/fixtures/husk-ref.

load helpers

setup() {
  husk_setup
  [[ -x $HUSK ]] || fail "husk CLI not found: $HUSK (build first or set HUSK_CLI)"
  export HUSK_ROOT=$TEST_TMP/root  # container records of its own, not in /var/lib/husk
}

# husk_run ARGS...: `husk run` with our env marker (for the leak check), stdin closed.
husk_run() {
  timeout --kill-after=5 "$TIMEOUT" "$HUSK" run --rm -e "HUSK_TEST_MARK=$MARK" "$@" </dev/null
}

@test "husk run: the command is pid 1 and sees only its own processes" {
  run husk_run -- sh -c 'echo pid=$$; cat /proc/1/cmdline | tr "\0" " "; echo; ps -o pid= | wc -l'
  expect_status 0
  expect_line pid=1
  expect_line "sh -c echo pid=\$\$; cat /proc/1/cmdline | tr \"\\0\" \" \"; echo; ps -o pid= | wc -l "
  local n
  n=$(tail -n1 <<<"$output" | tr -d ' ')
  (( n <= 5 )) || fail "$n processes visible"
}

@test "husk run: the exit status is the command's" {
  run husk_run -- sh -c 'exit 7'
  expect_status 7
  run husk_run -- true
  expect_status 0
}

@test "husk run: stdout and stderr pass through" {
  run --separate-stderr husk_run -- sh -c 'echo out; echo err >&2'
  expect_status 0
  [[ $output == out && $stderr == err ]] || fail "stdout: $output, stderr: $stderr"
}

@test "husk run --net none: the network is only lo, and it is up" {
  run husk_run --net none -- sh -c 'ls /sys/class/net; cat /sys/class/net/lo/flags; tail -n +3 /proc/net/dev | wc -l'
  expect_status 0
  expect_output "lo
0x9
1"
}

@test "husk run --net host: the host's interfaces" {
  run husk_run --net host -- sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | sort'
  expect_status 0
  expect_output "$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort)"
}

@test "husk run: a hostname set inside stays inside" {
  local before
  before=$(hostname)
  # sethostname needs CAP_SYS_ADMIN, which (as in docker) is not a default capability.
  run husk_run -- sh -c 'hostname inside-name'
  [[ $status -ne 0 ]] || fail "hostname changed without CAP_SYS_ADMIN"
  run husk_run --cap-add SYS_ADMIN -- sh -c 'hostname inside-name && hostname'
  expect_status 0
  expect_output inside-name
  [[ $(hostname) == "$before" ]] || fail "host name changed to $(hostname)"
}

@test "husk run --hostname: the container's host name" {
  run husk_run --hostname husk-demo -- hostname
  expect_status 0
  expect_output husk-demo
}

@test "husk run: IPC objects are private" {
  local id
  id=$(ipcmk -M 4096 | awk '{ print $NF }')
  defer "ipcrm -m $id"
  run husk_run -- sh -c 'cat /proc/sysvipc/shm | wc -l'
  expect_status 0
  expect_output 1
}

@test "husk run: / is read-only, /tmp and /run are private and writable" {
  echo host-file >"$TEST_TMP/visible-on-host"
  local host_tmp_file=${TEST_TMP#/tmp/}/visible-on-host
  run husk_run -- sh -c "touch /husk-root-write 2>&1; echo tmp > /tmp/f && cat /tmp/f;
    echo run > /run/f && cat /run/f; ls /tmp/$host_tmp_file 2>&1; true"
  expect_status 0
  expect_contains "read-only file system"
  expect_line tmp
  expect_line run
  expect_contains "no such file"
  [[ ! -e /husk-root-write ]] || { rm -f /husk-root-write; fail "wrote to the host's /"; }
}

@test "husk run: fresh /proc, /dev and /sys" {
  run husk_run -- sh -c 'ls /dev | sort | tr "\n" " "; echo; ls /proc | grep -c "^[0-9]"; ls /sys/class/net'
  expect_status 0
  local devs
  devs=$(head -n1 <<<"$output")
  local d
  for d in null zero full random urandom tty pts shm; do
    [[ " $devs" == *" $d "* ]] || fail "no /dev/$d in: $devs"
  done
  # The host's disks are not there.
  for d in $(ls /sys/block); do
    [[ " $devs" != *" $d "* ]] || fail "host device /dev/$d visible"
  done
  (( $(sed -n 2p <<<"$output") <= 4 )) || fail "host processes in /proc: $output"
  [[ $(tail -n1 <<<"$output") == lo ]] || fail "/sys is not the container's: $output"
}

@test "husk run -e, -w, -u: env, working directory and user" {
  run husk_run -e FOO=bar -e 'SPACED=a b' -w /tmp -u 1000:1000 -- \
    sh -c 'echo "$FOO|$SPACED"; pwd; id -u; id -g'
  expect_status 0
  expect_output "bar|a b
/tmp
1000
1000"
  run husk_run -u 1000 -- sh -c 'id -u; id -g'
  expect_status 0
  expect_output "1000
1000"
}

@test "husk run --rootfs: runs from the given root filesystem" {
  run husk_run --rootfs "$ROOTFS" -- sh -c 'grep ^husk: /etc/passwd; readlink /bin/sh'
  expect_status 0
  expect_output "husk:x:1000:1000:husk:/home/husk:/bin/sh
/bin/busybox"
}

@test "husk run --rootfs --read-only: the root cannot be written" {
  cp -a "$ROOTFS" "$TEST_TMP/rootfs"
  run husk_run --rootfs "$TEST_TMP/rootfs" -- sh -c 'touch /written && echo rw'
  expect_status 0
  expect_output rw
  [[ -e $TEST_TMP/rootfs/written ]] || fail "write not in the rootfs"
  run husk_run --rootfs "$TEST_TMP/rootfs" --read-only -- sh -c 'touch /written2 2>&1; true'
  expect_contains "read-only file system"
  [[ ! -e $TEST_TMP/rootfs/written2 ]] || fail "wrote to a read-only root"
}

@test "husk run: a missing command is a clear error" {
  run husk_run -- no-such-command-husk
  [[ $status -ne 0 ]] || fail "succeeded"
  expect_contains "no-such-command-husk"
  expect_contains "not found"
}

@test "husk run: leaves no mount behind on the host" {
  local before after
  before=$(wc -l </proc/self/mountinfo)
  run husk_run -- echo ran
  expect_status 0
  expect_output ran
  after=$(wc -l </proc/self/mountinfo)
  [[ $before -eq $after ]] || fail "mount table grew from $before to $after lines"
}

@test "husk: libcurl, libarchive, libcrypto and libnftables are not loaded at start (dlopen'ed when used)" {
  local needed
  needed=$(readelf -d "$HUSK" | awk '/NEEDED/ { print $NF }')
  [[ -n $needed ]] || fail "no NEEDED entries read"
  ! grep -qE 'libcurl|libarchive|libcrypto|libnftables' <<<"$needed" || fail "linked at start: $needed"
  # The Release build links libstdc++, libgcc, libnl and libnftnl in (CMakeLists.txt).
  if [[ $(ldd "$HUSK") != *libasan* ]]; then
    ! grep -qE 'libstdc\+\+|libgcc_s|libnl|libnftnl' <<<"$needed" || fail "linked at start: $needed"
  fi
}

