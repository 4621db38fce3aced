#!/usr/bin/env bats
# husk's containers (issue 14): records under $HUSK_ROOT/containers, detached runs under a
# monitor (husk-monitor), and the verbs on them: ps, logs, stop, kill, wait, start, restart,
# pause, exec, update, inspect, rm, container prune; restart policies; and the faults (kill -9
# of the monitor or of husk, a lost /run). Each test has its own HUSK_ROOT; containers use the
# fixture rootfs without a network, and are named after the test's CID (husk-it-*), so the
# teardown's leak checks (processes, cgroups) cover them.

load helpers

setup() { husk_ctr_setup; }
teardown() { husk_ctr_teardown; }

@test "run -d: prints the id once the program runs; ps lists it; logs show its output" {
  run hd "$CID" -- sh -c 'echo hello-out; echo hello-err >&2; exec sleep 60'
  expect_status 0
  [[ $output =~ ^[0-9a-f]{64}$ ]] || fail "not a 64-hex id: $output"
  local id=$output
  run h ps --format '{{.ID}} {{.Names}} {{.State}}'
  expect_output "${id:0:12} $CID running"
  wait_for 5 eval '[[ $(h logs "$CID" 2>&1) == *hello-err* ]]'
  run --separate-stderr h logs "$CID"
  [[ $output == hello-out && $stderr == hello-err ]] || fail "stdout: $output stderr: $stderr"
  # The log is the CRI format: time, stream, F (full line), text.
  grep -Eq '^[0-9T:.-]+Z stdout F hello-out$' "$HUSK_ROOT/containers/$CID/ctr.log" ||
    fail "log: $(cat "$HUSK_ROOT/containers/$CID/ctr.log")"
  # One monitor, the init's parent (its subreaper).
  local mon pid
  mon=$(monitor_pid "$CID")
  pid=$(h inspect "$CID" | jq -r '.[0].State.Pid')
  [[ -n $mon ]] || fail "no monitor"
  [[ $(awk '{print $4}' "/proc/$pid/stat") == "$mon" ]] || fail "init $pid's parent is not the monitor $mon"
  run h rm -f "${id:0:8}"
  expect_status 0
  ! pid_alive "$mon" || wait_for 5 eval '! pid_alive '"$mon" || fail "monitor still runs"
}

@test "run: a name is unique; a clash is one line and makes nothing" {
  hd "$CID" -- sleep 60 >/dev/null
  run --separate-stderr h run -d --net none --name "$CID" --rootfs "$ROOTFS" -- true
  expect_status 125
  [[ $stderr == "husk: the name \"$CID\" is in use by container "*": remove it (husk rm) or choose another name" ]] ||
    fail "stderr: $stderr"
  [[ $(h ps -aq | wc -l) == 1 ]] || fail "a second container was made"
  run --separate-stderr h stop no-such-container
  expect_status 125
  [[ $stderr == "husk: no such container: no-such-container" ]] || fail "stderr: $stderr"
}

@test "run in the foreground keeps the stopped container (without --rm); start runs it again" {
  run h run --net none --name "$CID" -e "HUSK_TEST_MARK=$MARK" --rootfs "$ROOTFS:O" -- \
    sh -c 'echo run >>/count; cat /count | wc -l; exit 3'
  expect_status 3
  expect_output 1
  run h ps -a --format '{{.Names}} {{.Status}}'
  [[ $output == "$CID Exited (3) "*" ago" ]] || fail "ps: $output"
  [[ -z $(h ps -q) ]] || fail "listed as running"
  # Its own layer is kept: a second run sees the first one's write.
  run h start "$CID"
  expect_status 0
  run h wait "$CID"
  expect_output 3
  run h logs "$CID"
  expect_output 2
  run h rm "$CID"
  expect_status 0
  [[ ! -e $HUSK_ROOT/containers/$CID ]] || fail "its directory is left"
}

@test "run --rm in the foreground leaves nothing" {
  run h run --rm --net none --name "$CID" -e "HUSK_TEST_MARK=$MARK" --rootfs "$ROOTFS:O" -- true
  expect_status 0
  [[ -z $(h ps -aq) ]] || fail "listed"
  [[ -z $(ls -A "$HUSK_ROOT/containers" 2>/dev/null) ]] || fail "left: $(ls "$HUSK_ROOT/containers")"
}

