#!/usr/bin/env bats
# A runtime started by systemd, as runc handles it (src/runtime/notify.h):
# - NOTIFY_SOCKET (Type=notify services): the container gets its own socket at
#   /run/notify/notify.sock; start/run return once it sent READY=, which reaches the
#   caller's socket (tests/fixtures/notify-listen plays systemd's part);
# - LISTEN_FDS/LISTEN_PID (socket activation): fds 3.. are passed to the container.
# The busybox fixture cannot send a unix datagram: tests/fixtures/sd-notify.c, built
# static here, is bind-mounted into the container at /mnt/sd-notify.

load helpers

setup_file() {
  husk_setup_file
  gcc -static -O2 -o "$FILE_TMP/sd-notify" "$FIXTURES/sd-notify.c" 2>"$FILE_TMP/gcc.err" || true
}

setup() {
  husk_setup
  HOST_SOCK=$TEST_TMP/host.sock
  NOTIFY_LOG=$TEST_TMP/notify.log
  # Shared with the container at /mnt: the sender, and files it leaves for the test.
  SHARED=$TEST_TMP/shared
  mkdir -m 777 "$SHARED"
  add_mount /mnt bind "$SHARED" rbind rw
  # /run/notify is made in a tmpfs, not in the rootfs every test of this file shares.
  add_tmpfs /run nosuid nodev mode=755
}

need_sender() {
  [[ -x $FILE_TMP/sd-notify ]] || skip "gcc -static cannot build sd-notify.c: $(<"$FILE_TMP/gcc.err")"
  cp "$FILE_TMP/sd-notify" "$SHARED/sd-notify"
}

# start_listener [SOCKET]: the caller's NOTIFY_SOCKET (default $HOST_SOCK), logging to
# $NOTIFY_LOG; ends at the first BARRIER=1.
start_listener() {
  "$FIXTURES/notify-listen" "${1:-$HOST_SOCK}" "$NOTIFY_LOG" 30 &
  BG_PIDS+=("$!")
  wait_for 10 file_has "$NOTIFY_LOG" '^listening$' || fail "notify-listen did not start"
}

# What the listener got, without its own first line.
notify_log() { tail -n +2 "$NOTIFY_LOG"; }

# expect_relayed MAINPID: the listener got READY=1 and MAINPID, then (husk, runc 1.2+;
# not runc 1.1) a BARRIER=1 with its pipe.
expect_relayed() {
  local want="READY=1"$'\n'"MAINPID=$1"
  oci_is_reference || want+=$'\n'"BARRIER=1 fds=1"
  [[ $(notify_log) == "$want" ]] || fail "listener got: $(notify_log)
want: $want"
}

# bg_oci NAME ARGS...: the runtime in the background with NOTIFY_SOCKET=$HOST_SOCK,
# output to $TEST_TMP/NAME.out; its pid in $BG.
bg_oci() {
  local name=$1; shift
  NOTIFY_SOCKET=$HOST_SOCK timeout --kill-after=5 "$TIMEOUT" "$OCI" --root "$ROOT" "$@" \
    </dev/null >"$TEST_TMP/$name.out" 2>&1 &
  BG=$!
  BG_PIDS+=("$BG")
}

ctr_pid() { oci state "$CID" | jq -r .pid; }

# A container that reports it runs (/mnt/started), waits for the test's /mnt/go, then
# sends "$@" with sd-notify and sleeps.
notify_when_told() {
  local msgs='' m
  for m in "$@"; do msgs+=" '$m'"; done
  set_script "echo \"\$NOTIFY_SOCKET\" >/mnt/env; touch /mnt/started
    while [ ! -e /mnt/go ]; do sleep 0.02; done
    /mnt/sd-notify$msgs || exit 9
    exec sleep 100"
}

