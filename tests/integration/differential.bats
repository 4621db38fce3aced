#!/usr/bin/env bats
# Differential: the same bundle under the reference runtime (Debian's runc, through
# tests/fixtures/runc-ref) and under the runtime under test; the container must see the
# same thing. Normalized: namespace inodes (to "host"/"new"), and cgroup mounts under
# /sys/fs/cgroup/ (husk makes no cgroups yet, and runc-ref hides the memory hierarchy).

load helpers

# What the container looks at. Every section is printed even when a command fails.
PROBE='exec 2>&1
echo "== status"
grep -E "^(Cap|NoNewPrivs|Seccomp|Uid|Gid|Groups)" /proc/self/status
echo "== id"; id
echo "== uts"; hostname; cat /proc/sys/kernel/domainname
echo "== limits"; cat /proc/self/limits
echo "== umask"; umask
echo "== cwd"; pwd
echo "== env"; env | sort
echo "== oom"; cat /proc/self/oom_score_adj
echo "== ns"; for t in pid net ipc uts mnt cgroup user time; do echo "$t $(readlink /proc/self/ns/$t)"; done
echo "== idmaps"; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups
echo "== mounts"
awk "{ for (i = 7; \$i != \"-\"; i++); print \$5, \$6, \$(i+1), \$(i+2), \$(i+3) }" /proc/self/mountinfo |
  grep -v "^/sys/fs/cgroup/" | sort
