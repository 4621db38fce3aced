#!/usr/bin/env bats
# cgroups at work: limits the kernel enforces (cpu quota, memory/OOM, pids, devices), the
# freezer (pause/resume), live updates, ps and events, and `husk run`'s docker-style
# resource flags. Every check reads the kernel's own accounting (cgroup files) or what the
# container itself experiences; the leak check of helpers.bash covers every hierarchy.
#
# Run against the reference with HUSK_OCI=runc: tests that need the v1 memory hierarchy
# (which tests/fixtures/runc-ref hides from runc) or husk's wording are skipped there.

load helpers

setup() {
  husk_setup
  mkdir -m 777 "$TEST_TMP/out"
}

# The container's cgroup directory of a controller, from its init's /proc/PID/cgroup
# (the container must be running; $CTR_PID is its init).
ctr_cgroup() {
  local key path
  while IFS=: read -r _ key path; do
    if [[ ,$key, == *",$1,"* ]]; then
      echo "/sys/fs/cgroup/$key$path"
      return 0
    fi
  done <"/proc/$CTR_PID/cgroup"
  fail "no $1 cgroup for pid $CTR_PID"
}

# A host directory the container sees at /mnt, for signals and results.
mount_out() { add_mount /mnt bind "$TEST_TMP/out" rbind rw; }

state_status() { oci state "$CID" | jq -r .status; }

status_is() { [[ $(state_status) == "$1" ]]; }

# oci_stdin INPUT ARGS...: the runtime with this root and INPUT on its stdin.
oci_stdin() {
  local input=$1; shift
  timeout --kill-after=5 "$TIMEOUT" "$OCI" --root "$ROOT" "$@" <<<"$input"
}

# husk run with the env marker and the test's container name (so teardown's leak checks
# cover its cgroups), stdin closed.
husk_run() {
  HUSK_ROOT=$TEST_TMP/husk-root \
    timeout --kill-after=5 "$TIMEOUT" "$HUSK" run --rm --name "$CID" -e "HUSK_TEST_MARK=$MARK" "$@" \
    </dev/null
}

needs_memory_hierarchy() {
  if oci_is_reference; then skip "tests/fixtures/runc-ref hides the memory hierarchy from runc"; fi
}

# ---------------------------------------------------------------------------------------
# Limits the kernel enforces

# cpu.stat's "nr_periods nr_throttled" of the container's cpu cgroup.
cpu_periods() {
  awk '$1 == "nr_periods" { p = $2 } $1 == "nr_throttled" { t = $2 } END { print p, t }' \
    "$1/cpu.stat"
}

@test "cpu quota 50000/100000: a busy loop gets 0.5 CPU and is throttled" {
  update_config '.linux.resources.cpu = {quota: 50000, period: 100000}'
  set_script 'while :; do :; done'
  run_detached
  local acct cpu usage0 usage1 t0 t1 rate p0 p1 th0 th1
  acct=$(ctr_cgroup cpuacct) cpu=$(ctr_cgroup cpu)
  [[ $(<"$cpu/cpu.cfs_quota_us") == 50000 ]] || fail "cfs_quota_us not 50000"
  sleep 0.3  # past the first period, which starts with a full quota
  read -r p0 th0 < <(cpu_periods "$cpu")
  t0=${EPOCHREALTIME/./}; usage0=$(<"$acct/cpuacct.usage")
  sleep 2
  t1=${EPOCHREALTIME/./}; usage1=$(<"$acct/cpuacct.usage")
  read -r p1 th1 < <(cpu_periods "$cpu")
  # CPU-ns used per wall-clock us: thousandths of a CPU.
  rate=$(( (usage1 - usage0) / (t1 - t0) ))
  echo "# busy loop: $rate/1000 CPU over $(( (t1 - t0) / 1000 )) ms," \
    "throttled in $(( th1 - th0 )) of $(( p1 - p0 )) periods" >&3
  oci delete --force "$CID"
  (( th1 > 0 )) || fail "nr_throttled is 0"
  (( rate <= 600 )) || fail "cpu rate $rate/1000, above the quota's 500 + 100"
  if (( rate < 400 )); then
    # Below the quota is only a failure if the kernel says the quota was what held it:
    # a loop starved by the rest of the machine is throttled in few periods.
    if (( (th1 - th0) * 10 < (p1 - p0) * 8 )); then
      skip "host too busy: the loop got only $rate/1000 CPU"
    fi
    fail "cpu rate $rate/1000, want 500 +- 100"
  fi
}