# Holds the runtime at $BG until READY=1 was sent: it must still be running while the
# container waits for /mnt/go.
expect_waits_for_ready() {
  wait_for 10 test -e "$SHARED/started" || fail "container did not start: $(cat "$TEST_TMP"/*.out)"
  sleep 0.3
  pid_alive "$BG" || fail "the runtime returned before READY=1: $(cat "$TEST_TMP"/*.out)"
  [[ $(notify_log) == "" ]] || fail "forwarded before READY=1: $(notify_log)"
  touch "$SHARED/go"
}

@test "notify: start returns once the container sent READY=1, passed on with MAINPID and a barrier" {
  need_sender
  start_listener
  notify_when_told "STATUS=starting" "READY=1"
  NOTIFY_SOCKET=$HOST_SOCK oci create --bundle "$BUNDLE" "$CID"
  bg_oci start start "$CID"
  expect_waits_for_ready
  wait_bg "$BG" 20
  [[ $rc -eq 0 ]] || fail "start: exit $rc: $(<"$TEST_TMP/start.out")"
  # STATUS= before READY= is not passed on (runc neither).
  expect_relayed "$(ctr_pid)"
  [[ $(<"$SHARED/env") == /run/notify/notify.sock ]] || fail "NOTIFY_SOCKET=$(<"$SHARED/env")"
  [[ $(oci state "$CID" | jq -r .status) == running ]]
  oci delete --force "$CID"
}

@test "notify: the container sees NOTIFY_SOCKET and a read-only /run/notify" {
  need_sender
  start_listener
  set_script 'echo "env=$NOTIFY_SOCKET"
    awk "\$5 == \"/run/notify\" { print \"opts=\" \$6 }" /proc/self/mountinfo
    ls -l /run/notify/notify.sock | cut -c1-10
    touch /run/notify/x 2>/dev/null && echo writable
    /mnt/sd-notify READY=1'
  NOTIFY_SOCKET=$HOST_SOCK run_ctr
  expect_status 0
  expect_line "env=/run/notify/notify.sock"
  expect_match '^opts=ro,nosuid,nodev,noexec'
  expect_line "srwxrwxrwx"
  expect_no_line writable
}

@test "notify: a non-root container user can send READY=1" {
  need_sender
  start_listener
  update_config '.process.user = {uid: 1000, gid: 1000}'
  set_script '/mnt/sd-notify READY=1 || exit 9; exec sleep 100'
  NOTIFY_SOCKET=$HOST_SOCK oci run --detach --bundle "$BUNDLE" "$CID"
  [[ $(notify_log | head -1) == READY=1 ]] || fail "listener got: $(notify_log)"
  oci delete --force "$CID"
}

@test "notify: run --detach returns once READY=1 was passed on; the container keeps running" {
  need_sender
  start_listener
  notify_when_told "READY=1"
  bg_oci run run --detach --bundle "$BUNDLE" "$CID"
  expect_waits_for_ready
  wait_bg "$BG" 20
  [[ $rc -eq 0 ]] || fail "run -d: exit $rc: $(<"$TEST_TMP/run.out")"
  expect_relayed "$(ctr_pid)"
  [[ $(oci state "$CID" | jq -r .status) == running ]]
  oci delete --force "$CID"
}

@test "notify: run in the foreground passes READY=1 on with its own pid, then waits for the exit" {
  need_sender
  start_listener
  set_script '/mnt/sd-notify READY=1 || exit 9; touch /mnt/sent
    while [ ! -e /mnt/go ]; do sleep 0.02; done; exit 3'
  bg_oci run run --bundle "$BUNDLE" "$CID"
  wait_for 10 file_has "$NOTIFY_LOG" '^MAINPID=' || fail "no READY=1 passed on: $(notify_log)"
  pid_alive "$BG" || fail "run returned before the container exited"
  # $BG is timeout(1); the runtime is its only child.
  local runtime_pid
  runtime_pid=$(<"/proc/$BG/task/$BG/children")
  touch "$SHARED/go"
  wait_bg "$BG" 20
  [[ $rc -eq 3 ]] || fail "run: exit $rc, want 3: $(<"$TEST_TMP/run.out")"
  expect_relayed "${runtime_pid% }"
}

