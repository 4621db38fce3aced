#!/usr/bin/env bats
# The systemd cgroup driver's refusals on a host that does not run systemd (the development
# machines). What it does where systemd runs is checked in the systemd VM
# (tests/vm/systemd-suite.sh, docs/testing-vm.md); its naming and property mapping by
# tests/unit/cgroup_systemd_test.cc.

load helpers

no_systemd_here() {
  [[ ! -e /run/systemd/system ]] || skip "systemd runs here: the systemd VM suite covers it"
}

# Nothing of the container is left: no state, no cgroup named like it.
nothing_left() {
  [[ ! -e $ROOT/$CID ]] || fail "state left in $ROOT/$CID"
  local left
  left=$(find /sys/fs/cgroup -maxdepth 4 -type d -name "*$CID*" 2>/dev/null)
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
