#!/usr/bin/env bats
# husk run --init (husk-init as the container's PID 1), and the terminals and stdin of detached
# containers (issue 14). Each test has its own HUSK_ROOT; containers use the fixture rootfs
# without a network and are named after the test's CID (husk-it-*), so the teardown's leak
# checks (processes, cgroups) cover them.

load helpers

setup() {
  husk_setup
  export HUSK_ROOT=$TEST_TMP/root
}

teardown() {
  local left
  "$HUSK" rm -f $("$HUSK" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
  left=$(ls -A "$HUSK_ROOT/containers" 2>/dev/null || true)
  husk_teardown
  [[ -z $left ]] || fail "containers left: $left"
  [[ -z $(ls -A /run/husk 2>/dev/null | grep -F "$CID") ]] || fail "runtime state left"
}

h() { timeout --kill-after=5 "${T:-20}" "$HUSK" "$@" </dev/null; }

# hr ARGS... -- CMD: a foreground run of the fixture rootfs, no network, removed at exit.
hr() { h run --rm --net none --name "$CID" -e "HUSK_TEST_MARK=$MARK" --rootfs "$ROOTFS" "$@"; }

# hd NAME ARGS... -- CMD: a detached container of the fixture rootfs, no network.
hd() {
  local name=$1
  shift
  h run -d --net none --name "$name" -e "HUSK_TEST_MARK=$MARK" --rootfs "$ROOTFS" "$@"
}

# The zombies in a running container, as "pid:name" words.
zombies_in() { h exec "$1" sh -c 'cat /proc/[0-9]*/stat' | awk '$3 == "Z" { print $1 ":" $2 }'; }

@test "--init: husk-init is PID 1 and the command its child" {
  run --separate-stderr hr --init -- sh -c 'echo $$; tr "\0" " " </proc/1/cmdline; echo; cat /proc/$$/stat'
  expect_status 0
  local lines
  mapfile -t lines <<<"$output"
  [[ ${lines[0]} != 1 ]] || fail "the command is PID 1"
  [[ ${lines[1]} == "/run/husk-init -- sh -c "* ]] || fail "PID 1 is: ${lines[1]}"
  # The command's parent is the init.
  [[ $(awk '{print $4}' <<<"${lines[2]}") == 1 ]] || fail "parent: ${lines[2]}"
  # Without --init the command is PID 1 itself.
  run hr -- sh -c 'echo $$'
  expect_output 1
}

@test "--init: the command's exit status passes through, a signal's death as 128+N" {
  run hr --init -- sh -c 'exit 7'
  expect_status 7
  run hr --init -- sh -c 'kill -9 $$'
  expect_status 137
  run -127 --separate-stderr hr --init -- no-such-program
  expect_status 127
  [[ $stderr == *"husk-init: exec no-such-program: no such file in \$PATH"* ]] || fail "stderr: $stderr"
}

@test "--init: an orphan that exits is reaped (without it, it stays a zombie)" {
  # The inner sh leaves a sleep behind, which the kernel hands to PID 1 and which exits soon.
  hd "$CID" --init -- sh -c 'sh -c "sleep 0.2 &"; exec sleep 60' >/dev/null
  hd "$CID-b" -- sh -c 'sh -c "sleep 0.2 &"; exec sleep 60' >/dev/null
  # The control: sleep as PID 1 never waits, so the orphan stays a zombie.
  wait_for 5 eval '[[ -n $(zombies_in "$CID-b") ]]' || fail "no zombie without --init: the test cannot see one"
  [[ -z $(zombies_in "$CID") ]] || fail "zombies under --init: $(zombies_in "$CID")"
  # And the orphan is gone, not merely still asleep.
  [[ $(h exec "$CID" ps -o comm | grep -c sleep) == 1 ]] || fail "processes: $(h exec "$CID" ps)"
  run h rm -f "$CID" "$CID-b"
  expect_status 0
}

@test "--init: SIGTERM reaches the command (PID 1 alone would drop it)" {
  hd "$CID" --init -- sleep 60 >/dev/null
  local t0=$EPOCHREALTIME
  run h stop -t 30 "$CID"
  expect_status 0
  local took=$(( ${EPOCHREALTIME/./} - ${t0/./} ))
  (( took < 10000000 )) || fail "stop waited ${took}us: SIGTERM did not end sleep"
  run h wait "$CID"
  expect_output 143
  # A handler the command set runs: the init passes the signal on as it came.
  run h run -d --init --net none --name "$CID-f" -e "HUSK_TEST_MARK=$MARK" --rootfs "$ROOTFS" -- \
    sh -c 'trap "exit 9" TERM; while :; do sleep 0.05; done'
  expect_status 0
  run h kill -s TERM "$CID-f"
  expect_status 0
  run h wait "$CID-f"
  expect_output 9
  run h rm -f "$CID" "$CID-f"
  expect_status 0
}

@test "--init: the container cannot change the host's husk-init, even allowed to remount" {
  local host_init=$HUSK_BUILD/bin/husk-init before
  before=$(sha256sum <"$host_init")
  # A plain container: the path is read-only.
  run --separate-stderr hr --init -- sh -c 'echo pwned >/run/husk-init'
  (( status != 0 )) || fail "the write to /run/husk-init succeeded"
  [[ $stderr == *"Read-only file system"* ]] || fail "stderr: $stderr"
  # One that may remount: it makes its bind writable, then overwrites what it can reach
  # (the file the bind shows, and PID 1's exe through /proc).
  run hr --init --cap-add SYS_ADMIN -- sh -c '
    mount -o remount,bind,rw /run/husk-init && echo remounted
    cat /bin/busybox >/run/husk-init 2>&1
    cat /bin/busybox >/proc/1/exe 2>&1
    rm -f /run/husk-init 2>&1
    exit 0'
  expect_status 0
  [[ $output == *remounted* ]] || fail "the remount itself failed, the attack was not tried: $output"
  [[ $(sha256sum <"$host_init") == "$before" ]] || fail "the host's husk-init changed"
  cmp -s "$host_init" "$(command -v busybox)" && fail "the host's husk-init is busybox now"
  return 0
}

inspect_field() { h inspect "$1" | jq -r ".[0].$2"; }

monitor_pid() {
  local p
  for p in $(pgrep -x husk-monitor); do
    if tr '\0' ' ' <"/proc/$p/cmdline" | grep -q -- "--name $1 "; then echo "$p"; return; fi
  done
}

@test "run -d -t: a terminal of its own, whose output the monitor logs as stdout" {
  hd "$CID" -t -- sh -c 'tty; [ -t 0 ] && echo stdin-tty; echo "TERM=$TERM"; echo to-err >&2; exec sleep 60' >/dev/null
  wait_for 5 eval '[[ $(h logs "$CID" 2>/dev/null) == *to-err* ]]' || fail "log: $(h logs "$CID" 2>&1)"
  run --separate-stderr h logs "$CID"
  [[ $output == *"/dev/pts/"* && $output == *stdin-tty* && $output == *TERM=xterm* ]] ||
    fail "stdout: $output"
  [[ -z $stderr ]] || fail "a terminal has stdout only, stderr: $stderr"
  # The terminal's own line ends (\r\n) are kept, as the program's bytes.
  grep -q $'stdout F to-err\r$' "$HUSK_ROOT/containers/$CID/ctr.log" ||
    fail "log: $(cat -A "$HUSK_ROOT/containers/$CID/ctr.log")"
  # The console socket is in a directory of the monitor's own, 0700; the monitor holds
  # the master.
  local id dir mon
  id=$(inspect_field "$CID" Id)
  dir=/run/husk-monitor/$id
  [[ $(stat -c %a "$dir") == 700 && -S $dir/console.sock ]] || fail "$(ls -la "$dir")"
  mon=$(monitor_pid "$CID")
  [[ -n $mon ]] && ls -l "/proc/$mon/fd" | grep -q ptmx || fail "the monitor holds no pty master"
  run h rm -f "$CID"
  expect_status 0
  [[ ! -e $dir ]] || fail "left: $(ls -la "$dir")"
}

@test "run -d -t: each restart gets a terminal; the end of each run's output is logged" {
  hd "$CID" -t --restart on-failure:2 -- sh -c 'printf "run-on-%s\n" "$(tty)"; exit 3' >/dev/null
  wait_for 10 eval '[[ $(h logs "$CID" | grep -c "run-on-/dev/pts/") == 3 ]]' ||
    fail "log: $(h logs "$CID")"
  run h wait "$CID"
  expect_output 3
  [[ $(inspect_field "$CID" RestartCount) == 2 ]] || fail "$(h inspect "$CID")"
}

@test "run -d -i: stdin stays open, a pipe the monitor holds; without -i it is at its end" {
  hd "$CID" -i -- sh -c 'read line; echo "read: $?"' >/dev/null
  hd "$CID-n" -- sh -c 'read line; echo "read: $?"' >/dev/null
  run h wait "$CID-n"
  expect_output 0
  run h logs "$CID-n"
  expect_output "read: 1"
  [[ $(inspect_field "$CID" State.Status) == running ]] || fail "-i: $(h logs "$CID")"
  local pid mon in
  pid=$(inspect_field "$CID" State.Pid)
  mon=$(monitor_pid "$CID")
  in=$(readlink "/proc/$pid/fd/0")
  [[ $in == pipe:* ]] || fail "stdin: $in"
  ls -l "/proc/$mon/fd" | grep -qF "$in" || fail "the monitor does not hold $in"
  run h rm -f "$CID" "$CID-n"
  expect_status 0
}
