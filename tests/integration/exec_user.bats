#!/usr/bin/env bats
# husk exec -u NAME[:GROUP] and -u UID[:GID]: names resolved against the running container's
# own /etc/passwd and /etc/group, read through its init's /proc/<pid>/root with every path
# resolved inside that root (the container's files are hostile); uid, gid, supplementary
# groups, HOME and capabilities set as docker exec -u does; an unknown name is one line and
# podman's status 255. Each test has its own HUSK_ROOT and a rootfs copy whose accounts differ
# from the host's; containers run an overlay over it, no network.

load helpers

setup() {
  husk_ctr_setup
  R=$TEST_TMP/rootfs
  cp -a "$ROOTFS" "$R"
  cat >"$R/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
husk:x:1000:1000:husk:/home/husk:/bin/sh
nobody:x:4321:8765:nobody:/home/nob:/bin/sh
EOF
  cat >"$R/etc/group" <<'EOF'
root:x:0:
husk:x:1000:
nobodies:x:8765:
staff:x:555:nobody,husk
other:x:556:husk
EOF
}

teardown() { husk_ctr_teardown; }

# hd FLAGS... -- CMD...: the test's detached container over the rootfs copy, no network.
hd() { h run -d --net none --name "$CID" -e "HUSK_TEST_MARK=$MARK" --rootfs "$R:O" "$@" >/dev/null; }

# What a process exec'd with FLAGS is, from the kernel (id(1) would read the container's
# /etc/group, which a test makes a fifo): "UID GID [GROUPS, sorted] HOME CAPEFF".
ids() {
  # shellcheck disable=SC2016  # expanded by the container's shell and awk
  h exec "$@" "$CID" sh -c 'awk -v home="$HOME" '\''
    /^Uid:/ { u = $2 } /^Gid:/ { g = $2 } /^CapEff:/ { c = $2 }
    /^Groups:/ { $1 = ""; gr = substr($0, 2) }
    END { sub(/ +$/, "", gr); print u, g, "[" gr "]", home, c }'\'' /proc/self/status'
}

@test "exec -u NAME[:GROUP] and UID[:GID]: ids, groups and HOME as the container's files say" {
  hd -- sleep 60
  run ids -u nobody
  expect_status 0
  expect_output "4321 8765 [555 8765] /home/nob 0000000000000000"
  run ids -u nobody:other
  expect_output "4321 556 [555 556] /home/nob 0000000000000000"
  run ids -u 4321
  expect_output "4321 8765 [555 8765] /home/nob 0000000000000000"
  run ids -u husk:556
  expect_output "1000 556 [555 556] /home/husk 0000000000000000"
  # A uid the files lack: gid 0 and HOME / (docker's choice).
  run ids -u 777
  expect_output "777 0 [0] / 0000000000000000"
  run ids -u 777:778
  expect_output "777 778 [778] / 0000000000000000"
  # -e HOME wins over the passwd entry.
  run ids -u nobody -e HOME=/given
  expect_output "4321 8765 [555 8765] /given 0000000000000000"
  # Without -u: the container's own user, root with its capabilities.
  run ids
  [[ $output == "0 0 [] /root "* && $output != *" 0000000000000000" ]] || fail "no -u: $output"
  # The files as they are now, not as the container started: a user added since resolves.
  h exec "$CID" sh -c 'echo late:x:999:998::/late:/bin/sh >>/etc/passwd'
  run ids -u late
  expect_output "999 998 [998] /late 0000000000000000"
}

@test "exec -u keeps a HOME the container was given (-e HOME at run), as docker does" {
  hd -e HOME=/srv/app -- sleep 60
  run ids -u nobody
  expect_status 0
  expect_output "4321 8765 [555 8765] /srv/app 0000000000000000"
  # exec's own -e HOME still wins.
  run ids -u nobody -e HOME=/given
  expect_output "4321 8765 [555 8765] /given 0000000000000000"
}

