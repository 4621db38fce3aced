#!/usr/bin/env bats
# bench/run must keep working: a very short run (2 iterations, 5 sequential, 16 in parallel
# by 8) has to produce every row with numbers for husk-oci, crun and runc, and leave
# nothing behind. The numbers themselves are not judged here (see docs/benchmarks.md).
# Issue 16: its rows are rounds with per-round ratios, and bench/wrapper (the conservative
# method, and host memory per running container) runs in it too and leaves nothing.
# bench/net (issue 12) likewise: every row has numbers, and nothing it made (netns, links,
# leases, nft elements, cgroups, processes, uprobes) is left on the host.
# bench/containers (issue 14): every row has numbers for husk and podman, nothing is left.

bats_require_minimum_version 1.5.0

setup_file() {
  HUSK_SRC=${HUSK_SRC:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
  export HUSK_SRC HUSK_BUILD=${HUSK_BUILD:-$HUSK_SRC/build}
}

setup() {
  BENCH=$HUSK_SRC/bench/run
  # World-searchable, like the integration tests' own temp dirs: the rootfs is in here.
  WORK=$(mktemp -d /tmp/husk-bench-smoke.XXXXXX)
  chmod 755 "$WORK"
  mkdir -m 755 "$WORK/tmp"
}

teardown() {
  rm -rf --one-file-system "$WORK"
}

fail() {
  echo "FAIL: $*" >&2
  return 1
}

# Cgroup directories named with prefix anywhere under /sys/fs/cgroup (3 levels below a
# hierarchy covers the runtime's own cgroup on this host).
cgroups_named() {
  find /sys/fs/cgroup -mindepth 2 -maxdepth 5 -type d -name "$1*" 2>/dev/null
}

@test "bench/run --quick: every row has numbers for husk, crun and runc" {
  [[ -x $HUSK_BUILD/bin/husk-oci ]] || fail "build husk-oci first ($HUSK_BUILD)"
  json=$WORK/out.json
  run --separate-stderr env TMPDIR="$WORK/tmp" timeout --kill-after=10 170 "$BENCH" --quick \
    --rounds 2 --runs 2 --seq 5 --par-total 16 --par-jobs 8 --batch-reps 1 --rss-runs 1 \
    --micro-time 0.001 --mem-n 3 --no-net --json "$json"
  echo "$output"
  echo "$stderr" >&2
  [[ $status -eq 0 ]] || fail "bench/run exited $status"
  bench_out=$output

  # The table on stdout: a header and one line per row.
  [[ ${lines[0]} == row*husk*crun*runc*husk/crun*husk/runc*husk/floor ]] || fail "no table header"
  for title in "run true" "run true, docker seccomp profile" "create + start + delete" "exec true" "5 runs sequential" \
               "16 runs, 8 parallel" "peak RSS, runtime + reaped children" \
               "peak RSS, runtime process alone"; do
    grep -qF "$title" <<<"$output" || fail "table has no row \"$title\""
  done

  [[ -f $json ]] || fail "no JSON written to $json"
  run jq -r '[.rows[].id] | join(" ")' "$json"
  [[ $output == "run seccomp cycle exec seq par rss hwm" ]] || fail "rows: $output"

  # husk-oci exec may not exist yet: then its cell is null with a note, never a number.
  if "$HUSK_BUILD/bin/husk-oci" --help | grep -qE '^ +exec( |$)'; then husk_exec=true; else husk_exec=false; fi
  run jq -r --argjson husk_exec "$husk_exec" '
    def stat: type == "object" and (.median | type) == "number" and (.p10 | type) == "number"
      and (.p90 | type) == "number" and .n >= 1 and .p10 <= .median and .median <= .p90;
    .rows[] as $r
    | ((["crun", "runc"] + (if $r.id == "exec" and ($husk_exec | not) then [] else ["husk"] end))[]
       | select(($r[.] | stat) | not) | "\($r.id): \(.) has no numbers"),
      (if $r.id == "exec" and ($husk_exec | not) and ($r.husk != null or ($r.husk_note | not))
       then "exec: husk must be null with a note while husk-oci has no exec" else empty end),
      (if $r.id == "run" and (($r.crun_nocgroups | stat) | not)
       then "run: no numbers for crun without cgroups" else empty end),
      (if ($r.id | IN("run", "seq", "par", "rss")) and (($r.floor | stat) | not)
       then "\($r.id): no floor" else empty end),
      (if $r.husk != null and (($r.ratio_husk_crun | type) != "number" or ($r.ratio_husk_runc | type) != "number")
       then "\($r.id): no ratios" else empty end),
      (if ($r.id | IN("rss", "hwm")) then
         (["husk", "crun", "runc"][] | select($r[.] != null and $r[.].median < 100)
          | "\($r.id): \(.) peak RSS below 100 KiB") else empty end)
    ' "$json"
  [[ -z $output ]] || fail "$output"

  # Issue 16: a ratio is taken per round, then its median and range over the rounds; the
  # timed rows have 2 rounds here, and each round's ratio is husk's median over crun's in it.
  run jq -r --argjson husk_exec "$husk_exec" '
    def spread: type == "object" and .n >= 1 and .min <= .median and .median <= .max
      and (.rounds | length) == .n and (.rounds | min) == (.min * 1000 | round / 1000);
    .rows[] as $r | select($r.id | IN("run", "seccomp", "cycle", "exec", "seq", "par"))
    | select($r.id != "exec" or $husk_exec)
    | (if $r.rounds != 2 then "\($r.id): \($r.rounds) rounds, want 2" else empty end),
      (if $r.method != "sandbox" then "\($r.id): method \($r.method)" else empty end),
      (["husk_crun", "husk_runc"] + (if $r.id | IN("run", "seq", "par") then ["husk_floor"] else [] end))[]
      | select(($r.ratios[.] | spread) | not) | "\($r.id): no per-round \(.) ratios: \($r.ratios[.])"
    ' "$json"
  [[ -z $output ]] || fail "$output"
  # The median of the per-round ratios is the row's ratio.
  run jq -r '.rows[] | select(.id == "run") | [.ratio_husk_crun, .ratios.husk_crun.median] | @tsv' "$json"
  read -r a b <<<"$output"
  [[ $a == "$b" && $a != null ]] || fail "run: ratio_husk_crun $a, per-round median $b"

  run jq -r '.harness.note' "$json"
  [[ $output == *husk_timeit* ]] || fail "harness: $output"
  run jq -r '.config.state_roots' "$json"
  [[ $output == tmpfs* ]] || fail "state roots: $output"

  run jq -r '.harness.run.median, .harness.seccomp.median, .harness.cycle.median, .harness.exec.median, .harness.seq.median,
             .harness.par.median, .machine.nproc, .machine.runc, .machine.crun, .machine.cgroups' "$json"
  for v in "${lines[@]}"; do [[ -n $v && $v != null ]] || fail "machine/harness field missing: ${lines[*]}"; done
  # The runtimes ran in the bench's own cgroup namespace: plain v1, no cgroup2.
  [[ ${lines[9]} == *"cgroup2: no" ]] || fail "cgroups seen by the runtimes: ${lines[9]}"

  # Micro-benchmarks: present when husk_bench is built, else a note says why not.
  if [[ -x $HUSK_BUILD/bin/husk_bench ]]; then
    run jq -r '[.micro[] | select(.cpu_time_ns > 0) | .name] | join(" ")' "$json"
    for b in BM_ParseConfigRuncDefault BM_LoadBundle BM_MountPlanRuncDefault BM_ResourcesRuncDefault \
             BM_V1DevicesRuncDefault BM_SeccompCompileDocker/3; do
      [[ " $output " == *" $b "* ]] || fail "micro: no $b in: $output"
    done
  else
    run jq -r '.micro_note' "$json"
    [[ $output == *husk_bench* ]] || fail "no micro_note without husk_bench"
  fi

  # Nothing left behind: the bench's temp dir, its containers' cgroups, its sandbox cgroup.
  leftover=$(ls -A "$WORK/tmp")
  [[ -z $leftover ]] || fail "left in TMPDIR: $leftover"
  prefix=$(jq -r .id_prefix "$json")
  [[ -n $prefix && $prefix != null ]] || fail "no id_prefix"
  left=$(cgroups_named "$prefix"; cgroups_named husk-bench-)
  [[ -z $left ]] || fail "cgroups left: $left"
  run jq -r 'has("net")' "$json"
  [[ $output == false ]] || fail "--no-net still ran bench/net"

  # The wrapper method (bench/wrapper) ran too: its rows, per-round ratios, the wrapper's own
  # cost, and the memory row, where every runtime made a cgroup in each v1 hierarchy.
  grep -qF "the wrapper method (bench/wrapper" <<<"$bench_out" || fail "no table of the wrapper method"
  run jq -r '[.wrapper.rows[].id] | join(" ")' "$json"
  [[ $output == "run cycle exec exec-idle exec-busy seq par" ]] || fail "wrapper rows: $output"
  v1=$(grep -c ' - cgroup ' /proc/self/mountinfo)
  run jq -r --argjson v1 "$v1" '
    def spread: type == "object" and .n >= 1 and .min <= .median and .median <= .max;
    .wrapper as $w
    | ($w.rows[] as $r
       | (if $r.method != "wrapper" or $r.rounds != 2 then "\($r.id): method \($r.method), \($r.rounds) rounds" else empty end),
         (["husk", "husk_ro", "crun", "runc", "wrap"][] | select(($r[.] | spread) | not) | "\($r.id): \(.) has no numbers"),
         (if $r.wrap.median <= 0 then "\($r.id): the wrapper cost nothing" else empty end),
         (["husk_crun", "husk_ro_crun", "husk_runc"][] | select(($r.ratios[.] | spread) | not) | "\($r.id): no per-round \(.)"),
         (if ($r.id | IN("run", "exec", "exec-idle", "exec-busy", "seq", "par"))
             and (($r.ratios.husk_floor | spread) | not)
          then "\($r.id): no husk/floor" else empty end)),
      (["husk", "crun", "runc"][] as $rt | $w.memory[$rt]
       | (["memavailable_kib", "slab_kib", "shmem_kib", "kernel_stack_kib", "page_tables_kib", "memcg_kib"][]
          | select(($rt as $x | $w.memory[$x][.] | spread) | not) | "memory: \($rt) has no \(.)"),
         (if .memcg_kib.median <= 0 then "memory: nothing charged to \($rt)s memory cgroups" else empty end),
         (if .cgroup_dirs.median < $v1 then "memory: \($rt) made \(.cgroup_dirs.median) cgroups per container, not one in each of \($v1) v1 hierarchies" else empty end)),
      (if $w.memory.n != 3 then "memory: n \($w.memory.n), want 3" else empty end)
    ' "$json"
  [[ -z $output ]] || fail "$output"
  prefix=$(jq -r .wrapper.id_prefix "$json")
  [[ $prefix == hkw* ]] || fail "wrapper id_prefix: $prefix"
  # Nothing of it left: cgroups, nor what crun makes where cgroup2 was (bench/wrapper puts a
  # tmpfs of its own there).
  left=$(cgroups_named "$prefix"; cgroups_named husk-bench-w-
    unshare -m --propagation private sh -c "umount -l /sys/fs/cgroup/unified 2>/dev/null &&
      ls -d /sys/fs/cgroup/unified/$prefix* 2>/dev/null" || true)
  [[ -z $left ]] || fail "wrapper left: $left"
}

# What the host has that a bench run could have left, by the names the bench gives things
# (PREFIX: its id prefix) and the names of the bridges it makes: network namespaces, links,
# husk's leases, state and files under /run, nft elements (their comments name containers),
# cgroups, what the sandbox's dropped cgroup2 mount point holds, processes, uprobes.
host_traces() {
  local prefix=$1
  ip netns list | awk -v p="$prefix" 'index($1, p) == 1 { print "netns " $1 }'
  ip -o link show | awk -F': ' -v p="$prefix" '{ sub(/@.*/, "", $2) }
    index($2, p) == 1 || $2 == "hkbcni0" || $2 == "podman0" { print "link " $2 }'
  grep -ls "\"$prefix" /run/husk-net/*.leases 2>/dev/null | sed 's/^/lease in /'
  ls -d /run/husk-net/containers/"$prefix"* /run/husk/"$prefix"* /run/netns/"$prefix"* 2>/dev/null
  if command -v nft >/dev/null; then
    nft list ruleset 2>/dev/null | grep -F "$prefix" | sed 's/^/nft: /'
  fi
  cgroups_named "$prefix"
  cgroups_named husk-bench-
  unshare -m --propagation private sh -c "umount -l /sys/fs/cgroup/unified 2>/dev/null &&
    ls -d /sys/fs/cgroup/unified/$prefix* /sys/fs/cgroup/unified/libpod_parent 2>/dev/null" || true
  pgrep -a -f -- "$prefix|$WORK/tmp" | sed 's/^/process /'
  unshare -m --propagation private sh -c 'mount -t tracefs none /sys/kernel/tracing 2>/dev/null;
    grep huskbench /sys/kernel/tracing/uprobe_events 2>/dev/null' || true
}

@test "bench/net --quick: every row has numbers, and nothing is left behind" {
  for b in husk husk-oci husk_timeit; do
    [[ -x $HUSK_BUILD/bin/$b ]] || fail "build $b first ($HUSK_BUILD)"
  done
  local json=$WORK/net.json lock_before=false links_before
  [[ -e /dev/shm/libpod_lock ]] && lock_before=true
  links_before=$(ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort)
  run --separate-stderr env TMPDIR="$WORK/tmp" timeout --kill-after=10 400 \
    "$HUSK_SRC/bench/net" --quick --runs 2 --json "$json"
  echo "$output"
  echo "$stderr" >&2
  [[ $status -eq 0 ]] || fail "bench/net exited $status"
  [[ ${lines[0]} == row*unit*median* ]] || fail "no table header"
  for title in "husk run --net none true" "husk run --net bridge true" \
               "husk run --net bridge -p 8080:80 true" "podman run --rm --network bridge true" \
               "CNI bridge + host-local + portmap: ADD + DEL" "iperf3 through a plain veth pair" \
               "iperf3 into a container with --ingress-rate 100mbit"; do
    grep -qF "$title" <<<"$output" || fail "table has no row \"$title\""
  done
  grep -q "husk::net::Attachment::plumb" <<<"$output" || fail "no phase table"

  [[ -f $json ]] || fail "no JSON written to $json"
  run jq -r '[.rows[].id] | join(" ")' "$json"
  [[ $output == "none bridge publish seq_none seq_bridge seq_publish seqd_none seqd_bridge seqd_publish podman_none podman_bridge podman_publish cni cni_portmap harness iperf_husk iperf_veth iperf_rate" ]] ||
    fail "rows: $output"
  # Every row has numbers. A batch of runs with one --name may fail instead (husk's host
  # veth name was the container's, and the previous run's veth may not be gone yet): then
  # the row carries husk's message.
  run jq -r '
    def stat: type == "object" and (.median | type) == "number" and (.p10 | type) == "number"
      and (.p90 | type) == "number" and .n >= 1 and .p10 <= .median and .median <= .p90
      and .median > 0;
    .rows[]
    | if (.stats | stat) then empty
      elif (.id | startswith("seq_")) and (.failures.error | type) == "string"
           and (.failures.error | length) > 0 then empty
      else "\(.id): no numbers (\(.failures // .note // ""))" end,
      (select(.base != null and .stats != null and .delta == null and .ratio == null)
       | "\(.id): no delta or ratio against \(.base)")
    ' "$json"
  [[ -z $output ]] || fail "$output"
  run jq -r '.summary | to_entries[] | select(.value | type != "number") | .key' "$json"
  [[ -z $output ]] || fail "summary without numbers: $output"
  run jq -r '[.targets[] | select((.met | type) == "boolean" and (.measured | type) == "number")] | length' "$json"
  [[ $output == 4 ]] || fail "targets: $output"
  # Where the time goes: husk's plumbing and teardown in every run, the port rules with -p.
  run jq -r '.phases as $p | ($p.note // empty),
    (["bridge", "publish"][] as $v | ["husk::net::Attachment::plumb", "husk::net::Attachment::teardown"][] as $f
     | select([$p[$v].functions[] | select(.fn == $f and .median_ms > 0)] | length == 0) | "\($v): no \($f)"),
    (select([$p.publish.functions[] | select(.fn == "husk::net::Firewall::add_ports")] | length == 0)
     | "publish: no add_ports")' "$json"
  [[ -z $output ]] || fail "phases: $output"

  # Nothing left behind: the temp dir, and on the host nothing named by the bench.
  [[ -z $(ls -A "$WORK/tmp") ]] || fail "left in TMPDIR: $(ls -A "$WORK/tmp")"
  local prefix left
  prefix=$(jq -r .id_prefix "$json")
  [[ $prefix == hkn* ]] || fail "id_prefix: $prefix"
  left=$(host_traces "$prefix")
  [[ -z $left ]] || fail "left on the host: $left"
  # podman's lock file is the sandbox's /dev/shm's, not the host's.
  $lock_before || [[ ! -e /dev/shm/libpod_lock ]] || fail "podman's /dev/shm/libpod_lock on the host"
  # The host's own links are as they were, but for what other tests add meanwhile: none of
  # the bench's kinds (a bridge or veth of the bench would carry one of its names, above).
  left=$(comm -13 <(echo "$links_before") \
    <(ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort) | grep -E '^(hkn|hkbcni|podman|cni)' || true)
  [[ -z $left ]] || fail "new links on the host: $left"
}

@test "bench/net: bad options are refused with a one-line error" {
  run --separate-stderr "$HUSK_SRC/bench/net" --runs 0
  [[ $status -eq 2 && $stderr == "bench/net: counts must be whole numbers >= 1" ]] || fail "--runs 0: $status $stderr"
  run --separate-stderr "$HUSK_SRC/bench/net" --iperf-time
  [[ $status -eq 2 && $stderr == "bench/net: --iperf-time needs a number" ]] || fail "--iperf-time: $status $stderr"
  run --separate-stderr "$HUSK_SRC/bench/net" --frobnicate
  [[ $status -eq 2 && ${stderr_lines[0]} == "bench/net: unknown option --frobnicate" ]] || fail "$stderr"
  run --separate-stderr env HUSK_BUILD="$WORK/nowhere" "$HUSK_SRC/bench/net" --quick
  [[ $status -eq 1 && $stderr == "bench/net: $WORK/nowhere/bin/husk not found (build first or set HUSK_BUILD)" ]] \
    || fail "missing build: $status $stderr"
  [[ -z $(ls -A "$WORK/tmp") ]]
}

@test "husk_timeit: runs tasks in order, numbers them, times them, and reports failures" {
  timeit=$HUSK_BUILD/bin/husk_timeit
  [[ -x $timeit ]] || fail "build husk_timeit first ($HUSK_BUILD)"
  run --separate-stderr "$timeit" -n 3 -o "$WORK/us" sh -c 'echo "a{}"' ::: sh -c 'echo "b{}"'
  [[ $status -eq 0 ]] || fail "exited $status: $stderr"
  [[ $output == $'a0\nb0\na1\nb1\na2\nb2' ]] || fail "output: $output"
  [[ $(<"$WORK/us") =~ ^[0-9]+$ ]] || fail "elapsed: $(<"$WORK/us")"
  # 4 tasks of 0.2 s, 2 at a time: about 0.4 s, not 0.8 s.
  run --separate-stderr "$timeit" -n 4 -j 2 sleep 0.2
  [[ $status -eq 0 && $output -ge 400000 && $output -lt 750000 ]] || fail "parallel: $status $output"
  # A failing command is named, stops the run, and the status is 1; no time is printed.
  run --separate-stderr "$timeit" -n 5 sh -c 'exit 3' ::: touch "$WORK/never"
  [[ $status -eq 1 && -z $output && $stderr == "husk_timeit: task 0: sh exited 3" ]] ||
    fail "failure: $status [$output] [$stderr]"
  [[ ! -e $WORK/never ]] || fail "the next command of a failed task ran"
  run --separate-stderr "$timeit" -n 0 true
  [[ $status -eq 2 && ${stderr_lines[0]} == 'husk_timeit: -n needs a whole number >= 1, not "0"' ]] ||
    fail "bad -n: $status $stderr"
}

@test "bench/run: bad options are refused with a one-line error" {
  run --separate-stderr "$BENCH" --runs 0
  [[ $status -eq 2 ]] || fail "--runs 0 exited $status"
  [[ $stderr == "bench/run: counts must be whole numbers >= 1" ]] || fail "stderr: $stderr"
  run --separate-stderr "$BENCH" --seq
  [[ $status -eq 2 && $stderr == "bench/run: --seq needs a number" ]] || fail "--seq: $status $stderr"
  run --separate-stderr "$BENCH" --frobnicate
  [[ $status -eq 2 && ${stderr_lines[0]} == "bench/run: unknown option --frobnicate" ]] || fail "$stderr"
  run --separate-stderr env HUSK_BUILD="$WORK/nowhere" "$BENCH" --quick
  [[ $status -eq 1 && $stderr == "bench/run: $WORK/nowhere/bin/husk-oci not found (build first or set HUSK_BUILD)" ]] \
    || fail "missing build: $status $stderr"
  [[ -z $(ls -A "$WORK/tmp") ]]
}

@test "bench/wrapper: bad options are refused with a one-line error" {
  run --separate-stderr "$HUSK_SRC/bench/wrapper" --mem-n 0
  [[ $status -eq 2 && $stderr == "bench/wrapper: counts must be whole numbers >= 1" ]] || fail "--mem-n 0: $status $stderr"
  run --separate-stderr "$HUSK_SRC/bench/wrapper" --rounds
  [[ $status -eq 2 && $stderr == "bench/wrapper: --rounds needs a number" ]] || fail "--rounds: $status $stderr"
  run --separate-stderr "$HUSK_SRC/bench/wrapper" --frobnicate
  [[ $status -eq 2 && ${stderr_lines[0]} == "bench/wrapper: unknown option --frobnicate" ]] || fail "$stderr"
  run --separate-stderr env HUSK_BUILD="$WORK/nowhere" "$HUSK_SRC/bench/wrapper" --quick
  [[ $status -eq 1 && $stderr == "bench/wrapper: $WORK/nowhere/bin/husk-oci not found (build first or set HUSK_BUILD)" ]] \
    || fail "missing build: $status $stderr"
  left=$(cgroups_named husk-bench-w-)
  [[ -z $left ]] || fail "cgroups left: $left"
}

@test "bench/containers: every row has numbers, husk and podman, and nothing is left behind" {
  for b in husk husk-monitor husk_timeit; do
    [[ -x $HUSK_BUILD/bin/$b ]] || fail "build $b first ($HUSK_BUILD)"
  done
  local json=$WORK/ctr.json prefix left
  run --separate-stderr env TMPDIR="$WORK/tmp" timeout --kill-after=10 120 \
    "$HUSK_SRC/bench/containers" --n 3 --podman-n 1 --runs 2 --json "$json"
  echo "$output"
  echo "$stderr" >&2
  [[ $status -eq 0 ]] || fail "bench/containers exited $status"
  [[ ${lines[0]} == row*unit*median* ]] || fail "no table header"
  run jq -r '[.rows[].id] | join(" ")' "$json"
  [[ $output == "start_fg start_d monitor_hwm conmon_hwm start_all ps ps_aq stats rm_all" ]] || fail "rows: $output"
  run jq -r '
    def stat: type == "object" and (.median | type) == "number" and .median > 0 and .n >= 1
      and .p10 <= .median and .median <= .p90;
    .rows[] | select((.stats | stat) | not) | "\(.id): no numbers",
    (select(.id == "monitor_hwm" and .stats.n != 3) | "monitor_hwm: \(.stats.n) monitors, want 3"),
    (select(.id | IN("monitor_hwm", "conmon_hwm")) | select(.stats.median < 100) | "\(.id) below 100 KiB")' "$json"
  [[ -z $output ]] || fail "$output"
  run jq -r '.memory.husk.monitor_pss_per_container_kib, .memory.podman.conmon_pss_per_container_kib,
             .memory.husk.memavailable_per_container_kib, .memory.podman.memavailable_per_container_kib' "$json"
  for v in "${lines[@]}"; do [[ $v =~ ^-?[0-9.]+$ ]] || fail "memory: ${lines[*]}"; done
  (( ${lines[0]%.*} > 0 && ${lines[1]%.*} > 0 )) || fail "Pss: ${lines[*]}"
  run jq -r '.rm_all_clean, ([.targets[] | select((.met | type) == "boolean")] | length)' "$json"
  [[ ${lines[0]} == true && ${lines[1]} == 5 ]] || fail "rm_all_clean / targets: ${lines[*]}"

  [[ -z $(ls -A "$WORK/tmp") ]] || fail "left in TMPDIR: $(ls -A "$WORK/tmp")"
  prefix=$(jq -r .id_prefix "$json")
  [[ $prefix == hkc* ]] || fail "id_prefix: $prefix"
  left=$(ls -d /run/husk/"$prefix"* 2>/dev/null; cgroups_named "$prefix"; cgroups_named husk-bench-ctr-
         pgrep -a -f -- "$prefix|$WORK/tmp" | sed 's/^/process /')
  [[ -z $left ]] || fail "left on the host: $left"
}

@test "bench/containers: bad options are refused with a one-line error" {
  run --separate-stderr "$HUSK_SRC/bench/containers" --n 0
  [[ $status -eq 2 && $stderr == "bench/containers: counts must be whole numbers >= 1" ]] || fail "--n 0: $status $stderr"
  run --separate-stderr "$HUSK_SRC/bench/containers" --runs
  [[ $status -eq 2 && $stderr == "bench/containers: --runs needs a number" ]] || fail "--runs: $status $stderr"
  run --separate-stderr "$HUSK_SRC/bench/containers" --frobnicate
  [[ $status -eq 2 && ${stderr_lines[0]} == "bench/containers: unknown option --frobnicate" ]] || fail "$stderr"
  run --separate-stderr env HUSK_BUILD="$WORK/nowhere" "$HUSK_SRC/bench/containers"
  [[ $status -eq 1 && $stderr == "bench/containers: $WORK/nowhere/bin/husk not found (build first or set HUSK_BUILD)" ]] \
    || fail "missing build: $status $stderr"
  [[ -z $(ls -A "$WORK/tmp") ]]
}
