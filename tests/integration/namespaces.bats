#!/usr/bin/env bats
# Namespaces: new or joined by path, and what the container sees in each.

load helpers

NS_TYPES=(pid net ipc uts mnt cgroup user time)

# Prints "TYPE new|host" for every namespace type, comparing the container's
# /proc/self/ns links (in $output) with this shell's.
classify_ns() {
  local t link
  for t in "${NS_TYPES[@]}"; do
    link=$(awk -v t="$t" '$1 == t { print $2 }' <<<"$output")
    [[ -n $link ]] || { echo "$t missing"; continue; }
    if [[ $link == "$(readlink "/proc/self/ns/$t")" ]]; then echo "$t host"; else echo "$t new"; fi
  done
}

ns_probe='for t in pid net ipc uts mnt cgroup user time; do echo "$t $(readlink /proc/self/ns/$t)"; done'

@test "namespaces: the default spec's pid, net, ipc, uts, mount are new, the rest shared" {
  run_sh "$ns_probe"
  expect_status 0
  run classify_ns
  expect_output "pid new
net new
ipc new
uts new
mnt new
cgroup host
user host
time host"
}

@test "namespaces: only the listed namespaces are new" {
  update_config 'del(.hostname) | .linux.namespaces = [{type: "mount"}, {type: "pid"}]'
  run_sh "$ns_probe"
  expect_status 0
  run classify_ns
  expect_output "pid new
net host
ipc host
uts host
mnt new
cgroup host
user host
time host"
}

@test "pid namespace: the process is pid 1 and sees only its own processes" {
  set_args sh -c 'exec cat /proc/self/stat'
  run_ctr
  expect_status 0
  [[ ${output%% *} == 1 ]] || fail "first field of /proc/self/stat: $output"
  run_sh 'sleep 100 & ps -o pid= | tr -d " "'
  expect_status 0
  expect_line 1
  local n
  n=$(wc -l <<<"$output")
  (( n <= 4 )) || fail "$n processes visible: $output"
  (( $(ls -d /proc/[0-9]* | wc -l) > n )) || fail "host shows no more processes than the container"
}

@test "uts namespace: hostname from the config" {
  local before
  before=$(hostname)
  update_config '.hostname = "husk-box"'
  run_sh 'hostname; cat /proc/sys/kernel/hostname'
  expect_status 0
  expect_output "husk-box
husk-box"
  [[ $(hostname) == "$before" ]] || fail "host name changed to $(hostname)"
}

@test "uts namespace: domainname from the config" {
  newer_than_runc_1_1 "domainname (runtime-spec 1.1)"
  local before
  before=$(cat /proc/sys/kernel/domainname)
  update_config '.hostname = "husk-box" | .domainname = "husk.example"'
  run_sh 'cat /proc/sys/kernel/domainname'
  expect_status 0
  expect_output "husk.example"
  [[ $(cat /proc/sys/kernel/domainname) == "$before" ]] || fail "host domainname changed"
}

@test "uts namespace: a hostname set inside stays inside" {
  local before
  before=$(hostname)
  update_config '.process.capabilities |= map_values(. + ["CAP_SYS_ADMIN"])'
  run_sh 'hostname inner-name && hostname'
  expect_status 0
  expect_output inner-name
  [[ $(hostname) == "$before" ]] || fail "host name changed to $(hostname)"
}

@test "network namespace: only lo, and it is up" {
  run_sh 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | sed "s/^/if /"
          cat /sys/class/net/lo/flags; ip -o link'
  expect_status 0
  local ifaces
  ifaces=$(awk '$1 == "if" { print $2 }' <<<"$output")
  [[ $ifaces == lo ]] || fail "interfaces: $ifaces"
  # IFF_UP (0x1) | IFF_LOOPBACK (0x8)
  expect_line 0x9
  grep -q '^1: lo: <LOOPBACK,UP' <<<"$output" || fail "lo is not up: $output"
  [[ $(ls /sys/class/net | wc -l) -gt 1 ]] || skip "the host has no interface but lo"
}

@test "network namespace: joined by path sees that namespace's links" {
  local ns=husk-it-$$-$BATS_TEST_NUMBER
  ip netns add "$ns"
  defer "ip netns delete $ns"
  ip -n "$ns" link add husk-br0 type bridge
  local inode
  inode=$(stat -L -c %i "/var/run/netns/$ns")
  update_config '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
    --arg p "/var/run/netns/$ns"
  run_sh 'cat /proc/net/dev; readlink /proc/self/ns/net; cat /sys/class/net/lo/flags'
  expect_status 0
  expect_contains "husk-br0:"
  expect_line "net:[$inode]"
  # A joined namespace is used as it is: its lo stays down.
  expect_line 0x8
}

