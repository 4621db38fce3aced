#!/usr/bin/env bats
# bench/run must keep working: a very short run (2 iterations, 5 sequential, 16 in parallel
# by 8) has to produce every row with numbers for husk-oci, crun and runc, and leave
# nothing behind. The numbers themselves are not judged here (see docs/benchmarks.md).

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
    --runs 2 --seq 5 --par-total 16 --par-jobs 8 --batch-reps 1 --rss-runs 1 \
    --micro-time 0.001 --json "$json"
  echo "$output"
  echo "$stderr" >&2
  [[ $status -eq 0 ]] || fail "bench/run exited $status"

  # The table on stdout: a header and one line per row.
  [[ ${lines[0]} == row*husk*crun*runc*husk/crun*husk/runc ]] || fail "no table header"
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
