#!/usr/bin/env bats
# husk run's networks (docs/networking.md): the default bridge, named networks, NAT out,
# published ports, DNS files, IPv6, bandwidth, CNI, and teardown on every exit path.
# Traffic goes only between namespaces the tests make (containers, an "uplink" netns standing
# in for the outside world) and the host's own addresses.

load helpers

NETCHECK_SRC=${HUSK_SRC:-$BATS_TEST_DIRNAME/../..}/tests/fixtures/netcheck
UP=hkt-up-$BATS_ROOT_PID  # the uplink netns: 198.51.100.2, the host's end 198.51.100.1
UP_IF=hkt-up$BATS_ROOT_PID

setup_file() {
  husk_setup_file
  # Container records and named networks of this file's own (a killed husk leaves a record).
  export HUSK_ROOT=$FILE_TMP/root
  # Containers see the host's / read-only but a tmpfs of their own on /tmp and /run, where a
  # checkout may live: the helper goes where they see it.
  NETCHECK_DIR=$(mktemp -d /var/tmp/husk-netcheck.XXXXXX)
  chmod 755 "$NETCHECK_DIR"
  install -m 755 "$NETCHECK_SRC" "$NETCHECK_DIR/netcheck"
  export NETCHECK_DIR NETCHECK=$NETCHECK_DIR/netcheck
  ip netns add "$UP"
  ip link add "$UP_IF" type veth peer name eth0 netns "$UP"
  ip addr add 198.51.100.1/24 dev "$UP_IF"
  ip link set "$UP_IF" up
  ip -n "$UP" addr add 198.51.100.2/24 dev eth0
  ip -n "$UP" link set eth0 up
  ip -n "$UP" link set lo up
}

