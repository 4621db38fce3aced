#!/usr/bin/env bash
# husk-oci's systemd cgroup driver on a host whose PID 1 is systemd (pure cgroup v2): runs inside
# the systemd VM (tests/vm/run-systemd boots it; husk-vm-test.service starts this). Each check
# asserts what systemd says (systemctl show) and what the kernel has (cgroup files, /proc), and
# that nothing is left behind: no unit, no cgroup, no state. Output as v2-suite.sh: TAP-like,
# exit 1 when a check failed.
#
# Environment (set by husk-vm-test): HUSK_BUILD (bin/husk-oci), HUSK_REPO (the repository).
set -uo pipefail

bin=$HUSK_BUILD/bin/husk-oci
fixture=$HUSK_REPO/tests/fixtures/rootfs
state=/run/husk-vm
cg=/sys/fs/cgroup
work=$(mktemp -d /tmp/systemd-suite.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

oci() { "$bin" --root "$state" --systemd-cgroup "$@"; }

# --- reporting (as v2-suite.sh) -------------------------------------------------------------
n=0 failed=0 skipped=0
problems=()
bad() { problems+=("$*"); }
expect_eq() { [[ $2 == "$3" ]] || bad "$1: got '$2', expected '$3'"; }
expect_match() { [[ $2 =~ $3 ]] || bad "$1: '$2' does not match /$3/"; }
note() { echo "#   $*"; }

# Units, cgroups, state and mounts as before any check; each check must leave them so.
snapshot() {
  local f
  find "$cg" -mindepth 1 -type d -not -path '*/init.scope*' -not -path '*/system.slice/*.service*'
  systemctl list-units --all --plain --no-legend --no-pager '*.scope' 'husk*' 'libpod*' |
    grep -v -e '^init.scope' -e '^session-' || true
  systemctl list-units --failed --plain --no-legend --no-pager
  shopt -s nullglob dotglob
  for f in "$state"/*; do echo "state: $f"; done
  shopt -u nullglob dotglob
  while read -r _ _ _ _ f _; do echo "mount: $f"; done </proc/self/mountinfo
}

check() { # NAME FUNCTION
  local name=$1 fn=$2 up t0 ids now
  read -r up _ </proc/uptime
  t0=$((10#${up/./}))
  problems=()
  n=$((n + 1))
  SKIP=
  "$fn"
  ids=$("$bin" --root "$state" list -q 2>/dev/null)
  if [[ -n $ids ]]; then
    bad "containers left behind: ${ids//$'\n'/ }"
    for id in $ids; do oci delete -f "$id" >/dev/null 2>&1; done
  fi
  now=$(snapshot)
  if [[ $now != "$baseline" ]]; then
    bad "left behind: $(diff <(echo "$baseline") <(echo "$now") | grep '^[<>]' | tr '\n' ' ')"
    baseline=$now  # one leak is reported once
  fi
  read -r up _ </proc/uptime
  name+=" ($(( (10#${up/./} - t0) / 100 )) s)"
  if (( ${#problems[@]} )); then
    failed=$((failed + 1))
    echo "not ok $n - $name"
    printf '#   %s\n' "${problems[@]}"
  elif [[ -n $SKIP ]]; then
    skipped=$((skipped + 1))
    echo "ok $n - $name # SKIP $SKIP"
  else
    echo "ok $n - $name"
  fi
}

template=$work/template
bundle() { # DIR JQ-FILTER ARGS...
  local dir=$1 filter=$2 i
  shift 2
  mkdir -p "$dir"
  local jq_args=()
  for ((i = 1; i <= $#; i++)); do jq_args+=(--arg "a$i" "${!i}"); done
  jq --argjson n $# "${jq_args[@]}" --arg root "$fixture" \
    ".process.terminal = false | .root = {path: \$root, readonly: true}
     | .process.args = [range(1; \$n + 1) as \$i | \$ARGS.named[\"a\\(\$i)\"]]
     | $filter" "$template/config.json" >"$dir/config.json" || bad "bundle $dir: jq failed"
}

wait_for() { # TRIES COMMAND...: polls every 0.1 s
  local tries=$1
  shift
  while (( tries-- > 0 )); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}

prop() { systemctl show -P "$2" "$1" 2>/dev/null; }  # UNIT PROPERTY
file() { local v; v=$(<"$1") 2>/dev/null && echo "$v"; }
unit_gone() { # UNIT: not loaded at all (no failed unit either)
  [[ -z $(systemctl list-units --all --plain --no-legend --no-pager "$1") ]]
}
unit_active() { [[ $(prop "$1" ActiveState) == active ]]; }
status_is() { [[ $("$bin" --root "$state" state "$1" 2>/dev/null | jq -r .status) == "$2" ]]; }
task_status_is() { [[ $(ctr_ task ls 2>/dev/null | awk -v id="$1" '$1 == id {print $3}') == "$2" ]]; }
state_pid() { "$bin" --root "$state" state "$1" 2>/dev/null | jq -r .pid; }

# --- checks ---------------------------------------------------------------------------------
vda=$(cat /sys/block/vda/dev 2>/dev/null)  # "254:0": the io checks' device

# run --systemd-cgroup with every resource: systemd's properties and the cgroup files agree.
t_run_resources() {
  bundle "$work/res" '.linux.cgroupsPath = "system.slice:husk:res"
    | .linux.resources.cpu = {shares: 512, quota: 50000, period: 100000, cpus: "0", mems: "0"}
    | .linux.resources.memory = {limit: 67108864, reservation: 33554432, swap: 100663296}
    | .linux.resources.pids = {limit: 32}
    | .linux.resources.blockIO = {weight: 500,
        throttleReadBpsDevice: [{major: '"${vda%:*}"', minor: '"${vda#*:}"', rate: 1048576}]}
    | .linux.resources.unified = {"memory.high": "50331648"}' sleep 1000
  oci run -d -b "$work/res" sd-res </dev/null >"$work/res.out" 2>&1 ||
    { bad "run failed: $(<"$work/res.out")"; return; }
  local u=husk-res.scope d=$cg/system.slice/husk-res.scope pid
  pid=$(state_pid sd-res)
  expect_eq "unit state" "$(prop $u ActiveState)" active
  expect_eq "Slice" "$(prop $u Slice)" system.slice
  expect_eq "Delegate" "$(prop $u Delegate)" yes
  expect_eq "init's cgroup" "$(file /proc/"$pid"/cgroup)" "0::/system.slice/husk-res.scope"
  expect_eq "CPUWeight" "$(prop $u CPUWeight)" 20
  expect_eq "CPUQuotaPerSecUSec" "$(prop $u CPUQuotaPerSecUSec)" 500ms
  expect_eq "CPUQuotaPeriodUSec" "$(prop $u CPUQuotaPeriodUSec)" 100ms
  expect_eq "AllowedCPUs" "$(prop $u AllowedCPUs)" 0
  expect_eq "AllowedMemoryNodes" "$(prop $u AllowedMemoryNodes)" 0
  expect_eq "MemoryMax" "$(prop $u MemoryMax)" 67108864
  expect_eq "MemoryLow" "$(prop $u MemoryLow)" 33554432
  expect_eq "MemorySwapMax" "$(prop $u MemorySwapMax)" 33554432
  expect_eq "MemoryHigh" "$(prop $u MemoryHigh)" 50331648
  expect_eq "TasksMax" "$(prop $u TasksMax)" 32
  expect_eq "IOWeight" "$(prop $u IOWeight)" 4950
  expect_match "IOReadBandwidthMax" "$(prop $u IOReadBandwidthMax)" "1048576"
  expect_eq "DevicePolicy" "$(prop $u DevicePolicy)" strict
  expect_match "DeviceAllow" "$(prop $u DeviceAllow)" "/dev/char/1:3 rw"
  expect_eq "cpu.max" "$(file "$d/cpu.max")" "50000 100000"
  expect_eq "cpu.weight" "$(file "$d/cpu.weight")" 20
  expect_eq "cpuset.cpus" "$(file "$d/cpuset.cpus")" 0
  expect_eq "memory.max" "$(file "$d/memory.max")" 67108864
  expect_eq "memory.low" "$(file "$d/memory.low")" 33554432
  expect_eq "memory.swap.max" "$(file "$d/memory.swap.max")" 33554432
  expect_eq "memory.high" "$(file "$d/memory.high")" 50331648
  expect_eq "pids.max" "$(file "$d/pids.max")" 32
  expect_match "io.max" "$(file "$d/io.max")" "^$vda rbps=1048576 "
  # The devices systemd now enforces: /dev/null works, a device not allowed does not.
  "$bin" --root "$state" exec sd-res sh -c 'echo x >/dev/null' ||
    bad "exec: writing /dev/null failed"
  # (The default spec has no cgroup namespace: the process sees its scope's path.)
  expect_eq "exec's cgroup" "$("$bin" --root "$state" exec sd-res cat /proc/self/cgroup)" \
    "0::/system.slice/husk-res.scope"
  # pause/resume, ps, events --stats work on the scope as on any cgroup.
  "$bin" --root "$state" pause sd-res || bad "pause failed"
  expect_eq "cgroup.freeze after pause" "$(file "$d/cgroup.freeze")" 1
  "$bin" --root "$state" resume sd-res || bad "resume failed"
  expect_match "ps" "$("$bin" --root "$state" ps sd-res 2>&1)" "sleep"
  expect_match "events --stats" "$("$bin" --root "$state" events --stats sd-res 2>&1)" '"pids":'
  "$bin" --root "$state" kill sd-res KILL || bad "kill failed"
  wait_for 50 status_is sd-res stopped ||
    bad "not stopped after kill"
  oci delete sd-res || bad "delete failed"
  wait_for 50 unit_gone $u || bad "$u still loaded after delete"
  [[ ! -e $d ]] || bad "$d still exists after delete"
}

# update: SetUnitProperties and the files again.
t_update() {
  bundle "$work/upd" '.linux.cgroupsPath = "system.slice:husk:upd"
    | .linux.resources.memory = {limit: 67108864} | .linux.resources.pids = {limit: 32}
    | .linux.resources.cpu = {quota: 50000, period: 100000}' sleep 1000
  oci run -d -b "$work/upd" sd-upd </dev/null >"$work/upd.out" 2>&1 ||
    { bad "run failed: $(<"$work/upd.out")"; return; }
  local u=husk-upd.scope d=$cg/system.slice/husk-upd.scope
  oci update --memory 134217728 --memory-swap 134217728 --cpu-quota 20000 --pids-limit 64 sd-upd ||
    bad "update failed"
  expect_eq "MemoryMax" "$(prop $u MemoryMax)" 134217728
  expect_eq "MemorySwapMax" "$(prop $u MemorySwapMax)" 0
  expect_eq "TasksMax" "$(prop $u TasksMax)" 64
  expect_eq "CPUQuotaPerSecUSec" "$(prop $u CPUQuotaPerSecUSec)" 200ms
  expect_eq "memory.max" "$(file "$d/memory.max")" 134217728
  expect_eq "memory.swap.max" "$(file "$d/memory.swap.max")" 0
  expect_eq "pids.max" "$(file "$d/pids.max")" 64
  expect_eq "cpu.max" "$(file "$d/cpu.max")" "20000 100000"
  # systemd keeps them: a daemon-reload rewrites the files from the properties.
  systemctl daemon-reload
  expect_eq "memory.max after daemon-reload" "$(file "$d/memory.max")" 134217728
  expect_eq "pids.max after daemon-reload" "$(file "$d/pids.max")" 64
  oci delete -f sd-upd || bad "delete -f failed"
  wait_for 50 unit_gone $u || bad "$u still loaded after delete -f"
  [[ ! -e $d ]] || bad "$d still exists"
}

# kill -9 of husk-oci in the middle of create (in a createRuntime hook, once the scope runs),
# then delete -f: no unit, no scope cgroup, no state.
t_kill9_create() {
  bundle "$work/k9" ".linux.cgroupsPath = \"system.slice:husk:k9\"
    | .hooks.createRuntime = [{path: \"/bin/sh\",
        args: [\"sh\", \"-c\", \"echo \$\$ >$work/k9.hook; exec sleep 1000\"]}]" true
  "$bin" --root "$state" --systemd-cgroup create -b "$work/k9" sd-k9 </dev/null >/dev/null 2>&1 &
  local runtime=$! u=husk-k9.scope
  wait_for 300 test -s "$work/k9.hook" || bad "the hook never ran"
  expect_eq "unit during create" "$(prop $u ActiveState)" active
  kill -KILL "$runtime"
  wait "$runtime" 2>/dev/null
  [[ -s $work/k9.hook ]] && kill -KILL "$(<"$work/k9.hook")" 2>/dev/null
  oci delete -f sd-k9 || bad "delete -f failed"
  wait_for 50 unit_gone $u || bad "$u still loaded: $(systemctl list-units --all --plain --no-legend $u)"
  [[ ! -e $cg/system.slice/$u ]] || bad "$cg/system.slice/$u left behind"
  [[ ! -e $state/sd-k9 ]] || bad "state of sd-k9 left behind"
}

# Nested slices as systemd makes them, and the errors: each one line, nothing left behind.
t_slices_errors() {
  bundle "$work/nest" '.linux.cgroupsPath = "husk-vm.slice:husk:nest"' cat /proc/self/cgroup
  local out
  out=$(oci run -b "$work/nest" sd-nest </dev/null 2>&1) || bad "run in a nested slice failed: $out"
  expect_eq "cgroup in husk-vm.slice" "$out" "0::/husk.slice/husk-vm.slice/husk-nest.scope"
  oci delete sd-nest >/dev/null 2>&1
  systemctl stop husk-vm.slice husk.slice 2>/dev/null

  bundle "$work/badslice" '.linux.cgroupsPath = "a--b.slice:husk:x"' true
  out=$(oci run -b "$work/badslice" sd-bad </dev/null 2>&1) && bad "a bad slice name was accepted"
  expect_match "bad slice error" "$out" 'invalid slice name "a--b.slice"'
  expect_eq "bad slice error lines" "$(wc -l <<<"$out")" 1
  [[ $(wc -l <<<"$out") == 1 ]] || note "$out"

  bundle "$work/nobus" '.linux.cgroupsPath = "system.slice:husk:nobus"' true
  out=$(DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/no-such-bus oci run -b "$work/nobus" sd-nobus \
    </dev/null 2>&1) && bad "run without a bus succeeded"
  expect_match "no bus error" "$out" 'connect to D-Bus at /run/no-such-bus: No such file or directory'
  expect_eq "no bus error lines" "$(wc -l <<<"$out")" 1
  [[ $(wc -l <<<"$out") == 1 ]] || note "$out"

  systemd-run --quiet --unit=husk-dup --scope sleep 1000 </dev/null >"$work/dup.out" 2>&1 &
  local holder=$!
  wait_for 300 unit_active husk-dup.scope ||
    bad "husk-dup.scope did not start: $(<"$work/dup.out")"
  bundle "$work/dup" '.linux.cgroupsPath = "system.slice:husk:dup"' true
  out=$(oci run -b "$work/dup" sd-dup </dev/null 2>&1) && bad "run into an existing unit succeeded"
  expect_match "existing unit error" "$out" 'systemd unit husk-dup.scope already exists'
  expect_eq "existing unit error lines" "$(wc -l <<<"$out")" 1
  [[ $(wc -l <<<"$out") == 1 ]] || note "$out"
  expect_eq "the existing unit is untouched" "$(prop husk-dup.scope ActiveState)" active
  kill -KILL $holder
  wait $holder 2>/dev/null
  wait_for 50 unit_gone husk-dup.scope || bad "husk-dup.scope still there"
}

# podman with its defaults (cgroup_manager = systemd) and husk-oci as its runtime.
podman_() { podman --runtime "$bin" --cgroup-manager systemd "$@"; }
t_podman() {
  [[ -n $podman_ready ]] || { SKIP="podman is not ready: $podman_ready_why"; return; }
  local out id d
  out=$(podman_ run --rm --network none localhost/husk-busybox echo hello 2>&1)
  expect_eq "podman run" "$out" hello
  id=$(podman_ run -d --network none --memory 64m --cpus 0.5 --pids-limit 32 \
    localhost/husk-busybox sleep 1000 2>&1) || { bad "podman run -d: $id"; return; }
  d=$cg/machine.slice/libpod-$id.scope
  [[ -d $d ]] || d=$(find "$cg" -type d -name "libpod-$id.scope" | head -n 1)
  [[ -n $d && -d $d ]] || { bad "no libpod-$id.scope cgroup"; }
  expect_eq "podman memory.max" "$(file "$d/memory.max")" 67108864
  expect_eq "podman cpu.max" "$(file "$d/cpu.max")" "50000 100000"
  expect_eq "podman pids.max" "$(file "$d/pids.max")" 32
  expect_eq "podman scope unit" "$(prop "libpod-$id.scope" ActiveState)" active
  expect_eq "podman exec" "$(podman_ exec "$id" cat /proc/self/cgroup 2>&1)" "0::/"
  podman_ stop -t 1 "$id" >/dev/null 2>&1 || bad "podman stop failed"
  podman_ rm -f "$id" >/dev/null 2>&1 || bad "podman rm failed"
  wait_for 50 unit_gone "libpod-$id.scope" || bad "libpod-$id.scope still loaded"
  [[ ! -e $d ]] || bad "$d left behind"
}

# docker with native.cgroupdriver=systemd and husk-oci as its default runtime (containerd's
# runc shim under it passes --systemd-cgroup).
t_docker() {
  [[ -n $docker_ready ]] || { SKIP="docker is not ready: $docker_ready_why"; return; }
  local out id d
  out=$(docker run --rm --network none husk-busybox echo hello 2>&1)
  expect_eq "docker run" "$out" hello
  id=$(docker run -d --network none --memory 64m --cpus 0.5 --pids-limit 32 husk-busybox \
    sleep 1000 2>&1) || { bad "docker run -d: $id"; return; }
  d=$cg/system.slice/docker-$id.scope
  expect_eq "docker scope unit" "$(prop "docker-$id.scope" ActiveState)" active
  expect_eq "docker memory.max" "$(file "$d/memory.max")" 67108864
  expect_eq "docker cpu.max" "$(file "$d/cpu.max")" "50000 100000"
  expect_eq "docker pids.max" "$(file "$d/pids.max")" 32
  expect_eq "docker exec" "$(docker exec "$id" cat /proc/self/cgroup 2>&1)" "0::/"
  docker stop -t 1 "$id" >/dev/null 2>&1 || bad "docker stop failed"
  docker rm -f "$id" >/dev/null 2>&1 || bad "docker rm failed"
  wait_for 50 unit_gone "docker-$id.scope" || bad "docker-$id.scope still loaded"
  [[ ! -e $d ]] || bad "$d left behind"
}

# containerd through ctr with the runc shim's SystemdCgroup (--runc-systemd-cgroup), the path
# the kubelet's CRI plugin takes, and husk-oci as the shim's runtime binary.
t_containerd() {
  [[ -n $containerd_ready ]] || { SKIP="containerd is not ready: $containerd_ready_why"; return; }
  local id=husk-ctr u=ctr-husk-ctr.scope d out
  d=$cg/system.slice/$u
  ctr_ run -d --runc-binary "$bin" --runc-systemd-cgroup --cgroup "system.slice:ctr:$id" \
    --memory-limit 67108864 docker.io/library/husk-busybox:latest "$id" sleep 1000 \
    >"$work/ctr.out" 2>&1 || { bad "ctr run: $(<"$work/ctr.out")"; return; }
  expect_eq "containerd scope unit" "$(prop $u ActiveState)" active
  expect_eq "containerd memory.max" "$(file "$d/memory.max")" 67108864
  out=$(ctr_ task exec --exec-id probe "$id" cat /proc/self/cgroup 2>&1)
  # (ctr's default spec has no cgroup namespace.)
  expect_match "ctr exec" "$out" "^0::/(system.slice/$u)?$"
  ctr_ task kill -s SIGKILL "$id" >/dev/null 2>&1 || bad "ctr task kill failed"
  wait_for 100 task_status_is "$id" STOPPED ||
    bad "the task did not stop"
  ctr_ task rm "$id" >/dev/null 2>&1 || bad "ctr task rm failed"
  ctr_ container rm "$id" >/dev/null 2>&1 || bad "ctr container rm failed"
  wait_for 50 unit_gone $u || bad "$u still loaded"
  [[ ! -e $d ]] || bad "$d left behind"
}
ctr_() { ctr --namespace husk "$@"; }

# The husk front end on a systemd host: its default cgroup manager is systemd, the container a
# scope husk-<name>.scope in machine.slice; --cpus 0.5 holds a busy loop to half a CPU, as
# measured (the scope's usage_usec over ~2 s of wall time). A start after a kill uses the
# recorded flags, so the same driver and slice. A bad --slice: one line, no record.
husk_() { HUSK_ROOT=$work/husk-root "$HUSK_BUILD/bin/husk" "$@"; }
usage_usec() { awk '$1 == "usage_usec" {print $2}' "$1/cpu.stat" 2>/dev/null; }
t_husk_run() {
  local u=husk-sd-cpu.scope d=$cg/machine.slice/husk-sd-cpu.scope out u0 u1 t0 t1 share
  out=$(husk_ run --rm --net none --slice a--b.slice -- true 2>&1) && bad "a bad --slice was accepted"
  expect_match "bad --slice error" "$out" '^husk: --slice "a--b.slice": not a slice name'
  expect_eq "bad --slice error lines" "$(wc -l <<<"$out")" 1
  expect_eq "records after a bad --slice" "$(husk_ ps -a -q 2>&1)" ""
  out=$(husk_ run -d --name sd-cpu --net none --cpus 0.5 -- sh -c 'while :; do :; done' 2>&1) ||
    { bad "husk run -d: $out"; return; }
  expect_eq "unit state" "$(prop $u ActiveState)" active
  expect_eq "Slice" "$(prop $u Slice)" machine.slice
  expect_eq "CPUQuotaPerSecUSec" "$(prop $u CPUQuotaPerSecUSec)" 500ms
  expect_eq "cpu.max" "$(file "$d/cpu.max")" "50000 100000"
  u0=$(usage_usec "$d") t0=$(date +%s%6N)
  sleep 2
  u1=$(usage_usec "$d") t1=$(date +%s%6N)
  if [[ -n $u0 && -n $u1 ]]; then
    share=$(awk -v u=$((u1 - u0)) -v t=$((t1 - t0)) 'BEGIN {printf "%.3f", u / t}')
    note "husk run --cpus 0.5: a busy loop's measured CPU share $share ($((u1 - u0)) us of CPU in $((t1 - t0)) us)"
    awk -v s="$share" 'BEGIN {exit !(s >= 0.45 && s <= 0.55)}' ||
      bad "measured CPU share $share is outside 0.45-0.55"
  else
    bad "no usage_usec in $d/cpu.stat"
  fi
  # Killed, then started again from its record: the same scope in the same slice.
  husk_ kill sd-cpu >/dev/null 2>&1 || bad "husk kill failed"
  wait_for 50 unit_gone $u || bad "$u still loaded after husk kill"
  husk_ start sd-cpu >/dev/null 2>&1 || bad "husk start failed"
  expect_eq "Slice after start" "$(prop $u Slice)" machine.slice
  expect_eq "cpu.max after start" "$(file "$d/cpu.max")" "50000 100000"
  husk_ rm -f sd-cpu >/dev/null 2>&1 || bad "husk rm -f failed"
  wait_for 50 unit_gone $u || bad "$u still loaded after husk rm -f"
  [[ ! -e $d ]] || bad "$d left behind"
  expect_eq "records after rm" "$(husk_ ps -a -q 2>&1)" ""
}

# --- main -----------------------------------------------------------------------------------
echo "# husk-oci's systemd driver: $(uname -r), $(systemctl --version | head -n 1), PID 1 $(</proc/1/comm)"
[[ $(stat -f -c %T "$cg") == cgroup2fs ]] || { echo "not ok - $cg is not cgroup2"; exit 1; }
mkdir -p "$state" "$template"
"$bin" spec --bundle "$template" || { echo "not ok - husk-oci spec failed"; exit 1; }
# iocost on the disk, so that io.weight exists (the host's choice, as BFQ is).
[[ -n $vda ]] && echo "$vda enable=1" >"$cg/io.cost.qos"
# podman's first run mounts its storage and starts machine.slice for good: before the baseline.
podman_ready='' podman_ready_why='no podman in the guest'
if command -v podman >/dev/null; then
  systemctl start machine.slice
  if ! tar -C "$fixture" -c . | podman import -q - localhost/husk-busybox >/dev/null 2>&1; then
    podman_ready_why='podman import failed'
  elif ! podman_ run --rm --network none localhost/husk-busybox true >"$work/podman.out" 2>&1; then
    podman_ready_why="podman run failed: $(tr '\n' ' ' <"$work/podman.out")"
    echo "not ok - podman's first run: $podman_ready_why"
    failed=$((failed + 1))
  else
    podman_ready=1
  fi
fi
# dockerd (and the containerd under it) start as the guest's services, with husk-oci as the
# default runtime; the image is the busybox fixture, imported. Started before the baseline:
# their mounts and cgroups stay.
docker_ready='' docker_ready_why='no docker in the guest'
containerd_ready='' containerd_ready_why='no containerd in the guest'
if command -v dockerd >/dev/null && command -v ctr >/dev/null; then
  jq -n --arg bin "$bin" '{"exec-opts": ["native.cgroupdriver=systemd"], iptables: false,
    bridge: "none", runtimes: {husk: {path: $bin}}, "default-runtime": "husk"}' \
    >/etc/docker/daemon.json
  systemctl unmask -q containerd.service docker.service docker.socket
  if ! systemctl start containerd.service docker.service >"$work/docker.out" 2>&1; then
    docker_ready_why="dockerd did not start: $(journalctl -u docker --no-pager | tail -n 3 | tr '\n' ' ')"
  elif ! tar -C "$fixture" -c . | docker import - husk-busybox >/dev/null 2>"$work/docker.out"; then
    docker_ready_why="docker import failed: $(<"$work/docker.out")"
  else
    docker_ready=1
    if docker save husk-busybox >"$work/busybox.tar" 2>"$work/docker.out" &&
       ctr_ image import --base-name docker.io/library/husk-busybox "$work/busybox.tar" \
         >"$work/ctr.out" 2>&1; then
      containerd_ready=1
    else
      containerd_ready_why="ctr image import failed: $(cat "$work/docker.out" "$work/ctr.out")"
    fi
    rm -f "$work/busybox.tar"
  fi
fi
baseline=$(snapshot)

check "run --systemd-cgroup: every resource as a unit property and a file" t_run_resources
check "update: SetUnitProperties and the files" t_update
check "kill -9 during create, then delete -f leaves nothing" t_kill9_create
check "nested slices; bad slice, no bus, existing unit: one-line errors" t_slices_errors
check "podman (cgroup_manager=systemd): run, limits, exec, stop, rm" t_podman
check "docker (native.cgroupdriver=systemd): run, limits, exec, stop, rm" t_docker
check "containerd (ctr, runc shim with SystemdCgroup): run, limit, exec, kill, rm" t_containerd
check "husk run --cpus 0.5: a scope in machine.slice, half a CPU measured; bad --slice" t_husk_run

echo "1..$n"
echo "# $((n - failed)) of $n checks passed ($skipped skipped)"
(( failed == 0 ))
