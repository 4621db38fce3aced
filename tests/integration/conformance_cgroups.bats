#!/usr/bin/env bats
# runc 1.1.5's behaviour around the container's cgroup, where engines and runc's own suite
# depend on it: exec's exit status for its own failures (255), exec into a paused container,
# a cgroup that exists before the container (holding processes, or frozen), the wording of
# a configuration the host's cgroups cannot take, `exec --cgroup`, and device rules.
# Every test also runs against runc (HUSK_OCI=/usr/sbin/runc) unless it is husk_only.

load helpers

# A cgroupsPath of the test's own, absolute, so the leak check of helpers.bash (which
# looks for "$CID" under each hierarchy) covers every directory the runtime made.
set_own_cgroups_path() { update_config '.linux.cgroupsPath = $p' --arg p "/$CID"; }

# The directory of the container's cgroup that a freezer uses: v1 freezer or cgroup2.
freezer_dir() {
  if [[ -d /sys/fs/cgroup/freezer ]]; then
    echo "/sys/fs/cgroup/freezer/$CID"
  else
    echo "/sys/fs/cgroup/$CID"
  fi
}

start_sleeper() {
  set_args sleep 1000
  run_detached
}

# ---------------------------------------------------------------------------------------
# exec: exit statuses, paused containers

@test "exec: the runtime's own failures exit 255, the program's status passes through" {
  start_sleeper
  run oci exec "$CID" sh -c 'exit 42'
  expect_status 42
  run oci exec "$CID" false
  expect_status 1
  run oci exec --pid-file /non-existent/dir/pid "$CID" true
  expect_status 255
  run oci exec "$CID" no-such-program
  expect_status 255
  run oci exec no-such-container-husk true
  expect_status 255
  oci delete --force "$CID"
}

@test "exec: a paused container is refused with 255 unless --ignore-paused" {
  set_own_cgroups_path
  start_sleeper
  oci pause "$CID"
  run oci exec "$CID" echo ok
  expect_status 255
  expect_contains "cannot exec in a paused container"
  # --ignore-paused: the process joins the frozen container and runs once it is resumed;
  # the exec holds nothing that resume needs meanwhile.
  (sleep 2; oci resume "$CID") &
  BG_PIDS+=($!)
  local t0=$SECONDS
  # Output to a file: a process left frozen would hold a pipe open for good.
  status=0
  TIMEOUT=20 oci exec --ignore-paused "$CID" echo ok >"$TEST_TMP/out" 2>&1 || status=$?
  output=$(<"$TEST_TMP/out")
  expect_status 0
  expect_output ok
  (( SECONDS - t0 >= 1 )) || fail "the process ran before the container was resumed"
  [[ $(oci state "$CID" | jq -r .status) == running ]] || fail "not running after resume"
  oci delete --force "$CID"
}

# ---------------------------------------------------------------------------------------
# A cgroup that exists before the container

@test "create/run: a cgroup already holding processes is used, with a warning" {
  set_own_cgroups_path
  start_sleeper
  local first=$CID
  # The runtime's stderr to a file: a detached init holds its stdio open, so bats' run
  # would wait for it.
  CID=$first-b
  oci run --detach --bundle "$BUNDLE" "$CID" >/dev/null 2>"$TEST_TMP/err" ||
    fail "run: $(<"$TEST_TMP/err")"
  grep -q "container's cgroup is not empty: 1 process(es) found" "$TEST_TMP/err" ||
    fail "no warning: $(<"$TEST_TMP/err")"
  CID=$first-c
  oci create --bundle "$BUNDLE" "$CID" >/dev/null 2>"$TEST_TMP/err" ||
    fail "create: $(<"$TEST_TMP/err")"
  grep -q "container's cgroup is not empty: 2 process(es) found" "$TEST_TMP/err" ||
    fail "no warning: $(<"$TEST_TMP/err")"
  oci delete --force "$first-c"
  oci delete --force "$first-b"
  oci delete --force "$first"
  CID=$first
}

@test "create/run: a frozen cgroup is refused at once and nothing is left" {
  set_own_cgroups_path
  local fz
  fz=$(freezer_dir)
  mkdir "$fz"
  defer "rmdir $fz"
  if [[ -e $fz/freezer.state ]]; then echo FROZEN >"$fz/freezer.state"; else echo 1 >"$fz/cgroup.freeze"; fi
  local verb
  for verb in run create; do
    # Output to a file: an init frozen in there would hold a pipe open for good.
    status=0
    TIMEOUT=20 oci "$verb" --bundle "$BUNDLE" "$CID" >"$TEST_TMP/out" 2>&1 || status=$?
    output=$(<"$TEST_TMP/out")
    expect_status 1
    expect_contains "container's cgroup unexpectedly frozen"
    [[ ! -e $ROOT/$CID ]] || fail "$verb left its state dir"
    # Only the directory the test made exists: the runtime made none.
    local left
    left=$(leftover_cgroups | grep -vx "$fz" || true)
    [[ -z $left ]] || fail "$verb left cgroups: $left"
  done
  [[ -d $fz ]] || fail "the pre-existing cgroup was removed"
  if [[ -e $fz/freezer.state ]]; then echo THAWED >"$fz/freezer.state"; else echo 0 >"$fz/cgroup.freeze"; fi
  rmdir "$fz"
}