@test "memory limit: a process allocating past it is OOM-killed, events reports it" {
  needs_memory_hierarchy
  mount_out
  update_config '.linux.resources.memory = {limit: 16777216, swap: 16777216}'
  # tail buffers one endless line of /dev/zero. The first one is a child: the shell
  # survives it and reports; the second is the init itself.
  set_script 'while [ ! -e /mnt/go ]; do sleep 0.02; done
    tail /dev/zero; echo "tail exited $?"
    while read l; do echo "$l"; done </sys/fs/cgroup/memory/memory.oom_control
    exec tail /dev/zero'
  start_run_bg --pid-file "$TEST_TMP/init.pid"
  wait_for 10 status_is running || fail "container not running: $(cat "$TEST_TMP/run.err")"
  "$OCI" --root "$ROOT" events --interval 1h "$CID" >"$TEST_TMP/events.out" \
    2>"$TEST_TMP/events.err" &
  local events_pid=$!
  BG_PIDS+=("$events_pid")
  sleep 0.3  # let events register its OOM listener
  touch "$TEST_TMP/out/go"
  wait_bg "$RUN_PID"
  [[ $rc -eq 137 ]] ||
    fail "run exited $rc, want 137: $(cat "$TEST_TMP/run.out" "$TEST_TMP/run.err")"
  grep -qx "tail exited 137" "$TEST_TMP/run.out" || fail "child tail: $(cat "$TEST_TMP/run.out")"
  # The kernel's own count, read by the container from its cgroup after the first kill.
  grep -qx "oom_kill 1" "$TEST_TMP/run.out" || fail "oom_control: $(cat "$TEST_TMP/run.out")"
  # events ends with the container.
  local erc
  wait_bg "$events_pid" 10
  erc=$rc
  [[ $erc -eq 0 ]] || fail "events exited $erc: $(cat "$TEST_TMP/events.err")"
  grep -qxF "{\"type\":\"oom\",\"id\":\"$CID\"}" "$TEST_TMP/events.out" ||
    fail "no oom event: $(cat "$TEST_TMP/events.out" "$TEST_TMP/events.err")"
}

@test "pids limit: a fork loop stops at pids.max with EAGAIN" {
  update_config '.linux.resources.pids = {limit: 10}'
  # The loop runs in a child shell, which dies at its first failed fork; the init then
  # reads the kernel's counters with builtins only (one more fork would fail too).
  run_sh 'sh -c "while :; do sleep 100 & done"; echo "loop exited $?"
    read cur </sys/fs/cgroup/pids/pids.current; read max </sys/fs/cgroup/pids/pids.max
    read ev </sys/fs/cgroup/pids/pids.events
    echo "current=$cur max=$max events=$ev"'
  expect_status 0
  expect_match "can't fork: resource temporarily unavailable"
  expect_line "loop exited 2"
  # 10 = the init, the loop's shell and 8 sleeps; the 9th sleep was refused, once.
  expect_line "current=9 max=10 events=max 1"
}

@test "devices: a denied device fails with EPERM, an allowed one works" {
  # CAP_MKNOD so that only the device cgroup decides (runc's default rules allow mknod
  # of any node, "m", but no read or write of a device not listed).
  update_config '.process.capabilities.bounding += ["CAP_MKNOD"]
    | .process.capabilities.effective += ["CAP_MKNOD"]
    | .process.capabilities.permitted += ["CAP_MKNOD"]'
  add_tmpfs /tmp
  run_sh 'mknod /tmp/mem c 1 1 && mknod /tmp/null c 1 3 || exit 9
    cat /tmp/mem >/dev/null && echo mem-readable
    echo x >/tmp/null && echo null-node-writable
    echo x >/dev/null && echo dev-null-writable'
  expect_status 0
  expect_match "/tmp/mem.*operation not permitted"
  expect_no_line mem-readable
  expect_line null-node-writable
  expect_line dev-null-writable
}

# ---------------------------------------------------------------------------------------
# pause / resume

# The container's counter appends a line per step (one write each, so a container frozen
# mid-step leaves no half-written value): the count is the number of lines.
count_of() {
  local l=()
  [[ -e $TEST_TMP/out/count ]] && mapfile -t l <"$TEST_TMP/out/count"
  echo "${#l[@]}"
}
count_at_least() { (( $(count_of) >= $1 )); }

