#!/usr/bin/env bats
# `features`: the runtime-spec features document (docker runs it at daemon start).
# Compared with the reference runtime's document, and its claims checked by
# running containers that use them.

load helpers

# The keys runtime-spec 1.2 defines (specs-go/features), per object.
SPEC_TOP='["ociVersionMin","ociVersionMax","hooks","mountOptions","linux","annotations",
  "potentiallyUnsafeConfigAnnotations"]'
SPEC_LINUX='["namespaces","capabilities","cgroup","seccomp","apparmor","selinux","intelRdt",
  "mountExtensions"]'
SPEC_CGROUP='["v1","v2","systemd","systemdUser","rdma"]'
SPEC_SECCOMP='["enabled","actions","operators","archs","knownFlags","supportedFlags"]'

features_to() {
  oci features >"$1" 2>"$1.err" || { cat "$1.err" >&2; return 1; }
  [[ ! -s $1.err ]] || fail "features wrote to stderr: $(<"$1.err")"
}

# key_check PATH SPEC_KEYS: every key runc has at PATH (a jq path array), husk has too,
# and every key husk has there is in the runtime-spec schema.
key_check() {
  local path=$1 spec=$2 missing extra
  missing=$(jq -n -r --argjson p "$path" --slurpfile r "$TEST_TMP/ref.json" \
    --slurpfile h "$TEST_TMP/husk.json" \
    '($r[0] | getpath($p) | keys) - ($h[0] | getpath($p) | keys) | join(",")')
  [[ -z $missing ]] || fail "at $path, keys runc prints and husk lacks: $missing"
  extra=$(jq -r --argjson p "$path" --argjson spec "$spec" \
    'getpath($p) | keys - $spec | join(",")' "$TEST_TMP/husk.json")
  [[ -z $extra ]] || fail "at $path, keys outside runtime-spec 1.2: $extra"
}

@test "features: a JSON document on stdout, exit 0, nothing left behind" {
  run oci features
  expect_status 0
  jq -e . <<<"$output" >/dev/null || fail "not JSON: $output"
  jq -e '.ociVersionMin == "1.0.0" and .ociVersionMax == "1.2.0"' <<<"$output" >/dev/null ||
    fail "versions: $(jq -c '[.ociVersionMin, .ociVersionMax]' <<<"$output")"
  # Docker passes its own --root: features must not create it.
  [[ ! -e $ROOT ]] || fail "features created the state root $ROOT"
}

@test "features: every key runc prints is there; husk's extra keys are runtime-spec's" {
  features_to "$TEST_TMP/husk.json"
  "$REF" features >"$TEST_TMP/ref.json"
  key_check '[]' "$SPEC_TOP"
  key_check '["linux"]' "$SPEC_LINUX"
  key_check '["linux","cgroup"]' "$SPEC_CGROUP"
  key_check '["linux","seccomp"]' "$SPEC_SECCOMP"
}

@test "features: the name lists runc also has agree with runc's" {
  oci_is_reference && skip "compares husk with the reference"
  features_to "$TEST_TMP/husk.json"
  "$REF" features >"$TEST_TMP/ref.json"
  local path diff
  # Same lists: hooks, capabilities, seccomp actions and operators.
  for path in .hooks .linux.capabilities .linux.seccomp.actions .linux.seccomp.operators; do
    diff=$(jq -n -c --slurpfile r "$TEST_TMP/ref.json" --slurpfile h "$TEST_TMP/husk.json" \
      "[\$r[0]$path, \$h[0]$path] | select(.[0] != .[1])")
    [[ -z $diff ]] || fail "$path differs (runc, husk): $diff"
  done
  # runc 1.1's architectures are all known to husk (which has libseccomp's newer ones).
  diff=$(jq -n -c --slurpfile r "$TEST_TMP/ref.json" --slurpfile h "$TEST_TMP/husk.json" \
    '$r[0].linux.seccomp.archs - $h[0].linux.seccomp.archs')
  [[ $diff == '[]' ]] || fail "archs runc knows and husk does not: $diff"
  # Mount options: runc's, less tmpcopyup (husk does not copy up).
  diff=$(jq -n -c --slurpfile r "$TEST_TMP/ref.json" --slurpfile h "$TEST_TMP/husk.json" \
    '[($r[0].mountOptions - ["tmpcopyup"]) - $h[0].mountOptions, $h[0].mountOptions - $r[0].mountOptions]')
  [[ $diff == '[[],[]]' ]] || fail "mount options (runc only, husk only): $diff"
}

@test "features: namespaces are the eight config.json takes" {
  features_to "$TEST_TMP/husk.json"
  run jq -c '.linux.namespaces' "$TEST_TMP/husk.json"
  expect_output '["cgroup","ipc","mount","network","pid","time","user","uts"]'
}

@test "features: every listed capability is accepted and reaches the bounding set" {
  features_to "$TEST_TMP/husk.json"
  jq -e '.linux.capabilities | index("CAP_BPF")' "$TEST_TMP/husk.json" >/dev/null ||
    fail "CAP_BPF is not listed"
  local caps=() last own want
  mapfile -t caps < <(jq -r '.linux.capabilities[]' "$TEST_TMP/husk.json")
  update_config '.process.capabilities.bounding = $ARGS.positional' --args -- "${caps[@]}"
  run_sh 'grep ^CapBnd /proc/self/status'
  expect_status 0
  # The kernel knows those up to cap_last_cap, and a bounding set cannot gain what the
  # runtime's own lacks (root here has no CAP_SYS_RESOURCE).
  last=$(</proc/sys/kernel/cap_last_cap)
  own=$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)
  want=$(printf '%016x' $(( 16#$(cap_mask "${caps[@]:0:last+1}") & 16#$own )))
  expect_output "CapBnd:	$want"
}

@test "features: each supported seccomp flag loads in a container" {
  features_to "$TEST_TMP/husk.json"
  local flags=() f
  mapfile -t flags < <(jq -r '.linux.seccomp.supportedFlags[]' "$TEST_TMP/husk.json")
  (( ${#flags[@]} > 0 )) || fail "no supported seccomp flags"
  for f in "${flags[@]}"; do
    # Without a notify rule the kernel has nothing to apply this one to: seccomp_notify.bats
    # loads every flag with a notify rule and a real agent.
    [[ $f == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ]] && continue
    update_config '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", flags: [$f],
      syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO"}]}' --arg f "$f"
    run_sh 'mkdir /tmp/x 2>&1; grep ^Seccomp: /proc/self/status'
    expect_status 0
    expect_contains "Operation not permitted"
    expect_line "Seccomp:	2"
  done
}

@test "features: extra arguments are refused; --help works" {
  run oci features extra
  [[ $status -ne 0 ]] || fail "features took an argument"
  run oci features --help
  expect_status 0
  expect_contains "features"
}
