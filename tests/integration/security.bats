#!/usr/bin/env bats
# Capabilities, seccomp, and LSM settings the host cannot apply.

load helpers

# caps_probe: the five Cap* lines of /proc/self/status as "Name mask".
caps_probe='grep "^Cap" /proc/self/status | tr -d ":\t " | sed "s/^\(Cap...\)/\1 /"'

# expect_caps INH PRM EFF BND AMB (each a mask from cap_mask)
expect_caps() {
  expect_output "CapInh $1
CapPrm $2
CapEff $3
CapBnd $4
CapAmb $5"
}

@test "capabilities: the default spec's set (ambient needs inheritable, so it is empty)" {
  run_sh "$caps_probe"
  expect_status 0
  local s
  s=$(cap_mask CAP_AUDIT_WRITE CAP_KILL CAP_NET_BIND_SERVICE)
  expect_caps 0000000000000000 "$s" "$s" "$s" 0000000000000000
}

@test "capabilities: all five sets for root" {
  update_config '.process.capabilities = {
    bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SETUID"],
    permitted: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SETUID"],
    effective: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SETUID"],
    inheritable: ["CAP_KILL", "CAP_NET_RAW"],
    ambient: ["CAP_NET_RAW"]}'
  run_sh "$caps_probe"
  expect_status 0
  local s
  s=$(cap_mask CAP_CHOWN CAP_KILL CAP_NET_RAW CAP_SETUID)
  expect_caps "$(cap_mask CAP_KILL CAP_NET_RAW)" "$s" "$s" "$s" "$(cap_mask CAP_NET_RAW)"
}

@test "capabilities: a non-root user keeps the ambient set across exec" {
  update_config '.process.user = {uid: 1000, gid: 1000}
    | .process.capabilities = {
        bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_ADMIN"],
        permitted: ["CAP_KILL", "CAP_NET_RAW"],
        effective: ["CAP_KILL", "CAP_NET_RAW"],
        inheritable: ["CAP_KILL", "CAP_NET_RAW"],
        ambient: ["CAP_KILL", "CAP_NET_RAW"]}'
  run_sh "$caps_probe"
  expect_status 0
  local a
  a=$(cap_mask CAP_KILL CAP_NET_RAW)
  expect_caps "$a" "$a" "$a" "$(cap_mask CAP_CHOWN CAP_KILL CAP_NET_RAW CAP_SYS_ADMIN)" "$a"
}

@test "capabilities: none when the config has no capabilities object" {
  update_config 'del(.process.capabilities)'
  run_sh "$caps_probe"
  expect_status 0
  expect_caps 0000000000000000 0000000000000000 0000000000000000 0000000000000000 \
    0000000000000000
}

@test "capabilities: a dropped capability is really missing" {
  add_tmpfs /tmp size=1m mode=1777
  update_config '.process.capabilities |= map_values(. - ["CAP_CHOWN"])'
  run_sh 'touch /tmp/f && chown 1000 /tmp/f && echo chowned'
  expect_contains "operation not permitted"
  expect_no_line chowned
  update_config '.process.capabilities |= map_values(. + ["CAP_CHOWN"])'
  run_sh 'touch /tmp/f && chown 1000 /tmp/f && echo chowned'
  expect_status 0
  expect_line chowned
}

seccomp_base='{defaultAction: "SCMP_ACT_ALLOW",
  architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], syscalls: []}'

# add_seccomp_rule 'JQ OBJECT': appends a rule to linux.seccomp (created when absent).
add_seccomp_rule() {
  update_config ".linux.seccomp //= $seccomp_base | .linux.seccomp.syscalls += [$1]"
}

@test "seccomp: a filter is installed (Seccomp: 2)" {
  add_seccomp_rule '{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1}'
  run_sh 'grep -E "^Seccomp(_filters)?:" /proc/self/status'
  expect_status 0
  expect_output "$(printf 'Seccomp:\t2\nSeccomp_filters:\t1')"
}