@test "notify: start returns when the init exits without READY=1, and passes nothing on" {
  need_sender
  start_listener
  set_script 'touch /mnt/started; while [ ! -e /mnt/go ]; do sleep 0.02; done; exit 0'
  NOTIFY_SOCKET=$HOST_SOCK oci create --bundle "$BUNDLE" "$CID"
  bg_oci start start "$CID"
  wait_for 10 test -e "$SHARED/started"
  sleep 0.2
  pid_alive "$BG" || fail "start returned before the container exited"
  touch "$SHARED/go"
  wait_bg "$BG" 20
  [[ $rc -eq 0 ]] || fail "start: exit $rc: $(<"$TEST_TMP/start.out")"
  [[ $(notify_log) == "" ]] || fail "listener got: $(notify_log)"
  oci delete "$CID"
}

@test "notify: kill and delete reach a container whose start waits for READY=1" {
  need_sender
  start_listener
  set_script 'touch /mnt/started; exec sleep 100'
  NOTIFY_SOCKET=$HOST_SOCK oci create --bundle "$BUNDLE" "$CID"
  bg_oci start start "$CID"
  wait_for 10 test -e "$SHARED/started"
  oci kill "$CID" KILL
  wait_bg "$BG" 20
  [[ $rc -eq 0 ]] || fail "start: exit $rc: $(<"$TEST_TMP/start.out")"
  oci delete "$CID"
}

@test "notify: a start killed while it waits leaves nothing once the container is deleted" {
  need_sender
  start_listener
  set_script 'touch /mnt/started; exec sleep 100'
  NOTIFY_SOCKET=$HOST_SOCK oci create --bundle "$BUNDLE" "$CID"
  NOTIFY_SOCKET=$HOST_SOCK "$OCI" --root "$ROOT" start "$CID" </dev/null >"$TEST_TMP/start.out" 2>&1 &
  BG=$!
  BG_PIDS+=("$BG")
  wait_for 10 test -e "$SHARED/started"
  kill -KILL "$BG"
  wait_bg "$BG" 10
  [[ $(oci state "$CID" | jq -r .status) == running ]]
  oci delete --force "$CID"
  [[ ! -e $ROOT/$CID ]]
}

@test "notify: a signal ends run --detach's wait for READY=1 with an error" {
  husk_only "runc 1.1 ignores signals while it waits"
  need_sender
  start_listener
  set_script 'touch /mnt/started; exec sleep 100'
  bg_oci run run --detach --bundle "$BUNDLE" "$CID"
  wait_for 10 test -e "$SHARED/started"
  sleep 0.1
  # $BG is timeout(1): signal the runtime, its child.
  kill -TERM "$(<"/proc/$BG/task/$BG/children")"
  wait_bg "$BG" 10
  [[ $rc -eq 1 ]] || fail "run -d: exit $rc: $(<"$TEST_TMP/run.out")"
  run cat "$TEST_TMP/run.out"
  expect_output "wait for READY= from the container: interrupted by SIGTERM"
  [[ $(oci state "$CID" | jq -r .status) == running ]]
  oci delete --force "$CID"
}

@test "notify: READY=1 after another line of the same datagram is passed on alone" {
  husk_only "runc 1.1 only looks for READY= at the start of a datagram"
  need_sender
  start_listener
  set_script '/mnt/sd-notify "STATUS=up\nREADY=1\nERRNO=0" || exit 9; exec sleep 100'
  NOTIFY_SOCKET=$HOST_SOCK oci run --detach --bundle "$BUNDLE" "$CID"
  [[ $(notify_log | head -1) == READY=1 ]] || fail "listener got: $(notify_log)"
  oci delete --force "$CID"
}

