# shellcheck shell=bash
# Shared setup for the integration tests: every test gets its own temp dir, state root
# (--root), bundle and container id, and its teardown checks that nothing was left
# behind (state, mounts, processes, cgroups).
#
# Environment:
#   HUSK_BUILD   build dir holding bin/husk-oci and bin/husk (default <repo>/build)
#   HUSK_OCI     runtime under test (default $HUSK_BUILD/bin/husk-oci); a path to runc is
#                run through tests/fixtures/runc-ref, which keeps it off our memory cgroup
#   HUSK_CLI     friendly CLI under test (default $HUSK_BUILD/bin/husk)
#   HUSK_REF     reference runtime for differential tests (default tests/fixtures/runc-ref)
#   HUSK_TEST_TIMEOUT  seconds one runtime call may take (default 60)

bats_require_minimum_version 1.5.0

HUSK_SRC=${HUSK_SRC:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
HUSK_BUILD=${HUSK_BUILD:-$HUSK_SRC/build}
FIXTURES=$HUSK_SRC/tests/fixtures
PRISTINE_ROOTFS=${HUSK_FIXTURE_ROOTFS:-$FIXTURES/rootfs}
OCI=${HUSK_OCI:-$HUSK_BUILD/bin/husk-oci}
HUSK=${HUSK_CLI:-$HUSK_BUILD/bin/husk}
REF=${HUSK_REF:-$FIXTURES/runc-ref}
TIMEOUT=${HUSK_TEST_TIMEOUT:-60}

# Bare runc would make child cgroups inside our memory cgroup: always use the wrapper.
if [[ $(basename "$OCI") == runc ]]; then
  export HUSK_RUNC=$OCI
  OCI=$FIXTURES/runc-ref
fi

# True when the runtime under test is the reference (used to skip husk-only tests).
oci_is_reference() { [[ $OCI == "$FIXTURES/runc-ref" || $(basename "$OCI") == runc ]]; }

# Marks a test that checks husk's own wording or behaviour, where runc differs.
husk_only() {
  if oci_is_reference; then skip "husk-specific: ${1:-runc differs}"; fi
}

# Marks a test of a runtime-spec feature that Debian 12's runc (1.1.5) lacks; it was
# checked against crun instead (tests/fixtures/crun-ref), or for time namespaces, whose
# support in crun 1.8 is broken, against util-linux `unshare --time`.
newer_than_runc_1_1() {
  if oci_is_reference && [[ $(basename "${HUSK_RUNC:-runc}") == runc ]]; then
    skip "runc 1.1 lacks $1"
  fi
}

fail() {
  echo "FAIL: $*" >&2
  return 1
}

# ---------------------------------------------------------------------------------------
# File and test setup

husk_setup_file() {
  "$FIXTURES/make-rootfs" "$PRISTINE_ROOTFS" >&3
  # A private copy per .bats file. Its dir is world-searchable (bats' own temp dirs are
  # not): a root user mapped by a user namespace must reach the rootfs.
  FILE_TMP=$(mktemp -d /tmp/husk-it-file.XXXXXX)
  chmod 755 "$FILE_TMP"
  export FILE_TMP ROOTFS=$FILE_TMP/rootfs
  cp -a "$PRISTINE_ROOTFS" "$ROOTFS"
  mkdir -p "$FILE_TMP/spec"
  runc spec --bundle "$FILE_TMP/spec"
  # The bundle template: runc's default with terminal off, root.path the fixture
  # (read-only), and an env marker that lets teardown find any process a test left
  # behind. @MARK@ is replaced per test (jq is slow to start; this is plain bash).
  jq --arg root "$ROOTFS" \
    '.process.terminal = false | .root = {path: $root, readonly: true}
     | .process.env += ["HUSK_TEST_MARK=@MARK@"]' \
    "$FILE_TMP/spec/config.json" >"$FILE_TMP/template.json"
  export SPEC_TEMPLATE=$FILE_TMP/template.json
  net_state_save
}

husk_teardown_file() {
  if [[ -n ${FILE_TMP:-} && -d $FILE_TMP ]]; then
    net_state_restore
    umount_under "$FILE_TMP"
    rm -rf --one-file-system "$FILE_TMP"
  fi
  return 0
}

# `husk run` attaches to the default network: it turns forwarding on and makes the bridge
# husk0 and the nftables table `inet husk`. The suite leaves the host as it found it. ctest
# runs test files two at a time, so the state is saved by the first file that starts and put
# back by the last one that ends: each file holds a mark in $NET_STATE_DIR while it runs (a
# file killed before its teardown stops counting once its bats process is gone).
NET_STATE_DIR=/run/husk-it-net

# Locks $NET_STATE_DIR (made if need be) on fd _net_fd; retried when the last holder removed
# the directory meanwhile.
_net_lock() {
  local i
  for i in 1 2 3 4 5; do
    mkdir -p "$NET_STATE_DIR" 2>/dev/null
    exec {_net_fd}<"$NET_STATE_DIR" || continue
    flock "$_net_fd"
    if [[ -d $NET_STATE_DIR && $(stat -c %i "$NET_STATE_DIR") == $(stat -L -c %i "/proc/$BASHPID/fd/$_net_fd") ]]; then
      return 0
    fi
    exec {_net_fd}<&-
  done
  return 1
}
_net_prune_holders() {
  local f
  for f in "$NET_STATE_DIR"/holder.*; do
    [[ -e $f ]] || continue
    kill -0 "${f##*.}" 2>/dev/null || rm -f "$f"
  done
}
net_state_save() {
  _net_lock || return 0
  _net_prune_holders
  if ! compgen -G "$NET_STATE_DIR/holder.*" >/dev/null; then
    {
      cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding
      ip link show husk0 >/dev/null 2>&1 && echo bridge || echo no-bridge
      nft list table inet husk >/dev/null 2>&1 && echo table || echo no-table
      [[ -d /run/husk-net ]] && echo run-dir || echo no-run-dir
      [[ -d /run/husk ]] && echo state-dir || echo no-state-dir
      [[ -d /run/husk-monitor ]] && echo monitor-dir || echo no-monitor-dir
    } >"$NET_STATE_DIR/original"
  fi
  : >"$NET_STATE_DIR/holder.$$"
  exec {_net_fd}<&-
}
net_state_restore() {
  [[ -d $NET_STATE_DIR ]] || return 0
  _net_lock || return 0
  rm -f "$NET_STATE_DIR/holder.$$"
  _net_prune_holders
  if compgen -G "$NET_STATE_DIR/holder.*" >/dev/null || [[ ! -f $NET_STATE_DIR/original ]]; then
    exec {_net_fd}<&-
    return 0
  fi
  local v4 v6 bridge table run_dir state_dir monitor_dir
  { read -r v4; read -r v6; read -r bridge; read -r table; read -r run_dir; read -r state_dir
    read -r monitor_dir; } <"$NET_STATE_DIR/original"
  # Only once no container of the default network is left.
  if ! jq -e '.leases | length > 0' /run/husk-net/bridge.leases >/dev/null 2>&1; then
    [[ $bridge == no-bridge ]] && ip link del husk0 2>/dev/null
    [[ $table == no-table ]] && nft delete table inet husk 2>/dev/null
    # husk's network state (locks, the empty lease file) when the suite made it.
    [[ $run_dir == no-run-dir ]] && rm -rf /run/husk-net
  fi
  # The default state roots husk and husk-oci made, once empty (rmdir removes nothing else).
  [[ $state_dir == no-state-dir ]] && rmdir /run/husk 2>/dev/null
  [[ $monitor_dir == no-monitor-dir ]] && rmdir /run/husk-monitor 2>/dev/null
  echo "$v4" >/proc/sys/net/ipv4/ip_forward
  echo "$v6" >/proc/sys/net/ipv6/conf/all/forwarding
  rm -f "$NET_STATE_DIR/original"
  rmdir "$NET_STATE_DIR" 2>/dev/null
  exec {_net_fd}<&-
  return 0
}

husk_setup() {
  [[ -x $OCI ]] || fail "runtime under test not found: $OCI (build first or set HUSK_OCI)"
  TEST_TMP=/tmp/husk-it.$$.$BATS_TEST_NUMBER.$RANDOM
  mkdir -m 755 "$TEST_TMP"
  ROOT=$TEST_TMP/state
  BUNDLE=$TEST_TMP/bundle
  CID=husk-it-$$-$BATS_TEST_NUMBER
  MARK=husk-it-mark-${TEST_TMP#/tmp/husk-it.}
  BG_PIDS=()
  DEFERRED=()
  new_bundle "$BUNDLE"
}

setup_file() { husk_setup_file; }
teardown_file() { husk_teardown_file; }
setup() { husk_setup; }
teardown() { husk_teardown; }

# Tests of husk's containers (containers.bats, attach.bats...): the test's own HUSK_ROOT, and
# after it whatever a failed test left, removed the way a user would, then checked.
husk_ctr_setup() {
  husk_setup
  export HUSK_ROOT=$TEST_TMP/root
}
husk_ctr_teardown() {
  local left
  "$HUSK" rm -fv $("$HUSK" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
  left=$(ls -A "$HUSK_ROOT/containers" 2>/dev/null || true)
  husk_teardown
  [[ -z $left ]] || fail "containers left: $left"
  [[ -z $(ls -A /run/husk 2>/dev/null | grep -F "$CID") ]] || fail "runtime state left"
}

# In those tests: h runs husk with a timeout (T, else TIMEOUT) and no stdin; hd NAME
# FLAGS... -- CMD... runs a detached container of HD_ROOTFS (default ROOTFS) without a
# network; state_of and inspect_field read `husk inspect`; monitor_pid NAME finds the
# container's husk-monitor.
h() { timeout --kill-after=5 "${T:-$TIMEOUT}" "$HUSK" "$@" </dev/null; }
hd() {
  local name=$1
  shift
  h run -d --net none --name "$name" -e "HUSK_TEST_MARK=$MARK" --rootfs "${HD_ROOTFS:-$ROOTFS}" "$@"
}
state_of() { h inspect "$1" | jq -r '.[0].State.Status'; }
inspect_field() { h inspect "$1" | jq -r ".[0].$2"; }
monitor_pid() {
  local p
  for p in $(pgrep -x husk-monitor); do
    if tr '\0' ' ' <"/proc/$p/cmdline" | grep -q -- "--name $1 "; then echo "$p"; return; fi
  done
}

# podman_conf DIR [NOFILE NPROC]: a private containers.conf and storage.conf (vfs) under DIR,
# for podman with runc and cgroupfs, no network, k8s-file logs and its events in DIR; the
# ulimits default to 4096. Use as CONTAINERS_CONF=DIR/containers.conf
# CONTAINERS_STORAGE_CONF=DIR/storage.conf TMPDIR=DIR/tmp podman ...
podman_conf() {
  local dir=$1 nofile=${2:-4096} nproc=${3:-4096}
  mkdir -p "$dir/tmp"
  cat >"$dir/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
netns = "none"
log_driver = "k8s-file"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$dir/events.log"
tmp_dir = "$dir/tmp/libpod"
static_dir = "$dir/storage/libpod"
volume_path = "$dir/volumes"
[network]
network_config_dir = "$dir/networks"
EOF
  printf '[storage]\ndriver = "vfs"\ngraphroot = "%s"\nrunroot = "%s"\n' \
    "$dir/storage" "$dir/run" >"$dir/storage.conf"
}

# new_bundle DIR [ARGS...]: config.json from the template (runc spec, terminal off, root
# the shared fixture read-only, the env marker), process.args ARGS when given (else sh).
new_bundle() {
  local dir=$1; shift
  mkdir -p "$dir"
  local spec
  spec=$(<"$SPEC_TEMPLATE")
  printf '%s\n' "${spec//@MARK@/$MARK}" >"$dir/config.json"
  if (( $# )); then update_config_in "$dir" '.process.args = $ARGS.positional' --args -- "$@"; fi
}

# new_bundle_copy DIR [ARGS...]: like new_bundle with a private writable copy of the rootfs
# at DIR/rootfs (root.path "rootfs", relative like runc spec).
new_bundle_copy() {
  local dir=$1
  new_bundle "$@"
  cp -a "$ROOTFS" "$dir/rootfs"
  update_config_in "$dir" '.root = {path: "rootfs", readonly: false}'
}

# update_config 'JQ EXPR' [JQ ARGS...]: edits $BUNDLE/config.json in place.
update_config() { update_config_in "$BUNDLE" "$@"; }
update_config_in() {
  local dir=$1 expr=$2; shift 2
  # Filter and file first: anything after "--args --" is positional.
  jq "$expr" "$dir/config.json" "$@" >"$dir/config.json.new"
  mv "$dir/config.json.new" "$dir/config.json"
}

# set_args ARG...: replaces process.args (safe for any characters, including "-c").
set_args() { update_config '.process.args = $ARGS.positional' --args -- "$@"; }

# Sets process.args to `sh -c SCRIPT`.
set_script() { set_args sh -c "$1"; }

# add_mount DEST TYPE SOURCE [OPTION...]
add_mount() {
  local dest=$1 type=$2 src=$3; shift 3
  update_config '.mounts += [{destination: $d, type: $t, source: $s, options: $ARGS.positional}]' \
    --arg d "$dest" --arg t "$type" --arg s "$src" --args -- "$@"
}

add_tmpfs() { local dest=$1; shift; add_mount "$dest" tmpfs tmpfs "$@"; }

# user_namespace HOST_UID [HOST_GID]: a user namespace whose ids 0..65535 are the host's
# HOST_UID.. and HOST_GID.. (default HOST_UID).
user_namespace() {
  update_config '.linux.namespaces += [{type: "user"}]
    | .linux.uidMappings = [{containerID: 0, hostID: $u, size: 65536}]
    | .linux.gidMappings = [{containerID: 0, hostID: $g, size: 65536}]' \
    --argjson u "$1" --argjson g "${2:-$1}"
}

# Starts tests/fixtures/recvtty on $TEST_TMP/console.sock; output in $TEST_TMP/tty.out.
start_recvtty() {
  "$FIXTURES/recvtty" "$TEST_TMP/console.sock" "$@" >"$TEST_TMP/tty.out" 2>"$TEST_TMP/tty.err" &
  RECV_PID=$!
  BG_PIDS+=("$RECV_PID")
  wait_for 10 file_has "$TEST_TMP/tty.err" listening
}

# ---------------------------------------------------------------------------------------
# Running the runtime

# oci ARGS...: the runtime under test with this test's state root, stdin from /dev/null
# and a time limit. Use as `run oci run ...`.
oci() {
  timeout --kill-after=5 "$TIMEOUT" "$OCI" --root "$ROOT" "$@" </dev/null
}

# run_ctr [RUN OPTION...]: runs $BUNDLE as $CID in the foreground and captures the result
# in $status/$output (stdout and stderr merged). Options of bats' run go first:
# run_ctr --separate-stderr.
run_ctr() {
  local run_opts=()
  while [[ $# -gt 0 && ( $1 == --separate-stderr || $1 == -[0-9]* || $1 == '!' ) ]]; do
    run_opts+=("$1"); shift
  done
  run "${run_opts[@]}" oci run --bundle "$BUNDLE" "$@" "$CID"
}

# run_sh [RUN OPTION...] SCRIPT: runs `sh -c SCRIPT` in the container; see run_ctr. The
# script's stderr goes to its stdout inside the container, so their lines keep their order
# (runc copies the two streams through separate pipes) -- except with --separate-stderr.
run_sh() {
  local opts=() prefix='exec 2>&1; '
  while [[ $# -gt 1 ]]; do
    [[ $1 == --separate-stderr ]] && prefix=
    opts+=("$1"); shift
  done
  set_script "$prefix$1"
  run_ctr "${opts[@]}"
}

# Runs the container detached with its stdio in files; records its pid in $CTR_PID.
run_detached() {
  oci run --detach --bundle "$BUNDLE" --pid-file "$TEST_TMP/ctr.pid" "$@" "$CID" \
    >"$TEST_TMP/ctr.out" 2>"$TEST_TMP/ctr.err" || {
      cat "$TEST_TMP/ctr.err" >&2
      return 1
    }
  CTR_PID=$(<"$TEST_TMP/ctr.pid")
}

# Starts `oci run` in the background (stdio to files); its pid in $RUN_PID. No `timeout`
# wrapper here: tests send signals to this very pid. Collect it with wait_bg.
# Without job control bash starts background jobs with SIGINT and SIGQUIT ignored; env
# restores their default so the runtime starts as it would in a terminal.
start_run_bg() {
  env --default-signal=INT,QUIT "$OCI" --root "$ROOT" run --bundle "$BUNDLE" "$@" "$CID" \
    </dev/null >"$TEST_TMP/run.out" 2>"$TEST_TMP/run.err" &
  RUN_PID=$!
  BG_PIDS+=("$RUN_PID")
}

# wait_bg PID [SECONDS]: waits (at most SECONDS, default 30) for a background job and
# sets $rc to its exit status; kills it and fails when it does not end in time.
wait_bg() {
  local pid=$1 limit=${2:-30}
  if ! wait_for "$limit" eval "! pid_alive $pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    fail "pid $pid still running after ${limit}s"
    return 1
  fi
  rc=0
  wait "$pid" || rc=$?
}

# wait_for SECONDS CMD...: polls CMD every 20 ms until it succeeds.
wait_for() {
  local deadline=$(( ${EPOCHREALTIME/./} + $1 * 1000000 )); shift
  until "$@"; do
    (( ${EPOCHREALTIME/./} < deadline )) || return 1
    sleep 0.02
  done
}

file_has() { [[ -s $1 ]] && grep -q -- "$2" "$1"; }

pid_alive() { [[ -e /proc/$1 ]] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# defer 'SHELL COMMAND': run at teardown, before the leak checks.
defer() { DEFERRED+=("$1"); }

delete_ctr() { oci delete --force "${1:-$CID}" >/dev/null 2>&1; }

# ---------------------------------------------------------------------------------------
# Assertions

expect_status() {
  [[ $status -eq $1 ]] || fail "exit status $status, want $1; output:
$output"
}

expect_output() {
  [[ $output == "$1" ]] || fail "output differs
--- want
$1
--- got
$output"
}

expect_contains() {
  grep -qiF -- "$1" <<<"$output" || fail "output does not contain \"$1\":
$output"
}

# expect_match ERE: some line of $output matches (case-insensitive).
expect_match() {
  grep -qiE -- "$1" <<<"$output" || fail "no line matching /$1/ in output:
$output"
}

expect_line() {
  grep -qxF -- "$1" <<<"$output" || fail "no line \"$1\" in output:
$output"
}

expect_no_line() {
  ! grep -qxF -- "$1" <<<"$output" || fail "unexpected line \"$1\" in output:
$output"
}

# ---------------------------------------------------------------------------------------
# Capabilities

CAP_NAMES=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP
  LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER
  SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE
  SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP
  MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF
  CHECKPOINT_RESTORE)

# cap_mask CAP_X...: the 16-digit hex mask /proc/self/status shows for those capabilities.
cap_mask() {
  local mask=0 c i
  for c in "$@"; do
    for i in "${!CAP_NAMES[@]}"; do
      if [[ CAP_${CAP_NAMES[$i]} == "$c" ]]; then mask=$(( mask | (1 << i) )); continue 2; fi
    done
    fail "unknown capability $c"
  done
  printf '%016x\n' "$mask"
}

# ---------------------------------------------------------------------------------------
# Cleanup and leak checks

umount_under() {
  local dir=$1 m
  # Deepest first; lazily, so a busy mount cannot stop the cleanup.
  while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done < <(awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo |
           sort -r)
}

# Pids of processes carrying this test's env marker (container processes).
marked_pids() {
  local f
  for f in $(grep -lsxzF "HUSK_TEST_MARK=$MARK" /proc/[0-9]*/environ); do
    f=${f#/proc/}; echo "${f%/environ}"
  done
}

no_marked_pids() { [[ -z $(marked_pids) ]]; }

# cgroup dirs named like the container, at the depths runtimes put them (globs: no fork).
# Also exactly where a relative or absent cgroupsPath puts them: under this shell's own
# cgroup in every hierarchy of /proc/self/cgroup, however deep that is (v1 controllers,
# name=systemd, the cgroup2 line).
leftover_cgroups() {
  local g key path mnt
  local -A seen=()
  for g in /sys/fs/cgroup/*/"$CID" /sys/fs/cgroup/*/*/"$CID" /sys/fs/cgroup/*/*/*/"$CID"; do
    [[ -d $g ]] && { seen[$g]=1; echo "$g"; }
  done
  while IFS=: read -r _ key path; do
    case $key in
      '') mnt=/sys/fs/cgroup/unified; [[ -d $mnt ]] || mnt=/sys/fs/cgroup ;;
      name=*) mnt=/sys/fs/cgroup/${key#name=} ;;
      *) mnt=/sys/fs/cgroup/$key ;;
    esac
    g=$mnt${path%/}/$CID
    [[ -d $g && -z ${seen[$g]:-} ]] && { seen[$g]=1; echo "$g"; }
  done </proc/self/cgroup
  return 0
}

husk_teardown() {
  [[ -n ${TEST_TMP:-} && -d $TEST_TMP ]] || return 0
  # bats runs teardown with errexit: one failed clean-up step must not skip the others.
  set +e
  local problems=() left=() id pid

  # State left by the test (a passing test deletes what it made).
  if [[ -d $ROOT ]]; then
    for id in "$ROOT"/*; do [[ -e $id ]] && left+=("${id##*/}"); done
  fi
  (( ${#left[@]} == 0 )) || problems+=("state left under --root: ${left[*]}")
  for id in "${left[@]}"; do oci delete --force "$id" >/dev/null 2>&1 || true; done

  for pid in "${BG_PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done

  # Container processes (found by the env marker); give a dying container a moment.
  if ! wait_for 3 no_marked_pids; then
    problems+=("processes left: $(marked_pids | tr '\n' ' ')")
    for pid in $(marked_pids); do kill -KILL "$pid" 2>/dev/null || true; done
  fi

  # Undo what the test made on the host (netns, IPC objects, host-side mounts) first.
  local cmd
  for cmd in "${DEFERRED[@]}"; do eval "$cmd" >/dev/null 2>&1 || true; done

  local mounts="" line
  while read -r line; do
    [[ $line == *"$TEST_TMP"* || $line == *"$ROOTFS"* ]] && mounts+="$line"$'\n'
  done </proc/self/mountinfo
  if [[ -n $mounts ]]; then
    problems+=("mounts left in the host namespace: $mounts")
    umount_under "$TEST_TMP"
  fi

  local cgs
  cgs=$(leftover_cgroups)
  [[ -z $cgs ]] || problems+=("cgroups left: $cgs")

  rm -rf --one-file-system "$TEST_TMP"
  if (( ${#problems[@]} )) && [[ -z ${BATS_TEST_COMPLETED:-} ]]; then
    # The test already failed: report the leaks but do not mask its own message.
    printf 'also: %s\n' "${problems[@]}" >&2
    return 0
  fi
  (( ${#problems[@]} == 0 )) || fail "$(printf '%s\n' "${problems[@]}")"
}
