#!/usr/bin/env bats
# `husk-oci exec` into a running container, and terminals (process.terminal with
# --console-socket, or the caller's terminal proxied), as runc does them.

load helpers

# Every test here works on one long-running container: delete it before the leak checks.
teardown() {
  delete_ctr
  husk_teardown
}

# Starts $BUNDLE detached running `sleep 1000` (or SCRIPT); its init pid in $CTR_PID.
start_sleeper() {
  set_script "${1:-exec sleep 1000}"
  run_detached
}

# Namespaces of a pid as "name:inode" lines, for comparison.
ns_of() {
  local n
  for n in ipc mnt net pid uts cgroup; do echo "$n:$(stat -Lc %i "/proc/$1/ns/$n")"; done
}

@test "exec: the process joins every namespace and cgroup of the init" {
  update_config '.hostname = "exec-host"'
  start_sleeper
  run oci exec "$CID" sh -c 'hostname; cat /proc/1/cmdline | tr "\0" " "; echo; cat /proc/self/cgroup'
  expect_status 0
  expect_line exec-host
  expect_line "sleep 1000 "
  local want
  want=$(cat "/proc/$CTR_PID/cgroup")
  [[ $output == *"$want"* ]] || fail "cgroups differ: want
$want
got
$output"
  # The exec'd process, seen from the host, shares the init's namespaces.
  oci exec --detach --pid-file "$TEST_TMP/x.pid" "$CID" sleep 1000 >/dev/null 2>&1
  local xpid
  xpid=$(<"$TEST_TMP/x.pid")
  [[ $(ns_of "$xpid") == "$(ns_of "$CTR_PID")" ]] || fail "namespaces differ:
$(ns_of "$xpid")
vs
$(ns_of "$CTR_PID")"
  # Its pid inside the container is not 1, and it cannot trace or be traced freely:
  # the runtime code ran non-dumpable.
  [[ $(cat "/proc/$xpid/cgroup") == "$(cat "/proc/$CTR_PID/cgroup")" ]] || fail "cgroup differs"
}

@test "exec: exit status and signal deaths come back as runc reports them" {
  start_sleeper
  run oci exec "$CID" sh -c 'exit 7'
  expect_status 7
  run oci exec "$CID" sh -c 'kill -KILL $$'
  expect_status 137
}

@test "exec: stdin, stdout and stderr are the caller's" {
  start_sleeper
  run --separate-stderr bash -c 'echo from-stdin | timeout 30 "$0" --root "$1" exec "$2" sh -c "cat; echo err >&2"' \
    "$OCI" "$ROOT" "$CID"
  expect_status 0
  expect_output from-stdin
  [[ $stderr == err ]] || fail "stderr: $stderr"
}

@test "exec: --env, --cwd, --user and --additional-gids" {
  start_sleeper
  run oci exec --env FOO=bar --env PATH=/bin --cwd /tmp --user 1000:1001 \
    --additional-gids 5 --additional-gids 7 "$CID" sh -c 'echo $FOO $PATH; pwd; id -u; id -g; id -G'
  expect_status 0
  expect_line "bar /bin"
  expect_line /tmp
  expect_line 1000
  expect_line 1001
  expect_line "1001 5 7"
}

@test "exec: the container's env, user and capabilities are the defaults" {
  update_config '.process.env += ["FROM_CONFIG=yes"] | .process.user = {uid: 0, gid: 0}'
  start_sleeper
  run oci exec "$CID" sh -c 'echo $FROM_CONFIG; grep CapEff /proc/self/status'
  expect_status 0
  expect_line yes
  local want
  want=$(grep CapEff "/proc/$CTR_PID/status")
  expect_line "$want"
}