@test "notify: an abstract NOTIFY_SOCKET (@name) works" {
  need_sender
  HOST_SOCK=@husk-it-notify-$$-$BATS_TEST_NUMBER
  start_listener "$HOST_SOCK"
  set_script '/mnt/sd-notify READY=1 || exit 9; exec sleep 100'
  NOTIFY_SOCKET=$HOST_SOCK oci run --detach --bundle "$BUNDLE" "$CID"
  [[ $(notify_log | head -1) == READY=1 ]] || fail "listener got: $(notify_log)"
  oci delete --force "$CID"
}

@test "notify: the socket is gone after start, the notify dir after delete" {
  husk_only "runc keeps notify.sock until delete"
  need_sender
  start_listener
  set_script '/mnt/sd-notify READY=1 || exit 9; exec sleep 100'
  NOTIFY_SOCKET=$HOST_SOCK oci create --bundle "$BUNDLE" "$CID"
  [[ -d $ROOT/$CID/notify && ! -e $ROOT/$CID/notify/notify.sock ]]
  NOTIFY_SOCKET=$HOST_SOCK oci start "$CID"
  [[ -d $ROOT/$CID/notify && ! -e $ROOT/$CID/notify/notify.sock ]]
  oci delete --force "$CID"
  [[ ! -e $ROOT/$CID ]]
}

@test "notify: without NOTIFY_SOCKET nothing changes" {
  need_sender
  set_script 'echo "env=${NOTIFY_SOCKET-unset}"; grep -c " /run/notify " /proc/self/mountinfo
    /mnt/sd-notify READY=1 2>/dev/null || echo "no socket"; touch /mnt/started; exec sleep 100'
  env -u NOTIFY_SOCKET "$OCI" --root "$ROOT" create --bundle "$BUNDLE" "$CID" >"$TEST_TMP/out" </dev/null
  if ! oci_is_reference; then [[ ! -e $ROOT/$CID/notify ]] || fail "notify dir made"; fi
  # start does not wait for a READY=1 that never comes.
  timeout 10 env -u NOTIFY_SOCKET "$OCI" --root "$ROOT" start "$CID" </dev/null
  wait_for 10 test -e "$SHARED/started"
  run cat "$TEST_TMP/out"
  expect_output $'env=unset\n0\nno socket'
  oci delete --force "$CID"
}

@test "notify: start under NOTIFY_SOCKET of a container created without it does not wait" {
  husk_only "runc 1.1 fails start: it cannot bind in the missing notify directory"
  need_sender
  start_listener
  set_script 'exec sleep 100'
  env -u NOTIFY_SOCKET "$OCI" --root "$ROOT" create --bundle "$BUNDLE" "$CID" </dev/null
  NOTIFY_SOCKET=$HOST_SOCK oci start "$CID"
  [[ $(oci state "$CID" | jq -r .status) == running ]]
  oci delete --force "$CID"
}

@test "notify: an unreachable NOTIFY_SOCKET fails start before the program runs" {
  husk_only "runc starts the program first, then fails"
  set_script 'touch /mnt/ran; exec sleep 100'
  NOTIFY_SOCKET=$TEST_TMP/nobody.sock oci create --bundle "$BUNDLE" "$CID"
  NOTIFY_SOCKET=$TEST_TMP/nobody.sock run oci start "$CID"
  expect_status 1
  expect_output "connect to NOTIFY_SOCKET \"$TEST_TMP/nobody.sock\": No such file or directory"
  [[ $(oci state "$CID" | jq -r .status) == created && ! -e $SHARED/ran ]]
  oci delete --force "$CID"
}

@test "notify: an unreachable NOTIFY_SOCKET fails run, leaving nothing behind" {
  husk_only "runc starts the program first"
  set_script 'touch /mnt/ran; exec sleep 100'
  NOTIFY_SOCKET=$TEST_TMP/nobody.sock run_ctr --detach
  expect_status 1
  expect_output "connect to NOTIFY_SOCKET \"$TEST_TMP/nobody.sock\": No such file or directory"
  [[ ! -e $SHARED/ran && ! -e $ROOT/$CID ]]
}

