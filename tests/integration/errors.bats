#!/usr/bin/env bats
# Bad input and failures: a clear message, a non-zero exit, and nothing left behind
# (teardown also checks state, mounts, processes and cgroups after every test).

load helpers

# expect_failure: run failed, no state for $CID, and the container's program never ran.
expect_failure() {
  [[ $status -ne 0 ]] || fail "succeeded: $output"
  [[ ! -e $ROOT/$CID ]] || fail "state dir $ROOT/$CID left behind"
  expect_no_line should-not-run
}

# Drops runc's warning lines (stdin to stdout).
error_lines() { grep -v -e 'level=warning' -e '^$' || true; }

@test "errors: missing bundle directory" {
  run oci run --bundle "$TEST_TMP/no-such-bundle" "$CID"
  expect_failure
  expect_contains "no-such-bundle"
  expect_contains "no such file or directory"
}

@test "errors: missing config.json" {
  rm "$BUNDLE/config.json"
  run_ctr
  expect_failure
  expect_contains "config.json"
}

@test "errors: malformed JSON" {
  printf '{\n  "ociVersion": "1.0.2",\n  "process": {\n    "args": ["sh",\n' >"$BUNDLE/config.json"
  run_ctr
  expect_failure
}

@test "errors: malformed JSON names config.json, line and column [husk]" {
  husk_only "runc says only \"unexpected EOF\""
  printf '{\n  "ociVersion": "1.0.2",\n  "process": {"args": ["sh",]}\n}\n' >"$BUNDLE/config.json"
  run_ctr
  expect_failure
  expect_contains "config.json"
  expect_contains "line 3"
  expect_contains "column"
}

@test "errors: a field of the wrong type names its JSON path" {
  update_config '.process.args = "sh"'
  run_ctr
  expect_failure
  expect_contains "process.args"
  update_config '.process.args = ["sh"] | .process.user.uid = "zero"'
  run_ctr
  expect_failure
  expect_contains "process.user.uid"
}

@test "errors: unknown namespace type" {
  update_config '.linux.namespaces += [{type: "foo"}]'
  run_ctr
  expect_failure
  expect_match '\\?"foo\\?"'
}

@test "errors: unknown namespace message names the JSON path [husk]" {
  husk_only "runc says: namespace {\"foo\" \"\"} does not exist"
  update_config '.linux.namespaces = [{type: "pid"}, {type: "mount"}, {type: "foo"}]'
  run_ctr --separate-stderr
  expect_failure
  [[ $(error_lines <<<"$stderr") == *'config.json: linux.namespaces[2].type: unknown namespace "foo"'* ]] ||
    fail "message: $stderr"
}

@test "errors: one clear line for each kind of bad input [husk]" {
  husk_only "runc adds warning lines and Go struct names"
  local exprs=('.process.args = "sh"' '.linux.namespaces += [{type: "foo"}]'
    '.root.path = "/no/such/rootfs"' '.process.rlimits = [{type: "RLIMIT_BOGUS", soft: 1, hard: 1}]')
  local e
  for e in "${exprs[@]}"; do
    new_bundle "$BUNDLE" echo should-not-run
    update_config "$e"
    run_ctr --separate-stderr
    expect_failure
    [[ $(wc -l <<<"$stderr") -eq 1 && -n $stderr ]] || fail "for $e, stderr: $stderr"
  done
}

@test "errors: the rootfs does not exist" {
  update_config '.root.path = "/no/such/rootfs"'
  run_ctr
  expect_failure
  expect_contains "/no/such/rootfs"
  expect_contains "no such file or directory"
}

@test "errors: duplicate container id while the first one runs" {
  set_args sleep 1000
  run_detached
  run oci run --detach --bundle "$BUNDLE" "$CID"
  [[ $status -ne 0 ]] || fail "second run with the same id succeeded"
  expect_contains "exists"
  pid_alive "$CTR_PID" || fail "the first container died"
  [[ -d $ROOT/$CID ]] || fail "the first container's state was removed"
  delete_ctr
}

@test "errors: the program is not found in the container's PATH" {
  set_args no-such-program arg
  run_ctr
  expect_failure
  # runc's text log escapes the quotes.
  expect_match 'exec: \\?"no-such-program\\?": executable file not found in \$PATH'
}

@test "errors: an absolute program path that does not exist" {
  set_args /no/such/program
  run_ctr
  expect_failure
  expect_contains "/no/such/program"
  expect_contains "no such file or directory"
}

@test "errors: the program is not executable" {
  set_args /etc/passwd
  run_ctr
  expect_failure
  expect_contains "/etc/passwd"
  expect_contains "permission denied"
}

@test "errors: a failing mount inside the container's init is reported with its context" {
  add_mount /mnt/x bind "$TEST_TMP/no-such-source" bind
  set_args echo should-not-run
  run_ctr
  expect_failure
  expect_contains "no-such-source"
  expect_contains "/mnt/x"
  expect_contains "no such file or directory"
  ! grep -qw EOF <<<"$output" || fail "bare EOF: $output"
}

@test "errors: a mount of an unknown filesystem type names the mount" {
  add_mount /mnt/x no-such-fs none
  set_args echo should-not-run
  run_ctr
  expect_failure
  expect_contains "/mnt/x"
  expect_contains "no such device"
}