@test "pause stops progress and state says paused; resume restores it" {
  mount_out
  set_script 'while :; do echo . >>/mnt/count; usleep 20000; done'
  run_detached
  wait_for 10 count_at_least 3 || fail "the counter does not run"
  oci pause "$CID"
  [[ $(state_status) == paused ]] || fail "state: $(state_status)"
  [[ $(<"$(ctr_cgroup freezer)/freezer.state") == FROZEN ]] || fail "freezer.state not FROZEN"
  run oci list --format json
  [[ $(jq -r --arg id "$CID" '.[] | select(.id == $id) | .status' <<<"$output") == paused ]] ||
    fail "list: $output"
  local c1 c2
  c1=$(count_of)
  sleep 0.5
  c2=$(count_of)
  [[ $c1 == "$c2" ]] || fail "counter moved while paused: $c1 -> $c2"
  run oci pause "$CID"
  expect_status 1
  expect_contains "container not running"
  oci resume "$CID"
  [[ $(state_status) == running ]] || fail "state after resume: $(state_status)"
  wait_for 10 count_at_least $(( c2 + 3 )) || fail "the counter did not resume from $c2"
  run oci resume "$CID"
  expect_status 1
  expect_contains "container not paused"
  oci delete --force "$CID"
}

@test "kill KILL of a paused container stops it" {
  set_args sleep 100
  run_detached
  oci pause "$CID"
  oci kill "$CID" KILL
  wait_for 10 status_is stopped || fail "state: $(state_status)"
  oci delete "$CID"
}

@test "delete --force of a paused container removes it and its cgroups" {
  set_args sleep 100
  run_detached
  oci pause "$CID"
  run oci delete "$CID"
  expect_status 1
  expect_contains "paused"
  oci delete --force "$CID"
  pid_alive "$CTR_PID" && fail "init $CTR_PID still alive"
  [[ -z $(leftover_cgroups) ]] || fail "cgroups left: $(leftover_cgroups)"
}

@test "pause and resume of a stopped container: runc's errors" {
  set_args true
  run_detached
  wait_for 10 status_is stopped
  run oci pause "$CID"
  expect_status 1
  expect_contains "container not running"
  run oci resume "$CID"
  expect_status 1
  expect_contains "container not paused"
  run oci update --memory 64m "$CID"
  expect_status 1
  expect_contains "container not running"
  oci delete "$CID"
}

# ---------------------------------------------------------------------------------------
# update

@test "update: flags change the live cgroup's cpu, pids and memory limits" {
  needs_memory_hierarchy
  set_args sleep 100
  run_detached
  oci update --memory 64m --cpu-quota 20000 --cpu-period 100000 --pids-limit 50 "$CID"
  local mem cpu pids
  mem=$(ctr_cgroup memory) cpu=$(ctr_cgroup cpu) pids=$(ctr_cgroup pids)
  [[ $(<"$mem/memory.limit_in_bytes") == 67108864 ]] ||
    fail "memory: $(<"$mem/memory.limit_in_bytes")"
  [[ $(<"$cpu/cpu.cfs_quota_us") == 20000 ]] || fail "quota: $(<"$cpu/cpu.cfs_quota_us")"
  [[ $(<"$cpu/cpu.cfs_period_us") == 100000 ]] || fail "period"
  [[ $(<"$pids/pids.max") == 50 ]] || fail "pids.max: $(<"$pids/pids.max")"
  # A quota alone leaves the period; -1 lifts the limits.
  oci update --cpu-quota 30000 "$CID"
  [[ $(<"$cpu/cpu.cfs_quota_us") == 30000 && $(<"$cpu/cpu.cfs_period_us") == 100000 ]] ||
    fail "quota alone"
  oci update --memory -1 --cpu-quota -1 --pids-limit -1 "$CID"
  [[ $(<"$cpu/cpu.cfs_quota_us") == -1 ]] || fail "quota not lifted"
  [[ $(<"$pids/pids.max") == max ]] || fail "pids.max not lifted"
  (( $(<"$mem/memory.limit_in_bytes") > 1 << 40 )) || fail "memory not lifted"
  oci delete --force "$CID"
}