@test "exec: --cap adds a capability" {
  start_sleeper
  run oci exec --cap CAP_SYS_ADMIN "$CID" grep CapEff /proc/self/status
  expect_status 0
  local eff
  eff=$(awk '{print $2}' <<<"$output")
  (( (16#$eff >> 21) & 1 )) || fail "CAP_SYS_ADMIN not effective: $output"
  run oci exec --cap CAP_NOPE "$CID" true
  [[ $status -ne 0 ]] || fail "unknown capability accepted"
  expect_contains 'unknown capability "CAP_NOPE"'
}

@test "exec: --process FILE replaces the container's process" {
  start_sleeper
  cat >"$TEST_TMP/process.json" <<'EOF'
{"args": ["sh", "-c", "echo $ONLY; id -u"], "env": ["ONLY=this", "PATH=/bin"], "cwd": "/",
 "user": {"uid": 42, "gid": 42}}
EOF
  run oci exec --process "$TEST_TMP/process.json" "$CID"
  expect_status 0
  expect_line this
  expect_line 42
  echo '{"args": [], "cwd": "/"}' >"$TEST_TMP/bad.json"
  run oci exec --process "$TEST_TMP/bad.json" "$CID"
  [[ $status -ne 0 ]] || fail "empty args accepted"
  expect_contains "$TEST_TMP/bad.json: args: must not be empty"
}

@test "exec: the container's seccomp profile applies to exec'd processes" {
  update_config '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
    syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1}]}'
  start_sleeper
  run oci exec "$CID" mkdir /tmp/x
  [[ $status -ne 0 ]] || fail "mkdir was allowed"
  expect_contains "not permitted"
}

@test "exec: --detach --pid-file leaves the process running in the container" {
  start_sleeper
  # The detached process keeps its stdio: not bats' `run` pipe, or it would wait for it.
  oci exec --detach --pid-file "$TEST_TMP/x.pid" "$CID" sleep 1000 \
    >"$TEST_TMP/x.out" 2>&1 || fail "exec --detach: $(cat "$TEST_TMP/x.out")"
  local xpid
  xpid=$(<"$TEST_TMP/x.pid")
  pid_alive "$xpid" || fail "exec'd process $xpid is not running"
  [[ $(readlink "/proc/$xpid/ns/pid") == "$(readlink "/proc/$CTR_PID/ns/pid")" ]] ||
    fail "not in the container's pid namespace"
  run oci ps --format json "$CID"
  expect_status 0
  [[ $(jq length <<<"$output") -eq 2 ]] || fail "ps: $output"
  # delete --force takes the exec'd process down with the container.
  run oci delete --force "$CID"
  expect_status 0
  wait_for 10 eval "! pid_alive $xpid" || fail "exec'd process survived delete"
}

@test "exec: signals sent to exec are forwarded to the process" {
  start_sleeper
  env --default-signal=INT,QUIT "$OCI" --root "$ROOT" exec "$CID" \
    sh -c "trap 'echo got-term; exit 9' TERM; echo ready; while :; do sleep 0.05; done" \
    </dev/null >"$TEST_TMP/exec.out" 2>&1 &
  local epid=$!
  BG_PIDS+=("$epid")
  wait_for 10 file_has "$TEST_TMP/exec.out" ready
  kill -TERM "$epid"
  wait_bg "$epid"
  [[ $rc -eq 9 ]] || fail "exec exited $rc: $(cat "$TEST_TMP/exec.out")"
  grep -qx got-term "$TEST_TMP/exec.out" || fail "trap did not run"
}

@test "exec: refused in a stopped container, unknown ids and missing programs" {
  set_script 'exit 0'
  oci create --bundle "$BUNDLE" "$CID"
  oci start "$CID"
  wait_for 10 eval '[[ $(oci state "$CID" | jq -r .status) == stopped ]]'
  run oci exec "$CID" true
  [[ $status -ne 0 ]] || fail "exec into a stopped container succeeded"
  expect_contains "cannot exec in a stopped container"
  run oci exec nope-no-such true
  [[ $status -ne 0 ]] || fail "exec into an unknown container succeeded"
  expect_contains "does not exist"
  oci delete "$CID"

  start_sleeper
  run oci exec "$CID" /no/such/program
  [[ $status -ne 0 ]] || fail "missing program succeeded"
  expect_contains "no such file or directory"
  run oci exec "$CID" no-such-program
  [[ $status -ne 0 ]] || fail "missing program succeeded"
  expect_contains "executable file not found in \$PATH"
  # Nothing but the init is left in the container.
  run oci ps --format json "$CID"
  [[ $(jq length <<<"$output") -eq 1 ]] || fail "leftover processes: $output"
}