@test "errors: a bad filesystem option is reported with the filesystem's own reason" {
  husk_only "the reason comes from the fsconfig(2) context"
  add_tmpfs /mnt/x size=bogus
  set_args echo should-not-run
  run_ctr
  expect_failure
  expect_contains "mount \"tmpfs\" on \"/mnt/x\": tmpfs: Bad value for 'size': invalid argument"
  [[ $(wc -l <<<"$output") -eq 1 ]] || fail "not one line: $output"
}

@test "errors: an rlimit above the hard limit we hold" {
  local hard
  hard=$(ulimit -Hn)
  [[ $hard != unlimited ]] || skip "nofile hard limit is unlimited"
  # With CAP_SYS_RESOURCE (bit 24) the raise would be allowed.
  if (( (0x$(awk '/^CapEff/ { print $2 }' /proc/self/status) >> 24) & 1 )); then
    skip "we hold CAP_SYS_RESOURCE"
  fi
  update_config '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: $n, hard: $n}]' \
    --argjson n $((hard + 1000))
  set_args echo should-not-run
  run_ctr
  expect_failure
  expect_contains "rlimit"
  expect_contains "operation not permitted"
}

@test "errors: an unknown rlimit type" {
  update_config '.process.rlimits = [{type: "RLIMIT_BOGUS", soft: 1, hard: 1}]'
  run_ctr
  expect_failure
  expect_contains "RLIMIT_BOGUS"
}

@test "errors: an unknown seccomp action" {
  update_config '.linux.seccomp = {defaultAction: "SCMP_ACT_BOGUS"}'
  run_ctr
  expect_failure
  expect_contains "SCMP_ACT_BOGUS"
}

@test "errors: a hostname without a private UTS namespace" {
  update_config '.linux.namespaces |= map(select(.type != "uts")) | .hostname = "x"'
  run_ctr
  expect_failure
  expect_contains "hostname"
  expect_contains "uts"
}

@test "errors: a network sysctl in the host's network namespace" {
  # A value other than the host's, so that a change would show.
  local ttl want
  ttl=$(cat /proc/sys/net/ipv4/ip_default_ttl)
  want=$(( ttl == 64 ? 65 : 64 ))
  update_config '.linux.namespaces |= map(select(.type != "network"))
    | .linux.sysctl = {"net.ipv4.ip_default_ttl": $v}' --arg v "$want"
  run_ctr
  expect_failure
  expect_contains "net.ipv4.ip_default_ttl"
  [[ $(cat /proc/sys/net/ipv4/ip_default_ttl) == "$ttl" ]] || fail "the host's ip_default_ttl changed"
}

@test "errors: a user namespace without mappings" {
  update_config '.linux.namespaces += [{type: "user"}]'
  run_ctr
  expect_failure
  expect_contains "mappings"
}

@test "errors: a network namespace path that does not exist" {
  update_config '.linux.namespaces |= map(if .type == "network" then .path = "/var/run/netns/husk-no-such" else . end)'
  run_ctr
  expect_failure
  expect_contains "/var/run/netns/husk-no-such"
}

@test "--log FILE --log-format json: the error as a runc JSON line" {
  set_args no-such-program
  run oci --log "$TEST_TMP/log.json" --log-format json run --bundle "$BUNDLE" "$CID"
  expect_failure
  [[ -s $TEST_TMP/log.json ]] || fail "empty log"
  jq -e . "$TEST_TMP/log.json" >/dev/null || fail "not JSON lines: $(cat "$TEST_TMP/log.json")"
  local last
  last=$(jq -c 'select(.level == "error")' "$TEST_TMP/log.json" | tail -n1)
  [[ -n $last ]] || fail "no error line: $(cat "$TEST_TMP/log.json")"
  jq -e '(.msg | contains("executable file not found"))
         and (.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}"))' <<<"$last" >/dev/null ||
    fail "error line: $last"
}

@test "--log-format=json (podman's form) and a missing bundle" {
  run oci --log="$TEST_TMP/log.json" --log-format=json run --bundle "$TEST_TMP/nope" "$CID"
  expect_failure
  jq -e 'select(.level == "error") | .msg | contains("nope")' "$TEST_TMP/log.json" >/dev/null ||
    fail "log: $(cat "$TEST_TMP/log.json")"
}

@test "--log FILE: text format by default, the error in FILE" {
  set_args no-such-program
  run oci --log "$TEST_TMP/log.txt" run --bundle "$BUNDLE" "$CID"
  expect_failure
  grep -q 'level=error' "$TEST_TMP/log.txt" || fail "log: $(cat "$TEST_TMP/log.txt")"
  grep -q 'executable file not found' "$TEST_TMP/log.txt" || fail "log: $(cat "$TEST_TMP/log.txt")"
}

@test "errors: a container whose init fails leaves no process, mount or state" {
  # Fail late: after the mounts, in the exec step.
  add_tmpfs /mnt/t size=1m
  set_args /no/such/program
  run_ctr --pid-file "$TEST_TMP/pid"
  expect_failure
  [[ ! -s $TEST_TMP/pid ]] || ! pid_alive "$(<"$TEST_TMP/pid")" || fail "init still alive"
  [[ -z $(marked_pids) ]] || fail "processes left: $(marked_pids)"
  [[ -z $(ls -A "$ROOT" 2>/dev/null) ]] || fail "state root not empty: $(ls -A "$ROOT")"
}

@test "errors: a misspelt command is named" {
  husk_only "runc says: No help topic for 'nosuch'"
  run oci nosuch-verb "$CID"
  [[ $status -ne 0 ]] || fail "unknown command accepted"
  expect_contains 'unknown command "nosuch-verb"'
}