@test "update -r -: linux.resources JSON on stdin (as containerd sends it), and -r FILE" {
  needs_memory_hierarchy
  set_args sleep 100
  run_detached
  local mem cpu pids
  mem=$(ctr_cgroup memory) cpu=$(ctr_cgroup cpu) pids=$(ctr_cgroup pids)
  # Devices are ignored (runc's update does not touch them): /dev/null must stay usable.
  oci_stdin '{"memory": {"limit": 33554432}, "cpu": {"quota": 40000, "period": 200000},
              "pids": {"limit": 20}, "devices": [{"allow": false, "access": "rwm"}]}' \
    update -r - "$CID"
  [[ $(<"$mem/memory.limit_in_bytes") == 33554432 ]] || fail "memory"
  [[ $(<"$cpu/cpu.cfs_quota_us") == 40000 && $(<"$cpu/cpu.cfs_period_us") == 200000 ]] ||
    fail "cpu: $(<"$cpu/cpu.cfs_quota_us") $(<"$cpu/cpu.cfs_period_us")"
  [[ $(<"$pids/pids.max") == 20 ]] || fail "pids"
  grep -qx "c 1:3 rwm" "$(ctr_cgroup devices)/devices.list" || fail "device rules changed"
  echo '{"pids": {"limit": 7}}' >"$TEST_TMP/res.json"
  oci update -r "$TEST_TMP/res.json" "$CID"
  [[ $(<"$pids/pids.max") == 7 ]] || fail "pids from file"
  [[ $(<"$mem/memory.limit_in_bytes") == 33554432 ]] || fail "absent memory was changed"
  oci delete --force "$CID"
}

@test "update: bad values are one-line errors naming the flag or JSON field" {
  husk_only "husk's wording"
  set_args sleep 100
  run_detached
  local pids
  pids=$(ctr_cgroup pids)
  run oci update --memory 12q "$CID"
  expect_status 1
  expect_output "invalid value for memory: invalid size: '12q'"
  run oci_stdin '{"pids": {"limit": "many"}}' update -r - "$CID"
  expect_status 1
  expect_output "stdin: pids.limit: expected a number, got string"
  run oci update --l3-cache-schema L3:0=f "$CID"
  expect_status 1
  expect_contains "Intel RDT"
  run oci update --pids-limit 5 nonexistent-husk-ctr
  expect_status 1
  expect_contains "does not exist"
  [[ $(<"$pids/pids.max") == max ]] || fail "a failed update changed pids.max"
  oci delete --force "$CID"
}

# ---------------------------------------------------------------------------------------
# ps and events

