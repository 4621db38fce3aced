# bench/net-phases.awk: husk runs' time per function, from uprobes (bench/net, phases).
#
#   perf script -F tid,time,event,trace | awk -v variant=V -f net-phases.awk PROBES -
#
# PROBES has "eN<TAB>function" lines: uprobe eN fires at the function's entry, xN at its
# return. perf script lines are "TID SECONDS: GROUP:eN: ..." (or xN), and the close(2)
# tracepoints "TID SECONDS: syscalls:sys_enter_NAME: ..." / "...sys_exit_NAME: ..." of any
# syscalls recorded (bench/net: close, and clone3, whose time includes making the container's
# namespaces).
# The trace may hold several husk runs, one after the other: a run is a process that entered
# husk's main (its container's init is another thread, and is not counted). For each run and
# each function that ran, prints "V<TAB>TID<TAB>function<TAB>calls<TAB>ms": the function's
# inclusive wall time summed over its outermost calls (a call inside another call of the same
# function is not counted twice). main is entered twice per run, once before husk
# re-executes itself from its sealed view: a new entry to main starts afresh.
# Workqueue tracepoints ("TID SECONDS: workqueue:workqueue_execute_start: work struct 0x...:
# function cleanup_net", and _end) give the time the kernel's worker spent tearing network
# namespaces down: "cleanup_net (kernel worker, mean)" is its total over the trace divided by
# the runs (it works in batches, after the runs, so it is no one run's).
# Pseudo-functions: "NAME(2)" is the time the run spent in that syscall (a clone3 counts in
# the parent only: the child returns from it on another thread), "close(2) in ~Firewall" the
# part of close's inside husk::net::Firewall::~Firewall (libnftables' netlink socket).
BEGIN { FS = "\t"; fw = "husk::net::Firewall::~Firewall" }
FNR == NR { fn_of[$1] = $2; next }
{
  nf = split($0, f, " ")
  tid = f[1]; t = f[2]; sub(/:$/, "", t); ev = f[3]; sub(/:$/, "", ev)
  n = split(ev, parts, ":"); name = parts[n]
  if (ev ~ /^workqueue:/) {
    # "work struct 0x...: function cleanup_net": the kernel tearing network namespaces down
    if (f[nf] != "cleanup_net") next
    if (name == "workqueue_execute_start") wq_start[f[6]] = t
    else if (wq_start[f[6]] != "") {
      wq_total += t - wq_start[f[6]]; wq_count++; wq_start[f[6]] = ""
    }
    next
  }
  if (ev ~ /^syscalls:/) {
    if (!(tid in is_run)) next
    sc = name; sub(/^sys_(enter|exit)_/, "", sc)
    if (name ~ /^sys_enter_/) sys_start[tid, sc] = t
    else if (sys_start[tid, sc] != "") {
      d = t - sys_start[tid, sc]; sys_start[tid, sc] = ""
      add(tid, sc "(2)", d)
      if (sc == "close" && depth[tid, fw] > 0) add(tid, "close(2) in ~Firewall", d)
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
  # The kernel's worker frees namespaces in batches, after the runs that left them: its busy
  # time over the whole trace, shared out evenly.
  for (tid in is_run) runs++
  for (tid in is_run)
    printf "%s\t%s\t%s\t%.3f\t%.3f\n", variant, tid, "cleanup_net (kernel worker, mean)",
      wq_count / runs, wq_total * 1000 / runs
}
