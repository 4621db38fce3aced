#!/usr/bin/env bats
# husk's container verbs against podman's CLI (issue 14): the same steps on the same image
# (the fixture rootfs, imported by each), then `ps --format json` fields, `inspect` basics and
# the exit codes of run -d, wait, stop and rm compared. podman runs with runc, cgroupfs, vfs
# storage and no network, inside tests/fixtures/cgroup-sandbox (its cgroups below one of ours);
# each tool gets its own private store.

load helpers

setup_file() {
  husk_setup_file
  export PODMAN_DIR=$FILE_TMP/podman
  podman_conf "$PODMAN_DIR"
  tar -C "$ROOTFS" -cf "$FILE_TMP/rootfs.tar" .
}

teardown_file() { husk_teardown_file; }

setup() {
  husk_setup
  export HUSK_ROOT=$TEST_TMP/root
}

teardown() {
  "$HUSK" rm -f $("$HUSK" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
  husk_teardown
}

# steps TOOL...: the same sequence with either CLI; prints "label: exit-code" lines, and leaves
# ps.json and inspect.json in $TEST_TMP/<label>. $1 is a label, the rest the command to run.
steps() {
  local label=$1 out=$TEST_TMP/$1
  shift
  mkdir -p "$out"
  "$@" import "$FILE_TMP/rootfs.tar" localhost/husk-it-img:latest >/dev/null 2>&1
  "$@" run -d --name ctr-a "${RUN_FLAGS[@]}" localhost/husk-it-img \
    sh -c 'trap "exit 3" TERM; sleep 100 & wait' >/dev/null
  echo "run -d: $?"
  "$@" run -d --name ctr-b "${RUN_FLAGS[@]}" localhost/husk-it-img sh -c 'exit 7' >/dev/null
  echo "wait: $("$@" wait ctr-b) $?"
  "$@" rm ctr-a >/dev/null 2>&1
  echo "rm running: $?"
  "$@" stop ctr-a >/dev/null
  echo "stop: $?"
  echo "wait stopped: $("$@" wait ctr-a) $?"
  "$@" stop ctr-a >/dev/null
  echo "stop stopped: $?"
  for verb in stop wait rm inspect; do
    "$@" "$verb" no-such-ctr >/dev/null 2>&1
    echo "$verb missing: $?"
  done
  "$@" ps -a --format json >"$out/ps.json"
  "$@" inspect ctr-b >"$out/inspect.json"
  "$@" rm -f ctr-a ctr-b >/dev/null
  echo "rm: $?"
  "$@" ps -a -q | wc -l
}

pod() {
  "$FIXTURES/cgroup-sandbox" "husk-it-pod-$$" env CONTAINERS_CONF="$PODMAN_DIR/containers.conf" \
    CONTAINERS_STORAGE_CONF="$PODMAN_DIR/storage.conf" TMPDIR="$PODMAN_DIR/tmp" podman "$@"
}

@test "husk against podman: exit codes of run -d, wait, stop and rm; ps --format json; inspect" {
  # One sandbox for podman's whole sequence: conmon outlives each podman command.
  export -f steps
  RUN_FLAGS=(--cgroup-parent "/husk-it-pod-$$")
  local want got
  want=$("$FIXTURES/cgroup-sandbox" "husk-it-pod-$$" env CONTAINERS_CONF="$PODMAN_DIR/containers.conf" \
           CONTAINERS_STORAGE_CONF="$PODMAN_DIR/storage.conf" TMPDIR="$PODMAN_DIR/tmp" \
           TEST_TMP="$TEST_TMP" FILE_TMP="$FILE_TMP" RUN_FLAGS="${RUN_FLAGS[*]}" \
           bash -c 'RUN_FLAGS=($RUN_FLAGS); steps podman podman' </dev/null 2>/dev/null)
  RUN_FLAGS=(--net none -e "HUSK_TEST_MARK=$MARK")
  got=$(steps husk "$HUSK" </dev/null 2>/dev/null)
  pod rmi -a -f >/dev/null 2>&1 || true
  [[ $got == "$want" ]] || fail "podman:
$want
husk:
$got"
  # ps --format json: podman's keys, and the same values where they mean the same.
  local pj=$TEST_TMP/podman/ps.json hj=$TEST_TMP/husk/ps.json
  local missing
  missing=$(jq -n --slurpfile p "$pj" --slurpfile h "$hj" \
              '($p[0][0] | keys) - ($h[0][0] | keys) | join(" ")')
  [[ $missing == '""' ]] || fail "keys podman has and husk lacks: $missing"
  local fields='.[] | select(.Names == ["ctr-b"]) |
    [.Names, .State, .ExitCode, .Exited, .Command, (.Id | length), (.ImageID | length), .Labels,
     (.Status | sub(" [0-9]+ seconds? ago| Less than a second ago"; "")), (.Image | sub(":latest$"; ""))]'
  [[ $(jq -c "$fields" "$hj") == "$(jq -c "$fields" "$pj")" ]] ||
    fail "ps: podman $(jq -c "$fields" "$pj"), husk $(jq -c "$fields" "$hj")"
  local basics='.[0] | [.Name, .State.Status, .State.Running, .State.Paused, .State.ExitCode,
    .State.OOMKilled, (.Id | length), (.Image | length)]'
  [[ $(jq -c "$basics" "$TEST_TMP/husk/inspect.json") == "$(jq -c "$basics" "$TEST_TMP/podman/inspect.json")" ]] ||
    fail "inspect: podman $(jq -c "$basics" "$TEST_TMP/podman/inspect.json"), husk $(jq -c "$basics" "$TEST_TMP/husk/inspect.json")"
}
