#!/usr/bin/env bats
# husk run --init (husk-init as the container's PID 1), and the terminals and stdin of detached
# containers (issue 14). Each test has its own HUSK_ROOT; containers use the fixture rootfs
# without a network and are named after the test's CID (husk-it-*), so the teardown's leak
# checks (processes, cgroups) cover them.

load helpers

setup() { husk_ctr_setup; }
teardown() { husk_ctr_teardown; }

# hr ARGS... -- CMD: a foreground run of the fixture rootfs, no network, removed at exit.
hr() { h run --rm --net none --name "$CID" -e "HUSK_TEST_MARK=$MARK" --rootfs "$ROOTFS" "$@"; }

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

# The clients connected to a container's attach socket (the monitor's ends name it).
clients_of() { ss -xH state established | grep -cF "/run/husk-monitor/$(inspect_field "$1" Id)/attach.sock"; }

# ha ARGS...: husk attach/start -a with stdin from the caller (h gives /dev/null).
ha() { timeout --kill-after=5 "${T:-20}" "$HUSK" "$@"; }

@test "attach: -i's stdin gets the input, stdout and stderr come back apart, the exit code passes" {
  hd "$CID" -i -- sh -c 'echo ready; while read l; do echo "out:$l"; echo "err:$l" >&2; [ "$l" = quit ] && exit 7; done' >/dev/null
  wait_for 5 eval '[[ $(h logs "$CID") == ready ]]' || fail "log: $(h logs "$CID" 2>&1)"
  # Nothing written before the client came is replayed (docker's attach without --logs).
  run --separate-stderr ha attach "$CID" < <(printf 'one\n'; sleep 0.3; printf 'quit\n')
  expect_status 7
  [[ $output == $'out:one\nout:quit' ]] || fail "stdout: $output"
  [[ $stderr == $'err:one\nerr:quit' ]] || fail "stderr: $stderr"
  # The socket was the monitor's own, in its 0700 directory, and went with it.
  [[ ! -e /run/husk-monitor/$(inspect_field "$CID" Id) ]] || fail "run dir left"
  run h logs "$CID"
  [[ $output == *"out:one"*"out:quit"* ]] || fail "log: $output"
}

@test "attach: the socket is 0600 in a 0700 directory; --no-stdin sends nothing; two clients get the same" {
  hd "$CID" -i -- sh -c 'read x; echo "line $x"; read y; echo "line $y"; exit 4' >/dev/null
  local dir
  dir=/run/husk-monitor/$(inspect_field "$CID" Id)
  [[ $(stat -c %a "$dir") == 700 && $(stat -c %a "$dir/attach.sock") == 600 ]] || fail "$(ls -la "$dir")"
  # A watcher that sends nothing, then one that types.
  ha attach --no-stdin "$CID" >"$TEST_TMP/watch.out" < <(printf 'not-sent\n'; sleep 30) &
  local watcher=$!
  wait_for 5 eval '[[ $(clients_of "$CID") == 1 ]]' || fail "the watcher never connected: $(ss -x | grep husk-monitor)"
  run ha attach "$CID" < <(printf 'a\n'; sleep 0.3; printf 'b\n'; sleep 30)
  expect_status 4
  [[ $output == $'line a\nline b' ]] || fail "typer: $output"
  wait "$watcher" || [[ $? == 4 ]] || fail "watcher's status: $?"
  [[ $(cat "$TEST_TMP/watch.out") == $'line a\nline b' ]] || fail "watcher: $(cat "$TEST_TMP/watch.out")"
}

@test "start -a: attached before the program starts, so nothing is missed; start -ai feeds stdin" {
  run h create --net none --name "$CID" --rootfs "$ROOTFS" -- sh -c 'echo first; echo to-err >&2; exit 3'
  expect_status 0
  run --separate-stderr ha start -a "$CID" </dev/null
  expect_status 3
  [[ $output == first && $stderr == to-err ]] || fail "stdout: $output; stderr: $stderr"
  # Again: a stopped container starts again, attached again.
  run --separate-stderr ha start -a "$CID" </dev/null
  expect_status 3
  expect_output first
  run h create -i --net none --name "$CID-i" --rootfs "$ROOTFS" -- sh -c 'read l; echo "got $l"'
  expect_status 0
  run ha start -ai "$CID-i" < <(printf 'word\n')
  expect_status 0
  expect_output "got word"
  # start -a of several is refused before any starts.
  run --separate-stderr ha start -a "$CID" "$CID-i"
  expect_status 125
  [[ $stderr == *"start -a: one container at a time"* ]] || fail "$stderr"
}

