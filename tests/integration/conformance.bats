#!/usr/bin/env bats
# What engines and the public suites (runc's tests/integration, OCI runtime-tools) expect
# of a runc-compatible runtime, each case carried here by a test of our own (issue 11;
# docs/engines.md says where husk-oci differs on purpose).

load helpers

teardown() {
  delete_ctr
  husk_teardown
}

# create_start: `create` then `start`, as every engine drives a runtime, with the
# program's stdout and stderr in files; waits for it to end and sets $output to its
# stdout (stderr goes to bats' log).
create_start() {
  oci create --bundle "$BUNDLE" --pid-file "$TEST_TMP/ctr.pid" "$CID" \
    >"$TEST_TMP/ctr.out" 2>"$TEST_TMP/ctr.err" || {
      cat "$TEST_TMP/ctr.err" >&2
      fail "create failed"
      return 1
    }
  local pid
  pid=$(<"$TEST_TMP/ctr.pid")
  oci start "$CID" || { cat "$TEST_TMP/ctr.err" >&2; fail "start failed"; return 1; }
  wait_for 20 eval "! pid_alive $pid" || { fail "the container still runs"; return 1; }
  cat "$TEST_TMP/ctr.err" >&2
  output=$(<"$TEST_TMP/ctr.out")
}

# ---------------------------------------------------------------------------------------
# exec.fifo: the init opens it as the container's user

@test "create + start: a non-root process.user runs (podman/docker --user 65534:65534)" {
  update_config '.process.user = {uid: 65534, gid: 65534}'
  set_args sh -c 'id -u; id -g'
  create_start
  expect_output $'65534\n65534'
}

@test "create + start: a user namespace with uid and gid mappings runs" {
  user_namespace 100000 200000
  set_args sh -c 'id -u; cat /proc/self/uid_map'
  create_start
  expect_output "0
$(printf '%10s %10s %10s' 0 100000 65536)"
}

@test "create + start: a mapped non-root user in a user namespace runs" {
  user_namespace 100000
  update_config '.process.user = {uid: 1000, gid: 1000}'
  set_args id -u
  create_start
  expect_output 1000
}

@test "exec.fifo is no wider than runc's: 0622 in a state dir others can only search" {
  set_args true
  oci create --bundle "$BUNDLE" "$CID" >/dev/null 2>&1
  [[ $(stat -c %a "$ROOT/$CID/exec.fifo") == 622 ]] || fail "mode $(stat -c %a "$ROOT/$CID/exec.fifo")"
  [[ $(stat -c %a "$ROOT/$CID") == 711 ]] || fail "state dir mode $(stat -c %a "$ROOT/$CID")"
}

# ---------------------------------------------------------------------------------------
# The command line as runc's users and tools read it

@test "-h: runc's layout, naming the program as started; a verb's help; an unknown one" {
  husk_only "husk-oci's own name"
  run "$OCI" -h
  expect_status 0
  [[ ${lines[0]} == NAME: && ${lines[1]} == "   husk-oci - Open Container Initiative runtime" ]] ||
    fail "head: ${lines[0]} / ${lines[1]}"
  expect_contains "COMMANDS:"
  expect_contains "GLOBAL OPTIONS:"
  run "$OCI" list --help
  expect_status 0
  [[ ${lines[1]} == "   husk-oci list - "* ]] || fail "verb head: ${lines[1]}"
  expect_contains "--format"
  # Installed under runc's name (podman passes --log-format only to runtimes it knows).
  ln -s "$(readlink -f "$OCI")" "$TEST_TMP/runc"
  run "$TEST_TMP/runc" -h
  [[ ${lines[1]} == "   runc - Open Container Initiative runtime (husk-oci)" ]] || fail "${lines[1]}"
  run "$TEST_TMP/runc" exec -h
  [[ ${lines[1]} == "   runc exec - "* ]] || fail "${lines[1]}"
  run "$OCI" foo -h
  [[ $status -ne 0 ]] || fail "foo -h exited 0"
  expect_contains "No help topic for 'foo'"
}

