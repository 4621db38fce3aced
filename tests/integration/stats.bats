#!/usr/bin/env bats
# husk stats and husk top (src/manage/) on real containers made with husk-oci: the numbers
# the table shows are checked against what the kernel enforces (a CPU quota, a memory
# limit, bytes sent through a veth) and against procps' own `ps -f`.
# The verbs are reached through tests/tools/manage_tool.cc until `husk` wires them.

load helpers

TOOL=${HUSK_MANAGE_TOOL:-$HUSK_BUILD/bin/husk_manage_tool}

setup() {
  husk_setup
  [[ -x $TOOL ]] || fail "$TOOL not built"
}

# stats ARGS...: the tool's stats verb on this test's state root.
stats() { timeout --kill-after=5 30 "$TOOL" stats --root "$ROOT" "$@"; }

# field KEY: KEY of the only JSON line in $output.
field() { jq -r --arg k "$1" '.[$k]' <<<"$output"; }

@test "stats: a busy loop under a 0.5 CPU quota shows 35-65% CPU" {
  # High shares so that the loop gets its quota however busy the machine is: what is
  # checked is what stats reports, not how much CPU the host has to spare.
  update_config '.linux.resources.cpu = {quota: 50000, period: 100000, shares: 262144}'
  set_script 'while :; do :; done'
  run_detached
  sleep 0.2  # past the first period, which starts with a full quota
  run --separate-stderr stats --no-stream --json --gap 1000
  expect_status 0
  [[ $(wc -l <<<"$output") == 1 ]] || fail "want one line: $output"
  [[ $(field ID) == "${CID:0:12}" && $(field Name) == "$CID" && $(field Container) == "${CID:0:12}" ]] ||
    fail "ids: $output"
  local cpu
  cpu=$(field CPUPerc)
  echo "# busy loop under quota 0.5: CPU $cpu" >&3
  [[ $cpu =~ ^([0-9]+)\.[0-9][0-9]%$ ]] || fail "CPUPerc $cpu"
  (( BASH_REMATCH[1] >= 35 && BASH_REMATCH[1] < 65 )) || fail "CPU $cpu, want 35-65%"
  [[ $(field PIDs) == 1 ]] || fail "PIDs: $output"
  oci delete --force "$CID"
}

@test "stats: a memory hog's usage shows against its limit; no limit shows the host's memory" {
  update_config '.linux.resources.memory = {limit: 268435456}'
  # 40 MiB in the container's /dev/shm (tmpfs pages are charged to its memory cgroup and
  # are not file pages docker subtracts), held while it sleeps.
  set_script 'dd if=/dev/zero of=/dev/shm/hog bs=1M count=40 2>/dev/null; touch /dev/shm/done
    exec sleep 1000'
  run_detached
  wait_for 10 test -e "/proc/$CTR_PID/root/dev/shm/done" || fail "the hog did not finish"
  run --separate-stderr stats --no-stream --json --gap 100
  expect_status 0
  local mem perc
  mem=$(field MemUsage) perc=$(field MemPerc)
  echo "# memory hog: $mem ($perc)" >&3
  [[ $mem =~ ^([0-9.]+)MiB\ /\ 256MiB$ ]] || fail "MemUsage $mem"
  awk -v m="${BASH_REMATCH[1]}" 'BEGIN { exit !(m >= 40 && m < 48) }' || fail "MemUsage $mem"
  # MEM % is usage over limit: 40-48 MiB of 256.
  [[ $perc =~ ^1[5-8]\.[0-9][0-9]%$ ]] || fail "MemPerc $perc"
  oci delete --force "$CID"

  # Without a limit, the host's MemTotal is the limit shown, as docker shows it.
  local id2=$CID-nolimit total
  new_bundle "$TEST_TMP/b2" sleep 1000
  oci run --detach --bundle "$TEST_TMP/b2" "$id2" >/dev/null
  defer "oci delete --force $id2"
  run --separate-stderr stats --no-stream --json --gap 100 "$id2"
  expect_status 0
  total=$(awk '$1 == "MemTotal:" { printf "%.4gGiB", $2 / 1024 / 1024 }' /proc/meminfo)
  [[ $(field MemUsage) == *" / $total" ]] || fail "MemUsage $(field MemUsage), want limit $total"
  [[ $(field Container) == "$id2" ]] || fail "Container: $output"
  oci delete --force "$id2"
}