@test "exec without -u keeps the container's user; -u root gets root's capabilities back" {
  hd -u husk -- sleep 60
  run ids
  expect_output "1000 1000 [555 556 1000] /home/husk 0000000000000000"
  run ids -u root
  [[ $output == "0 0 [0] /root "* && $output != *" 0000000000000000" ]] || fail "-u root: $output"
}

@test "exec -u with a name the container lacks: one line naming the user and the container, podman's 255" {
  hd -- sleep 60
  run --separate-stderr h exec -u nosuch "$CID" id
  expect_status 255
  [[ $stderr == "husk: container \"$CID\": -u \"nosuch\": no user \"nosuch\" in the container's /etc/passwd" ]] ||
    fail "stderr: $stderr"
  [[ -z $output ]] || fail "stdout: $output"
  run --separate-stderr h exec -u nobody:nogroup "$CID" id
  expect_status 255
  [[ $stderr == "husk: container \"$CID\": -u \"nobody:nogroup\": no group \"nogroup\" in the container's /etc/group" ]] ||
    fail "stderr: $stderr"
  # Not a user at all: husk's usage error, 125.
  run --separate-stderr h exec -u :5 "$CID" id
  expect_status 125
  [[ ${#stderr_lines[@]} == 1 && $stderr == "husk: container \"$CID\": -u \":5\": "* ]] || fail "stderr: $stderr"
}

@test "attack: /etc/passwd a symlink out of the container (absolute or ../) never reads the host's file" {
  # A host-side file the symlinks would reach if followed from the host: only it has "intruder".
  local host=$TEST_TMP/hostside
  mkdir -p "$host"
  echo 'intruder:x:4444:4444:pwned:/pwn:/bin/sh' >"$host/passwd"
  echo 'intruders:x:4445:' >"$host/group"
  hd -- sleep 60
  local pid
  pid=$(h inspect "$CID" | jq -r '.[0].State.Pid')
  local up=../../../../../../../../../..
  for target in "$host/passwd" "$up$host/passwd"; do
    h exec "$CID" sh -c "rm -f /etc/passwd /etc/group; ln -s '$target' /etc/passwd; ln -s '${target%passwd}group' /etc/group"
    # The attack is real: through /proc/<pid>/root the host resolves an absolute link from
    # its own /.
    if [[ $target == /* ]]; then
      grep -q intruder "/proc/$pid/root/etc/passwd" || fail "the symlink does not reach the host file"
    fi
    run --separate-stderr h exec -u intruder "$CID" id
    expect_status 255
    [[ $stderr == *'no user "intruder" in the container'* ]] || fail "$target: stderr: $stderr"
    run --separate-stderr h exec -u 0:intruders "$CID" id
    expect_status 255
    [[ $stderr == *'no group "intruders" in the container'* ]] || fail "$target: stderr: $stderr"
  done
  # The host's /etc/shadow: root must not resolve from it (its third field is a number).
  h exec "$CID" sh -c 'rm -f /etc/passwd; ln -s /etc/shadow /etc/passwd'
  run --separate-stderr h exec -u root "$CID" id -u
  expect_status 255
  [[ $stderr == *'no user "root" in the container'* ]] || fail "shadow: stderr: $stderr"
}

@test "attack: /etc/passwd a fifo or a device: exec -u neither hangs nor reads it" {
  hd -- sleep 60
  h exec "$CID" sh -c 'rm -f /etc/group; mkfifo /etc/group'
  # A fifo for /etc/group: skipped (no groups beyond the primary), not waited on.
  run timeout 10 "$HUSK" exec -u nobody "$CID" grep Groups /proc/self/status </dev/null
  expect_status 0
  [[ $output =~ ^Groups:[[:space:]]+8765[[:space:]]*$ ]] || fail "groups: $output"
  h exec "$CID" sh -c 'rm -f /etc/passwd; ln -s /dev/zero /etc/passwd'
  run --separate-stderr timeout 10 "$HUSK" exec -u nobody "$CID" id </dev/null
  expect_status 255
  [[ $stderr == *'no user "nobody" in the container'* ]] || fail "stderr: $stderr"
}
