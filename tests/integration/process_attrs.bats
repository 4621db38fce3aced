#!/usr/bin/env bats
# Scheduling attributes as the container's processes see them: process.scheduler
# (/proc/self/stat), process.ioPriority (ionice), linux.personality
# (/proc/self/personality, uname), process.execCPUAffinity (Cpus_allowed_list of exec'd
# processes), for the init and for `exec` (also with --process); and the fields husk
# refuses (linux.intelRdt, linux.memoryPolicy, linux.netDevices, a mountLabel without
# SELinux): one line naming the field, a non-zero exit, nothing left behind.

load helpers

teardown() {
  delete_ctr
  husk_teardown
}

# nice, rt_priority and policy (fields 19, 40, 41) of a /proc/<pid>/stat line in $output.
stat_sched() { awk '{ print $19, $40, $41 }' <<<"$output"; }

# Real-time time for the container's cpu cgroup where the kernel groups it
# (CONFIG_RT_GROUP_SCHED: a new cgroup has none, and SCHED_FIFO/RR get EPERM).
give_rt_time() {
  [[ -e /sys/fs/cgroup/cpu/cpu.rt_runtime_us ]] || return 0
  update_config '.linux.resources.cpu.realtimeRuntime = 100000'
}

# Starts $BUNDLE detached running `sleep 1000`; its init pid in $CTR_PID.
start_sleeper() {
  set_args sleep 1000
  run_detached
}

# The refusal of a config: exit 1, exactly MESSAGE, no state, the program never ran.
expect_refused() {
  [[ $status -eq 1 ]] || fail "exit status $status, want 1: $output"
  expect_output "$1"
  [[ ! -e $ROOT/$CID ]] || fail "state dir $ROOT/$CID left behind"
}

@test "process.scheduler: SCHED_FIFO priority 10 in the init" {
  update_config '.process.scheduler = {policy: "SCHED_FIFO", priority: 10}'
  give_rt_time
  set_args cat /proc/self/stat
  run_ctr
  expect_status 0
  [[ $(stat_sched) == "0 10 1" ]] || fail "nice rt_priority policy: $(stat_sched)"
}

@test "process.scheduler: SCHED_BATCH with nice 7, SCHED_IDLE, SCHED_RR" {
  update_config '.process.scheduler = {policy: "SCHED_BATCH", nice: 7}'
  set_args cat /proc/self/stat
  run_ctr
  expect_status 0
  [[ $(stat_sched) == "7 0 3" ]] || fail "SCHED_BATCH: $(stat_sched)"
  update_config '.process.scheduler = {policy: "SCHED_IDLE"}'
  run_ctr
  expect_status 0
  [[ $(stat_sched) == "0 0 5" ]] || fail "SCHED_IDLE: $(stat_sched)"
  update_config '.process.scheduler = {policy: "SCHED_RR", priority: 99,
    flags: ["SCHED_FLAG_RESET_ON_FORK"]}'
  give_rt_time
  run_ctr
  expect_status 0
  [[ $(stat_sched) == "0 99 2" ]] || fail "SCHED_RR: $(stat_sched)"
}

@test "process.scheduler: SCHED_DEADLINE with runtime, deadline and period" {
  update_config '.process.scheduler = {policy: "SCHED_DEADLINE", runtime: 1000000,
    deadline: 10000000, period: 20000000}'
  start_sleeper
  run chrt -p "$CTR_PID"
  expect_status 0
  expect_contains "scheduling policy: SCHED_DEADLINE"
  expect_contains "runtime/deadline/period parameters: 1000000/10000000/20000000"
}

@test "process.scheduler: what the kernel refuses is an error, not ignored" {
  [[ -e /sys/fs/cgroup/cpu/cpu.rt_runtime_us ]] || skip "no real-time group scheduling"
  # A new cpu cgroup has no real-time time: SCHED_FIFO gets EPERM.
  update_config '.process.scheduler = {policy: "SCHED_FIFO", priority: 1}'
  set_args echo should-not-run
  run_ctr
  expect_refused 'container init: process.scheduler: set SCHED_FIFO (does the cpu cgroup have linux.resources.cpu.realtimeRuntime?): Operation not permitted'
}

@test "process.scheduler: applied to exec'd processes, from the config and from --process" {
  update_config '.process.scheduler = {policy: "SCHED_BATCH", nice: 3}'
  give_rt_time
  start_sleeper
  run oci exec "$CID" cat /proc/self/stat
  expect_status 0
  [[ $(stat_sched) == "3 0 3" ]] || fail "exec: $(stat_sched)"
  cat >"$TEST_TMP/process.json" <<'EOF'
{"args": ["cat", "/proc/self/stat"], "cwd": "/", "env": ["PATH=/bin"],
 "scheduler": {"policy": "SCHED_FIFO", "priority": 42}}
EOF
  run oci exec --process "$TEST_TMP/process.json" "$CID"
  expect_status 0
  [[ $(stat_sched) == "0 42 1" ]] || fail "exec --process: $(stat_sched)"
}