@test "ipc namespace: host IPC objects are not visible" {
  local id
  id=$(ipcmk -M 4096 | awk '{ print $NF }')
  defer "ipcrm -m $id"
  [[ $(wc -l </proc/sysvipc/shm) -gt 1 ]] || fail "host shm segment not created"
  run_sh 'cat /proc/sysvipc/shm | wc -l'
  expect_status 0
  expect_output 1
}

@test "uts and ipc namespaces: joined by path" {
  unshare --uts --ipc sh -c 'hostname joined-uts; ipcmk -M 8192 >/dev/null; echo ready; exec sleep 100' \
    >"$TEST_TMP/holder.out" &
  local holder=$!
  BG_PIDS+=("$holder")
  wait_for 10 file_has "$TEST_TMP/holder.out" ready
  update_config 'del(.hostname)
    | .linux.namespaces |= map(if .type == "uts" or .type == "ipc"
                               then .path = "/proc/\($pid)/ns/\(.type)" else . end)' \
    --arg pid "$holder"
  run_sh 'hostname; awk "NR > 1 { print \$4 }" /proc/sysvipc/shm'
  expect_status 0
  expect_output "joined-uts
8192"
}

@test "user namespace: uid and gid mappings" {
  user_namespace 100000 200000
  run_sh 'cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; stat -c %u /bin/busybox'
  expect_status 0
  expect_output "$(printf '%10s %10s %10s\n' 0 100000 65536 0 200000 65536)
0
0
65534"
}

@test "user namespace: the host sees the mapped ids" {
  update_config '.linux.namespaces += [{type: "user"}]
    | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 1000}, {containerID: 1000, hostID: 300000, size: 10}]
    | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 2000}]
    | .process.user = {uid: 1000, gid: 1000}'
  set_args sleep 1000
  run_detached
  grep -qP '^Uid:\t300000\t300000\t300000\t300000$' "/proc/$CTR_PID/status" ||
    fail "$(grep -E '^(Uid|Gid)' "/proc/$CTR_PID/status")"
  grep -qP '^Gid:\t101000\t101000\t101000\t101000$' "/proc/$CTR_PID/status" ||
    fail "$(grep -E '^(Uid|Gid)' "/proc/$CTR_PID/status")"
  [[ $(readlink "/proc/$CTR_PID/ns/user") != $(readlink /proc/self/ns/user) ]] || fail "same user ns"
  delete_ctr
}

@test "cgroup namespace: the container's cgroups are its roots" {
  update_config '.linux.namespaces += [{type: "cgroup"}]'
  run_sh 'cat /proc/self/cgroup'
  expect_status 0
  [[ -n $output ]] || fail "empty /proc/self/cgroup"
  local bad
  bad=$(grep -v ':/$' <<<"$output" || true)
  [[ -z $bad ]] || fail "cgroup paths not at the namespace root: $bad"
}

@test "time namespace: monotonic and boottime offsets" {
  newer_than_runc_1_1 "time namespaces (runtime-spec 1.2)"
  update_config '.linux.namespaces += [{type: "time"}]
    | .linux.timeOffsets = {monotonic: {secs: 86400, nanosecs: 0}, boottime: {secs: 172800, nanosecs: 5}}'
  run_sh 'cat /proc/self/timens_offsets; cut -d. -f1 /proc/uptime'
  expect_status 0
  [[ $(awk '$1 == "monotonic" { print $2, $3 }' <<<"$output") == "86400 0" ]] ||
    fail "monotonic offset: $output"
  [[ $(awk '$1 == "boottime" { print $2, $3 }' <<<"$output") == "172800 5" ]] ||
    fail "boottime offset: $output"
  local host_up inside
  host_up=$(cut -d. -f1 /proc/uptime)
  inside=$(tail -n1 <<<"$output")
  (( inside >= 172800 + host_up - 5 && inside <= 172800 + host_up + 60 )) ||
    fail "uptime inside $inside, host $host_up"
}

@test "sysctl: net.ipv4.ip_forward and kernel.msgmax are set in the new namespaces" {
  [[ $(cat /proc/sys/net/ipv4/ip_forward) == 0 ]] || skip "host already forwards"
  local host_msgmax
  host_msgmax=$(cat /proc/sys/kernel/msgmax)
  update_config '.linux.sysctl = {"net.ipv4.ip_forward": "1", "kernel.msgmax": "4242"}'
  run_sh 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax'
  expect_status 0
  expect_output "1
4242"
  [[ $(cat /proc/sys/net/ipv4/ip_forward) == 0 ]] || fail "host ip_forward changed"
  [[ $(cat /proc/sys/kernel/msgmax) == "$host_msgmax" ]] || fail "host msgmax changed"
}
