# bench/net-phases.awk: husk runs' time per function, from uprobes (bench/net, phases).
#
#   perf script -F tid,time,event,trace | awk -v variant=V -f net-phases.awk PROBES -
#
# PROBES has "eN<TAB>function" lines: uprobe eN fires at the function's entry, xN at its
# return. perf script lines are "TID SECONDS: GROUP:eN: ..." (or xN), and the close(2)
# tracepoints "TID SECONDS: syscalls:sys_enter_close: fd: 0x..." / "...sys_exit_close: ...".
# The trace may hold several husk runs, one after the other: a run is a process that entered
# husk's main (its container's init is another thread, and is not counted). For each run and
# each function that ran, prints "V<TAB>TID<TAB>function<TAB>calls<TAB>ms": the function's
# inclusive wall time summed over its outermost calls (a call inside another call of the same
# function is not counted twice). main is entered twice per run, once before husk
# re-executes itself from its sealed view: a new entry to main starts afresh.
# Pseudo-functions: "close(2)" is the time the run spent in close calls, "close(2) in
# ~Firewall" the part of it inside husk::net::Firewall::~Firewall (closing libnftables'
# netlink socket).
BEGIN { FS = "\t"; fw = "husk::net::Firewall::~Firewall" }
FNR == NR { fn_of[$1] = $2; next }
{
  split($0, f, " ")
  tid = f[1]; t = f[2]; sub(/:$/, "", t); ev = f[3]; sub(/:$/, "", ev)
  n = split(ev, parts, ":"); name = parts[n]
  if (ev ~ /^syscalls:/) {
    if (!(tid in is_run)) next
    if (name == "sys_enter_close") close_start[tid] = t
    else if (name == "sys_exit_close" && close_start[tid] != "") {
      d = t - close_start[tid]; close_start[tid] = ""
      add(tid, "close(2)", d)
      if (depth[tid, fw] > 0) add(tid, "close(2) in ~Firewall", d)
    }
    next
  }
  key = name; sub(/^[ex]/, "e", key)
  if (!(key in fn_of)) next
  fn = fn_of[key]
  if (name ~ /^e/ && fn == "main") {
    is_run[tid] = 1
    for (k in depth) { split(k, kk, SUBSEP); if (kk[1] == tid) depth[k] = 0 }
  }
  if (!(tid in is_run)) next
  if (name ~ /^e/) {
    depth[tid, fn]++
    start[tid, fn, depth[tid, fn]] = t
  } else if (depth[tid, fn] > 0) {
    d = t - start[tid, fn, depth[tid, fn]]
    depth[tid, fn]--
    if (depth[tid, fn] == 0) add(tid, fn, d)
    else calls[tid, fn]++
  }
}
function add(tid, fn, d) {
  seen[tid, fn] = 1
  calls[tid, fn]++
  total[tid, fn] += d
}
END {
  for (k in seen) {
    split(k, kk, SUBSEP)
    printf "%s\t%s\t%s\t%d\t%.3f\n", variant, kk[1], kk[2], calls[k], total[k] * 1000
  }
}
