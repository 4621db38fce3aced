#!/usr/bin/env bash
# husk-oci on a pure cgroup v2 host: runs inside the test VM (tests/vm/run boots it; tests/vm/init
# starts this with the host's bash, jq and strace reachable through the shared /usr). Every check
# asserts what the kernel accounts or reports (cgroup files, /proc, exit statuses), never how long
# something took. Output is TAP-like: "ok N - name", "not ok N - name" with the reasons, and
# "ok N - name # SKIP why" for husk-oci verbs this build does not have. Exits 1 when a check failed.
#
# Environment (set by tests/vm/init): HUSK_BUILD (bin/husk-oci), HUSK_REPO (the repository).
set -uo pipefail

bin=$HUSK_BUILD/bin/husk-oci
fixture=$HUSK_REPO/tests/fixtures/rootfs
state=/run/husk-vm
cg=/sys/fs/cgroup
work=$(mktemp -d /tmp/v2-suite.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

oci() { "$bin" --root "$state" "$@"; }

# --- reporting ------------------------------------------------------------------------------
n=0 failed=0 skipped=0
problems=()
# Records a failed assertion; the check goes on so that one run shows every problem.
bad() { problems+=("$*"); }
expect_eq() { # WHAT ACTUAL EXPECTED
  [[ $2 == "$3" ]] || bad "$1: got '$2', expected '$3'"
}
expect_match() { # WHAT ACTUAL REGEX
  [[ $2 =~ $3 ]] || bad "$1: '$2' does not match /$3/"
}
expect_le() { # WHAT A B
  [[ $2 =~ ^[0-9]+$ && $2 -le $3 ]] || bad "$1: $2 is not <= $3"
}
expect_ge() { # WHAT A B
  [[ $2 =~ ^[0-9]+$ && $2 -ge $3 ]] || bad "$1: $2 is not >= $3"
}
note() { echo "#   $*"; }

# The cgroup tree, the state root and the mount table as they were before any check: after each
# check they must be exactly so again.
# (Plain bash where it can: every process costs ~20 ms under TCG.)
snapshot() {
  local f
  find "$cg" -mindepth 1 -type d
  shopt -s nullglob dotglob
  for f in "$state"/*; do echo "state: $f"; done
  shopt -u nullglob dotglob
  while read -r _ _ _ _ f _; do echo "mount: $f"; done </proc/self/mountinfo
}

check() { # NAME FUNCTION
  local name=$1 fn=$2 skip_reason='' up t0
  read -r up _ </proc/uptime
  t0=$((10#${up/./}))
  problems=()
  n=$((n + 1))
  SKIP=
  "$fn"
  skip_reason=$SKIP
  # Whatever the check left running is removed (and reported as a problem).
  local ids
  ids=$(oci list -q 2>/dev/null)
  if [[ -n $ids ]]; then
    bad "containers left behind: ${ids//$'\n'/ }"
    for id in $ids; do oci delete -f "$id" >/dev/null 2>&1; done
  fi
  local now
  now=$(snapshot)
  if [[ $now != "$baseline" ]]; then
    bad "left behind: $(diff <(echo "$baseline") <(echo "$now") | grep '^[<>]' | tr '\n' ' ')"
    rmdir_new_cgroups
  fi
  read -r up _ </proc/uptime
  name+=" ($(( (10#${up/./} - t0) / 100 )) s)"
  if (( ${#problems[@]} )); then
    failed=$((failed + 1))
    echo "not ok $n - $name"
    printf '#   %s\n' "${problems[@]}"
  elif [[ -n $skip_reason ]]; then
    skipped=$((skipped + 1))
    echo "ok $n - $name # SKIP $skip_reason"
  else
    echo "ok $n - $name"
  fi
}

# After a failed check: remove the cgroups it leaked (deepest first) so the next one starts clean.
rmdir_new_cgroups() {
  local d
  while read -r d; do
    grep -qxF "$d" <<<"$baseline" || rmdir "$d" 2>/dev/null
  done < <(find "$cg" -mindepth 1 -type d | sort -r)
}

# True when this husk-oci has VERB (pause/resume/update/events/ps are recent): its help lists it.
verbs=
has_verb() {
  [[ -n $verbs ]] || verbs=$("$bin" --help 2>&1)
  grep -qE "^ +$1([ ,]|\$)" <<<"$verbs"
}

# --- bundles and containers -----------------------------------------------------------------
# bundle DIR JQ-FILTER ARGS...: the config husk-oci's own `spec` wrote (once, into $template)
# with terminal off, root the shared fixture read-only, process.args = ARGS, then JQ-FILTER.
template=$work/template
bundle() {
  local dir=$1 filter=$2 i
  shift 2
  mkdir -p "$dir"
  # One --arg per element: jq would take a "-c" among --args for its own option.
  local jq_args=()
  for ((i = 1; i <= $#; i++)); do jq_args+=(--arg "a$i" "${!i}"); done
  jq --argjson n $# "${jq_args[@]}" --arg root "$fixture" \
    ".process.terminal = false | .root = {path: \$root, readonly: true}
     | .process.args = [range(1; \$n + 1) as \$i | \$ARGS.named[\"a\\(\$i)\"]]
     | $filter" "$template/config.json" >"$dir/config.json" || bad "bundle $dir: jq failed"
}

# The default: no cgroupsPath, so husk nests the container under its own cgroup (the root here).
cgdir() { echo "$cg/$1"; }

# From `husk-oci state` (its JSON has these keys once, at the top level).
state_field() {
  local json
  json=$(oci state "$1" 2>/dev/null)
  [[ $json =~ \"$2\":\ *\"?([a-z0-9]+) ]] && echo "${BASH_REMATCH[1]}"
}
status_of() { state_field "$1" status; }
pid_of() { state_field "$1" pid; }

# wait_for TRIES COMMAND...: polls every 0.1 s.
wait_for() {
  local tries=$1
  shift
  while (( tries-- > 0 )); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}
file_has() { grep -qE "$2" "$1" 2>/dev/null; }
is_stopped() { [[ $(status_of "$1") == stopped ]]; }

# key FILE KEY: the value of "KEY VALUE" in a flat-keyed cgroup file (cpu.stat, memory.events).
key() {
  local k v
  while read -r k v; do [[ $k == "$2" ]] && { echo "$v"; return; }; done <"$1"
  echo missing
}

# cpu_sample DIR: REPLY="UPTIME_CS USAGE_USEC NR_PERIODS NR_THROTTLED", cpu.stat read at once.
cpu_sample() {
  local up k v usage='' periods='' throttled=
  read -r up _ </proc/uptime
  while read -r k v; do
    case $k in
      usage_usec) usage=$v ;;
      nr_periods) periods=$v ;;
      nr_throttled) throttled=$v ;;
    esac
  done <"$1/cpu.stat"
  REPLY="$((10#${up/./})) $usage $periods $throttled"
}

# --- checks ---------------------------------------------------------------------------------

# husk detects v2 and clones the init straight into its cgroup (CLONE_INTO_CGROUP); the
# container sees itself in a cgroup2-only /proc/self/cgroup (its own path without a cgroup
# namespace; t_io checks "0::/" with one). An absolute cgroupsPath is taken from the
# hierarchy's root.
t_detection() {
  bundle "$work/detect" '.' sh -c 'cat /proc/self/cgroup; grep " /sys/fs/cgroup " /proc/self/mountinfo'
  local out
  out=$(strace -f --seccomp-bpf -qq -e trace=clone3 -e signal=none -o "$work/detect.strace" \
        "$bin" --root "$state" run -b "$work/detect" vm-detect 2>&1)
  expect_eq "husk-oci run exit" "$?" 0
  expect_eq "/proc/self/cgroup inside" "$(head -n 1 <<<"$out")" "0::/vm-detect"
  expect_eq "cgroup lines inside (pure v2)" "$(grep -c '^[0-9]*:' <<<"$out")" 1
  expect_match "/sys/fs/cgroup inside" "$(sed -n 2p <<<"$out")" ' - cgroup2 '
  local clone
  clone=$(grep -m1 'clone3(' "$work/detect.strace")
  expect_match "the init's clone3" "$clone" 'CLONE_INTO_CGROUP.*cgroup=[0-9]+'

  # The same absolute path, seen from the host while the container runs.
  bundle "$work/detect-abs" '.linux.cgroupsPath = "/husk-vm/abs"' sleep 1000
  oci run -d -b "$work/detect-abs" vm-detect-abs >/dev/null 2>&1 </dev/null
  expect_eq "husk-oci run -d exit" "$?" 0
  local pid
  pid=$(pid_of vm-detect-abs)
  expect_eq "the init's cgroup (absolute cgroupsPath)" "$(cat "/proc/$pid/cgroup" 2>&1)" "0::/husk-vm/abs"
  expect_eq "cgroup.procs" "$(cat "$cg/husk-vm/abs/cgroup.procs" 2>&1)" "$pid"
  oci delete -f vm-detect-abs || bad "delete -f failed"
  [[ ! -e $cg/husk-vm ]] || bad "$cg/husk-vm (made by husk) is still there after delete"
}

# cpu.max from quota/period, and the kernel enforcing it on a busy loop.
t_cpu_max() {
  bundle "$work/cpu" '.linux.resources.cpu = {quota: 50000, period: 100000}' \
    sh -c 'while :; do :; done'
  oci run -d -b "$work/cpu" vm-cpu >/dev/null 2>&1 </dev/null || { bad "run -d failed"; return; }
  local d
  d=$(cgdir vm-cpu)
  expect_eq "cpu.max" "$(cat "$d/cpu.max")" "50000 100000"
  # Let the loop get going, then sample usage and throttling over ~2 s of guest time.
  wait_for 50 test "$(key "$d/cpu.stat" usage_usec)" -gt 100000
  local u0 t0 p0 n0 u1 t1 p1 n1
  cpu_sample "$d"; read -r t0 u0 p0 n0 <<<"$REPLY"
  sleep 2
  cpu_sample "$d"; read -r t1 u1 p1 n1 <<<"$REPLY"
  oci delete -f vm-cpu || bad "delete -f failed"
  # /proc/uptime counts centiseconds: CPU-s/s in thousandths = usec / (cs * 10).
  local ratio=$(( (u1 - u0) / ((t1 - t0) * 10) ))
  # (No per-period bound on usage: when the host starves qemu, the guest charges the stall to
  # the running task, so a period can overrun its quota; the debt is paid in later periods.)
  note "busy loop at cpu.max 50000/100000: $ratio/1000 CPU-s/s," \
       "$((n1 - n0)) of $((p1 - p0)) periods throttled"
  (( ratio >= 350 && ratio <= 650 )) || bad "CPU use $ratio/1000 is not 500 +- 150"
  expect_ge "periods throttled" "$((n1 - n0))" 1
}

# memory.max: an allocation past it is OOM-killed (exit 137) and memory.events counts it.
t_memory_oom() {
  local res='.linux.resources.memory = {limit: 33554432, swap: 33554432}'
  bundle "$work/oom" "$res" dd if=/dev/zero of=/dev/null bs=64M count=1
  oci run -b "$work/oom" vm-oom >/dev/null 2>&1 </dev/null
  expect_eq "exit status of an init killed by the OOM killer" "$?" 137

  # Again detached, to read the cgroup's files before delete removes them.
  oci run -d -b "$work/oom" vm-oom-d >/dev/null 2>&1 </dev/null || { bad "run -d failed"; return; }
  local d
  d=$(cgdir vm-oom-d)
  expect_eq "memory.max" "$(cat "$d/memory.max")" 33554432
  expect_eq "memory.swap.max (swap == limit)" "$(cat "$d/memory.swap.max")" 0
  wait_for 100 is_stopped vm-oom-d || bad "the container did not stop"
  expect_ge "memory.events oom_kill" "$(key "$d/memory.events" oom_kill)" 1
  expect_ge "memory.events max" "$(key "$d/memory.events" max)" 1
  expect_le "memory.peak" "$(cat "$d/memory.peak" 2>/dev/null || echo 0)" 33554432
  oci delete vm-oom-d || bad "delete of the stopped container failed"
}

# OCI memory.swap is memory+swap; v2's memory.swap.max is swap alone: swap - limit.
t_memory_swap() {
  bundle "$work/swap" '.linux.resources.memory = {limit: 67108864, swap: 100663296, reservation: 16777216}' true
  oci create -b "$work/swap" vm-swap >/dev/null 2>&1 </dev/null || { bad "create failed"; return; }
  local d
  d=$(cgdir vm-swap)
  expect_eq "memory.max" "$(cat "$d/memory.max")" 67108864
  expect_eq "memory.swap.max (96M - 64M)" "$(cat "$d/memory.swap.max")" 33554432
  expect_eq "memory.low (reservation)" "$(cat "$d/memory.low")" 16777216
  oci delete -f vm-swap || bad "delete -f failed"

  bundle "$work/swap-max" '.linux.resources.memory = {limit: 67108864, swap: -1}' true
  oci create -b "$work/swap-max" vm-swap-max >/dev/null 2>&1 </dev/null || { bad "create failed (swap -1)"; return; }
  expect_eq "memory.swap.max (swap -1)" "$(cat "$(cgdir vm-swap-max)/memory.swap.max")" max
  oci delete -f vm-swap-max || bad "delete -f failed"

  # swap below the limit is a configuration error, refused before anything is made.
  bundle "$work/swap-bad" '.linux.resources.memory = {limit: 67108864, swap: 33554432}' true
  local err
  if err=$(oci create -b "$work/swap-bad" vm-swap-bad 2>&1 </dev/null); then
    bad "swap < limit was accepted"
  fi
  expect_match "error for swap < limit" "$err" 'swap'
}

# pids.max: a fork loop is stopped by the kernel at the limit.
t_pids_max() {
  # The subshell forks sleepers until fork fails (ash gives up at the first failure); the init
  # then becomes a sleep itself, so what the loop got stays visible.
  # shellcheck disable=SC2016  # the container's sh expands it
  bundle "$work/pids" '.linux.resources.pids = {limit: 16}' \
    sh -c '(i=0; while [ $i -lt 64 ]; do sleep 1000 & i=$((i+1)); done) 2>/dev/null; exec sleep 1000'
  oci run -d -b "$work/pids" vm-pids >/dev/null 2>&1 </dev/null || { bad "run -d failed"; return; }
  local d
  d=$(cgdir vm-pids)
  expect_eq "pids.max" "$(cat "$d/pids.max")" 16
  wait_for 150 file_has "$d/pids.events" '^max [1-9]' || bad "pids.events never counted a refused fork"
  # The loop's subshell is gone once the init execs sleep.
  wait_for 100 test "$(grep -c . "$d/cgroup.procs")" -lt 16
  local procs current
  procs=$(grep -c . "$d/cgroup.procs")
  current=$(cat "$d/pids.current")
  note "fork loop under pids.max 16: $procs processes left, pids.events: $(cat "$d/pids.events")"
  expect_le "pids.current" "$current" 16
  expect_ge "processes the loop got" "$procs" 8
  [[ -f $d/pids.peak ]] && expect_le "pids.peak" "$(cat "$d/pids.peak")" 16
  if has_verb ps; then
    local listed
    listed=$(oci ps --format json vm-pids | jq length)
    expect_eq "husk-oci ps --format json: processes" "$listed" "$procs"
  fi
  if has_verb events; then
    local stats
    stats=$(oci events --stats vm-pids)
    expect_eq "events --stats: data.pids.current" "$(jq -r .data.pids.current <<<"$stats")" "$procs"
    expect_eq "events --stats: type" "$(jq -r .type <<<"$stats")" stats
  fi
  oci delete -f vm-pids || bad "delete -f failed"
}

# blockIO -> io.weight / io.max on a device that exists here (/dev/ram0, brd, 1:0), and the
# container's reads of it accounted in its io.stat, which it also sees as the root of its cgroup
# namespace. Per-device io.weight needs the iocost
# controller enabled on the device (io.cost.qos in the root cgroup; main does that).
t_io() {
  local dev=/dev/ram0
  [[ -b $dev ]] || { bad "$dev missing (brd not loaded?)"; return; }
  local majmin
  majmin=$(printf '%d:%d' "0x$(stat -c %t "$dev")" "0x$(stat -c %T "$dev")")
  local maj=${majmin%:*} min=${majmin#*:}
  bundle "$work/io" ".linux.resources.blockIO = {
      weight: 500,
      weightDevice: [{major: $maj, minor: $min, weight: 200}],
      throttleReadBpsDevice: [{major: $maj, minor: $min, rate: 4194304}],
      throttleWriteIOPSDevice: [{major: $maj, minor: $min, rate: 100}]}
    | .linux.devices = [{path: \"/dev/vmram\", type: \"b\", major: $maj, minor: $min}]
    | .linux.resources.devices += [{allow: true, type: \"b\", major: $maj, minor: $min, access: \"rwm\"}]
    | .linux.namespaces += [{type: \"cgroup\"}]" \
    sh -c 'cat /proc/self/cgroup
      dd if=/dev/vmram of=/dev/null bs=64k count=16 iflag=direct 2>/dev/null && cat /sys/fs/cgroup/io.stat'
  # The container's output (its own io.stat, through its cgroup namespace) goes to io.out.
  oci create -b "$work/io" vm-io >"$work/io.out" 2>&1 </dev/null || { bad "create failed"; return; }
  local d
  d=$(cgdir vm-io)
  expect_eq "io.max" "$(cat "$d/io.max")" "$majmin rbps=4194304 wbps=max riops=max wiops=100"
  # blkio weight 500 (10..1000) is io.weight 1 + 490 * 9999 / 990 = 4950 (1..10000, runc's
  # conversion), 200 is 1920; BFQ (not loaded here) would take blkio's scale as is.
  if [[ -f $d/io.bfq.weight ]]; then
    expect_eq "io.bfq.weight" "$(tr '\n' ' ' <"$d/io.bfq.weight")" "default 500 $majmin 200 "
  else
    expect_eq "io.weight" "$(tr '\n' ' ' <"$d/io.weight")" "default 4950 $majmin 1920 "
  fi
  oci start vm-io || bad "start failed"
  wait_for 100 is_stopped vm-io || bad "the container did not stop"
  local rbytes
  rbytes=$(grep -m1 "^$majmin " "$d/io.stat" | grep -o 'rbytes=[0-9]*' | cut -d= -f2)
  local inside
  inside=$(<"$work/io.out")
  note "io.stat of $majmin after the container read 1 MiB: ${rbytes:-none}; its output: ${inside//$'\n'/ | }"
  expect_ge "io.stat rbytes of $majmin" "${rbytes:-0}" 1048576
  expect_eq "/proc/self/cgroup inside a cgroup namespace" "$(head -n 1 "$work/io.out")" "0::/"
  expect_eq "io.stat seen inside (cgroup namespace)" "$(grep "^$majmin " "$work/io.out")" \
    "$(grep "^$majmin " "$d/io.stat")"
  oci delete vm-io || bad "delete failed"
}

# The eBPF device program: with the default rules a new char device 1:1 cannot be opened
# (EPERM) while /dev/null can; a rule allowing a device lets it through.
t_devices() {
  local caps='.process.capabilities |= with_entries(.value += ["CAP_MKNOD"])'
  local script='mknod /dev/mem1 c 1 1 || echo mknod-failed
    (head -c 1 /dev/mem1 >/dev/null) 2>&1 || true
    echo x >/dev/null && echo null-ok
    mknod /dev/kmsg1 c 1 11 || echo mknod-failed
    (echo "<6>husk-vm: kmsg write from the container" >/dev/kmsg1) 2>&1 && echo kmsg-ok
    true'
  bundle "$work/dev" "$caps" sh -c "$script"
  local out
  out=$(oci run -b "$work/dev" vm-dev 2>&1 </dev/null)
  expect_eq "run exit" "$?" 0
  note "default rules: ${out//$'\n'/ | }"
  [[ $out != *mknod-failed* ]] || bad "mknod (allowed by the default rules) failed: $out"
  expect_match "open of c 1:1" "$(sed -n 1p <<<"$out")" 'Operation not permitted'
  expect_eq "/dev/null" "$(sed -n 2p <<<"$out")" null-ok
  expect_match "write to c 1:11 (not allowed)" "$(sed -n 3p <<<"$out")" 'Operation not permitted'

  # The same with a rule that allows writing c 1:11: only the program can have refused it.
  bundle "$work/dev-allow" "$caps | .linux.resources.devices += [{allow: true, type: \"c\",
    major: 1, minor: 11, access: \"w\"}]" sh -c "$script"
  out=$(oci run -b "$work/dev-allow" vm-dev-allow 2>&1 </dev/null)
  expect_eq "run exit (c 1:11 allowed)" "$?" 0
  note "c 1:11 allowed: ${out//$'\n'/ | }"
  expect_match "open of c 1:1 (still denied)" "$(sed -n 1p <<<"$out")" 'Operation not permitted'
  expect_eq "write to c 1:11 (allowed)" "$(sed -n 3p <<<"$out")" kmsg-ok
}

# pause/resume through cgroup.freeze: frozen tasks accumulate no CPU time.
t_freeze() {
  if ! has_verb pause || ! has_verb resume; then
    SKIP="this husk-oci has no pause/resume"
    return
  fi
  bundle "$work/freeze" '.' sh -c 'while :; do :; done'
  oci run -d -b "$work/freeze" vm-freeze >/dev/null 2>&1 </dev/null || { bad "run -d failed"; return; }
  local d
  d=$(cgdir vm-freeze)
  oci pause vm-freeze || bad "pause failed"
  expect_eq "cgroup.freeze after pause" "$(cat "$d/cgroup.freeze")" 1
  wait_for 50 file_has "$d/cgroup.events" '^frozen 1' || bad "cgroup.events never said frozen 1"
  expect_eq "status after pause" "$(status_of vm-freeze)" paused
  local u0 u1
  u0=$(key "$d/cpu.stat" usage_usec)
  sleep 0.5
  u1=$(key "$d/cpu.stat" usage_usec)
  expect_eq "usage_usec of the frozen busy loop" "$u1" "$u0"
  oci resume vm-freeze || bad "resume failed"
  expect_eq "cgroup.freeze after resume" "$(cat "$d/cgroup.freeze")" 0
  wait_for 50 file_has "$d/cgroup.events" '^frozen 0' || bad "cgroup.events never said frozen 0"
  expect_eq "status after resume" "$(status_of vm-freeze)" running
  wait_for 50 test "$(key "$d/cpu.stat" usage_usec)" -gt "$u1" || bad "the loop did not run again"
  oci delete -f vm-freeze || bad "delete -f failed"
}

# update rewrites the live cgroup's files.
t_update() {
  if ! has_verb update; then
    SKIP="this husk-oci has no update"
    return
  fi
  bundle "$work/update" '.linux.resources.cpu = {quota: 50000, period: 100000}
    | .linux.resources.memory = {limit: 67108864} | .linux.resources.pids = {limit: 32}' sleep 1000
  oci run -d -b "$work/update" vm-update >/dev/null 2>&1 </dev/null || { bad "run -d failed"; return; }
  local d
  d=$(cgdir vm-update)
  oci update --cpu-quota 20000 --memory 128m --memory-swap 192m --pids-limit 40 vm-update ||
    bad "update failed"
  expect_eq "cpu.max after update" "$(cat "$d/cpu.max")" "20000 100000"
  expect_eq "memory.max after update" "$(cat "$d/memory.max")" 134217728
  expect_eq "memory.swap.max after update" "$(cat "$d/memory.swap.max")" 67108864
  expect_eq "pids.max after update" "$(cat "$d/pids.max")" 40
  oci delete -f vm-update || bad "delete -f failed"
}

# kill --all signals through cgroup.kill; delete removes the cgroup.
t_kill_all_delete() {
  bundle "$work/kill" '.' sh -c 'sleep 1000 & sleep 1000 & sleep 1000 & wait'
  oci run -d -b "$work/kill" vm-kill >/dev/null 2>&1 </dev/null || { bad "run -d failed"; return; }
  local d
  d=$(cgdir vm-kill)
  wait_for 100 test "$(grep -c . "$d/cgroup.procs")" -eq 4 || bad "expected 4 processes in $d"
  strace -f -qq -e trace=openat,write -e signal=none -o "$work/kill.strace" \
    "$bin" --root "$state" kill --all vm-kill KILL || bad "kill --all failed"
  grep -q 'cgroup\.kill' "$work/kill.strace" || bad "kill --all did not use cgroup.kill"
  wait_for 100 file_has "$d/cgroup.events" '^populated 0' || bad "processes survived kill --all"
  wait_for 50 is_stopped vm-kill || bad "status is not stopped after kill --all"
  oci delete vm-kill || bad "delete failed"
  [[ ! -e $d ]] || bad "$d still exists after delete"
}

# --- main -----------------------------------------------------------------------------------
echo "# husk-oci on cgroup v2: $(uname -r), controllers: $(cat "$cg/cgroup.subtree_control")"
[[ $(stat -f -c %T "$cg") == cgroup2fs ]] || { echo "not ok - $cg is not cgroup2"; exit 1; }
mkdir -p "$state" "$template"
"$bin" spec --bundle "$template" || { echo "not ok - husk-oci spec failed"; exit 1; }
# iocost on the brd device, so that per-device io.weight can be set (a host's choice, as BFQ is).
[[ -b /dev/ram0 ]] && echo "1:0 enable=1" >"$cg/io.cost.qos"
baseline=$(snapshot)

check "detection: clone3 into the cgroup, 0::/ paths" t_detection
check "cpu.max from quota/period, enforced" t_cpu_max
check "memory.max: OOM kill, exit 137, memory.events" t_memory_oom
check "memory.swap.max = swap - limit" t_memory_swap
check "pids.max stops a fork loop" t_pids_max
check "io.weight, io.max and io.stat on /dev/ram0" t_io
check "eBPF device filter" t_devices
check "pause/resume: cgroup.freeze" t_freeze
check "update rewrites the cgroup" t_update
check "kill --all (cgroup.kill) and delete" t_kill_all_delete

echo "1..$n"
echo "# $((n - failed)) of $n checks passed ($skipped skipped)"
(( failed == 0 ))