@test "attach -t: typed keys, the window size (and its changes), and ctrl-p ctrl-q leaves it running" {
  hd "$CID" -it -- sh >/dev/null
  run "$FIXTURES/in-pty" --step size:30x100 --step 'send:\r' --step 'expect:#' \
    --step 'send:stty size; echo was-$((6*7))\r' --step 'expect:was-42' \
    --step size:40x120 --step 'send:stty size\r' --step 'expect:40 120' \
    --step 'send:\x10\x11' 20 "$HUSK" attach "$CID"
  expect_status 0
  [[ $output == *"30 100"*"was-42"*"40 120"* ]] || fail "session: $output"
  [[ $(inspect_field "$CID" State.Status) == running ]] || fail "detached, yet: $(h ps -a)"
  # Attached again: the same shell, which ends the session with its code.
  run "$FIXTURES/in-pty" --step 'send:\r' --step 'expect:#' --step 'send:exit 6\r' 20 "$HUSK" attach "$CID"
  expect_status 6
  run h wait "$CID"
  expect_output 6
}

@test "attach --detach-keys: the given keys detach; a broken sequence reaches the container" {
  # No echo: what shows is what cat got.
  hd "$CID" -it -- sh -c 'stty -echo; echo ready; exec cat -v' >/dev/null
  wait_for 5 eval '[[ $(h logs "$CID") == *ready* ]]' || fail "log: $(h logs "$CID" 2>&1)"
  # ctrl-p then x is no detach (the default keys are not these any more) and goes through.
  run "$FIXTURES/in-pty" --step 'send:\x10x-\x18\x18y\r' --step 'expect:^Px-^X^Xy' \
    --step 'send:\x18z' 20 "$HUSK" attach --detach-keys ctrl-x,z "$CID"
  expect_status 0
  [[ $(inspect_field "$CID" State.Status) == running ]] || fail "$(h ps -a)"
  run --separate-stderr h attach --detach-keys ctrl-1 "$CID"
  expect_status 125
  [[ $stderr == *'--detach-keys "ctrl-1": "ctrl-1" is not a key'* ]] || fail "$stderr"
}

@test "attach: without a terminal, a signal to husk attach goes on to the container" {
  hd "$CID" -- sh -c 'trap "echo got-term; exit 9" TERM; echo up; while :; do sleep 0.05; done' >/dev/null
  wait_for 5 eval '[[ $(h logs "$CID") == up ]]' || fail "log: $(h logs "$CID" 2>&1)"
  # Not under timeout(1), which would take the signal itself; a watchdog instead.
  "$HUSK" attach "$CID" >"$TEST_TMP/out" </dev/null &
  local client=$!
  (sleep 20; kill -9 "$client") 2>/dev/null &
  local watchdog=$!
  wait_for 5 eval '[[ $(clients_of "$CID") == 1 ]]' || fail "never connected"
  kill -TERM "$client"
  local code=0
  wait "$client" || code=$?
  kill "$watchdog" 2>/dev/null || true
  [[ $code == 9 && $(cat "$TEST_TMP/out") == got-term ]] || fail "status $code, output: $(cat "$TEST_TMP/out")"
}

@test "attach: one-line errors: no container, a stopped one, a paused one; a killed monitor ends the session" {
  run --separate-stderr h attach "$CID-none"
  expect_status 125
  [[ $stderr == "husk: no such container: $CID-none" ]] || fail "$stderr"
  run h create --net none --name "$CID" --rootfs "$ROOTFS" -- true
  run --separate-stderr h attach "$CID"
  expect_status 125
  [[ $stderr == "husk: cannot attach to container \"$CID\": it is created: start it first (husk start -a)" ]] || fail "$stderr"
  hd "$CID-p" -- sleep 60 >/dev/null
  run h pause "$CID-p"
  run --separate-stderr h attach "$CID-p"
  expect_status 125
  [[ $stderr == *"it is paused: unpause it first"* ]] || fail "$stderr"
  run h unpause "$CID-p"
  ha attach "$CID-p" >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null &
  local client=$! mon
  wait_for 5 eval '[[ $(clients_of "$CID-p") == 1 ]]' || fail "never connected"
  mon=$(monitor_pid "$CID-p")
  kill -9 "$mon"
  local code=0
  wait "$client" || code=$?
  [[ $code == 125 && $(cat "$TEST_TMP/err") == "husk: attach to \"$CID-p\": its monitor is gone"* ]] ||
    fail "status $code: $(cat "$TEST_TMP/err")"
  run h rm -f "$CID-p"
  expect_status 0
}