@test "process.scheduler: a bad policy or flag is a config error before anything starts" {
  update_config '.process.scheduler = {policy: "SCHED_BOGUS"}'
  set_args echo should-not-run
  run_ctr
  expect_refused 'config.json: process.scheduler.policy: unknown scheduling policy "SCHED_BOGUS"'
  update_config '.process.scheduler = {policy: "SCHED_FIFO", priority: 1,
    flags: ["SCHED_FLAG_NOPE"]}'
  run_ctr
  expect_refused 'config.json: process.scheduler.flags[0]: unknown scheduler flag "SCHED_FLAG_NOPE"'
  update_config 'del(.process.scheduler)'
  start_sleeper
  echo '{"args": ["true"], "cwd": "/", "scheduler": {"policy": "SCHED_RR"}}' \
    >"$TEST_TMP/bad.json"
  run oci exec --process "$TEST_TMP/bad.json" "$CID"
  expect_status 255  # exec's own failures, as runc
  expect_output "$TEST_TMP/bad.json: scheduler.priority: SCHED_RR needs a priority in 1..99, got 0"
}

@test "process.ioPriority: the init and exec'd processes get the class and priority" {
  update_config '.process.ioPriority = {class: "IOPRIO_CLASS_BE", priority: 6}'
  set_args ionice
  run_ctr
  expect_status 0
  expect_output "best-effort: prio 6"
  update_config '.process.ioPriority = {class: "IOPRIO_CLASS_RT", priority: 1}'
  start_sleeper
  run oci exec "$CID" ionice
  expect_status 0
  expect_output "realtime: prio 1"
  echo '{"args": ["ionice"], "cwd": "/", "env": ["PATH=/bin"],
    "ioPriority": {"class": "IOPRIO_CLASS_IDLE", "priority": 0}}' >"$TEST_TMP/process.json"
  run oci exec --process "$TEST_TMP/process.json" "$CID"
  expect_status 0
  expect_output "idle"
}

@test "process.ioPriority: a bad class is a config error" {
  update_config '.process.ioPriority = {class: "IOPRIO_CLASS_NONE", priority: 0}'
  set_args echo should-not-run
  run_ctr
  expect_refused 'config.json: process.ioPriority.class: unknown I/O priority class "IOPRIO_CLASS_NONE"'
}

@test "linux.personality: LINUX32 in the init and in exec'd processes" {
  update_config '.linux.personality = {domain: "LINUX32"}'
  set_args sh -c 'cat /proc/self/personality; uname -m'
  run_ctr
  expect_status 0
  expect_line 00000008
  expect_line i686
  start_sleeper
  run oci exec "$CID" cat /proc/self/personality
  expect_status 0
  expect_output 00000008
  echo '{"args": ["uname", "-m"], "cwd": "/", "env": ["PATH=/bin"]}' >"$TEST_TMP/process.json"
  run oci exec --process "$TEST_TMP/process.json" "$CID"
  expect_status 0
  expect_output i686
}

@test "linux.personality: an unknown domain or any flag is refused" {
  update_config '.linux.personality = {domain: "LINUX64"}'
  set_args echo should-not-run
  run_ctr
  expect_refused 'config.json: linux.personality.domain: unknown execution domain "LINUX64", expected "LINUX" or "LINUX32"'
  update_config '.linux.personality = {domain: "LINUX", flags: ["ADDR_NO_RANDOMIZE"]}'
  run_ctr
  expect_refused 'config.json: linux.personality.flags[0]: personality flag "ADDR_NO_RANDOMIZE" is not supported (the runtime-spec defines none)'
}

@test "process.execCPUAffinity: final applies to exec'd processes, never to the init" {
  [[ $(cat /sys/devices/system/cpu/online) == 0-* ]] || skip "needs CPUs 0 and 1"
  update_config '.process.execCPUAffinity = {initial: "0", final: "1"}'
  start_sleeper
  run oci exec "$CID" grep Cpus_allowed_list /proc/self/status
  expect_status 0
  expect_output "Cpus_allowed_list:	1"
  # The init runs where the kernel puts it (runtime-spec: not applicable to the init).
  grep -q "^Cpus_allowed_list:	0-1$" "/proc/$CTR_PID/status" ||
    fail "init: $(grep Cpus_allowed_list "/proc/$CTR_PID/status")"
  echo '{"args": ["grep", "Cpus_allowed_list", "/proc/self/status"], "cwd": "/",
    "env": ["PATH=/bin"], "execCPUAffinity": {"final": "0"}}' >"$TEST_TMP/process.json"
  run oci exec --process "$TEST_TMP/process.json" "$CID"
  expect_status 0
  expect_output "Cpus_allowed_list:	0"
}

