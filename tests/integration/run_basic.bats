#!/usr/bin/env bats
# `husk-oci run`: stdio, exit status, signals, --pid-file, --detach, the CLI around it.

load helpers

@test "run: stdout and stderr of the container reach the caller" {
  run_sh --separate-stderr 'echo to-stdout; echo to-stderr >&2'
  expect_status 0
  [[ $output == to-stdout ]] || fail "stdout: $output"
  [[ $stderr == to-stderr ]] || fail "stderr: $stderr"
}

@test "run: stdin of the caller is the container's stdin" {
  set_args cat
  run bash -c 'echo from-stdin | timeout 30 "$0" --root "$1" run --bundle "$2" "$3"' \
    "$OCI" "$ROOT" "$BUNDLE" "$CID"
  expect_status 0
  expect_output from-stdin
}

@test "run: exit status 0 and 3 are the container's" {
  set_args true
  run_ctr
  expect_status 0
  set_script 'exit 3'
  run_ctr
  expect_status 3
}

@test "run: a container killed by SIGKILL makes run exit 137" {
  set_script 'echo started; exec sleep 100'
  start_run_bg --pid-file "$TEST_TMP/init.pid"
  wait_for 10 file_has "$TEST_TMP/run.out" started
  local pid
  pid=$(<"$TEST_TMP/init.pid")
  kill -KILL "$pid"
  wait_bg "$RUN_PID"
  [[ $rc -eq 137 ]] || fail "run exited $rc, want 137"
}

# SIGTERM, SIGINT, SIGHUP and SIGUSR1 sent to `run` must reach the container's init.
forwarded_signal_test() {
  local sig=$1 code=$2
  set_script "trap 'echo got-$sig; exit $code' $sig; echo ready; while :; do sleep 0.05; done"
  start_run_bg
  wait_for 10 file_has "$TEST_TMP/run.out" ready
  kill "-$sig" "$RUN_PID"
  wait_bg "$RUN_PID"
  grep -qx "got-$sig" "$TEST_TMP/run.out" || fail "trap did not run: $(cat "$TEST_TMP/run.out")"
  [[ $rc -eq $code ]] || fail "run exited $rc, want $code"
}

@test "run: SIGTERM sent to run is forwarded to the container" {
  forwarded_signal_test TERM 42
}

@test "run: SIGINT sent to run is forwarded to the container" {
  forwarded_signal_test INT 43
}

@test "run: SIGHUP sent to run is forwarded to the container" {
  forwarded_signal_test HUP 44
}

@test "run: SIGUSR1 sent to run is forwarded to the container" {
  forwarded_signal_test USR1 45
}

@test "run --pid-file: holds the pid of the container's init" {
  set_script 'echo ready; exec sleep 100'
  start_run_bg --pid-file "$TEST_TMP/init.pid"
  wait_for 10 file_has "$TEST_TMP/run.out" ready
  local pid
  pid=$(<"$TEST_TMP/init.pid")
  [[ $pid =~ ^[0-9]+$ ]] || fail "pid file content: $pid"
  # The init in its own pid namespace is pid 1 there; from here it runs `sleep 100`.
  [[ $(awk '/^NSpid:/ { print $NF }' "/proc/$pid/status") == 1 ]] || fail "not a namespace init"
  [[ $(tr '\0' ' ' <"/proc/$pid/cmdline") == "sleep 100 " ]] || fail "cmdline of $pid"
  kill -KILL "$pid"
  wait_bg "$RUN_PID"
}

@test "run --detach: returns at once and leaves the container running" {
  set_args sleep 1000
  local t0=$SECONDS
  run_detached
  (( SECONDS - t0 < 5 )) || fail "run --detach took $((SECONDS - t0))s"
  pid_alive "$CTR_PID" || fail "init $CTR_PID is not running"
  [[ $(tr '\0' ' ' <"/proc/$CTR_PID/cmdline") == "sleep 1000 " ]] || fail "cmdline of $CTR_PID"
  [[ $(readlink "/proc/$CTR_PID/ns/pid") != $(readlink /proc/self/ns/pid) ]] || fail "same pid ns"
  [[ -d $ROOT/$CID ]] || fail "no state dir $ROOT/$CID"
  delete_ctr
  wait_for 5 eval '! pid_alive $CTR_PID' || fail "init still running after delete --force"
  [[ ! -e $ROOT/$CID ]] || fail "state dir left after delete"
}

@test "run --detach: output of a detached container goes to the caller's stdout" {
  set_script 'echo detached-output; sleep 1000'
  run_detached
  wait_for 10 file_has "$TEST_TMP/ctr.out" detached-output
  delete_ctr
}

@test "run: --bundle defaults to the current directory" {
  set_args echo in-cwd
  run bash -c 'cd "$1" && timeout 30 "$0" --root "$2" run "$3" </dev/null' \
    "$OCI" "$BUNDLE" "$ROOT" "$CID"
  expect_status 0
  expect_output in-cwd
}

@test "run: a relative root.path is taken from the bundle" {
  new_bundle_copy "$BUNDLE" cat /marker
  echo copied-rootfs >"$BUNDLE/rootfs/marker"
  # Run from elsewhere so the path cannot be resolved from the cwd by accident.
  cd /
  run_ctr
  expect_status 0
  expect_output copied-rootfs
}