teardown_file() {
  rm -rf "${NETCHECK_DIR:?}"
  ip link del "$UP_IF" 2>/dev/null || true
  ip netns del "$UP" 2>/dev/null || true
  "$HUSK" rm -f $("$HUSK" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
  local n
  for n in $(ls "${HUSK_ROOT:-/var/lib/husk}/networks" 2>/dev/null); do
    [[ $n == hkt-* ]] && "$HUSK" network rm "${n%.json}" >/dev/null 2>&1
  done
  husk_teardown_file  # ip_forward, husk0 and the table as they were (helpers.bash)
}

setup() {
  husk_setup
  [[ -x $HUSK ]] || fail "husk CLI not found: $HUSK"
}

teardown() {
  local pid
  for pid in "${STOP_PIDS[@]}"; do stop_bg "$pid"; done
  STOP_PIDS=()
  [[ -n ${BATS_TEST_COMPLETED:-} ]] && no_net_leaks
  husk_teardown
}

# hrun ARGS...: `husk run` in the foreground with the test's env marker.
hrun() { timeout --kill-after=5 "$TIMEOUT" "$HUSK" run --rm -e "HUSK_TEST_MARK=$MARK" "$@" </dev/null; }

# bg_serve NAME [RUN FLAGS...] -- CMD...: a container in the background whose command prints
# "listening" when ready (netcheck serve); waits for it.
STOP_PIDS=()
bg_serve() {
  local name=$1; shift
  "$HUSK" run --rm -e "HUSK_TEST_MARK=$MARK" --name "$name" "$@" </dev/null >"$TEST_TMP/$name.out" 2>&1 &
  STOP_PIDS+=($!)
  wait_for 15 file_has "$TEST_TMP/$name.out" listening ||
    fail "$name did not start: $(cat "$TEST_TMP/$name.out")"
}

# stop_bg PID: SIGTERM to husk, which passes it to the container, then tears down.
stop_bg() {
  kill -TERM "$1" 2>/dev/null || return 0
  local i
  for i in $(seq 100); do pid_alive "$1" || break; sleep 0.05; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

ctr_ip() { awk -v n="$1" '$2 == n || $3 == n { print $1; exit }' "/run/husk-net/containers/$1/hosts"; }

# No veth, ifb, lease, per-container files or firewall chain of any of this test's containers.
husk_links() { ip -o link show | grep -oE ': h[vb][0-9a-f]{12}[@:]'; }
no_husk_links() { ! husk_links >/dev/null; }
no_net_leaks() {
  local left=()
  # A container's veth goes with its network namespace, which the kernel tears down on its own
  # (asynchronously) once the container is gone.
  wait_for 5 no_husk_links || left+=("links: $(husk_links | tr '\n' ' ')")
  local f
  for f in /run/husk-net/*.leases; do
    [[ -e $f ]] || continue
    jq -e --arg p "husk-it-$$-" '[.leases[] | select(.container | startswith($p))] | length > 0' \
      "$f" >/dev/null && left+=("lease in $f")
  done
  compgen -G "/run/husk-net/containers/husk-it-$$-*" >/dev/null && left+=("files dirs")
  nft list table inet husk 2>/dev/null | grep -q 'chain ct-' && left+=("port chains: $(nft list table inet husk | grep 'chain ct-')")
  (( ${#left[@]} == 0 )) || fail "network leaks: ${left[*]}"
}

@test "husk run: the default bridge network gives eth0, an address, a default route and names" {
  run hrun --name "$CID" -- sh -c 'ip -4 -o addr show eth0; ip route show default; cat /etc/hostname; cat /etc/hosts'
  expect_status 0
  expect_match 'inet 10\.89\.[0-9]+\.[0-9]+/16'
  expect_line "default via 10.89.0.1 dev eth0 "
  expect_line "$CID"
  expect_match $'\n10\\.89\\.[0-9]+\\.[0-9]+\t'"$CID"
  [[ $(ip -o addr show husk0) == *"10.89.0.1/16"* ]] || fail "husk0: $(ip -o addr show husk0)"
}

@test "husk run: resolv.conf is the host's without loopback servers; --dns, --dns-search, --add-host" {
  cat >"$TEST_TMP/resolv" <<'R'
# the host's
nameserver 127.0.0.53
nameserver 192.0.2.9
nameserver ::1
search corp.test
R
  run unshare -m sh -c "mount --bind '$TEST_TMP/resolv' /etc/resolv.conf &&
    '$HUSK' run --rm -e HUSK_TEST_MARK=$MARK --name $CID -- cat /etc/resolv.conf"
  expect_status 0
  expect_output "nameserver 192.0.2.9
search corp.test"
  run hrun --name "$CID" --dns 192.0.2.53 --dns-search example.test --dns-option ndots:2 \
    --add-host db:10.1.2.3 --add-host gw:host-gateway -- sh -c 'cat /etc/resolv.conf; grep -v "^#" /etc/hosts'
  expect_status 0
  expect_line "nameserver 192.0.2.53"
  expect_line "search example.test"
  expect_line "options ndots:2"
  expect_no_line "nameserver 10.255.255.53"
  expect_line $'10.1.2.3\tdb'
  expect_line $'10.89.0.1\tgw'
}

@test "husk run: containers reach each other by address and by name, and their gateway" {
  bg_serve "$CID-srv" -- "$NETCHECK" serve tcp 0.0.0.0 8000
  local ip
  ip=$(ctr_ip "$CID-srv")
  [[ $ip == 10.89.* ]] || fail "server address: $ip"
  run hrun --name "$CID-cli" -- sh -c "$NETCHECK ask tcp $ip 8000 && $NETCHECK ask tcp $CID-srv 8000 && busybox ping -c1 -W2 10.89.0.1 >/dev/null && echo gateway-ok"
  expect_status 0
  expect_match "hello $CID-srv 10\\.89\\."
  expect_line gateway-ok
  # The server learnt the client's name while it ran, and forgot it after.
  run grep -c "$CID-cli" "/run/husk-net/containers/$CID-srv/hosts"
  expect_output 0
}

@test "husk run -p: tcp and udp reached from 127.0.0.1, the host's address and another netns" {
  bg_serve "$CID" -p 18080:8000 -p 127.0.0.1:18053:5353/udp -p 8000 -- \
    sh -c "$NETCHECK serve udp 0.0.0.0 5353 & exec $NETCHECK serve tcp 0.0.0.0 8000"
  run "$NETCHECK" ask tcp 127.0.0.1 18080
  expect_status 0
  expect_match "^hello $CID "
  run "$NETCHECK" ask tcp 198.51.100.1 18080
  expect_status 0
  run ip netns exec "$UP" "$NETCHECK" ask tcp 198.51.100.1 18080
  expect_status 0
  expect_output "hello $CID 198.51.100.2"   # DNAT only: the container sees the real client
  run "$NETCHECK" ask udp 127.0.0.1 18053
  expect_status 0
  expect_match "^hello $CID "
  run ip netns exec "$UP" "$NETCHECK" ask udp 198.51.100.1 18053
  expect_status 1   # published on 127.0.0.1 only
  run "$HUSK" port "$CID"
  expect_status 0
  expect_line "8000/tcp -> 0.0.0.0:18080"
  expect_line "5353/udp -> 127.0.0.1:18053"
  local any
  any=$(awk '/^8000\/tcp/ && !/18080/ {sub(".*:", ""); print}' <<<"$output")
  [[ -n $any ]] || fail "-p 8000: no host port in $output"
  run "$NETCHECK" ask tcp 127.0.0.1 "$any"
  expect_status 0
}

@test "husk run -p: a range, and a port already published or bound is refused, leaving nothing" {
  bg_serve "$CID" -p 18100-18101:8000-8001 -- "$NETCHECK" serve tcp 0.0.0.0 8001
  run "$NETCHECK" ask tcp 127.0.0.1 18101
  expect_status 0
  run --separate-stderr hrun --name "$CID-2" -p 18101:80 -- true
  expect_status 125
  [[ $stderr == *"18101/tcp is already published"* && $(wc -l <<<"$stderr") == 1 ]] || fail "$stderr"
  [[ ! -e /run/husk/$CID-2 ]] || fail "state left"
  "$NETCHECK" serve tcp 0.0.0.0 18190 >"$TEST_TMP/host.out" &
  defer "kill $!"
  wait_for 5 file_has "$TEST_TMP/host.out" listening
  run --separate-stderr hrun --name "$CID-3" -p 18190:80 -- true
  expect_status 125
  [[ $stderr == "husk: port 18190/tcp is already in use on the host" ]] || fail "$stderr"
}

@test "husk run: a name and a port used again at once, ten times in a row" {
  # The previous run's host veth goes with its namespace, later (the kernel's own pace): the
  # next one's must not be named after the container alone. Its port's rule is gone on return.
  local i
  for i in $(seq 10); do
    run --separate-stderr hrun --name "$CID" -p 18110:8000 -- true
    [[ $status == 0 ]] || fail "run $i: $stderr"
  done
}

@test "husk run -p: the child that closes the firewall socket after husk exits dies with it" {
  # Firewall::close_after_exit: the kernel's wait in the last close of an nftables socket after
  # a delete happens in a child of husk, killed when husk exits. A subreaper above husk inherits
  # it and must see it gone.
  run python3 - "$HUSK" "$CID" <<'EOF'
import ctypes, os, subprocess, sys, time
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
r = subprocess.run([sys.argv[1], "run", "--name", sys.argv[2], "-p", "18111:80", "--", "true"],
                   stdin=subprocess.DEVNULL)
orphans = 0
deadline = time.time() + 5
while time.time() < deadline:
    try:
        pid, _ = os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        print(f"husk exited {r.returncode}; orphans reaped: {orphans}")
        sys.exit(0)
    orphans += pid != 0
    time.sleep(0.02)
print("a child of husk outlived it by 5 s")
sys.exit(1)
EOF
  expect_status 0
  expect_line "husk exited 0; orphans reaped: 1"
}

@test "husk run: NAT out, seen from the uplink as the host's address" {
  ip netns exec "$UP" "$NETCHECK" serve tcp 0.0.0.0 9000 >"$TEST_TMP/up.out" &
  defer "kill $!"
  wait_for 5 file_has "$TEST_TMP/up.out" listening
  run hrun --name "$CID" -- "$NETCHECK" ask tcp 198.51.100.2 9000
  expect_status 0
  expect_output "hello $(ip netns exec "$UP" hostname) 198.51.100.1"
  [[ $(cat /proc/sys/net/ipv4/ip_forward) == 1 ]]
}

@test "husk network: isolation between networks, and --internal cannot reach out" {
  "$HUSK" network create --subnet 10.92.1.0/24 hkt-a
  "$HUSK" network create --subnet 10.92.2.0/24 hkt-b
  "$HUSK" network create --internal --subnet 10.92.3.0/24 hkt-int
  defer "'$HUSK' network rm hkt-a hkt-b hkt-int"
  bg_serve "$CID-a" --net hkt-a -- "$NETCHECK" serve tcp 0.0.0.0 8000
  local ip
  ip=$(ctr_ip "$CID-a")
  [[ $ip == 10.92.1.* ]] || fail "address on hkt-a: $ip"
  run hrun --net hkt-a --name "$CID-a2" -- "$NETCHECK" ask tcp "$ip" 8000
  expect_status 0
  run hrun --net hkt-b --name "$CID-b" -- "$NETCHECK" ask tcp "$ip" 8000
  expect_status 1
  ip netns exec "$UP" "$NETCHECK" serve tcp 0.0.0.0 9001 >"$TEST_TMP/up.out" &
  defer "kill $!"
  wait_for 5 file_has "$TEST_TMP/up.out" listening
  run hrun --net hkt-b --name "$CID-b2" -- "$NETCHECK" ask tcp 198.51.100.2 9001
  expect_status 0
  run hrun --net hkt-int --name "$CID-i" -- "$NETCHECK" ask tcp 198.51.100.2 9001
  expect_status 1
  run "$HUSK" network inspect hkt-int
  expect_status 0
  [[ $(jq -r '.[0].internal' <<<"$output") == true ]] || fail "$output"
}

@test "husk network: create, ls, inspect, rm, and clashes refused in one line" {
  run "$HUSK" network create --subnet 10.92.9.0/24 --gateway 10.92.9.254 hkt-n
  expect_status 0
  [[ $output =~ ^[0-9a-f]{64}$ ]] || fail "id: $output"
  defer "'$HUSK' network rm hkt-n"
  run "$HUSK" network ls
  expect_match "hkt-n +husk-hkt-n +10\\.92\\.9\\.0/24"
  expect_match "bridge +husk0 +10\\.89\\.0\\.0/16"
  run "$HUSK" network inspect hkt-n
  [[ $(jq -r '.[0].gateway' <<<"$output") == 10.92.9.254 ]] || fail "$output"
  run --separate-stderr "$HUSK" network create --subnet 10.89.5.0/24 hkt-clash
  expect_status 125
  [[ $stderr == *'overlaps'*'"bridge"'* ]] || fail "$stderr"
  run --separate-stderr "$HUSK" network create --subnet 198.51.100.0/25 hkt-clash
  expect_status 125
  [[ $stderr == *'198.51.100.0/24'* ]] || fail "a host route clash: $stderr"
  run --separate-stderr "$HUSK" network create hkt-n
  expect_status 125
  run --separate-stderr "$HUSK" run --rm --net hkt-nope -- true
  expect_status 125
  [[ $stderr == 'husk: network "hkt-nope" not found' ]] || fail "$stderr"
  run "$HUSK" network ls -q
  [[ $output != *clash* ]]
  run --separate-stderr "$HUSK" network rm bridge
  expect_status 125
}

@test "husk run: an exhausted pool is refused in one line, and nothing is left" {
  "$HUSK" network create --subnet 10.92.4.0/30 hkt-tiny
  defer "'$HUSK' network rm hkt-tiny"
  bg_serve "$CID" --net hkt-tiny -- "$NETCHECK" serve tcp 0.0.0.0 8000
  run --separate-stderr hrun --net hkt-tiny --name "$CID-2" -- true
  expect_status 125
  [[ $stderr == *'no free address in 10.92.4.0/30'* ]] || fail "$stderr"
  [[ ! -e /run/husk/$CID-2 && ! -e /run/husk-net/containers/$CID-2 ]] || fail "left behind"
  run --separate-stderr hrun --net hkt-tiny --ip 10.92.4.1 --name "$CID-3" -- true
  expect_status 125
}

@test "husk run --net container:ID shares the other container's network namespace" {
  bg_serve "$CID-srv" -- "$NETCHECK" serve tcp 127.0.0.1 8000
  local ip
  ip=$(ctr_ip "$CID-srv")
  run hrun --net "container:$CID-srv" --name "$CID" -- sh -c "ip -4 -o addr show eth0; $NETCHECK ask tcp 127.0.0.1 8000"
  expect_status 0
  expect_match "inet $ip/16"
  expect_match "^hello $CID-srv 127.0.0.1"
}

@test "husk run: IPv6 on a dual-stack network" {
  "$HUSK" network create --ipv6 --subnet 10.92.6.0/24 hkt-v6
  defer "'$HUSK' network rm hkt-v6"
  bg_serve "$CID-srv" --net hkt-v6 -- "$NETCHECK" serve tcp :: 8000
  local ip6
  ip6=$(awk -v n="$CID-srv" '$1 ~ /:/ && ($2 == n || $3 == n) { print $1; exit }' "/run/husk-net/containers/$CID-srv/hosts")
  [[ $ip6 == fd* ]] || fail "v6 address: $ip6"
  run hrun --net hkt-v6 --name "$CID" -- sh -c "ip -6 -o addr show eth0 scope global; $NETCHECK ask tcp $ip6 8000"
  expect_status 0
  expect_match "inet6 fd[0-9a-f:]+/64"
  expect_match "^hello $CID-srv fd"
}

@test "husk run --egress-rate/--ingress-rate: iperf3 through the veth never above the rate" {
  bg_serve "$CID" --egress-rate 20mbit --ingress-rate 40mbit -- \
    sh -c 'echo listening; exec iperf3 -s'
  local ip
  ip=$(ctr_ip "$CID")
  wait_for 5 sh -c "iperf3 -c $ip -n 10K >/dev/null 2>&1"
  local in out
  in=$(iperf3 -c "$ip" -t 3 -O 1 -J | jq '.end.sum_received.bits_per_second')
  out=$(iperf3 -c "$ip" -t 3 -O 1 -R -J | jq '.end.sum_received.bits_per_second')
  echo "ingress ${in} bit/s, egress ${out} bit/s"
  # Never above the rate by more than 10% (the limit holds: an unlimited veth carries Gbit/s),
  # and not far below it (a unit read wrong, bytes for bits, is 8x off). How close below the
  # rate a 3-second test gets is the machine's load, not the shaper: under the suite's
  # parallel runs egress once measured 17.99 Mbit/s of 20; bench/net measures the rate itself.
  awk -v v="$in" 'BEGIN { exit !(v > 24e6 && v < 44e6) }' || fail "ingress $in, set 40mbit"
  awk -v v="$out" 'BEGIN { exit !(v > 12e6 && v < 22e6) }' || fail "egress $out, set 20mbit"
  run --separate-stderr hrun --egress-rate 10mbits -- true
  expect_status 125
  [[ $stderr == 'husk: --egress-rate "10mbits": unknown unit "mbits"' ]] || fail "$stderr"
}

@test "husk run: 100 containers at once get 100 distinct addresses, and nothing is left" {
  local i
  for i in $(seq 100); do
    hrun --name "$CID-c$i" -- ip -4 -o addr show eth0 >"$TEST_TMP/c$i" 2>&1 &
  done
  wait
  local addrs
  addrs=$(cat "$TEST_TMP"/c* | grep -oE 'inet 10\.89\.[0-9.]+' | sort -u | wc -l)
  [[ $addrs == 100 ]] || fail "$addrs distinct addresses: $(cat "$TEST_TMP"/c* | grep -v inet | head -5)"
}

@test "husk run: kill -9 of husk during setup and during the run leaks nothing once reclaimed" {
  local i pids=()
  for i in $(seq 8); do
    "$HUSK" run --rm -e "HUSK_TEST_MARK=$MARK" --name "$CID-k$i" -p "1840$i:80" -- sleep 30 </dev/null >/dev/null 2>&1 &
    pids+=($!)
    sleep "0.0$((i * 15 % 100))"
    kill -KILL $!
  done
  for i in "${pids[@]}"; do wait "$i" 2>/dev/null || true; done
  # What husk left running without it: gone with the runtime's own delete.
  for i in $(seq 8); do "$OCI" --root /run/husk delete -f "$CID-k$i" >/dev/null 2>&1 || true; done
  # What husk could not undo is still there (the test is not vacuous) ...
  local stale
  stale=$(jq --arg p "$CID-k" '[.leases[] | select(.container | startswith($p))] | length' \
    /run/husk-net/bridge.leases)
  (( stale > 0 )) || fail "no lease left by the killed husk processes"
  # ... and the next allocation on the network reclaims it with what it stands for.
  run hrun --name "$CID" -- true
  expect_status 0
  stale=$(jq --arg p "$CID-k" '[.leases[] | select(.container | startswith($p))] | length' \
    /run/husk-net/bridge.leases)
  [[ $stale == 0 ]] || fail "$stale stale leases after the next allocation"
  expect_status 0
  run "$HUSK" network prune
  expect_status 0
}

@test "husk run --net cni:NAME runs Debian's bridge, host-local, portmap, firewall, tuning and bandwidth plugins" {
  local conf=$TEST_TMP/cni
  mkdir -p "$conf"
  cat >"$conf/hkt-cni.conflist" <<J
{ "cniVersion": "1.0.0", "name": "hkt-cni", "plugins": [
  { "type": "bridge", "bridge": "hktcni0", "isGateway": true, "ipMasq": true,
    "ipam": { "type": "host-local", "dataDir": "$TEST_TMP/cni-ipam",
              "ranges": [[{ "subnet": "10.93.0.0/24" }]], "routes": [{ "dst": "0.0.0.0/0" }] } },
  { "type": "portmap", "capabilities": { "portMappings": true } },
  { "type": "firewall" },
  { "type": "tuning", "sysctl": { "net.core.somaxconn": "512" } },
  { "type": "bandwidth", "capabilities": { "bandwidth": true } } ] }
J
  # In a network namespace of the test's own: the plugins' iptables rules land there.
  cat >"$TEST_TMP/cni.sh" <<S
set -e
ip link set lo up
export NETCONFPATH=$conf
'$HUSK' run --rm -e HUSK_TEST_MARK=$MARK --name $CID --net cni:hkt-cni -p 18300:8000 --egress-rate 10mbit \
  -- sh -c "cat /proc/sys/net/core/somaxconn; exec $NETCHECK serve tcp 0.0.0.0 8000" >$TEST_TMP/cni.out 2>&1 &
pid=\$!
for i in \$(seq 100); do grep -q listening $TEST_TMP/cni.out 2>/dev/null && break; sleep 0.05; done
ip -4 -o addr show dev hktcni0
tc qdisc show | grep -c tbf
$NETCHECK ask tcp 10.93.0.1 18300
kill -TERM \$pid; wait \$pid || true
echo links-after: \$(ip -o link show | grep -c veth || true)
head -1 $TEST_TMP/cni.out
ls $TEST_TMP/cni-ipam/hkt-cni | grep -c '^10\.' || true
S
  # (the container prints its somaxconn, which the tuning plugin set, before it serves)
  run unshare -n bash "$TEST_TMP/cni.sh"
  expect_status 0
  expect_match "inet 10\\.93\\.0\\.1/24"
  expect_match "^hello $CID 10\\.93\\.0\\.1"
  expect_line "links-after: 0"
  [[ ${lines[-2]} == 512 ]] || fail "tuning's somaxconn not seen inside: $output"
  [[ ${lines[-1]} == 0 ]] || fail "host-local lease left: $output"
  cat >"$conf/hkt-bad.conflist" <<J
{ "cniVersion": "1.0.0", "name": "hkt-bad", "plugins": [ { "type": "no-such-plugin" } ] }
J
  run --separate-stderr env NETCONFPATH="$conf" "$HUSK" run --rm --net cni:hkt-bad -- true
  expect_status 125
  [[ $stderr == *'"no-such-plugin" not found'* ]] || fail "$stderr"
}

@test "husk run next to dockerd: docker's FORWARD drop policy does not cut husk's networks" {
  command -v dockerd >/dev/null || fail "docker.io is not installed (scripts/setup installs it)"
  local d=$TEST_TMP/docker
  mkdir -p "$d"
  # A private "host" (network and mount namespaces of the test's own) where dockerd makes its
  # real iptables rules, with an uplink netns beside it.
  cat >"$TEST_TMP/docker.sh" <<S
set -e
ip link set lo up
# A fresh namespace inherits the host's ip_forward; docker sets its drop policy only when it
# is the one that turns forwarding on.
echo 0 >/proc/sys/net/ipv4/ip_forward
ip netns add hkt-dup-$$
trap 'kill \$(cat $d/pid) 2>/dev/null; for i in \$(seq 100); do [ -e /proc/\$(cat $d/pid 2>/dev/null || echo 0) ] || break; sleep 0.1; done; ip netns del hkt-dup-$$' EXIT
ip link add hkdup type veth peer name eth0 netns hkt-dup-$$
ip addr add 198.51.101.1/24 dev hkdup; ip link set hkdup up
ip -n hkt-dup-$$ addr add 198.51.101.2/24 dev eth0; ip -n hkt-dup-$$ link set eth0 up
dockerd --host unix://$d/sock --data-root $d/data --exec-root $d/exec --pidfile $d/pid \
  --exec-opt native.cgroupdriver=cgroupfs >$d/log 2>&1 &
for i in \$(seq 300); do iptables -S DOCKER-USER >/dev/null 2>&1 && iptables -S FORWARD | grep -q -- '-P FORWARD DROP' && break; sleep 0.1; done
iptables -S FORWARD | head -1
'$HUSK' network create --subnet 10.92.7.0/24 hkt-dk >/dev/null
ip netns exec hkt-dup-$$ $NETCHECK serve tcp 0.0.0.0 9000 >$TEST_TMP/dup.out &
up=\$!
'$HUSK' run --rm -e HUSK_TEST_MARK=$MARK --net hkt-dk --name $CID-srv -- $NETCHECK serve tcp 0.0.0.0 8000 >$TEST_TMP/dsrv.out 2>&1 &
srv=\$!
for i in \$(seq 100); do grep -q listening $TEST_TMP/dsrv.out $TEST_TMP/dup.out 2>/dev/null && [ \$(grep -l listening $TEST_TMP/dsrv.out $TEST_TMP/dup.out | wc -l) = 2 ] && break; sleep 0.05; done
'$HUSK' run --rm -e HUSK_TEST_MARK=$MARK --net hkt-dk --name $CID-out -- $NETCHECK ask tcp 198.51.101.2 9000
'$HUSK' run --rm -e HUSK_TEST_MARK=$MARK --net hkt-dk --name $CID-cli -- $NETCHECK ask tcp $CID-srv 8000
iptables -S DOCKER-USER | grep -c husk
kill -TERM \$srv; wait \$srv || true
kill \$up
'$HUSK' network rm hkt-dk >/dev/null
echo after-rm: \$(iptables -S DOCKER-USER | grep -c husk || true)
S
  run unshare -n -m --propagation private bash "$TEST_TMP/docker.sh"
  [[ $status == 0 ]] || fail "status $status: $output; dockerd: $(tail -n 5 "$d/log")"
  expect_line "-P FORWARD DROP"
  expect_line "hello $(ip netns exec "$UP" hostname) 198.51.101.1"
  expect_match "hello $CID-srv 10\\.92\\.7\\."
  expect_line 2
  expect_line "after-rm: 0"
}
