#!/usr/bin/env bats
# The systemd cgroup driver's refusals on a host that does not run systemd (the development
# machines). What it does where systemd runs is checked in the systemd VM
# (tests/vm/systemd-suite.sh, docs/testing-vm.md); its naming and property mapping by
# tests/unit/cgroup_systemd_test.cc. The husk front end's --cgroup-manager and --slice here:
# their errors, and cgroupfs chosen by the recorded flag.

load helpers

no_systemd_here() {
  [[ ! -e /run/systemd/system ]] || skip "systemd runs here: the systemd VM suite covers it"
}

# Nothing of the container is left: no state, no cgroup named like it.
nothing_left() {
  [[ ! -e $ROOT/$CID ]] || fail "state left in $ROOT/$CID"
  local left
  # find fails when a cgroup it walks goes away meanwhile (other tests'): only its output counts.
  left=$(find /sys/fs/cgroup -maxdepth 4 -type d -name "*$CID*" 2>/dev/null || true)
  [[ -z $left ]] || fail "cgroups left: $left"
}

@test "systemd driver: --systemd-cgroup without systemd is one line, nothing made" {
  husk_only
  no_systemd_here
  update_config '.linux.cgroupsPath = "system.slice:husk:'"$CID"'" | .process.args = ["true"]'
  run oci --systemd-cgroup run --bundle "$BUNDLE" "$CID"
  [[ $status -ne 0 ]] || fail "run succeeded"
  [[ ${#lines[@]} -eq 1 ]] || fail "not one line: $output"
  expect_contains "systemd cgroup driver requested but systemd is not running"
  nothing_left
}

@test "systemd driver: the slice:prefix:name form needs --systemd-cgroup" {
  husk_only
  update_config '.linux.cgroupsPath = "system.slice:husk:'"$CID"'" | .process.args = ["true"]'
  run oci run --bundle "$BUNDLE" "$CID"
  [[ $status -ne 0 ]] || fail "run succeeded"
  [[ ${#lines[@]} -eq 1 ]] || fail "not one line: $output"
  expect_contains "is systemd's \"slice:prefix:name\" form: it needs --systemd-cgroup"
  nothing_left
}

@test "systemd driver: features reports it" {
  husk_only
  run oci features
  expect_status 0
  [[ $(jq -r .linux.cgroup.systemd <<<"$output") == true ]] || fail "features: $output"
}

# The husk front end: its default here is cgroupfs (no systemd), the flags' errors are one
# line before the container's record exists.
husk_front() {
  export HUSK_ROOT=$TEST_TMP/husk-root
  run timeout --kill-after=5 "$TIMEOUT" "$HUSK" run --rm --net none --rootfs "$ROOTFS" \
    --name "$CID" "$@" </dev/null
}
no_record_left() {
  [[ -z $("$HUSK" ps -aq 2>&1) ]] || fail "records left: $("$HUSK" ps -a 2>&1)"
  [[ ! -e /run/husk/$CID ]] || fail "runtime state left in /run/husk/$CID"
  nothing_left
}

@test "husk run: --cgroup-manager systemd without systemd, a bad manager, --slice with cgroupfs: one line, nothing made" {
  husk_only
  no_systemd_here
  husk_front --cgroup-manager systemd -- true
  expect_status 125
  expect_output "husk: --cgroup-manager systemd: systemd is not running, or the host is not cgroup v2 only"
  husk_front --cgroup-manager systemd --slice machine.slice -- true
  expect_status 125
  expect_output "husk: --cgroup-manager systemd: systemd is not running, or the host is not cgroup v2 only"
  husk_front --slice machine.slice -- true
  expect_status 125
  expect_output "husk: --slice \"machine.slice\": needs --cgroup-manager systemd (the cgroup manager here is cgroupfs)"
  husk_front --cgroup-manager cgroupfs --slice machine.slice -- true
  expect_status 125
  expect_output "husk: --slice \"machine.slice\": needs --cgroup-manager systemd (the cgroup manager given is cgroupfs)"
  husk_front --cgroup-manager systemd-user -- true
  expect_status 125
  expect_output "husk: --cgroup-manager \"systemd-user\": cgroupfs or systemd"
  no_record_left
}

@test "husk run -d --cgroup-manager cgroupfs: the recorded flag starts it, nested under husk's cgroup" {
  husk_only
  no_systemd_here
  export HUSK_ROOT=$TEST_TMP/husk-root
  local own dir
  own=$(awk -F: '$2 ~ /(^|,)pids(,|$)/ {print $3}' /proc/self/cgroup)
  dir=/sys/fs/cgroup/pids${own%/}/$CID
  # Detached, the launcher builds the container again from the record's words.
  run timeout --kill-after=5 "$TIMEOUT" "$HUSK" run -d --net none --rootfs "$ROOTFS" \
    --name "$CID" -e "HUSK_TEST_MARK=$MARK" --cgroup-manager cgroupfs -- sleep 100 </dev/null
  expect_status 0
  [[ -n $(<"$dir/cgroup.procs") ]] || fail "no processes in $dir"
  run timeout --kill-after=5 "$TIMEOUT" "$HUSK" rm -f "$CID"
  expect_status 0
  [[ ! -e $dir ]] || fail "$dir left behind"
  no_record_left
}
