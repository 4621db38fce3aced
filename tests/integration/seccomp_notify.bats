#!/usr/bin/env bats
# Seccomp user notification (SCMP_ACT_NOTIFY, src/runtime/seccomp_agent.h): the listener
# fd goes to the agent at linux.seccomp.listenerPath with the container process state,
# as runc sends it. tests/fixtures/seccomp-agent.c, built here, is the agent: it answers
# mkdir of ".../denied" with EXDEV, fakes success for ".../faked" (nothing is made) and
# lets every other call through, so the container sees what only the agent can cause.

load helpers

setup_file() {
  husk_setup_file
  gcc -static -O2 -o "$FILE_TMP/seccomp-agent" "$FIXTURES/seccomp-agent.c" \
    2>"$FILE_TMP/gcc.err" || true
}

setup() {
  husk_setup
  AGENT_DIR=$TEST_TMP/agent
  AGENT_SOCK=$TEST_TMP/agent.sock
  META='agent metadata: "quoted" <&>'
  mkdir "$AGENT_DIR"
  add_tmpfs /tmp
  update_config '.annotations = {"org.example.notify": "yes"}
    | .linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", listenerPath: $sock,
        listenerMetadata: $meta,
        syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY"}]}' \
    --arg sock "$AGENT_SOCK" --arg meta "$META"
}

teardown() {
  delete_ctr
  husk_teardown
}

start_agent() {
  [[ -x $FILE_TMP/seccomp-agent ]] ||
    skip "gcc -static cannot build seccomp-agent.c: $(<"$FILE_TMP/gcc.err")"
  "$FILE_TMP/seccomp-agent" "$AGENT_SOCK" "$AGENT_DIR" 30 </dev/null >/dev/null 2>&1 &
  AGENT_PID=$!
  BG_PIDS+=("$AGENT_PID")
  wait_for 10 file_has "$AGENT_DIR/log" '^listening$' || fail "seccomp-agent did not start"
}

# An agent that is gone: its socket file stays, nobody listens (ECONNREFUSED).
stale_agent() {
  start_agent
  kill -KILL "$AGENT_PID"
  wait "$AGENT_PID" 2>/dev/null || true
  [[ -S $AGENT_SOCK ]] || fail "no socket file left at $AGENT_SOCK"
}

# Three mkdirs the agent answers three ways.
MKDIRS='mkdir /tmp/denied; echo "denied rc=$?"
  mkdir /tmp/faked && echo "faked rc=0"; [ -d /tmp/faked ] || echo "faked: not made"
  mkdir /tmp/real && [ -d /tmp/real ] && echo "real: made"'

expect_agent_answers() {
  expect_line "mkdir: can't create directory '/tmp/denied': Invalid cross-device link"
  expect_line "denied rc=1"
  expect_line "faked rc=0"
  expect_line "faked: not made"
  expect_line "real: made"
  grep -q -- '-> EXDEV$' "$AGENT_DIR/log" || fail "agent log: $(<"$AGENT_DIR/log")"
}

# expect_process_state N PID STATUS STATE_PID: what the agent got on its Nth connection.
expect_process_state() {
  local file=$AGENT_DIR/state.$1.json
  [[ -s $file ]] || fail "the agent got no state on connection $1: $(<"$AGENT_DIR/log")"
  grep -qx "conn $1 fds=1 anon_inode:seccomp notify" "$AGENT_DIR/log" ||
    fail "connection $1 did not bring exactly the notify fd: $(<"$AGENT_DIR/log")"
  jq -e --argjson pid "$2" --arg status "$3" --argjson spid "$4" --arg id "$CID" \
    --arg bundle "$BUNDLE" --arg meta "$META" '
      (keys_unsorted == ["ociVersion", "fds", "pid", "metadata", "state"])
      and .ociVersion != "" and .fds == ["seccompFd"] and .pid == $pid and .metadata == $meta
      and .state.ociVersion == .ociVersion and .state.id == $id and .state.status == $status
      and .state.pid == $spid and .state.bundle == $bundle
      and .state.annotations == {"org.example.notify": "yes"}' "$file" >/dev/null ||
    fail "state on connection $1 (want pid $2, status $3, state pid $4): $(<"$file")"
}

@test "seccomp notify: run: the agent gets the state and the fd, the container its answers" {
  start_agent
  run_sh --pid-file "$TEST_TMP/ctr.pid" "$MKDIRS"
  expect_status 0
  expect_agent_answers
  local pid
  pid=$(<"$TEST_TMP/ctr.pid")
  expect_process_state 1 "$pid" creating "$pid"
  # The notified calls came from the container's processes (children of its init).
  grep -q "^notif pid=[0-9]* mkdir[a-z]* /tmp/real -> continue$" "$AGENT_DIR/log" ||
    fail "agent log: $(<"$AGENT_DIR/log")"
}

@test "seccomp notify: create hands the fd over before start; start runs with the agent" {
  start_agent
  set_script "$MKDIRS; exec sleep 100"
  oci create --bundle "$BUNDLE" --pid-file "$TEST_TMP/ctr.pid" "$CID" \
    >"$TEST_TMP/ctr.out" 2>&1 || fail "create: $(<"$TEST_TMP/ctr.out")"
  local pid
  pid=$(<"$TEST_TMP/ctr.pid")
  [[ $(oci state "$CID" | jq -r .pid) == "$pid" ]] || fail "state pid differs from $pid"
  expect_process_state 1 "$pid" creating "$pid"
  ! grep -q '^notif' "$AGENT_DIR/log" || fail "a notification before start: $(<"$AGENT_DIR/log")"
  run oci start "$CID"
  expect_status 0
  wait_for 10 file_has "$TEST_TMP/ctr.out" "real: made" || fail "container: $(<"$TEST_TMP/ctr.out")"
  output=$(<"$TEST_TMP/ctr.out")
  expect_agent_answers
}