echo "== dev"
for f in /dev/* /dev/pts/* /dev/mqueue /dev/shm; do
  if [ -L "$f" ]; then echo "$f -> $(readlink "$f")"; else stat -c "%n %F %a %u:%g %t:%T" "$f"; fi
done
echo "== net"; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | sort; cat /sys/class/net/lo/flags
echo "== ps"; [ "$$" = 1 ] && { p=$(ps -o user,comm); echo "$p" | sort; }
echo "== masked"; wc -c < /proc/timer_list; ls -A /sys/firmware | wc -l; wc -c < /proc/keys
echo "== writable"
for d in / /tmp /dev /dev/shm /proc/sys /sys /mnt/data /mnt/tmp; do
  if [ -d "$d" ]; then touch "$d/.husk-w" 2>/dev/null && echo "$d rw" && rm -f "$d/.husk-w" || echo "$d ro"; fi
done
echo "== sysctl"; cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax
echo "== seccomp"; mkdir /tmp/husk-probe-dir 2>&1 && rmdir /tmp/husk-probe-dir
echo "== fds"; ls /proc/self/fd
echo "== end"'

# Replaces each namespace inode by "host" (same as ours) or "new".
normalize() {
  local t ours
  local sed_args=()
  for t in pid net ipc uts mnt cgroup user time; do
    ours=$(readlink "/proc/self/ns/$t")
    sed_args+=(-e "s/^$t ${ours//[/\\[}\$/$t host/")
  done
  sed "${sed_args[@]}" -e 's/^\([a-z]*\) [a-z]*:\[[0-9]*\]$/\1 new/'
}

# run_both [RUN OPTION...]: runs $BUNDLE under the reference and the runtime under test,
# then compares exit status and normalized output.
run_both() {
  set_script "$PROBE"
  local ref_root=$TEST_TMP/ref-state ref_status=0 our_status=0
  timeout --kill-after=5 "$TIMEOUT" "$REF" --root "$ref_root" run --bundle "$BUNDLE" "$@" "$CID-ref" \
    </dev/null >"$TEST_TMP/ref.out" 2>"$TEST_TMP/ref.err" || ref_status=$?
  [[ -z $(ls -A "$ref_root" 2>/dev/null) ]] || fail "reference left state: $(ls -A "$ref_root")"
  oci run --bundle "$BUNDLE" "$@" "$CID" >"$TEST_TMP/our.out" 2>"$TEST_TMP/our.err" || our_status=$?
  [[ $ref_status -eq 0 ]] || fail "reference failed ($ref_status): $(cat "$TEST_TMP/ref.err")"
  [[ $our_status -eq $ref_status ]] ||
    fail "exit status $our_status, reference $ref_status: $(cat "$TEST_TMP/our.err")"
  grep -q '^== end$' "$TEST_TMP/ref.out" || fail "reference probe incomplete: $(cat "$TEST_TMP/ref.out")"
  normalize <"$TEST_TMP/ref.out" >"$TEST_TMP/ref.norm"
  normalize <"$TEST_TMP/our.out" >"$TEST_TMP/our.norm"
  diff -u "$TEST_TMP/ref.norm" "$TEST_TMP/our.norm" || fail "the container sees something else"
}

@test "differential: the default spec" {
  run_both
}

@test "differential: host network and IPC, no uts namespace" {
  update_config 'del(.hostname)
    | .linux.namespaces |= map(select(.type != "network" and .type != "ipc" and .type != "uts"))'
  run_both
}

@test "differential: every namespace but user, with a cgroup namespace" {
  update_config '.linux.namespaces += [{type: "cgroup"}]'
  run_both
}

@test "differential: user namespace with mappings" {
  user_namespace 100000
  run_both
}

@test "differential: writable root from a relative root.path" {
  new_bundle_copy "$BUNDLE"
  run_both
}

@test "differential: tmpfs and bind mounts with options" {
  mkdir -p "$TEST_TMP/data"
  echo data >"$TEST_TMP/data/f"
  echo single >"$TEST_TMP/single"
  add_tmpfs /tmp size=2m mode=1777 nosuid nodev
  add_tmpfs /mnt/tmp size=1m mode=0700 noexec noatime
  add_mount /mnt/data bind "$TEST_TMP/data" rbind ro nosuid
  add_mount /etc/single bind "$TEST_TMP/single" bind ro
  run_both
}

@test "differential: a non-root user with groups, umask, cwd and a capability subset" {
  add_tmpfs /tmp size=1m mode=1777
  update_config '.process.user = {uid: 1000, gid: 1000, additionalGids: [10, 65534], umask: 18}
    | .process.cwd = "/home/husk"
    | .process.capabilities = {bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
        permitted: ["CAP_KILL"], effective: ["CAP_KILL"], inheritable: ["CAP_KILL"],
        ambient: ["CAP_KILL"]}'
  run_both
}

@test "differential: rlimits, oomScoreAdj, noNewPrivileges off, no capabilities object" {
  update_config '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 256, hard: 512},
      {type: "RLIMIT_NPROC", soft: 500, hard: 1000}, {type: "RLIMIT_CORE", soft: 0, hard: 0}]
    | .process.oomScoreAdj = 300 | .process.noNewPrivileges = false
    | del(.process.capabilities)'
  run_both
}

@test "differential: custom masked and read-only paths" {
  add_tmpfs /tmp size=1m
  update_config '.linux.maskedPaths += ["/etc/passwd", "/home", "/no/such/path"]
    | .linux.readonlyPaths += ["/tmp", "/no/such/path"]'
  run_both
}

@test "differential: hostname and sysctls" {
  update_config '.hostname = "diff-host"
    | .linux.sysctl = {"net.ipv4.ip_forward": "1", "kernel.msgmax": "4321"}'
  run_both
}

@test "differential: a seccomp profile" {
  add_tmpfs /tmp size=1m
  update_config '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1},
               {names: ["reboot"], action: "SCMP_ACT_ERRNO"}]}'
  run_both
}

@test "differential: linux.devices" {
  update_config '.linux.devices = [
    {path: "/dev/husk-null", type: "c", major: 1, minor: 3, fileMode: 432, uid: 1000, gid: 10},
    {path: "/dev/husk-loop", type: "b", major: 7, minor: 0}]'
  run_both
}

@test "differential: --no-pivot with rootfsPropagation rslave" {
  update_config '.linux.rootfsPropagation = "rslave"'
  run_both --no-pivot
}

@test "differential: a host path in the default mounts' place (bind /etc/hosts style)" {
  echo "127.0.0.1 diff" >"$TEST_TMP/hosts"
  add_mount /etc/hosts bind "$TEST_TMP/hosts" rbind rprivate ro
  add_mount /dev/shm tmpfs shm nosuid noexec nodev mode=1777 size=1m
  run_both
}
