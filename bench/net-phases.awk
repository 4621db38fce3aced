# bench/net-phases.awk: one husk run's time per function, from uprobes (bench/net, phases).
#
#   perf script -F tid,time,event,trace | awk -v variant=V -v run=R -f net-phases.awk PROBES -
#
# PROBES has "eN<TAB>function" lines: uprobe eN fires at the function's entry, xN at its
# return. perf script lines are "TID SECONDS: GROUP:eN: ..." (or xN), and the close(2)
# tracepoints "TID SECONDS: syscalls:sys_enter_close: fd: 0x..." / "...sys_exit_close: ...".
# Prints, for each function that ran, "V<TAB>R<TAB>function<TAB>calls<TAB>ms": its inclusive
# wall time summed over its outermost calls (a call inside another call of the same function
# is not counted twice). Only the husk process itself is counted (the thread of the first
# probe that fired); its container's init is another thread. "main" is entered twice, once
# before husk re-executes itself from its sealed view: a new entry to main starts afresh.
# Pseudo-functions: "close(2)" is the time husk spent in close calls, "close(2) in
# ~Firewall" the part of it inside husk::net::Firewall::~Firewall (closing libnftables'
# netlink socket).
BEGIN { FS = "\t" }
FNR == NR { fn_of[$1] = $2; next }
{
  split($0, f, " ")
  tid = f[1]; t = f[2]; sub(/:$/, "", t); ev = f[3]; sub(/:$/, "", ev)
  n = split(ev, parts, ":"); name = parts[n]
  if (ev ~ /^syscalls:/) {
    if (tid != husk_tid) next
    if (name == "sys_enter_close") close_start = t
    else if (name == "sys_exit_close" && close_start != "") {
      d = t - close_start; close_start = ""
      calls["close(2)"]++; total["close(2)"] += d
      if (depth["husk::net::Firewall::~Firewall"] > 0) {
        calls["close(2) in ~Firewall"]++; total["close(2) in ~Firewall"] += d
      }
    }
    next
  }
  key = name; sub(/^[ex]/, "e", key)
  if (!(key in fn_of)) next
  if (husk_tid == "") husk_tid = tid
  if (tid != husk_tid) next
  fn = fn_of[key]
  if (name ~ /^e/) {
    if (fn == "main") { for (g in depth) depth[g] = 0 }
    depth[fn]++
    start[fn, depth[fn]] = t
  } else if (depth[fn] > 0) {
    d = t - start[fn, depth[fn]]
    depth[fn]--
    calls[fn]++
    if (depth[fn] == 0) total[fn] += d
  }
}
END {
  for (fn in calls) printf "%s\t%s\t%s\t%d\t%.3f\n", variant, run, fn, calls[fn], total[fn] * 1000
}