@test "notify: /run/notify is made in a rootfs without a /run tmpfs" {
  need_sender
  start_listener
  new_bundle_copy "$BUNDLE"
  add_mount /mnt bind "$SHARED" rbind rw
  set_script '/mnt/sd-notify READY=1 || exit 9; exec sleep 100'
  NOTIFY_SOCKET=$HOST_SOCK oci run --detach --bundle "$BUNDLE" "$CID"
  [[ $(notify_log | head -1) == READY=1 ]] || fail "listener got: $(notify_log)"
  oci delete --force "$CID"
}

# --- socket activation -------------------------------------------------------------

# activated PID RUNTIME ARGS...: the runtime as systemd-socket-activate starts it: fd 3
# open on $TEST_TMP/sock-file, LISTEN_FDS=1 and LISTEN_PID=PID ("self": its own pid);
# and fd 4 open on $TEST_TMP/extra, for --preserve-fds.
activated() {
  local pid=$1; shift
  [[ $pid == self ]] && pid='$$'
  echo "activation fd" >"$TEST_TMP/sock-file"
  echo "preserved fd" >"$TEST_TMP/extra"
  timeout --kill-after=5 "$TIMEOUT" bash -c \
    'exec 3<"$1" 4<"$2"; shift 2; LISTEN_FDS=1 LISTEN_PID='"$pid"' exec "$@"' _ \
    "$TEST_TMP/sock-file" "$TEST_TMP/extra" "$OCI" --root "$ROOT" "$@" </dev/null
}

FD_PROBE='for fd in 3 4; do if read -r l <&$fd; then echo "$fd: $l"; else echo "$fd: closed"; fi; done 2>/dev/null
  echo "LISTEN_FDS=${LISTEN_FDS-unset} LISTEN_PID=${LISTEN_PID-unset}"'

@test "listen fds: LISTEN_FDS=1 for our pid passes fd 3 with LISTEN_FDS=1 LISTEN_PID=1" {
  set_script "$FD_PROBE"
  run activated self run --bundle "$BUNDLE" "$CID"
  expect_status 0
  expect_output $'3: activation fd\n4: closed\nLISTEN_FDS=1 LISTEN_PID=1'
}

@test "listen fds: --preserve-fds count after the LISTEN_FDS ones" {
  set_script "$FD_PROBE"
  run activated self run --preserve-fds 1 --bundle "$BUNDLE" "$CID"
  expect_status 0
  expect_output $'3: activation fd\n4: preserved fd\nLISTEN_FDS=1 LISTEN_PID=1'
}

@test "listen fds: create + start pass them too" {
  set_script "{ $FD_PROBE
  } >/mnt/out"
  activated self create --bundle "$BUNDLE" "$CID"
  oci start "$CID"
  wait_for 10 file_has "$SHARED/out" LISTEN_FDS
  run cat "$SHARED/out"
  expect_output $'3: activation fd\n4: closed\nLISTEN_FDS=1 LISTEN_PID=1'
  oci delete --force "$CID"
}

@test "listen fds: LISTEN_PID of another process passes nothing" {
  set_script "$FD_PROBE"
  run activated 1 run --bundle "$BUNDLE" "$CID"
  expect_status 0
  expect_output $'3: closed\n4: closed\nLISTEN_FDS=unset LISTEN_PID=unset'
}

@test "listen fds: LISTEN_FDS in the config is replaced, not duplicated" {
  update_config '.process.env += ["LISTEN_FDS=7", "LISTEN_PID=99"]'
  set_script 'env | grep ^LISTEN_ | sort'
  run activated self run --bundle "$BUNDLE" "$CID"
  expect_status 0
  expect_output $'LISTEN_FDS=1\nLISTEN_PID=1'
}