@test "process.execCPUAffinity: initial is applied (a CPU that is not online fails exec)" {
  start_sleeper
  echo '{"args": ["echo", "should-not-run"], "cwd": "/", "env": ["PATH=/bin"],
    "execCPUAffinity": {"initial": "4095"}}' >"$TEST_TMP/process.json"
  run oci exec --process "$TEST_TMP/process.json" "$CID"
  expect_status 255  # exec's own failures, as runc
  expect_output "process.execCPUAffinity.initial: set CPU affinity 4095: Invalid argument"
  echo '{"args": ["echo", "should-not-run"], "cwd": "/", "env": ["PATH=/bin"],
    "execCPUAffinity": {"final": "4095"}}' >"$TEST_TMP/process.json"
  run oci exec --process "$TEST_TMP/process.json" "$CID"
  expect_status 255
  expect_output "process.execCPUAffinity.final: set CPU affinity 4095: Invalid argument"
  # The container is unharmed.
  run oci exec "$CID" echo fine
  expect_status 0
  expect_output fine
}

@test "process.execCPUAffinity: a bad CPU list is a config error" {
  update_config '.process.execCPUAffinity = {final: "1-0"}'
  set_args echo should-not-run
  run_ctr
  expect_refused 'config.json: process.execCPUAffinity.final: invalid range "1-0"'
}

@test "linux.intelRdt, linux.memoryPolicy, linux.netDevices: refused, nothing left behind" {
  set_args echo should-not-run
  update_config '.linux.intelRdt = {closID: "husk-test"}'
  run_ctr
  expect_refused 'config.json: linux.intelRdt: not supported by husk'
  update_config 'del(.linux.intelRdt) | .linux.memoryPolicy = {mode: "MPOL_BIND", nodes: "0"}'
  run_ctr
  expect_refused 'config.json: linux.memoryPolicy: not supported by husk'
  update_config 'del(.linux.memoryPolicy) | .linux.netDevices = {lo: {name: "lo1"}}'
  run oci create --bundle "$BUNDLE" "$CID"
  expect_refused 'config.json: linux.netDevices: not supported by husk'
}

@test "linux.mountLabel: refused where SELinux is not enabled" {
  ! grep -qw selinuxfs /proc/filesystems || skip "SELinux is enabled on this host"
  update_config '.linux.mountLabel = "system_u:object_r:container_file_t:s0:c1,c2"'
  set_args echo should-not-run
  run_ctr
  expect_refused 'container init: linux.mountLabel: "system_u:object_r:container_file_t:s0:c1,c2" needs SELinux, which is not enabled on this host'
  run oci create --bundle "$BUNDLE" "$CID"
  expect_refused 'container init: linux.mountLabel: "system_u:object_r:container_file_t:s0:c1,c2" needs SELinux, which is not enabled on this host'
}

@test "process.execCPUAffinity: initial is inherited, and the runtime goes back to its CPUs" {
  [[ $(cat /sys/devices/system/cpu/online) == 0-* ]] || skip "needs CPUs 0 and 1"
  start_sleeper
  echo '{"args": ["sh", "-c", "grep Cpus_allowed_list /proc/self/status; exec sleep 1000"],
    "cwd": "/", "env": ["PATH=/bin"], "execCPUAffinity": {"initial": "1"}}' \
    >"$TEST_TMP/process.json"
  "$OCI" --root "$ROOT" exec --process "$TEST_TMP/process.json" "$CID" \
    </dev/null >"$TEST_TMP/exec.out" 2>&1 &
  local exec_pid=$!
  BG_PIDS+=("$exec_pid")
  wait_for 10 file_has "$TEST_TMP/exec.out" Cpus_allowed_list ||
    fail "no output: $(<"$TEST_TMP/exec.out")"
  # Without `final` the kernel decides; joining a cpuset whose CPUs are the same keeps
  # the inherited mask (Linux 6.5 and later).
  [[ $(<"$TEST_TMP/exec.out") == "Cpus_allowed_list:	1" ]] ||
    fail "exec'd process: $(<"$TEST_TMP/exec.out")"
  # The foreground runtime, still waiting for it, is back on the CPUs it started with.
  local want
  want=$(grep Cpus_allowed_list /proc/self/status)
  [[ $(grep Cpus_allowed_list "/proc/$exec_pid/status") == "$want" ]] ||
    fail "runtime: $(grep Cpus_allowed_list "/proc/$exec_pid/status"), want $want"
}