@test "seccomp: no filter without linux.seccomp (Seccomp: 0)" {
  run_sh 'grep "^Seccomp:" /proc/self/status'
  expect_status 0
  expect_output "$(printf 'Seccomp:\t0')"
}

@test "seccomp: SCMP_ACT_ERRNO with errnoRet makes the call fail with that errno" {
  add_tmpfs /tmp size=1m
  add_seccomp_rule '{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1}'
  add_seccomp_rule '{names: ["unlink", "unlinkat"], action: "SCMP_ACT_ERRNO", errnoRet: 13}'
  run_sh 'mkdir /tmp/x; echo mkdir=$?; touch /tmp/f; rm /tmp/f; echo rm=$?'
  expect_status 0
  expect_contains "mkdir: can't create directory '/tmp/x': Operation not permitted"
  expect_line mkdir=1
  expect_contains "permission denied"
  expect_line rm=1
}

@test "seccomp: SCMP_ACT_ERRNO without errnoRet is EPERM" {
  add_tmpfs /tmp size=1m
  add_seccomp_rule '{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO"}'
  run_sh 'mkdir /tmp/x'
  expect_status 1
  expect_contains "operation not permitted"
}

@test "seccomp: SCMP_ACT_KILL kills the process with SIGSYS (exit 159)" {
  add_seccomp_rule '{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_KILL"}'
  set_args mkdir /x
  run_ctr
  expect_status 159
}

@test "seccomp: SCMP_ACT_KILL_PROCESS kills the process with SIGSYS (exit 159)" {
  add_seccomp_rule '{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_KILL_PROCESS"}'
  set_args mkdir /x
  run_ctr
  expect_status 159
}

@test "seccomp: SCMP_ACT_LOG and SCMP_ACT_ALLOW rules let the call through" {
  add_tmpfs /tmp size=1m
  add_seccomp_rule '{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_LOG"}'
  add_seccomp_rule '{names: ["rmdir"], action: "SCMP_ACT_ALLOW"}'
  run_sh 'mkdir /tmp/x && rmdir /tmp/x && echo ok; grep "^Seccomp:" /proc/self/status'
  expect_status 0
  expect_output "$(printf 'ok\nSeccomp:\t2')"
}

@test "seccomp: argument conditions select which calls fail" {
  add_tmpfs /tmp size=1m
  # chmod(path, mode) and fchmodat(dirfd, path, mode): deny only mode 0777.
  add_seccomp_rule '{names: ["chmod"], action: "SCMP_ACT_ERRNO", errnoRet: 13,
                     args: [{index: 1, value: 511, op: "SCMP_CMP_EQ"}]}'
  add_seccomp_rule '{names: ["fchmodat"], action: "SCMP_ACT_ERRNO", errnoRet: 13,
                     args: [{index: 2, value: 511, op: "SCMP_CMP_EQ"}]}'
  run_sh 'touch /tmp/f; chmod 777 /tmp/f; echo r777=$?; chmod 750 /tmp/f; echo r750=$?;
          stat -c %a /tmp/f'
  expect_status 0
  expect_line r777=1
  expect_line r750=0
  expect_line 750
}

@test "seccomp: SCMP_CMP_MASKED_EQ tests flag bits" {
  add_tmpfs /tmp size=1m
  # Deny openat with O_CREAT (0100) set; allow everything else.
  add_seccomp_rule '{names: ["openat"], action: "SCMP_ACT_ERRNO", errnoRet: 30,
                     args: [{index: 2, value: 64, valueTwo: 64, op: "SCMP_CMP_MASKED_EQ"}]}'
  add_seccomp_rule '{names: ["open"], action: "SCMP_ACT_ERRNO", errnoRet: 30,
                     args: [{index: 1, value: 64, valueTwo: 64, op: "SCMP_CMP_MASKED_EQ"}]}'
  run_sh 'wc -l < /etc/passwd; echo x > /tmp/new; echo create=$?'
  expect_status 0
  expect_line 3
  expect_line create=1
  expect_contains "read-only file system"
}