# ---------------------------------------------------------------------------------------
# Configuration the host's cgroups cannot take

@test "run: linux.resources.unified for a v1 controller is an invalid configuration" {
  [[ -d /sys/fs/cgroup/memory ]] || skip "memory is not a cgroup v1 controller here"
  set_own_cgroups_path
  update_config '.linux.resources.unified = {"memory.min": "131072"}'
  run oci run --detach --bundle "$BUNDLE" "$CID"
  expect_status 1
  expect_contains "invalid configuration"
  [[ ${#lines[@]} -eq 1 ]] || fail "want one line: $output"
  [[ ! -e $ROOT/$CID ]] || fail "state left"
}

# ---------------------------------------------------------------------------------------
# exec --cgroup

@test "exec --cgroup: into sub-cgroups, PATH and CONTROLLER:PATH, never out of the container" {
  set_own_cgroups_path
  # The container makes its sub-cgroups itself, through a writable cgroup mount.
  update_config '.mounts |= map(if .type == "cgroup" then .options -= ["ro"] else . end)
    | .process.capabilities.bounding += ["CAP_SYS_ADMIN"]
    | .process.capabilities.effective += ["CAP_SYS_ADMIN"]
    | .process.capabilities.permitted += ["CAP_SYS_ADMIN"]'
  start_sleeper
  run oci exec --cgroup .. "$CID" true
  expect_status 255
  expect_contains " .. is not a sub cgroup path"
  run oci exec --cgroup nonexistent "$CID" true
  expect_status 255
  expect_match "adding pid.*/$CID/nonexistent/cgroup.procs: no such file"
  run oci exec --cgroup whaaat:/ "$CID" true
  expect_status 255
  expect_contains "unknown controller "
  # "/" is the container's own cgroup.
  run oci exec --cgroup / "$CID" cat /proc/self/cgroup
  expect_status 0
  # (tests/fixtures/runc-ref keeps runc's memory hierarchy elsewhere: not checked there)
  local others
  others=$(grep -v ":/$CID\$" <<<"$output" | { if oci_is_reference; then grep -v ":memory:"; else cat; fi; } || true)
  [[ -z $others ]] || fail "not in the container's cgroup: $others"
  if [[ -d /sys/fs/cgroup/pids ]]; then
    oci exec "$CID" mkdir -p /sys/fs/cgroup/freezer/subfz /sys/fs/cgroup/pids/subpids
    run oci exec --cgroup freezer:subfz --cgroup pids:subpids "$CID" cat /proc/self/cgroup
    expect_status 0
    expect_match ":freezer:/$CID/subfz\$"
    expect_match ":pids:/$CID/subpids\$"
    # Other hierarchies stay at the container's cgroup.
    expect_match ":devices:/$CID\$"
    run oci exec --cgroup cpu:nonexistent "$CID" true
    expect_status 255
    expect_match "/$CID/nonexistent/cgroup.procs: no such file"
  else
    oci exec "$CID" mkdir /sys/fs/cgroup/sub
    run oci exec --cgroup sub "$CID" cat /proc/self/cgroup
    expect_status 0
    expect_line "0::/sub"
    run oci exec --cgroup memory:sub "$CID" true
    expect_status 255
    expect_contains "unknown controller "
  fi
  oci delete --force "$CID"
}

# ---------------------------------------------------------------------------------------
# Device rules

# /dev/kmsg made by linux.devices, CAP_SYSLOG so that only the device cgroup decides.
kmsg_config() {
  update_config '.linux.resources.devices = $rules
    | .linux.devices = [{path: "/dev/kmsg", type: "c", major: 1, minor: 11}]
    | .process.capabilities.bounding += ["CAP_SYSLOG"]
    | .process.capabilities.effective += ["CAP_SYSLOG"]
    | .process.capabilities.permitted += ["CAP_SYSLOG"]' --argjson rules "$1"
}

@test "devices: a linux.devices node gets no rule of its own, deny all keeps it closed" {
  kmsg_config '[{"allow": false, "access": "rwm"}]'
  start_sleeper
  run oci exec "$CID" sh -c 'echo husk-test >/dev/kmsg'
  expect_status 1
  expect_contains "Operation not permitted"
  run oci exec "$CID" head -c 1 /dev/kmsg
  expect_status 1
  expect_contains "Operation not permitted"
  # An update leaves the rules alone.
  oci update --pids-limit 42 "$CID"
  run oci exec "$CID" head -c 1 /dev/kmsg
  expect_status 1
  # The defaults still apply.
  run oci exec "$CID" sh -c 'echo x >/dev/null && echo null-ok'
  expect_line null-ok
  oci delete --force "$CID"
  # Allowed by the config's own rule, it opens.
  kmsg_config '[{"allow": false, "access": "rwm"},
                {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "r"}]'
  start_sleeper
  run oci exec "$CID" sh -c 'head -c 1 /dev/kmsg >/dev/null && echo read-ok'
  expect_line read-ok
  oci delete --force "$CID"
}

@test "devices: a deny rule's access \"rwa\" denies all, and updates never open a gap" {
  kmsg_config '[{"allow": false, "access": "rwm"},
                {"allow": false, "type": "c", "major": 1, "minor": 11, "access": "rwa"}]'
  add_mount /mnt bind "$TEST_TMP" rbind rw
  set_script 'while :; do head -c 100 /dev/kmsg 2>/dev/null >>/mnt/leak; done'
  run_detached
  local i
  for i in $(seq 10); do oci update --pids-limit 30 "$CID"; done
  oci delete --force "$CID"
  [[ ! -s $TEST_TMP/leak ]] || fail "read /dev/kmsg: $(head -c 200 "$TEST_TMP/leak")"
}

# ---------------------------------------------------------------------------------------
# A parent (pod) cgroup made by someone else

@test "pod cgroup: a plain-mkdir v1 cpuset parent is filled in; the pod's cpu limit holds" {
  [[ -d /sys/fs/cgroup/cpuset && -d /sys/fs/cgroup/cpu ]] || skip "needs v1 cpu and cpuset"
  local pod=/$CID-pod h
  for h in cpu cpuset; do mkdir "/sys/fs/cgroup/$h$pod"; done
  # Cleanup if the test fails midway: the container's, then the pod's.
  defer "rmdir /sys/fs/cgroup/*$pod/$CID /sys/fs/cgroup/*$pod"
  echo 50000 >"/sys/fs/cgroup/cpu$pod/cpu.cfs_quota_us"
  update_config '.linux.cgroupsPath = $p' --arg p "$pod/$CID"
  start_sleeper
  [[ -n $(</sys/fs/cgroup/cpuset$pod/cpuset.cpus) ]] || fail "the pod's cpuset.cpus is empty"
  # 60% of a period is more than the pod's 50%: the kernel says no.
  run oci update --cpu-quota 60000 "$CID"
  expect_status 1
  # 30% with a shorter period fits.
  run oci update --cpu-period 10000 --cpu-quota 3000 "$CID"
  expect_status 0
  [[ $(<"/sys/fs/cgroup/cpu$pod/$CID/cpu.cfs_period_us") == 10000 ]] || fail "period"
  [[ $(<"/sys/fs/cgroup/cpu$pod/$CID/cpu.cfs_quota_us") == 3000 ]] || fail "quota"
  oci delete --force "$CID"
  for h in cpu cpuset; do rmdir "/sys/fs/cgroup/$h$pod"; done
  # husk removes the pod directories it made in the other hierarchies; runc leaves them.
  local left=(/sys/fs/cgroup/*"$pod")
  if [[ -d ${left[0]} ]]; then
    oci_is_reference || fail "pod directories left: ${left[*]}"
    rmdir "${left[@]}"
  fi
}

@test "exec: on cgroup v2, joins the init's cgroup when the container's own refuses processes" {
  local v2=/sys/fs/cgroup/unified
  [[ -d $v2 ]] || v2=/sys/fs/cgroup
  [[ -e $v2/cgroup.controllers ]] || skip "no cgroup2 hierarchy"
  if [[ $v2 != /sys/fs/cgroup ]] && oci_is_reference; then
    skip "runc 1.1 falls back to the init's cgroup on a pure v2 host only"
  fi
  set_own_cgroups_path
  start_sleeper
  local cg=$v2/$CID ctrl
  ctrl=$(awk '{print $1}' "$cg/cgroup.controllers")
  if [[ -z $ctrl ]]; then
    oci delete --force "$CID"  # the sleeper is ours to remove before skipping
    skip "no controller available in the container's cgroup2 directory"
  fi
  # The init moves below the container's cgroup and a controller is enabled there: the
  # kernel then refuses processes in the container's cgroup itself (EBUSY).
  mkdir "$cg/foobar"
  echo "$CTR_PID" >"$cg/foobar/cgroup.procs"
  echo "+$ctrl" >"$cg/cgroup.subtree_control"
  run oci exec "$CID" cat /proc/self/cgroup
  expect_status 0
  expect_match "^0::/$CID/foobar\$"
  # Asked for explicitly, the container's own cgroup fails as the kernel says.
  run oci exec --cgroup / "$CID" true
  expect_status 255
  expect_match "[Dd]evice or resource busy"
  if [[ $v2 == /sys/fs/cgroup ]]; then  # pure v2 (hybrid: PATH alone names v1 ones too)
    run oci exec --cgroup foobar "$CID" cat /proc/self/cgroup
    expect_status 0
    expect_line "0::/$CID/foobar"
  fi
  oci delete --force "$CID"
}