@test "stop: the stop signal, then SIGKILL after -t; wait prints the exit code" {
  hd "$CID-a" -- sh -c 'trap "exit 0" TERM; while :; do sleep 0.05; done' >/dev/null
  hd "$CID-b" --stop-signal HUP -- sh -c 'trap "exit 5" HUP; while :; do sleep 0.05; done' >/dev/null
  hd "$CID-c" -- sleep 60 >/dev/null  # pid 1 ignores SIGTERM
  run h stop "$CID-a" "$CID-b"
  expect_status 0
  run h wait "$CID-a" "$CID-b"
  expect_output "0
5"
  local t0=$EPOCHREALTIME
  run h stop -t 1 "$CID-c"
  expect_status 0
  local took=$(( ${EPOCHREALTIME/./} - ${t0/./} ))
  (( took >= 1000000 )) || fail "SIGKILL came before -t 1: ${took}us"
  run h wait "$CID-c"
  expect_output 137
  # Stopping a stopped container succeeds, as docker's does.
  run h stop "$CID-c"
  expect_status 0
}

@test "kill -s sends the signal; pause freezes, unpause thaws" {
  hd "$CID" -- sh -c 'trap "echo got-usr1" USR1; while :; do sleep 0.05; done' >/dev/null
  run h kill -s USR1 "$CID"
  expect_status 0
  wait_for 5 eval '[[ $(h logs "$CID") == got-usr1 ]]' || fail "logs: $(h logs "$CID")"
  run h pause "$CID"
  expect_status 0
  run h ps --format '{{.Status}}'
  [[ $output == *"(Paused)" ]] || fail "ps: $output"
  [[ $(state_of "$CID") == paused ]] || fail "inspect: $(state_of "$CID")"
  run h unpause "$CID"
  expect_status 0
  [[ $(state_of "$CID") == running ]] || fail "inspect: $(state_of "$CID")"
}

@test "restart on-failure:3: three restarts with a growing back-off, then exited with the last code" {
  local t0=$EPOCHREALTIME
  hd "$CID" --restart on-failure:3 -- sh -c 'echo run; exit 3' >/dev/null
  wait_for 20 eval '[[ $(state_of "$CID") == exited && $(h logs "$CID" | wc -l) == 4 ]]' ||
    fail "state $(state_of "$CID"), logs: $(h logs "$CID")"
  local took=$(( ${EPOCHREALTIME/./} - ${t0/./} ))
  # 100 ms, 200 ms, 400 ms between the runs.
  (( took >= 700000 )) || fail "three restarts in ${took}us: no back-off"
  run h inspect "$CID"
  [[ $(jq -r '.[0].RestartCount' <<<"$output") == 3 ]] || fail "RestartCount: $output"
  [[ $(jq -r '.[0].State.ExitCode' <<<"$output") == 3 ]] || fail "ExitCode: $output"
  run h ps -a --format '{{.Status}}'
  [[ $output == "Exited (3) "* ]] || fail "ps: $output"
  # A zero exit is no failure: no restart.
  hd "$CID-ok" --restart on-failure -- sh -c 'echo once' >/dev/null
  run h wait "$CID-ok"
  expect_output 0
  sleep 0.3
  run h logs "$CID-ok"
  expect_output once
}

@test "restart always: restarts after the program exits; a stop ends it for good" {
  hd "$CID" --restart always -- sh -c 'echo up; sleep 0.2' >/dev/null
  wait_for 10 eval '(( $(h logs "$CID" | wc -l) >= 2 ))' || fail "logs: $(h logs "$CID")"
  run h stop -t 1 "$CID"
  expect_status 0
  local n
  n=$(h logs "$CID" | wc -l)
  sleep 0.8
  [[ $(state_of "$CID") == exited ]] || fail "state: $(state_of "$CID")"
  [[ $(h logs "$CID" | wc -l) == "$n" ]] || fail "restarted after stop"
}

