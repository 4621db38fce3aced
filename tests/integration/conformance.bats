#!/usr/bin/env bats
# What engines and the public suites (runc's tests/integration, OCI runtime-tools) expect
# of a runc-compatible runtime, each case carried here by a test of our own (issue 11;
# docs/engines.md says where husk-oci differs on purpose).

load helpers

teardown() {
  delete_ctr
  husk_teardown
}

# create_start: `create` then `start`, as every engine drives a runtime, with the
# program's stdout and stderr in files; waits for it to end and sets $output to its
# stdout (stderr goes to bats' log).
create_start() {
  oci create --bundle "$BUNDLE" --pid-file "$TEST_TMP/ctr.pid" "$CID" \
    >"$TEST_TMP/ctr.out" 2>"$TEST_TMP/ctr.err" || {
      cat "$TEST_TMP/ctr.err" >&2
      fail "create failed"
      return 1
    }
  local pid
  pid=$(<"$TEST_TMP/ctr.pid")
  oci start "$CID" || { cat "$TEST_TMP/ctr.err" >&2; fail "start failed"; return 1; }
  wait_for 20 eval "! pid_alive $pid" || { fail "the container still runs"; return 1; }
  cat "$TEST_TMP/ctr.err" >&2
  output=$(<"$TEST_TMP/ctr.out")
}

# ---------------------------------------------------------------------------------------
# exec.fifo: the init opens it as the container's user

@test "create + start: a non-root process.user runs (podman/docker --user 65534:65534)" {
  update_config '.process.user = {uid: 65534, gid: 65534}'
  set_args sh -c 'id -u; id -g'
  create_start
  expect_output $'65534\n65534'
}

@test "create + start: a user namespace with uid and gid mappings runs" {
  update_config '.linux.namespaces += [{type: "user"}]
    | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
    | .linux.gidMappings = [{containerID: 0, hostID: 200000, size: 65536}]'
  set_args sh -c 'id -u; cat /proc/self/uid_map'
  create_start
  expect_output "0
$(printf '%10s %10s %10s' 0 100000 65536)"
}

@test "create + start: a mapped non-root user in a user namespace runs" {
  update_config '.linux.namespaces += [{type: "user"}]
    | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
    | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
    | .process.user = {uid: 1000, gid: 1000}'
  set_args id -u
  create_start
  expect_output 1000
}

@test "exec.fifo is no wider than runc's: 0622 in a state dir others can only search" {
  set_args true
  oci create --bundle "$BUNDLE" "$CID" >/dev/null 2>&1
  [[ $(stat -c %a "$ROOT/$CID/exec.fifo") == 622 ]] || fail "mode $(stat -c %a "$ROOT/$CID/exec.fifo")"
  [[ $(stat -c %a "$ROOT/$CID") == 711 ]] || fail "state dir mode $(stat -c %a "$ROOT/$CID")"
}
