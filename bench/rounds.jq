# Statistics of interleaved rounds, for bench/run and bench/wrapper (jq -L bench 'include "rounds"; ...').
# Samples are the TSV lines of rounds.bash: row, label, microseconds, iteration, round.

# The p-quantile of a sorted array, interpolated.
def q($s; $p): ($s | length) as $n | ($p * ($n - 1)) as $x | ($x | floor) as $i
  | if $i + 1 < $n then $s[$i] + ($s[$i + 1] - $s[$i]) * ($x - $i) else $s[$i] end;
def r3: . * 1000 | round / 1000;
def round_all: with_entries(.value |= (if type == "number" then r3 else . end));

# Median, p10, p90, mean, stddev of an array of samples, divided by $scale.
def stats($scale):
  map(. / $scale) | sort as $s | ($s | add / length) as $m
  | {median: q($s; 0.5), p10: q($s; 0.1), p90: q($s; 0.9), mean: $m,
     stddev: (($s | map((. - $m) * (. - $m)) | add / length) | sqrt), n: ($s | length)};
# Median, min, max and count of an array (null when it is empty).
def spread: if length == 0 then null else sort as $s
  | {median: q($s; 0.5), min: $s[0], max: $s[-1], n: ($s | length)} end;

def parse_samples: [inputs | split("\t")
  | {row: .[0], label: .[1], v: (.[2] | tonumber), it: (.[3] | tonumber), round: (.[4] | tonumber)}];
# {"ROW\tLABEL\tROUND": [samples]}: every lookup below is one key.
def index_rounds: reduce .[] as $s ({}; .["\($s.row)\t\($s.label)\t\($s.round)"] += [$s.v]);
def round_ids($all; $row): [$all[] | select(.row == $row and .round >= 0) | .round] | unique;

# The median of LABEL in each round of ROW (scaled; null for a round without samples), less
# the median of MINUS in the same round when MINUS is not null (a wrapper's own cost).
def round_medians($idx; $all; $row; $lab; $minus; $scale):
  [round_ids($all; $row)[] as $r
   | ($idx["\($row)\t\($lab)\t\($r)"] // []) as $v
   | ($idx["\($row)\t\($minus)\t\($r)"] // []) as $w
   | if ($v | length) == 0 or ($minus != null and ($w | length) == 0) then null
     else (($v | sort) as $s | q($s; 0.5))
          - (if $minus == null then 0 else (($w | sort) as $t | q($t; 0.5)) end) end
   | if . == null then null else . / $scale end];

# A / B taken per round: the median and range over rounds, and every round's ratio.
def ratio_rounds($a; $b):
  [range(0; [$a | length, ($b | length)] | min) as $i
   | select($a[$i] != null and $b[$i] != null and $b[$i] > 0) | $a[$i] / $b[$i]] as $rs
  | if ($rs | length) == 0 then null
    else ($rs | spread | round_all) + {rounds: ($rs | map(r3))} end;
