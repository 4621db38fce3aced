# shellcheck shell=bash
# Sourced by bench/run and bench/profile: the sandbox the runtimes are compared in.
#
# enter_bench_sandbox SCRIPT ARGS...: outside the sandbox, a child joins the cgroup
# husk-bench-<pid> in every hierarchy but memory, unshares the mount and cgroup namespaces
# and runs SCRIPT ARGS... again inside; when it is done the cgroup is removed and the
# caller exits with its status. Inside (HUSK_BENCH_INNER=1), every cgroup v1 hierarchy is
# mounted afresh, so its root is the namespace's (the bench's own cgroup), the cgroup2 mount
# is gone, and the function returns.
#
# There the three runtimes see the same plain cgroup v1 host and each makes and joins a
# cgroup in every hierarchy. Outside, crun 1.8 refuses this hybrid host, and runc and crun
# put a container with no cgroupsPath at the roots of the host's hierarchies. The memory
# hierarchy keeps our own cgroup as its namespace root: the machine's memory cgroup is not
# ours to move processes out of, and containers nest below it.

bench_cgroup_mounts() {  # "MOUNT_POINT FSTYPE SUPER_OPTIONS" of every cgroup mount
  awk '{ for (i = 7; $i != "-"; i++);
         if (($(i+1) == "cgroup" || $(i+1) == "cgroup2") && $5 ~ "^/sys/fs/cgroup/")
           print $5, $(i+1), $(i+3) }' /proc/self/mountinfo
}

enter_bench_sandbox() {
  local script=$1 mp type opts o f
  shift
  if [[ ${HUSK_BENCH_INNER:-} != 1 ]]; then
    bench_sandbox_cg=husk-bench-$$
    remove_bench_sandbox() {
      local mp type opts
      while read -r mp type opts; do
        [[ -d $mp/$bench_sandbox_cg ]] || continue
        find "$mp/$bench_sandbox_cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
        [[ ! -d $mp/$bench_sandbox_cg ]] || echo "bench: could not remove $mp/$bench_sandbox_cg" >&2
      done < <(bench_cgroup_mounts)
    }
    trap remove_bench_sandbox EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    # The inner run's exit status is ours (set -e); the EXIT trap cleans up either way.
    (
      while read -r mp type opts; do
        [[ ,$opts, == *,memory,* ]] && continue
        mkdir -p "$mp/$bench_sandbox_cg"
        # A new v1 cpuset has no cpus or mems, and no task may join it until it has.
        for f in cpuset.cpus cpuset.mems; do
          if [[ -f $mp/$bench_sandbox_cg/$f && -z $(<"$mp/$bench_sandbox_cg/$f") ]]; then
            cat "$mp/$f" >"$mp/$bench_sandbox_cg/$f"
          fi
        done
        echo "$BASHPID" >"$mp/$bench_sandbox_cg/cgroup.procs"
      done < <(bench_cgroup_mounts)
      HUSK_BENCH_INNER=1 exec unshare --mount --cgroup --propagation private -- "$script" "$@"
    )
    exit 0
  fi
  unset HUSK_BENCH_INNER
  while read -r mp type opts; do
    umount -l "$mp"
    [[ $type == cgroup2 ]] && continue
    o=${opts#rw}; o=${o#,}
    # A named v1 hierarchy without controllers needs "none", or every controller is asked for.
    if [[ $o == name=* && $o != *,* ]]; then o=none,$o; fi
    mount -t cgroup -o "rw,nosuid,nodev,noexec${o:+,$o}" cgroup "$mp"
  done < <(bench_cgroup_mounts)
}