@test "run: a relative --bundle path is taken from the cwd" {
  set_args echo relative-bundle
  cd "$TEST_TMP"
  run_oci_rel() { oci run --bundle bundle "$CID"; }
  run run_oci_rel
  expect_status 0
  expect_output relative-bundle
}

@test "run: the args are found through PATH inside the container" {
  set_args ls /bin/busybox
  run_ctr
  expect_status 0
  expect_output /bin/busybox
  # PATH is the container's: only /usr/sbin holds `chroot` in the fixture.
  update_config '.process.env = ["PATH=/usr/sbin"] | .process.args = ["chroot", "--help"]'
  run_ctr
  expect_contains "usage: chroot"
}

@test "run: an absolute args[0] runs without PATH" {
  update_config '.process.env = [] | .process.args = ["/bin/echo", "no-path"]'
  run_ctr
  expect_status 0
  expect_output no-path
}

@test "run: args keep spaces, empty strings and dashes" {
  set_args printf '[%s]' 'a b' '' '-c' '--x=y' "quote\"s" 'dollar$HOME'
  run_ctr
  expect_status 0
  expect_output '[a b][][-c][--x=y][quote"s][dollar$HOME]'
}

@test "run --no-pivot: the container still runs inside its rootfs" {
  set_script 'cat /etc/hostname 2>/dev/null; ls /bin/busybox; touch /x 2>&1; echo $$'
  run_ctr --no-pivot
  expect_status 0
  expect_line /bin/busybox
  expect_contains "read-only file system"
  expect_line 1
}

@test "run --no-new-keyring: accepted, the container runs" {
  set_args echo keyring-ok
  run_ctr --no-new-keyring
  expect_status 0
  expect_output keyring-ok
}

@test "run: no file descriptor of the caller leaks into the container" {
  set_args ls /proc/1/fd
  run bash -c 'exec 5</etc/hostname 7>/dev/null 9<"$4"; timeout 30 "$0" --root "$1" run --bundle "$2" "$3" </dev/null' \
    "$OCI" "$ROOT" "$BUNDLE" "$CID" "$BUNDLE/config.json"
  expect_status 0
  # pid 1 is `ls` itself: its three stdio fds and the directory it is reading.
  [[ $(sort -n <<<"$output" | tr '\n' ' ') == "0 1 2 3 " ]] || fail "fds in container: $output"
}

@test "run --preserve-fds: fds 3.. are passed to the container" {
  echo preserved-data >"$TEST_TMP/data"
  set_script 'cat <&3; cat <&4; [ -e /proc/self/fd/5 ] && echo fd5-leaked || echo fd5-closed'
  run bash -c 'exec 3<"$4" 4<"$4" 5<"$4"; timeout 30 "$0" --root "$1" run --preserve-fds 2 --bundle "$2" "$3" </dev/null' \
    "$OCI" "$ROOT" "$BUNDLE" "$CID" "$TEST_TMP/data"
  expect_status 0
  expect_output "preserved-data
preserved-data
fd5-closed"
}

@test "run: the same id and bundle can run again after the first run ends" {
  set_args echo once-more
  run_ctr
  expect_status 0
  expect_output once-more
  [[ ! -e $ROOT/$CID ]] || fail "state of the ended container is still there"
  run_ctr
  expect_status 0
  expect_output once-more
}

@test "--version: a version line and a spec: line" {
  run "$OCI" --version
  expect_status 0
  grep -qE '(^| )version [0-9]' <<<"$output" || fail "no version line: $output"
  grep -qE '^spec: [0-9]+\.[0-9]+' <<<"$output" || fail "no spec line: $output"
}

@test "spec: writes the same default config.json as runc spec" {
  mkdir -p "$TEST_TMP/ours" "$TEST_TMP/runc"
  run oci spec --bundle "$TEST_TMP/ours"
  expect_status 0
  runc spec --bundle "$TEST_TMP/runc"
  diff <(jq -S 'del(.ociVersion)' "$TEST_TMP/runc/config.json") \
       <(jq -S 'del(.ociVersion)' "$TEST_TMP/ours/config.json")
  jq -e '.ociVersion | test("^1\\.")' "$TEST_TMP/ours/config.json"
}

@test "spec --rootless: same as runc spec --rootless" {
  mkdir -p "$TEST_TMP/ours" "$TEST_TMP/runc"
  run oci spec --rootless --bundle "$TEST_TMP/ours"
  expect_status 0
  runc spec --rootless --bundle "$TEST_TMP/runc"
  diff <(jq -S 'del(.ociVersion)' "$TEST_TMP/runc/config.json") \
       <(jq -S 'del(.ociVersion)' "$TEST_TMP/ours/config.json")
}

@test "spec: refuses to overwrite an existing config.json" {
  mkdir -p "$TEST_TMP/ours"
  echo '{"keep": true}' >"$TEST_TMP/ours/config.json"
  run oci spec --bundle "$TEST_TMP/ours"
  [[ $status -ne 0 ]] || fail "spec overwrote config.json"
  expect_contains "config.json"
  [[ $(jq -c . "$TEST_TMP/ours/config.json") == '{"keep":true}' ]]
}