@test "exec: a process in the running container, with its seccomp and capabilities; -e, -w; exit code" {
  hd "$CID" -- sleep 60 >/dev/null
  local pid
  pid=$(h inspect "$CID" | jq -r '.[0].State.Pid')
  run h exec -e FOO=bar -w /tmp "$CID" sh -c 'echo $FOO $(pwd); grep -E "^(Seccomp|CapBnd|NoNewPrivs):" /proc/self/status'
  expect_status 0
  expect_line "bar /tmp"
  expect_line "$(grep -E '^Seccomp:' "/proc/$pid/status")"
  expect_line "$(grep -E '^CapBnd:' "/proc/$pid/status")"
  run h exec "$CID" sh -c 'exit 9'
  expect_status 9
  # Its pid namespace: the container's init is pid 1 there.
  run h exec "$CID" cat /proc/1/cmdline
  expect_output "sleep60"
  h stop -t 0 "$CID" >/dev/null
  run --separate-stderr h exec "$CID" true
  expect_status 125
  [[ $stderr == "husk: container \"$CID\" is not running (exited)" ]] || fail "stderr: $stderr"
}

@test "update: --cpus and --memory reach the running container's cgroup" {
  hd "$CID" -- sleep 60 >/dev/null
  local pid
  pid=$(h inspect "$CID" | jq -r '.[0].State.Pid')
  run h update --cpus 0.5 --memory 64m "$CID"
  expect_status 0
  # The container's cgroups, as the host sees them.
  local key path cpu= mem=
  while IFS=: read -r _ key path; do
    [[ ,$key, == *,cpu,* ]] && cpu=/sys/fs/cgroup/$key$path
    [[ $key == memory ]] && mem=/sys/fs/cgroup/$key$path
  done <"/proc/$pid/cgroup"
  if [[ -n $cpu ]]; then
    [[ $(cat "$cpu/cpu.cfs_quota_us") == 50000 ]] || fail "quota: $(cat "$cpu/cpu.cfs_quota_us")"
    [[ $(cat "$mem/memory.limit_in_bytes") == $((64 << 20)) ]] || fail "memory"
  else
    local v2
    v2=$(awk -F: '$1 == 0 {print $3}' "/proc/$pid/cgroup")
    [[ $(cat "/sys/fs/cgroup$v2/cpu.max") == "50000 100000" ]] || fail "cpu.max"
  fi
}

@test "ps: -a, -q, filters, templates and podman's JSON; inspect; container prune" {
  hd "$CID-up" --label tier=web -- sleep 60 >/dev/null
  h run --net none --name "$CID-done" --rootfs "$ROOTFS" -- sh -c 'exit 2' || true
  run h ps --format '{{.Names}}'
  expect_output "$CID-up"
  run h ps -a --format '{{.Names}}'
  expect_output "$CID-done
$CID-up"
  run h ps -a --filter status=exited --format '{{.Names}}'
  expect_output "$CID-done"
  run h ps -a --filter label=tier=web -q
  [[ $output =~ ^[0-9a-f]{12}$ ]] || fail "ps -q: $output"
  run h ps -a --filter exited=2 --format 'table {{.Names}}\t{{.Status}}'
  [[ ${lines[0]} == "NAMES"*"STATUS" && ${lines[1]} == "$CID-done"*"Exited (2)"* ]] || fail "$output"
  run --separate-stderr h ps --filter color=red
  expect_status 125
  [[ $stderr == 'husk: --filter "color=red": no filter "color" (id, name, status, label, exited, ancestor)' ]] ||
    fail "stderr: $stderr"
  run h ps -a --format json
  expect_status 0
  jq -e --arg n "$CID-done" '.[] | select(.Names == [$n]) | .State == "exited" and .ExitCode == 2 and .Exited' \
    <<<"$output" >/dev/null || fail "json: $output"
  run h inspect "$CID-up"
  jq -e '.[0].State.Running and .[0].Config.Labels.tier == "web" and (.[0].Id | length) == 64' \
    <<<"$output" >/dev/null || fail "inspect: $output"
  run h container prune -f
  expect_status 0
  run h ps -a --format '{{.Names}}'
  expect_output "$CID-up"
}