@test "--version: version, commit and spec lines (docker parses them)" {
  husk_only "husk-oci's own name"
  run "$OCI" --version
  expect_status 0
  [[ ${lines[0]} =~ ^husk-oci\ version\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "${lines[0]}"
  [[ ${lines[1]} =~ ^commit:\ [0-9a-z]+$ ]] || fail "${lines[1]}"
  [[ ${lines[2]} =~ ^spec:\ 1\.[0-9]+\.[0-9]+$ ]] || fail "${lines[2]}"
  ln -s "$(readlink -f "$OCI")" "$TEST_TMP/runc"
  run "$TEST_TMP/runc" -v
  [[ ${lines[0]} =~ ^runc\ version\ [0-9.]+\ \(husk-oci\)$ ]] || fail "${lines[0]}"
}

@test "checkpoint and restore: refused in one line (no CRIU), whatever their options" {
  husk_only "husk-oci has no CRIU support"
  run oci checkpoint --image-path /tmp/x "$CID"
  expect_status 1
  expect_output "checkpoint: not supported: husk-oci has no CRIU support"
  run oci restore --bundle "$BUNDLE" "$CID"
  expect_status 1
  expect_contains "restore: not supported"
}

# debug_steps FILE-OR-TEXT: the steps --debug logs, each naming runc's message for it.
expect_debug_steps() {
  local text=$1 step
  for step in "nsexec container setup" "child process in init()" "$2"; do
    [[ $text == *"$step"* ]] || fail "no debug step \"$step\" in:
$text"
  done
}

@test "--debug: runc's text lines on stderr, each step logged; with --log they go there only" {
  set_args true
  run --separate-stderr oci --debug run --bundle "$BUNDLE" "$CID"
  expect_status 0
  [[ $stderr == *'level=debug msg="init '* ]] || fail "stderr: $stderr"
  expect_debug_steps "$stderr" "init: closing the pipe to signal completion"
  run --separate-stderr oci --debug --log "$TEST_TMP/log.txt" run --bundle "$BUNDLE" "$CID"
  expect_status 0
  [[ $stderr != *level=debug* ]] || fail "debug on stderr with --log: $stderr"
  expect_debug_steps "$(<"$TEST_TMP/log.txt")" "init: closing the pipe to signal completion"
  run oci --debug --log "$TEST_TMP/log.json" --log-format json run --bundle "$BUNDLE" "$CID"
  expect_status 0
  jq -e 'select(.level == "debug") | .msg' "$TEST_TMP/log.json" >/dev/null ||
    fail "no debug record: $(<"$TEST_TMP/log.json")"
  expect_debug_steps "$(jq -r .msg "$TEST_TMP/log.json")" "init: closing the pipe to signal completion"
}

@test "--debug exec: the exec'd process's steps" {
  set_args sleep 1000
  run_detached
  run --separate-stderr oci --debug exec "$CID" true
  expect_status 0
  expect_debug_steps "$stderr" "setns_init: about to exec"
  run --separate-stderr oci --debug --log "$TEST_TMP/log.txt" exec "$CID" true
  [[ $stderr != *level=debug* ]] || fail "debug on stderr with --log: $stderr"
  expect_debug_steps "$(<"$TEST_TMP/log.txt")" "setns_init: about to exec"
}

# ---------------------------------------------------------------------------------------
# list, kill --all, run --keep

@test "list --format json: every state field, rootfs too" {
  set_args sleep 1000
  run_detached
  run oci list --format json
  expect_status 0
  echo "$output" | jq -e --arg id "$CID" --arg rootfs "$ROOTFS" --arg b "$BUNDLE" \
    '.[0] | .id == $id and .status == "running" and .rootfs == $rootfs and .bundle == $b
     and (.pid > 0) and (.created | length > 0) and has("owner") and (.ociVersion | length > 0)' \
    >/dev/null || fail "$output"
}

@test "kill --all on a stopped container: succeeds, and reaches what the init left in its cgroup" {
  # No pid namespace: the init's child outlives it, still in the container's cgroup.
  update_config '.linux.namespaces |= map(select(.type != "pid"))'
  set_script "sleep 1000 & echo \$! > /tmp/orphan; exit 0"
  update_config '.mounts += [{destination: "/tmp", type: "bind", source: $d, options: ["rbind"]}]' \
    --arg d "$TEST_TMP"
  run_detached
  wait_for 10 eval "[[ -s $TEST_TMP/orphan ]] && ! pid_alive $CTR_PID" || fail "the init still runs"
  local orphan
  orphan=$(<"$TEST_TMP/orphan")
  pid_alive "$orphan" || fail "the orphan is gone already"
  run oci kill "$CID" KILL
  expect_status 1
  expect_contains "container not running"
  run oci kill --all "$CID" KILL
  expect_status 0
  wait_for 10 eval "! pid_alive $orphan" || fail "kill --all left the orphan $orphan"
  run oci kill --all "$CID" 0
  expect_status 0
}

@test "run --keep: the stopped container stays, cgroup and all, until delete" {
  update_config '.linux.cgroupsPath = $p' --arg p "/$CID"
  set_args true
  run oci run --keep --bundle "$BUNDLE" "$CID"
  expect_status 0
  run oci state "$CID"
  expect_status 0
  [[ $(jq -r .status <<<"$output") == stopped ]] || fail "$output"
  [[ -d /sys/fs/cgroup/pids/$CID ]] || fail "the cgroup is gone"
  run oci delete "$CID"
  expect_status 0
  [[ ! -d /sys/fs/cgroup/pids/$CID ]] || fail "delete left the cgroup"
  run oci state "$CID"
  expect_status 1
}
