# shellcheck shell=bash
# Sourced by bench/run and bench/profile: the sandbox the runtimes are compared in.
#
# enter_bench_sandbox [--net] SCRIPT ARGS...: outside the sandbox, a child joins the cgroup
# husk-bench-<pid> in every hierarchy but memory, unshares the mount and cgroup namespaces
# and runs SCRIPT ARGS... again inside; when it is done the cgroup is removed and the
# caller exits with its status. Inside (HUSK_BENCH_INNER=1), every cgroup v1 hierarchy is
# mounted afresh, so its root is the namespace's (the bench's own cgroup), the cgroup2 mount
# is gone, and the function returns. The hierarchies are mounted on a tmpfs of the sandbox's
# own: crun and podman make directories in the empty mount point of the dropped cgroup2, which
# would otherwise be the host's /sys/fs/cgroup tmpfs, hidden under its cgroup2 mount, forever.
#
# With --net the sandbox also has a network namespace of its own, with only lo (brought up
# here): bridges, veths, nftables tables, iptables rules, ip_forward and every packet the
# bench sends stay in it and go with it. The host's interfaces and firewall are out of reach.
#
# There the three runtimes see the same plain cgroup v1 host and each makes and joins a
# cgroup in every hierarchy. Outside, crun 1.8 refuses this hybrid host, and runc and crun
# put a container with no cgroupsPath at the roots of the host's hierarchies. The memory
# hierarchy keeps our own cgroup as its namespace root: the machine's memory cgroup is not
# ours to move processes out of, and containers nest below it.

# cgroup_mounts, join_cgroups NAME PID, remount_cgroups [--drop-v2] [--on-tmpfs]
# shellcheck source=tests/fixtures/cgroup-ns.bash
source "$(dirname "${BASH_SOURCE[0]}")/../tests/fixtures/cgroup-ns.bash"

enter_bench_sandbox() {
  local net=()
  if [[ $1 == --net ]]; then net=(--net); shift; fi
  local script=$1
  shift
  if [[ ${HUSK_BENCH_INNER:-} != 1 ]]; then
    bench_sandbox_cg=husk-bench-$$
    # shellcheck disable=SC2317  # run by the EXIT trap
    remove_bench_sandbox() {
      local mp type opts
      while read -r mp type opts; do
        [[ -d $mp/$bench_sandbox_cg ]] || continue
        find "$mp/$bench_sandbox_cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
        [[ ! -d $mp/$bench_sandbox_cg ]] || echo "bench: could not remove $mp/$bench_sandbox_cg" >&2
      done < <(cgroup_mounts)
    }
    trap remove_bench_sandbox EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    # The inner run's exit status is ours (set -e); the EXIT trap cleans up either way.
    (
      join_cgroups "$bench_sandbox_cg" "$BASHPID"
      HUSK_BENCH_INNER=1 exec unshare --mount --cgroup "${net[@]}" --propagation private -- \
        "$script" "$@"
    )
    exit 0
  fi
  unset HUSK_BENCH_INNER
  remount_cgroups --drop-v2 --on-tmpfs
  if (( ${#net[@]} )); then ip link set lo up; fi
}

# state_roots DIR: inside the sandbox, a tmpfs at DIR (made here) for the runtimes' --root
# dirs, as /run is on a usual host (the development VM has /run on ext4, where a container's
# state files cost husk-oci 2.4 ms more per run than on tmpfs, crun 1.1 ms, runc 1.8 ms). The
# sandbox's mount namespace is private: nobody else sees it, and it goes with the sandbox;
# callers umount it before they remove DIR.
state_roots() {
  mkdir "$1"
  mount -t tmpfs -o mode=0700,size=64m husk-bench-roots "$1"
}

# private_run: inside a sandbox, a tmpfs over /run. What programs keep under /run by fixed
# paths (husk's /run/husk and /run/husk-net, netavark's /run/containers/networks, CNI
# plugins' /run/xtables.lock, `ip netns`'s /run/netns) is then the sandbox's alone, on a
# tmpfs as /run is on a usual host, and goes with it; nothing lands in the host's /run (on
# the development VM a directory on the root ext4). The host's /run is hidden meanwhile.
private_run() {
  mount -t tmpfs -o mode=0755,nosuid,nodev,size=64m husk-bench-run /run
}
