# shellcheck shell=bash
# Sourced by bench/run and bench/wrapper: samples taken in interleaved rounds (issue 16).
#
# One round runs every contender of a row, RUNS times each, one after the other in an order
# that rotates; a row is ROUNDS such rounds. The ratio of two contenders is taken per round
# (median against median in the same round), and a row reports the median and the range of
# those ratios over its rounds (rounds.jq). One long round would let a burst of load on this
# shared machine fall on whichever contender ran then; many short rounds put every burst into
# one round's ratio, and the median over rounds sets it aside, while the range shows it.
#
# The caller defines: timed_cmd ROW LABEL (the husk_timeit arguments of one sample in $tcmd),
# optionally before_sample ROW LABEL (run right before each sample, untimed), fail_cmd, and the variables timeit_bin, tmp, errlog, samples (the TSV written here: row,
# label, microseconds, iteration, round) and settle (seconds of rest before a batch).
# shellcheck disable=SC2154  # those variables are the caller's

# sample ROW LABEL ITERATION ROUND: times one sample and records it (microseconds); a
# negative round is a warm-up, not recorded.
sample() {
  local row=$1 label=$2 iter=$3 round=$4 tcmd=()
  timed_cmd "$row" "$label"
  # The caller may prepare the host right before a sample (bench/wrapper's exec rows).
  if declare -F before_sample >/dev/null; then before_sample "$row" "$label"; fi
  "$timeit_bin" -o "$tmp/elapsed" "${tcmd[@]}" </dev/null >/dev/null 2>>"$errlog" ||
    fail_cmd "$row $label: ${tcmd[*]}"
  (( round >= 0 )) || return 0
  printf '%s\t%s\t%d\t%d\t%d\n' "$row" "$label" "$(<"$tmp/elapsed")" "$iter" "$round" >>"$samples"
}

# interleave ROW ROUNDS RUNS WARMUP LABEL...: WARMUP iterations (not recorded), then ROUNDS
# rounds of RUNS iterations; an iteration samples every label once, the first label rotating
# from one iteration to the next (and from one round to the next).
interleave() {
  local row=$1 rounds=$2 iters=$3 warm=$4 r i j k todo
  shift 4
  local labels=("$@") count=$#
  for ((r = -1; r < rounds; r++)); do
    todo=$iters
    (( r >= 0 )) || todo=$warm
    for ((i = 0; i < todo; i++)); do
      for ((j = 0; j < count; j++)); do
        k=$(( (i + j + r + 1) % count ))
        # A batch leaves the kernel work to do after it (network namespaces, cgroups and
        # mounts are freed by kernel workers): let it finish before the next batch starts.
        if [[ $row == seq || $row == par ]]; then sleep "$settle"; fi
        sample "$row" "${labels[k]}" "$i" "$r"
      done
    done
  done
}