@test "exec: kill and state reach a container whose run is in the foreground" {
  set_script 'echo ready; exec sleep 1000'
  start_run_bg
  wait_for 10 file_has "$TEST_TMP/run.out" ready
  run oci state "$CID"
  expect_status 0
  [[ $(jq -r .status <<<"$output") == running ]] || fail "state: $output"
  run oci exec "$CID" true
  expect_status 0
  run oci kill "$CID" KILL
  expect_status 0
  wait_bg "$RUN_PID"
  [[ $rc -eq 137 ]] || fail "run exited $rc"
}

# ---------------------------------------------------------------------------------------
# Terminals

@test "terminal: create --console-socket hands the pty master over; the program's stdio is the pty" {
  update_config '.process.terminal = true'
  set_script 'tty; test -t 0 && test -t 1 && test -t 2 && echo all-ttys; stty size'
  update_config '.process.consoleSize = {height: 33, width: 111}'
  start_recvtty
  oci create --bundle "$BUNDLE" --console-socket "$TEST_TMP/console.sock" "$CID"
  oci start "$CID"
  wait_bg "$RECV_PID"
  run cat "$TEST_TMP/tty.out"
  expect_match '^/dev/pts/[0-9]+'
  expect_match '^all-ttys'
  expect_match '^33 111'
  grep -q '^name: /dev/pts/' "$TEST_TMP/tty.err" || fail "name: $(cat "$TEST_TMP/tty.err")"
}

@test "terminal: exec --tty --console-socket, as podman and containerd run it" {
  start_sleeper
  start_recvtty
  oci exec --tty --detach --console-socket "$TEST_TMP/console.sock" "$CID" sh -c 'tty; echo done' \
    >"$TEST_TMP/x.out" 2>&1 || fail "exec: $(cat "$TEST_TMP/x.out")"
  wait_bg "$RECV_PID"
  run cat "$TEST_TMP/tty.out"
  expect_match '^/dev/pts/[0-9]+'
  expect_match '^done'
}

@test "terminal: input typed on the terminal reaches the program" {
  update_config '.process.terminal = true'
  set_script 'read line; echo "got:$line"'
  start_recvtty $'hello\n'
  oci create --bundle "$BUNDLE" --console-socket "$TEST_TMP/console.sock" "$CID"
  oci start "$CID"
  wait_bg "$RECV_PID"
  grep -q 'got:hello' "$TEST_TMP/tty.out" || fail "tty out: $(cat "$TEST_TMP/tty.out")"
}

@test "terminal: run without a console socket proxies the caller's terminal" {
  update_config '.process.terminal = true'
  set_script 'tty; test -t 0 && echo stdin-is-tty; exit 5'
  # in-pty gives the runtime a real terminal as its stdio.
  run "$FIXTURES/in-pty" 60 "$OCI" --root "$ROOT" run --bundle "$BUNDLE" "$CID"
  expect_status 5
  expect_match '^/dev/pts/[0-9]+$'
  expect_match '^stdin-is-tty$'
}

@test "terminal: exec -t without a console socket proxies the caller's terminal" {
  start_sleeper
  run "$FIXTURES/in-pty" 60 "$OCI" --root "$ROOT" exec -t "$CID" sh -c 'test -t 1 && echo out-is-tty'
  expect_status 0
  expect_match 'out-is-tty'
}

@test "terminal: refused combinations give runc's errors" {
  update_config '.process.terminal = true'
  run oci create --bundle "$BUNDLE" "$CID"
  [[ $status -ne 0 ]] || fail "create with a terminal and no console socket succeeded"
  expect_contains "cannot allocate tty"
  update_config '.process.terminal = false'
  run oci create --bundle "$BUNDLE" --console-socket "$TEST_TMP/none.sock" "$CID"
  [[ $status -ne 0 ]] || fail "console socket without a terminal accepted"
  expect_contains "cannot use console socket"
  [[ ! -e $ROOT/$CID ]] || fail "state left behind"
}
