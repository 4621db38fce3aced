#!/usr/bin/env bash
# The systemd driver's cost (issue 15's bench row), in the systemd VM:
#   tests/vm/run-systemd tests/vm/systemd-bench.sh
# `run` of busybox `true` with each runtime's systemd driver (--systemd-cgroup, a
# system.slice:bench:N scope) and with its cgroupfs driver, interleaved, N rounds (default 15),
# median wall time in ms. Under TCG everything is ~15x slower than on hardware: compare the
# ratios, not the numbers.
set -uo pipefail
rounds=${HUSK_BENCH_ROUNDS:-15}
fixture=$HUSK_REPO/tests/fixtures/rootfs
work=$(mktemp -d /tmp/sd-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$HUSK_BUILD/bin/husk-oci" spec --bundle "$work" || exit 1
# (Debian's crun 1.8 refuses ociVersion 1.2.0.)
jq --arg root "$fixture" '.ociVersion = "1.0.2" | .process.terminal = false
  | .root = {path: $root, readonly: true} | .process.args = ["true"]' "$work/config.json" >"$work/c" && mv "$work/c" "$work/config.json"

declare -A times=()
one() { # NAME RUNTIME DRIVER ROUND
  local name=$1 rt=$2 driver=$3 i=$4 flags=() path t0 t1
  if [[ $driver == systemd ]]; then
    flags=(--systemd-cgroup)
    path="system.slice:bench:$name-$i"
  else
    path="/bench-$name-$i"
  fi
  jq --arg p "$path" '.linux.cgroupsPath = $p' "$work/config.json" >"$work/b/config.json"
  t0=$(date +%s%N)
  "$rt" --root "$work/state-$name" "${flags[@]}" run -b "$work/b" "c$i" </dev/null >/dev/null \
    2>"$work/err" || echo "# $name $driver run failed: $(tail -n 2 "$work/err")"
  t1=$(date +%s%N)
  "$rt" --root "$work/state-$name" "${flags[@]}" delete -f "c$i" >/dev/null 2>&1
  times[$name-$driver]+="$(( (t1 - t0) / 1000000 )) "
}
mkdir -p "$work/b"
for ((i = 0; i < rounds; i++)); do
  for rt in husk-oci:$HUSK_BUILD/bin/husk-oci runc:runc crun:crun; do
    for driver in systemd cgroupfs; do one "${rt%%:*}" "${rt#*:}" "$driver" "$i"; done
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
echo "# run of busybox true, median of $rounds (ms, under TCG)"
for rt in husk-oci runc crun; do
  echo "bench: $rt systemd $(median <<<"${times[$rt-systemd]}") cgroupfs $(median <<<"${times[$rt-cgroupfs]}")"
done