@test "ps --format json lists the container's pids; ps shows their table lines" {
  set_script 'sleep 100 & sleep 101 & wait'
  run_detached
  local procs
  wait_for 10 eval '(( $(wc -l <"$(ctr_cgroup pids)/cgroup.procs") == 3 ))' ||
    fail "children did not start"
  procs=$(sort -n "$(ctr_cgroup pids)/cgroup.procs" | tr '\n' ' ')
  run oci ps --format json "$CID"
  expect_status 0
  [[ $(jq -r 'sort | map(tostring) | join(" ")' <<<"$output") == "${procs% }" ]] ||
    fail "ps json: $output, cgroup.procs: $procs"
  jq -e --argjson p "$CTR_PID" 'index($p) != null' <<<"$output" >/dev/null || fail "no init"
  run oci ps "$CID"
  expect_status 0
  [[ ${lines[0]} == *PID* ]] || fail "no header: $output"
  (( ${#lines[@]} == 4 )) || fail "want header + 3 lines: $output"
  expect_match "sleep 101"
  if ! oci_is_reference; then  # runc 1.1 hands the "--" on to ps, which refuses it
    run oci ps "$CID" -- -o pid,comm
    expect_status 0
    expect_match "^ *$CTR_PID sh$"
    (( ${#lines[@]} == 4 )) || fail "want header + 3 lines: $output"
  fi
  oci delete --force "$CID"
}

@test "events --stats prints one stats event with cpu, memory and pids data" {
  needs_memory_hierarchy
  set_script 'i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; sleep 100; exit 0'
  run_detached
  # Done counting (some ms of CPU) once its sleep is there.
  wait_for 30 eval '(( $(wc -l <"$(ctr_cgroup pids)/cgroup.procs") == 2 ))'
  run --separate-stderr oci events --stats "$CID"
  expect_status 0
  (( ${#lines[@]} == 1 )) || fail "want one line: $output"
  jq -e --arg id "$CID" '.type == "stats" and .id == $id
      and .data.cpu.usage.total > 1000000 and (.data.cpu.usage.percpu | length) > 0
      and .data.memory.usage.usage > 0 and .data.memory.usage.limit > 0
      and .data.pids.current == 2' <<<"$output" >/dev/null || fail "stats: $output"
  oci delete --force "$CID"
}

@test "events: stats lines every interval, and the stream ends with the container" {
  needs_memory_hierarchy
  mount_out
  set_script 'while [ ! -e /mnt/stop ]; do usleep 20000; done'
  run_detached
  "$OCI" --root "$ROOT" events --interval 100ms "$CID" >"$TEST_TMP/events.out" 2>&1 &
  local events_pid=$!
  BG_PIDS+=("$events_pid")
  wait_for 10 eval '(( $(wc -l <"$TEST_TMP/events.out") >= 3 ))' ||
    fail "fewer than 3 events: $(cat "$TEST_TMP/events.out")"
  touch "$TEST_TMP/out/stop"
  wait_bg "$events_pid" 10
  [[ $rc -eq 0 ]] || fail "events exited $rc: $(cat "$TEST_TMP/events.out")"
  jq -se --arg id "$CID" 'all(.type == "stats" and .id == $id and .data.pids.current >= 1)' \
    "$TEST_TMP/events.out" >/dev/null || fail "events: $(cat "$TEST_TMP/events.out")"
  run oci events --stats "$CID"
  expect_status 1
  expect_contains "is not running"
  oci delete "$CID"
}

# ---------------------------------------------------------------------------------------
# husk run's docker-style flags

@test "husk run --cpus --memory --pids: the container sees its limits in its cgroups" {
  needs_memory_hierarchy
  run husk_run --cpus 0.5 --memory 64m --pids 100 -- sh -c '
    cd /sys/fs/cgroup; cat cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us
    cat memory/memory.limit_in_bytes memory/memory.memsw.limit_in_bytes pids/pids.max'
  expect_status 0
  # docker's --memory-swap default: as much swap as memory (memsw = 2 x memory).
  expect_output "50000
100000
67108864
134217728
100"
  [[ ! -e /run/husk/$CID ]] || fail "state left in /run/husk"
}

@test "husk run --memory 16m: tail /dev/zero is OOM-killed, exit 137" {
  needs_memory_hierarchy
  run husk_run --memory 16m -- tail /dev/zero
  expect_status 137
}

@test "husk run --pids-limit, --cpuset-cpus, --cpu-shares, --memory-swap -1, --io-weight" {
  needs_memory_hierarchy
  run husk_run --pids-limit 5 --cpuset-cpus 0 --cpu-shares 512 --memory 32m --memory-swap -1 \
    --memory-reservation 16m -- sh -c '
    cd /sys/fs/cgroup; cat pids/pids.max cpuset/cpuset.cpus cpu/cpu.shares
    cat memory/memory.limit_in_bytes memory/memory.soft_limit_in_bytes
    read sw <memory/memory.memsw.limit_in_bytes; [ "$sw" -gt 1099511627776 ] && echo swap-unlimited'
  expect_status 0
  expect_output "5
0
512
33554432
16777216
swap-unlimited"
}

@test "husk run --device-read-bps/--device-write-iops: throttles on the device's major:minor" {
  # Throttles apply to whole disks: the first one with a real device behind it.
  local b dev= majmin
  for b in /sys/block/*; do
    if [[ -e $b/device && -b /dev/${b##*/} ]]; then dev=/dev/${b##*/}; break; fi
  done
  [[ -n $dev ]] || skip "no disk here"
  majmin=$(<"/sys/block/${dev#/dev/}/dev")
  run husk_run --device-read-bps "$dev:1mb" --device-write-iops "$dev:100" -- sh -c '
    cat /sys/fs/cgroup/blkio/blkio.throttle.read_bps_device
    cat /sys/fs/cgroup/blkio/blkio.throttle.write_iops_device'
  expect_status 0
  expect_output "$majmin 1048576
$majmin 100"
}

@test "husk run: bad resource values are one-line errors, nothing left behind" {
  run husk_run --memory 12q -- true
  expect_status 125
  expect_output 'husk: --memory: invalid size "12q"'
  run husk_run --cpus lots -- true
  expect_status 125
  expect_output 'husk: --cpus: invalid number "lots"'
  run husk_run --device-read-bps /dev/null:1mb -- true
  expect_status 125
  expect_output 'husk: --device-read-bps "/dev/null:1mb": /dev/null is not a block device'
  run husk_run --memory-swap 1g -- true
  expect_status 125
  expect_output 'husk: --memory-swap: needs --memory as well'
  [[ ! -e /run/husk/$CID ]] || fail "state left in /run/husk"
}