@test "stats: the table, the ids it picks and an id that names nothing" {
  set_args sleep 1000
  run_detached
  local other=$CID-b
  new_bundle "$TEST_TMP/b2" sleep 1000
  oci run --detach --bundle "$TEST_TMP/b2" "$other" >/dev/null
  defer "oci delete --force $other"

  run --separate-stderr stats --no-stream --gap 100 --name "$CID=web"
  expect_status 0
  [[ ${lines[0]} =~ ^CONTAINER\ ID\ +NAME\ +CPU\ %\ +MEM\ USAGE\ /\ LIMIT\ +MEM\ %\ +NET\ I/O\ +BLOCK\ I/O\ +PIDS$ ]] ||
    fail "header: ${lines[0]}"
  (( ${#lines[@]} == 3 )) || fail "want two rows: $output"
  expect_match "^${CID:0:12} +web +[0-9]+\.[0-9]{2}% +[0-9.]+[KMG]?i?B / [0-9.]+[KMG]iB +[0-9.]+% +0B / 0B +[0-9.]+k?B / [0-9.]+k?B +1$"

  # By name and by id prefix, in the order given.
  run --separate-stderr stats --no-stream --json --gap 100 --name "$CID=web" "$other" web
  expect_status 0
  [[ $(jq -r .Container <<<"$output" | tr '\n' ' ') == "$other web " ]] || fail "order: $output"

  run --separate-stderr stats --no-stream --gap 100 "$CID" nosuch
  expect_status 1
  [[ $stderr == "husk_manage_tool: no such container: nosuch" ]] || fail "stderr: $stderr"
  oci delete --force "$other"
  oci delete --force "$CID"
}

@test "stats: a container that stops between the two samples is dropped, not an error" {
  set_args sleep 1000
  run_detached
  local short=$CID-short
  new_bundle "$TEST_TMP/b2" sleep 1000
  oci run --detach --bundle "$TEST_TMP/b2" "$short" >/dev/null
  defer "oci delete --force $short"
  # Three seconds between the samples; the second container is killed after one.
  stats --no-stream --json --gap 3000 >"$TEST_TMP/stats.out" 2>"$TEST_TMP/stats.err" &
  local pid=$!
  BG_PIDS+=("$pid")
  sleep 1
  oci kill "$short" KILL
  wait_bg "$pid" 10
  [[ $rc == 0 ]] || fail "stats exited $rc: $(cat "$TEST_TMP/stats.err")"
  run jq -r .Name "$TEST_TMP/stats.out"
  expect_output "$CID"
  oci delete --force "$short"
  oci delete --force "$CID"
}

@test "stats: bytes through a veth into the container's namespace show as NET I/O" {
  set_args sleep 1000
  run_detached
  # A veth pair with one end in the container's network namespace; ping across it.
  local host_if=hsk${$}s${BATS_TEST_NUMBER} ctr_if=hsk${$}c${BATS_TEST_NUMBER}
  ip link add "$host_if" type veth peer name "$ctr_if" netns "/proc/$CTR_PID/ns/net"
  defer "ip link del $host_if"
  ip addr add 10.213.77.1/30 dev "$host_if"
  ip link set "$host_if" up
  nsenter --net="/proc/$CTR_PID/ns/net" ip addr add 10.213.77.2/30 dev "$ctr_if"
  nsenter --net="/proc/$CTR_PID/ns/net" ip link set "$ctr_if" up
  nsenter --net="/proc/$CTR_PID/ns/net" ip link set lo up
  # lo traffic is the container's own: never counted.
  nsenter --net="/proc/$CTR_PID/ns/net" /bin/busybox ping -A -c 3 -q 127.0.0.1 >/dev/null
  /bin/busybox ping -A -c 5 -s 972 -q -W 5 10.213.77.2 >/dev/null || fail "no ping through the veth"
  run --separate-stderr stats --no-stream --json --gap 100
  expect_status 0
  # What the container's end counted, from the kernel: rx and tx bytes of its veth.
  local rx tx
  read -r rx tx < <(nsenter --net="/proc/$CTR_PID/ns/net" ip -j -s link show dev "$ctr_if" |
                    jq -r '.[0].stats64 | "\(.rx.bytes) \(.tx.bytes)"')
  echo "# veth: rx $rx tx $tx bytes; stats: $(field NetIO)" >&3
  (( rx >= 5000 && tx >= 5000 )) || fail "veth counted rx $rx tx $tx"
  local want
  want=$(awk -v r="$rx" -v t="$tx" 'function d(x) { u = "B"; if (x >= 1000) { x /= 1000; u = "kB" }
                                     return sprintf("%.3g%s", x, u) }
                                     BEGIN { print d(r) " / " d(t) }')
  [[ $(field NetIO) == "$want" ]] || fail "NetIO $(field NetIO), want $want"
  ip link del "$host_if"
  oci delete --force "$CID"
}

@test "top: every process of the container, as ps -f shows it" {
  set_script 'sleep 1000 & sleep 1001 & while :; do :; done'
  run_detached
  local want
  wait_for 5 eval '(( $(oci ps --format json "$CID" | jq length) == 3 ))' ||
    fail "want 3 processes: $(oci ps --format json "$CID")"
  run --separate-stderr "$TOOL" top --root "$ROOT" "$CID"
  expect_status 0
  [[ ${lines[0]} == "UID                 PID                 PPID                C                   STIME               TTY                 TIME                CMD" ]] ||
    fail "header: ${lines[0]}"
  (( ${#lines[@]} == 4 )) || fail "want 3 processes: $output"
  # procps on the same pids: the same columns (C and TIME can tick between the two reads
  # for the busy loop; compared for the sleeps only).
  local pids line f
  pids=$(oci ps --format json "$CID" | jq -r 'join(",")')
  want=$(ps -f -p "$pids" | tail -n +2 | sort -n -k2)
  for line in "${lines[@]:1}"; do
    read -r -a f <<<"$line"
    local ps_line
    ps_line=$(awk -v p="${f[1]}" '$2 == p' <<<"$want")
    [[ -n $ps_line ]] || fail "pid ${f[1]} not in ps: $want"
    read -r -a g <<<"$ps_line"
    [[ ${f[0]} == "${g[0]}" && ${f[2]} == "${g[2]}" && ${f[4]} == "${g[4]}" && ${f[5]} == "${g[5]}" ]] ||
      fail "top: $line
ps:  $ps_line"
    [[ "${f[*]:7}" == "${g[*]:7}" ]] || fail "CMD differs: $line / $ps_line"
    if [[ ${f[7]} == sleep ]]; then
      [[ ${f[3]} == "${g[3]}" && ${f[6]} == "${g[6]}" ]] || fail "C/TIME: $line / $ps_line"
    fi
  done
  expect_match " sleep 1000$"
  expect_match " sleep 1001$"
  oci delete --force "$CID"

  run --separate-stderr "$TOOL" top --root "$ROOT" "$CID"
  expect_status 1
  [[ $stderr == *"does not exist"* ]] || fail "stderr: $stderr"
}

@test "stats live: a table every interval; with ids it ends once they are gone; redrawn on a tty" {
  set_args sleep 1000
  run_detached
  "$TOOL" stats --root "$ROOT" --gap 100 --interval 200 "$CID" >"$TEST_TMP/live.out" \
    2>"$TEST_TMP/live.err" &
  local pid=$!
  BG_PIDS+=("$pid")
  wait_for 10 eval '(( $(grep -c "^CONTAINER ID" "$TEST_TMP/live.out") >= 3 ))' ||
    fail "no repeated tables: $(cat "$TEST_TMP/live.out" "$TEST_TMP/live.err")"
  # Not a terminal: plain tables, no escape sequences.
  ! grep -q $'\e' "$TEST_TMP/live.out" || fail "escape sequences in a pipe"
  grep -q "^${CID:0:12} " "$TEST_TMP/live.out" || fail "no row: $(cat "$TEST_TMP/live.out")"
  oci kill "$CID" KILL
  wait_bg "$pid" 10
  [[ $rc == 0 ]] || fail "live stats exited $rc: $(cat "$TEST_TMP/live.err")"
  # The last table, after the container stopped, has no row.
  [[ $(tail -n 1 "$TEST_TMP/live.out") == "CONTAINER ID"* ]] || fail "last: $(tail -n 3 "$TEST_TMP/live.out")"
  oci delete --force "$CID"

  # On a terminal each table is drawn over the last: cursor home, lines cleared to their end.
  new_bundle "$BUNDLE" sleep 1000
  run_detached
  "$FIXTURES/in-pty" 20 "$TOOL" stats --root "$ROOT" --gap 100 --interval 200 "$CID" \
    >"$TEST_TMP/tty.out" 2>&1 &
  pid=$!
  BG_PIDS+=("$pid")
  wait_for 10 eval '(( $(grep -c "CONTAINER ID" "$TEST_TMP/tty.out") >= 2 ))' ||
    fail "no tables on the tty: $(cat -v "$TEST_TMP/tty.out")"
  oci kill "$CID" KILL
  wait_bg "$pid" 10
  grep -q $'\e\\[H' "$TEST_TMP/tty.out" && grep -q $'\e\\[K' "$TEST_TMP/tty.out" ||
    fail "not redrawn in place: $(cat -v "$TEST_TMP/tty.out" | head -5)"
  oci delete --force "$CID"
}