@test "seccomp notify: exec sends its own process's fd, with the running container's state" {
  start_agent
  set_script 'exec sleep 1000'
  run_detached
  run oci exec --pid-file "$TEST_TMP/exec.pid" "$CID" sh -c "exec 2>&1; $MKDIRS"
  expect_status 0
  expect_agent_answers
  expect_process_state 1 "$CTR_PID" creating "$CTR_PID"
  expect_process_state 2 "$(<"$TEST_TMP/exec.pid")" running "$CTR_PID"
}

@test "seccomp notify: notify rules on the runtime's own calls after the load do not hang it" {
  # Everything the init and exec's process call between the filter's load and execve
  # (and more), with the filter loaded early (no noNewPrivileges: before the user switch)
  # and late. Only write(2) is refused, as in runc.
  start_agent
  local nnp
  for nnp in false true; do
    update_config '.process.noNewPrivileges = ($nnp == "true")
      | .linux.seccomp.syscalls[0].names += ["sendmsg", "recvfrom", "recvmsg", "read",
          "close", "close_range", "prctl", "rt_sigaction", "rt_sigprocmask", "openat", "fcntl",
          "setresuid", "setresgid", "setgroups", "capset", "umask", "mmap", "munmap", "brk",
          "execve", "exit_group"]' --arg nnp "$nnp"
    run_sh "$MKDIRS"
    expect_status 0
    expect_agent_answers
  done
  set_script 'exec sleep 1000'
  run_detached
  run oci exec "$CID" sh -c "exec 2>&1; $MKDIRS"
  expect_status 0
  expect_agent_answers
}

@test "seccomp notify: in a user namespace (the init in a memory of its own), run and exec" {
  user_namespace 100000
  start_agent
  run_sh --pid-file "$TEST_TMP/ctr.pid" "$MKDIRS"
  expect_status 0
  expect_agent_answers
  expect_process_state 1 "$(<"$TEST_TMP/ctr.pid")" creating "$(<"$TEST_TMP/ctr.pid")"
  set_script 'exec sleep 1000'
  run_detached
  run oci exec --pid-file "$TEST_TMP/exec.pid" "$CID" sh -c "exec 2>&1; $MKDIRS"
  expect_status 0
  expect_agent_answers
  expect_process_state 3 "$(<"$TEST_TMP/exec.pid")" running "$CTR_PID"
}

@test "seccomp notify: a notify rule without listenerPath fails with runc's words" {
  update_config 'del(.linux.seccomp.listenerPath)'
  run_sh 'echo ran'
  [[ $status -ne 0 ]] || fail "ran without a listenerPath: $output"
  expect_contains "listenerPath is not set"
  expect_no_line ran
  [[ ! -e $ROOT/$CID ]] || fail "state left at $ROOT/$CID"
}

@test "seccomp notify: an agent that cannot be reached fails run and create, nothing left" {
  run_sh 'echo ran'
  [[ $status -ne 0 ]] || fail "ran without an agent: $output"
  expect_contains "$AGENT_SOCK"
  expect_contains "no such file or directory"
  expect_no_line ran
  [[ ! -e $ROOT/$CID ]] || fail "state left at $ROOT/$CID"

  stale_agent
  run oci create --bundle "$BUNDLE" "$CID"
  [[ $status -ne 0 ]] || fail "created with a dead agent: $output"
  expect_contains "$AGENT_SOCK"
  expect_contains "connection refused"
  [[ ! -e $ROOT/$CID ]] || fail "state left at $ROOT/$CID"
}

@test "seccomp notify: exec with an agent gone fails, and leaves no process behind" {
  start_agent
  set_script 'exec sleep 1000'
  run_detached
  kill -KILL "$AGENT_PID"
  wait "$AGENT_PID" 2>/dev/null || true
  run oci exec "$CID" sh -c 'echo ran'
  [[ $status -ne 0 ]] || fail "exec ran with a dead agent: $output"
  expect_contains "connection refused"
  expect_no_line ran
  # Only the init is left in the container.
  [[ $(marked_pids) == "$CTR_PID" ]] || fail "processes: $(marked_pids | tr '\n' ' ')"
}

@test "seccomp notify: features lists SCMP_ACT_NOTIFY; each supported flag loads with it" {
  run oci features
  expect_status 0
  jq -e '.linux.seccomp.actions | index("SCMP_ACT_NOTIFY")' <<<"$output" >/dev/null ||
    fail "SCMP_ACT_NOTIFY is not listed: $(jq -c .linux.seccomp.actions <<<"$output")"
  local flags=() f
  mapfile -t flags < <(jq -r '.linux.seccomp.supportedFlags // [] | .[]' <<<"$output")
  newer_than_runc_1_1 "seccomp flags in features"
  (( ${#flags[@]} > 0 )) || fail "no supported seccomp flags"
  [[ " ${flags[*]} " == *" SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV "* ]] ||
    fail "WAIT_KILLABLE_RECV is not supported here: ${flags[*]}"
  start_agent
  for f in "${flags[@]}"; do
    update_config '.linux.seccomp.flags = [$f]' --arg f "$f"
    run_sh "$MKDIRS; grep ^Seccomp: /proc/self/status"
    expect_status 0
    expect_agent_answers
    expect_line "Seccomp:	2"
  done
}