@test "seccomp: flags" {
  newer_than_runc_1_1 "seccomp flags"
  add_tmpfs /tmp size=1m
  update_config ".linux.seccomp = $seccomp_base | .linux.seccomp.flags = [\"SECCOMP_FILTER_FLAG_LOG\"]"
  add_seccomp_rule '{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO"}'
  run_sh 'mkdir /tmp/x; grep "^Seccomp:" /proc/self/status'
  expect_contains "operation not permitted"
  expect_line "$(printf 'Seccomp:\t2')"
}

@test "seccomp: the compiled program is cached under the root; only an exact match is loaded" {
  add_tmpfs /tmp size=1m
  add_seccomp_rule '{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1}'
  run_sh 'mkdir /tmp/x; echo mkdir=$?'
  expect_line mkdir=1
  local cache=$ROOT/.seccomp files
  files=("$cache"/*)
  [[ ${#files[@]} == 1 && -f ${files[0]} ]] || fail "cache: ${files[*]}"
  [[ $(stat -c '%a %U' "$cache") == "700 root" ]] || fail "cache dir: $(stat -c '%a %U' "$cache")"
  [[ $(stat -c '%a %U' "${files[0]}") == "600 root" ]] || fail "cache file: $(stat -c '%a %U' "${files[0]}")"
  local prog=${files[0]} ino
  ino=$(stat -c %i "$prog")

  # The same profile again: loaded, not compiled and stored again (same inode), same filter.
  run_sh 'mkdir /tmp/x; echo mkdir=$?'
  expect_line mkdir=1
  [[ $(stat -c %i "$prog") == "$ino" ]] || fail "the program was compiled again"

  # A stored key that differs by one byte (offset 40: inside the key) is a miss: the profile
  # is compiled and the file replaced, and the container still gets its filter.
  printf 'Z' | dd of="$prog" bs=1 seek=40 conv=notrunc status=none
  run_sh 'mkdir /tmp/x; echo mkdir=$?'
  expect_line mkdir=1
  [[ $(stat -c %i "$prog") != "$ino" ]] || fail "a file with another key was used"
  ino=$(stat -c %i "$prog")

  # A file others may write is never trusted.
  chmod 0620 "$prog"
  run_sh 'mkdir /tmp/x; echo mkdir=$?'
  expect_line mkdir=1
  [[ $(stat -c '%a' "$prog") == 600 && $(stat -c %i "$prog") != "$ino" ]] ||
    fail "a group-writable file was used"

  # Another profile gets its own program: errno 13, not the cached errno 1.
  update_config '.linux.seccomp.syscalls[0].errnoRet = 13'
  run_sh 'mkdir /tmp/x'
  expect_contains "permission denied"
  files=("$cache"/*)
  [[ ${#files[@]} == 2 ]] || fail "want two programs: ${files[*]}"
}

@test "apparmorProfile: a clear error where AppArmor is not available" {
  [[ ! -d /sys/kernel/security/apparmor ]] || skip "AppArmor is enabled on this host"
  update_config '.process.apparmorProfile = "husk-test-profile"'
  set_args echo should-not-run
  run_ctr
  [[ $status -ne 0 ]] || fail "ran with an AppArmor profile that cannot be applied"
  expect_contains apparmor
  expect_no_line should-not-run
  [[ ! -e $ROOT/$CID ]] || fail "state left"
}

@test "selinuxLabel: a clear error where SELinux is not available" {
  [[ ! -d /sys/fs/selinux ]] || skip "SELinux is enabled on this host"
  update_config '.process.selinuxLabel = "system_u:system_r:container_t:s0"'
  set_args echo should-not-run
  run_ctr
  [[ $status -ne 0 ]] || fail "ran with an SELinux label that cannot be applied"
  expect_contains selinux
  expect_no_line should-not-run
  [[ ! -e $ROOT/$CID ]] || fail "state left"
}
