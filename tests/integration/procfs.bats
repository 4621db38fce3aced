#!/usr/bin/env bats
# "/proc trusted nowhere": every write the runtime makes into /proc goes through a procfs of
# its own (src/linux/procfs.h), and cap_last_cap is probed, not read. The attacker is
# emulated by a createRuntime hook: it runs on the host once the container's mounts exist
# and before pivot_root, with the init's host pid on its stdin, and puts a mount over part
# of the container's /proc, as the winner of runc's CVE-2025-52881 race (shared-mount
# redirection of /proc writes) would. Each test checks both sides: the host file the mount
# brought in is untouched, and the real procfs file has the value.

load helpers

# mount_in_init_hook MOUNT ARGS...: a createRuntime hook that runs `mount ARGS...` in the
# init's mount namespace (the init's pid comes from the state on stdin).
mount_in_init_hook() {
  update_config '.hooks.createRuntime = [{path: "/bin/sh",
      args: (["sh", "-c", "pid=$(jq -r .pid) && exec nsenter --mount --target \"$pid\" mount \"$@\"",
              "hook"] + $ARGS.positional),
      env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]}]' --args -- "$@"
}

@test "procfs: a sysctl is not written through a directory mounted over the container's /proc/sys" {
  husk_only "runc before 1.2.8 writes through the container's /proc"
  # A host directory shaped like /proc/sys: a write by path lands in its kernel/domainname.
  mkdir -p "$TEST_TMP/fake-sys/kernel"
  echo sentinel >"$TEST_TMP/fake-sys/kernel/domainname"
  update_config '.linux.sysctl = {"kernel.domainname": "husk-procfs.test"}'
  mount_in_init_hook --bind "$TEST_TMP/fake-sys" "$ROOTFS/proc/sys"
  set_args sleep 100
  run_detached
  [[ $(<"$TEST_TMP/fake-sys/kernel/domainname") == sentinel ]] ||
    fail "the sysctl was written into the host file: $(<"$TEST_TMP/fake-sys/kernel/domainname")"
  # The hook's mount is in place in the container, yet the write went to the container's
  # real UTS namespace.
  [[ $(<"/proc/$CTR_PID/root/proc/sys/kernel/domainname") == sentinel ]] ||
    fail "the hook's mount is not there"
  [[ $(nsenter --uts --target "$CTR_PID" cat /proc/sys/kernel/domainname) == husk-procfs.test ]] ||
    fail "domainname in the container: $(nsenter --uts --target "$CTR_PID" cat /proc/sys/kernel/domainname)"
  delete_ctr
}

@test "procfs: oomScoreAdj is not written into a file mounted over the init's /proc/1/oom_score_adj" {
  husk_only "runc before 1.2.8 writes through the container's /proc"
  echo sentinel >"$TEST_TMP/sentinel"
  update_config '.process.oomScoreAdj = 123'
  mount_in_init_hook --bind "$TEST_TMP/sentinel" "$ROOTFS/proc/1/oom_score_adj"
  set_args sleep 100
  run_detached
  [[ $(<"$TEST_TMP/sentinel") == sentinel ]] ||
    fail "oom_score_adj was written into the host file: $(<"$TEST_TMP/sentinel")"
  [[ $(<"/proc/$CTR_PID/root/proc/1/oom_score_adj") == sentinel ]] ||
    fail "the hook's mount is not there"
  [[ $(<"/proc/$CTR_PID/oom_score_adj") == 123 ]] ||
    fail "the init's oom_score_adj: $(<"/proc/$CTR_PID/oom_score_adj")"
  delete_ctr
}

@test "procfs: cap_last_cap is probed; a \"0\" mounted over /proc/sys/kernel/cap_last_cap changes nothing" {
  husk_only "runc before 1.2.8 reads the container's /proc"
  echo 0 >"$TEST_TMP/last-cap"
  mount_in_init_hook --bind "$TEST_TMP/last-cap" "$ROOTFS/proc/sys/kernel/cap_last_cap"
  run_sh 'cat /proc/sys/kernel/cap_last_cap; grep "^Cap[PEB]" /proc/self/status'
  expect_status 0
  local s
  s=$(cap_mask CAP_AUDIT_WRITE CAP_KILL CAP_NET_BIND_SERVICE)
  # Believing "0" would keep every capability above 0 in the bounding set, and none of these.
  expect_output "0
CapPrm:	$s
CapEff:	$s
CapBnd:	$s"
}

@test "procfs: exec's oomScoreAdj is not taken by a /proc the container mounted itself" {
  husk_only "runc 1.1 writes through the container's /proc"
  # A container allowed to mount puts a tmpfs with a self/oom_score_adj file over its /proc.
  update_config '.process.capabilities.bounding += ["CAP_SYS_ADMIN"]
    | .process.capabilities.permitted += ["CAP_SYS_ADMIN"]
    | .process.capabilities.effective += ["CAP_SYS_ADMIN"]'
  set_script 'mount -t tmpfs fake /proc && mkdir /proc/self && echo 0 >/proc/self/oom_score_adj &&
    touch /proc/ready && exec sleep 100'
  run_detached
  wait_for 10 test -e "/proc/$CTR_PID/root/proc/ready" || fail "the container did not mount"
  jq '.process | .args = ["sleep", "100"] | .oomScoreAdj = 321' "$BUNDLE/config.json" \
    >"$TEST_TMP/process.json"
  # Output to a file: with it captured by `run` (a pipe) the container dies at once (a bug of
  # `exec --detach` found on main too, not of this).
  oci exec --detach --pid-file "$TEST_TMP/exec.pid" --process "$TEST_TMP/process.json" "$CID" \
    >"$TEST_TMP/exec.out" 2>&1 || fail "exec failed: $(<"$TEST_TMP/exec.out")"
  local pid
  pid=$(<"$TEST_TMP/exec.pid")
  [[ $(<"/proc/$CTR_PID/root/proc/self/oom_score_adj") == 0 ]] ||
    fail "written into the container's fake file: $(<"/proc/$CTR_PID/root/proc/self/oom_score_adj")"
  [[ $(<"/proc/$pid/oom_score_adj") == 321 ]] ||
    fail "the exec'd process's oom_score_adj: $(<"/proc/$pid/oom_score_adj")"
  delete_ctr
}

# In a user namespace the kernel makes a new proc instance only for a pid namespace that the
# user namespace owns, and only while a proc is fully visible in the mount namespace; the init
# opens its procfs before any mount of the container, and falls back to a detached clone of
# /proc's top mount where a new instance is refused (here: the host's pid namespace).
@test "procfs: a user-namespaced container writes its sysctl" {
  user_namespace 100000
  update_config '.linux.sysctl = {"net.ipv4.ip_default_ttl": "42"}'
  run_sh 'cat /proc/sys/net/ipv4/ip_default_ttl'
  expect_status 0
  expect_output 42
  # The same in the host's pid namespace: no new proc instance, the clone of /proc serves
  # (and the container can have no /proc of its own: it reads the value from the host).
  update_config '.linux.namespaces |= map(select(.type != "pid"))
    | .mounts |= map(select(.destination != "/proc" and (.destination | startswith("/sys") | not)))
    | .linux.maskedPaths = [] | .linux.readonlyPaths = [] | .root.readonly = false'
  set_args sleep 100
  run_detached
  [[ $(nsenter --net --target "$CTR_PID" cat /proc/sys/net/ipv4/ip_default_ttl) == 42 ]] ||
    fail "ip_default_ttl: $(nsenter --net --target "$CTR_PID" cat /proc/sys/net/ipv4/ip_default_ttl)"
  delete_ctr
}