@test "env-file and labels; the caller's value of a bare -e is kept for later starts" {
  printf '# comment\nA=1\n\nB=two words\nFROM_CALLER\n' >"$TEST_TMP/env"
  FROM_CALLER=kept timeout 60 "$HUSK" run --net none --name "$CID" --rootfs "$ROOTFS" \
    --env-file "$TEST_TMP/env" -e A=override -- sh -c 'echo "$A|$B|$FROM_CALLER"' </dev/null >"$TEST_TMP/out"
  [[ $(cat "$TEST_TMP/out") == "override|two words|kept" ]] || fail "first: $(cat "$TEST_TMP/out")"
  h start "$CID" >/dev/null
  h wait "$CID" >/dev/null
  run h logs "$CID"
  expect_output "override|two words|kept"
  printf 'BAD LINE=1\n' >"$TEST_TMP/bad"
  run --separate-stderr h run --rm --net none --rootfs "$ROOTFS" --env-file "$TEST_TMP/bad" -- true
  expect_status 125
  [[ $stderr == "husk: --env-file \"$TEST_TMP/bad\": line 1: \"BAD LINE=1\" is not KEY=VALUE" ]] ||
    fail "stderr: $stderr"
}

@test "fault: kill -9 of the monitor: reported exited with the reason; rm -f leaves nothing" {
  hd "$CID" -- sleep 60 >/dev/null
  local mon pid
  mon=$(monitor_pid "$CID")
  pid=$(h inspect "$CID" | jq -r '.[0].State.Pid')
  kill -9 "$mon"
  wait_for 5 eval '! pid_alive '"$mon"
  run h inspect "$CID"
  [[ $(jq -r '.[0].State.Status' <<<"$output") == exited ]] || fail "inspect: $output"
  [[ $(jq -r '.[0].State.Error' <<<"$output") == *"monitor is gone"* ]] || fail "no reason: $output"
  run h rm -f "$CID"
  expect_status 0
  wait_for 5 eval '! pid_alive '"$pid" || fail "the container's init $pid still runs"
}

@test "fault: kill -9 of husk during run -d, and a lost /run: ps -a still lists; rm -f cleans up" {
  "$HUSK" run -d --net none --name "$CID-k" -e "HUSK_TEST_MARK=$MARK" --rootfs "$ROOTFS" -- sleep 60 \
    </dev/null >/dev/null 2>&1 &
  local p=$!
  sleep 0.005
  kill -9 "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  # A reboot: the monitor, the container and the runtime's state in /run are gone.
  hd "$CID-r" -- sleep 60 >/dev/null
  local mon pid
  mon=$(monitor_pid "$CID-r")
  pid=$(h inspect "$CID-r" | jq -r '.[0].State.Pid')
  kill -9 "$mon" "$pid"
  wait_for 5 eval '! pid_alive '"$pid"
  # What lives in memory goes with a reboot: /run and the cgroup directories.
  rm -rf "/run/husk/$CID-r"
  find /sys/fs/cgroup -depth -type d -name "$CID-r" -exec rmdir {} + 2>/dev/null || true
  run h ps -a --format '{{.Names}} {{.State}}'
  expect_line "$CID-r exited"
  run h rm -f "$CID-r"
  expect_status 0
  # Whatever the killed run got to make goes with rm -f (or was never made).
  h rm -f "$CID-k" >/dev/null 2>&1 || true
  wait_for 10 eval '[[ -z $(h ps -aq) ]]' || fail "left: $(h ps -a)"
  [[ ! -e /run/husk/$CID-k ]] || wait_for 5 eval '[[ ! -e /run/husk/'"$CID-k"' ]]' || fail "state left"
}

@test "bash completion: verbs, flags from husk's own --help, container names" {
  h create --net none --name "$CID" --rootfs "$ROOTFS" -- true >/dev/null
  # shellcheck source=contrib/bash-completion/husk
  source "$HUSK_SRC/contrib/bash-completion/husk"
  complete_words() { COMP_WORDS=("$HUSK" "$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); _husk; echo "${COMPREPLY[*]}"; }
  local w
  for w in start stats stop; do
    [[ " $(complete_words st) " == *" $w "* ]] || fail "verbs: $(complete_words st)"
  done
  for w in --net --network; do
    [[ " $(complete_words run --ne) " == *" $w "* ]] || fail "flags: $(complete_words run --ne)"
  done
  [[ $(complete_words stop husk-it) == "$CID" ]] || fail "names: $(complete_words stop husk-it)"
  for w in create prune; do
    [[ " $(complete_words network '') " == *" $w "* ]] || fail "network verbs: $(complete_words network '')"
  done
}
