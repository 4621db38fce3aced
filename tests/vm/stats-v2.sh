#!/usr/bin/env bash
# husk stats on a pure cgroup v2 host (src/manage/, through tests/tools/manage_tool.cc):
#   tests/vm/run tests/vm/stats-v2.sh
# A busy loop under a 0.5 CPU quota (cpu.max) shows 35-65% CPU; 40 MiB written to the
# container's /dev/shm show in MEM USAGE against its 256 MiB memory.max; PIDs counts the
# init. Exits 1 when a check failed.
set -uo pipefail

oci=$HUSK_BUILD/bin/husk-oci
tool=$HUSK_BUILD/bin/husk_manage_tool
fixture=$HUSK_REPO/tests/fixtures/rootfs
state=/run/husk-stats-vm
work=$(mktemp -d /tmp/stats-v2.XXXXXX)
chmod 755 "$work"
failed=0
bad() { echo "not ok - $*"; failed=1; }

cleanup() {
  "$oci" --root "$state" delete --force busy >/dev/null 2>&1
  "$oci" --root "$state" delete --force hog >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

bundle() { # DIR RESOURCES_JSON ARGS_JSON
  mkdir -p "$1"
  "$oci" spec --bundle "$1"
  jq --arg root "$fixture" --argjson r "$2" --argjson a "$3" \
    '.process.terminal = false | .process.args = $a | .root = {path: $root, readonly: true}
     | .linux.resources = $r' "$1/config.json" >"$1/c.json" && mv "$1/c.json" "$1/config.json"
}

[[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]] || { echo "not a cgroup v2 host"; exit 1; }
bundle "$work/busy" '{"cpu": {"quota": 50000, "period": 100000}}' '["sh", "-c", "while :; do :; done"]'
bundle "$work/hog" '{"memory": {"limit": 268435456}}' \
  '["sh", "-c", "dd if=/dev/zero of=/dev/shm/hog bs=1M count=40 2>/dev/null; touch /dev/shm/done; exec sleep 1000"]'
"$oci" --root "$state" run -d --bundle "$work/busy" busy </dev/null >/dev/null || bad "run busy"
"$oci" --root "$state" run -d --bundle "$work/hog" hog </dev/null >/dev/null || bad "run hog"
pid=$("$oci" --root "$state" state hog | jq -r .pid)
for _ in $(seq 100); do [[ -e /proc/$pid/root/dev/shm/done ]] && break; sleep 0.1; done
sleep 0.3

out=$("$tool" stats --root "$state" --no-stream --json --gap 2000 2>&1) || bad "stats: $out"
echo "$out" | sed 's/^/# /'
cpu=$(jq -r 'select(.Name == "busy") | .CPUPerc' <<<"$out")
[[ $cpu =~ ^([0-9]+)\.[0-9]{2}%$ ]] && (( BASH_REMATCH[1] >= 35 && BASH_REMATCH[1] < 65 )) ||
  bad "busy loop under quota 0.5: CPU $cpu, want 35-65%"
mem=$(jq -r 'select(.Name == "hog") | .MemUsage' <<<"$out")
[[ $mem =~ ^([0-9.]+)MiB\ /\ 256MiB$ ]] && awk -v m="${BASH_REMATCH[1]}" 'BEGIN { exit !(m >= 40 && m < 48) }' ||
  bad "memory hog: MemUsage $mem, want 40-48MiB / 256MiB"
[[ $(jq -r 'select(.Name == "hog") | .PIDs' <<<"$out") == 1 ]] || bad "hog PIDs"
(( failed )) || echo "ok - stats on cgroup v2: CPU $cpu, memory $mem"
exit "$failed"
