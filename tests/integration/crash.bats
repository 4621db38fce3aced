#!/usr/bin/env bats
# Crash safety of create: a runtime killed -9 at any point leaves nothing that `delete
# --force` cannot undo, and a killed create takes the hooks it was running with it. The
# kills land at exact system calls: strace's fault injection delivers SIGKILL as create
# enters the Nth call of one syscall. The helpers' teardown then checks that no state,
# mount, cgroup or container process is left.

load helpers

# create_killed_at SYSCALL [N]: `create` of $BUNDLE as $CID, killed by SIGKILL as it
# enters its Nth call of SYSCALL (default the first); fails unless that is how it ended.
create_killed_at() {
  local sc=$1 n=${2:-1} rc=0
  timeout --kill-after=5 "$TIMEOUT" strace -qq -o "$TEST_TMP/strace.log" -e trace="$sc" \
    -e inject="$sc:signal=KILL:when=$n" \
    "$OCI" --root "$ROOT" create --bundle "$BUNDLE" "$CID" \
    </dev/null >"$TEST_TMP/create.out" 2>&1 || rc=$?
  [[ $rc -eq 137 ]] || fail "create was not killed at $sc #$n (exit status $rc):
$(cat "$TEST_TMP/create.out" "$TEST_TMP/strace.log")"
}

# delete --force succeeds and leaves nothing under --root.
expect_deleted() {
  run oci delete --force "$CID"
  expect_status 0
  [[ -z $(ls -A "$ROOT") ]] || fail "state left: $(ls -A "$ROOT" "$ROOT/$CID")"
  [[ -z $(leftover_cgroups) ]] || fail "cgroups left: $(leftover_cgroups)"
}

@test "create killed right after it made its state dir: delete --force removes it" {
  set_args sleep 100
  create_killed_at flock
  [[ -d $ROOT/$CID && -z $(ls -A "$ROOT/$CID") ]] ||
    fail "want an empty state dir: $(ls -A "$ROOT/$CID" 2>&1)"
  expect_deleted
}

@test "create killed at its first save's rename: no state.json, only a temp file; delete --force removes both" {
  set_args sleep 100
  create_killed_at rename
  [[ ! -e $ROOT/$CID/state.json ]] || fail "state.json exists before its rename"
  compgen -G "$ROOT/$CID/state.json.tmp*" >/dev/null || fail "no temp file: $(ls -A "$ROOT/$CID")"
  expect_deleted
}

@test "state.json cut short: delete --force removes the directory" {
  husk_only "runc keeps state.json elsewhere"
  set_args sleep 100
  create_killed_at rename
  mv "$ROOT/$CID"/state.json.tmp* "$ROOT/$CID/state.json"
  truncate -s 10 "$ROOT/$CID/state.json"
  run oci delete "$CID"
  [[ $status -ne 0 ]] || fail "delete without --force of a corrupt state: exit status 0"
  expect_deleted
}

@test "create killed at the init's clone: delete --force removes the cgroups it made" {
  set_args sleep 100
  create_killed_at clone3
  [[ -n $(leftover_cgroups) ]] || fail "no cgroups were made before the clone?"
  expect_deleted
}

@test "create killed while a createRuntime hook runs: the hook and what it started die too" {
  set_args sleep 100
  # The hook's shell records its pid and that of a sleep it started, then waits.
  update_config '.hooks.createRuntime = [{path: "/bin/sh",
    args: ["sh", "-c", "sleep 1000 & echo $$ $! >\"$0.tmp\"; mv \"$0.tmp\" \"$0\"; wait",
           $f]}]' --arg f "$TEST_TMP/hook.pids"
  "$OCI" --root "$ROOT" create --bundle "$BUNDLE" "$CID" </dev/null >"$TEST_TMP/create.out" 2>&1 &
  local create=$! pids p
  BG_PIDS+=("$create")
  wait_for 10 test -s "$TEST_TMP/hook.pids" || fail "the hook did not run"
  pids=$(<"$TEST_TMP/hook.pids")
  defer "kill -KILL $pids"
  for p in $pids; do pid_alive "$p" || fail "hook process $p is not running"; done
  kill -KILL "$create"
  wait_bg "$create" 5
  for p in $pids; do
    wait_for 5 eval "! pid_alive $p" || fail "hook process $p outlived the killed create: $(ps -o pid,ppid,pgid,args -p "$p")"
  done
  expect_deleted
}

@test "a createRuntime hook that times out: what it started is killed with it" {
  set_args sleep 100
  update_config '.hooks.createRuntime = [{path: "/bin/sh", timeout: 1,
    args: ["sh", "-c", "sleep 1000 & echo $! >\"$0\"; wait", $f]}]' --arg f "$TEST_TMP/sleep.pid"
  run oci create --bundle "$BUNDLE" "$CID"
  [[ $status -ne 0 ]] || fail "create succeeded despite the hook's timeout"
  expect_contains "timed out"
  local p
  p=$(<"$TEST_TMP/sleep.pid")
  defer "kill -KILL $p"
  wait_for 5 eval "! pid_alive $p" || fail "the hook's sleep $p outlived its timeout"
  [[ -z $(ls -A "$ROOT") ]] || fail "state left: $(ls -A "$ROOT")"
}
