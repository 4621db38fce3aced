#!/usr/bin/env bats
# Root filesystem, mounts and their options, propagation, devices, masked and
# read-only paths, as the container sees them in /proc/self/mountinfo and with stat.

load helpers

# mount_line MOUNTPOINT: the mountinfo line (in $output) for that mount point, as
# "per-mount-options fstype source super-options" (ids and device numbers dropped).
mount_line() {
  awk -v m="$1" '$5 == m { for (i = 7; $i != "-"; i++); print $6, $(i+1), $(i+2), $(i+3) }' \
    <<<"$output" | tail -n1
}

# has_opt "OPT,OPT" OPT: true when the comma list holds OPT.
has_opt() { [[ ,$1, == *",$2,"* ]]; }

@test "root.readonly: the root cannot be written" {
  run_sh 'touch /x'
  [[ $status -ne 0 ]] || fail "touch / succeeded"
  expect_contains "read-only file system"
  run_sh 'cat /proc/self/mountinfo'
  has_opt "$(mount_line / | cut -d' ' -f1)" ro || fail "/ not ro: $(mount_line /)"
}

@test "root.readonly false: writes land in the bundle's rootfs" {
  new_bundle_copy "$BUNDLE"
  run_sh 'echo written > /written && cat /written'
  expect_status 0
  expect_output written
  [[ $(<"$BUNDLE/rootfs/written") == written ]] || fail "not in the rootfs on the host"
}

@test "mounts: tmpfs with size, mode and nosuid,nodev,noexec,noatime" {
  add_tmpfs /mnt/fresh/t size=1m mode=0700 nosuid nodev noexec noatime
  run_sh 'cat /proc/self/mountinfo; stat -c "mode %a" /mnt/fresh/t'
  expect_status 0
  local line
  line=$(mount_line /mnt/fresh/t)
  [[ -n $line ]] || fail "no mount at /mnt/fresh/t: $output"
  read -r opts type _ super <<<"$line"
  [[ $type == tmpfs ]] || fail "type $type"
  local o
  for o in rw nosuid nodev noexec noatime; do has_opt "$opts" "$o" || fail "no $o in $opts"; done
  has_opt "$super" size=1024k || fail "no size=1024k in $super"
  has_opt "$super" mode=700 || fail "no mode=700 in $super"
  expect_line "mode 700"
}

@test "mounts: the atime options" {
  add_tmpfs /mnt/a1 strictatime
  add_tmpfs /mnt/a2 noatime nodiratime
  add_tmpfs /mnt/a3 relatime
  run_sh 'cat /proc/self/mountinfo'
  expect_status 0
  local l1 l2 l3
  l1=$(mount_line /mnt/a1 | cut -d' ' -f1)
  l2=$(mount_line /mnt/a2 | cut -d' ' -f1)
  l3=$(mount_line /mnt/a3 | cut -d' ' -f1)
  ! has_opt "$l1" relatime && ! has_opt "$l1" noatime || fail "strictatime: $l1"
  has_opt "$l2" noatime && has_opt "$l2" nodiratime || fail "noatime,nodiratime: $l2"
  has_opt "$l3" relatime || fail "relatime: $l3"
}

@test "mounts: read-only bind of a host directory" {
  mkdir -p "$TEST_TMP/data"
  echo host-data >"$TEST_TMP/data/file"
  add_mount /mnt/data bind "$TEST_TMP/data" bind ro
  run_sh 'cat /mnt/data/file; touch /mnt/data/new 2>&1; cat /proc/self/mountinfo'
  expect_status 0
  expect_line host-data
  expect_contains "read-only file system"
  has_opt "$(mount_line /mnt/data | cut -d' ' -f1)" ro || fail "not ro: $(mount_line /mnt/data)"
  [[ ! -e $TEST_TMP/data/new ]] || fail "file created on the host"
}

@test "mounts: writable bind of a host directory" {
  mkdir -p "$TEST_TMP/data"
  add_mount /mnt/data bind "$TEST_TMP/data" bind
  run_sh 'echo from-container > /mnt/data/new'
  expect_status 0
  [[ $(<"$TEST_TMP/data/new") == from-container ]] || fail "write not seen on the host"
}

@test "mounts: bind of a single file" {
  echo file-content >"$TEST_TMP/single"
  add_mount /etc/single bind "$TEST_TMP/single" bind ro
  run_sh 'cat /etc/single; stat -c %F /etc/single'
  expect_status 0
  expect_output "file-content
regular file"
}

@test "mounts: rbind carries submounts, bind does not" {
  mkdir -p "$TEST_TMP/host/src/sub"
  mount -t tmpfs -o size=1m husk-sub "$TEST_TMP/host/src/sub"
  defer "umount -l $TEST_TMP/host/src/sub"
  echo in-submount >"$TEST_TMP/host/src/sub/f"
  add_mount /mnt/r bind "$TEST_TMP/host/src" rbind
  add_mount /mnt/b bind "$TEST_TMP/host/src" bind
  run_sh 'cat /mnt/r/sub/f; ls -A /mnt/b/sub | wc -l'
  expect_status 0
  expect_output "in-submount
0"
}

@test "mounts: nosuid, nodev, noexec on a bind mount are enforced" {
  mkdir -p "$TEST_TMP/bin"
  cp "$ROOTFS/bin/busybox" "$TEST_TMP/bin/busybox"
  add_mount /mnt/exec bind "$TEST_TMP/bin" bind ro
  add_mount /mnt/noexec bind "$TEST_TMP/bin" bind ro nosuid nodev noexec
  run_sh '/mnt/exec/busybox echo exec-ok; /mnt/noexec/busybox echo noexec-ran; cat /proc/self/mountinfo'
  expect_line exec-ok
  expect_no_line noexec-ran
  expect_contains "permission denied"
  local o
  o=$(mount_line /mnt/noexec | cut -d' ' -f1)
  has_opt "$o" nosuid && has_opt "$o" nodev && has_opt "$o" noexec && has_opt "$o" ro ||
    fail "options: $o"
}

@test "mounts: applied in order, a later mount nests inside an earlier one" {
  mkdir -p "$TEST_TMP/data"
  echo nested >"$TEST_TMP/data/f"
  add_tmpfs /mnt/outer size=1m
  add_mount /mnt/outer/inner bind "$TEST_TMP/data" bind ro
  run_sh 'cat /mnt/outer/inner/f'
  expect_status 0
  expect_output nested
}

@test "mounts: a later mount on the same target hides the earlier one" {
  mkdir -p "$TEST_TMP/first" "$TEST_TMP/second"
  echo first >"$TEST_TMP/first/f"
  echo second >"$TEST_TMP/second/f"
  add_mount /mnt/m bind "$TEST_TMP/first" bind ro
  add_mount /mnt/m bind "$TEST_TMP/second" bind ro
  run_sh 'cat /mnt/m/f'
  expect_status 0
  expect_output second
}

@test "mounts: destinations are resolved inside the rootfs, never through a symlink out of it" {
  new_bundle_copy "$BUNDLE"
  mkdir -p "$TEST_TMP/outside"
  ln -s "$TEST_TMP/outside" "$BUNDLE/rootfs/abs-link"
  ln -s ../../../../../../../../../../"$TEST_TMP/outside" "$BUNDLE/rootfs/rel-link"
  add_tmpfs /abs-link/t1 size=1m
  add_tmpfs /rel-link/t2 size=1m
  run_sh 'echo a > /abs-link/t1/f && echo b > /rel-link/t2/f && echo done'
  expect_status 0
  expect_output done
  [[ -z $(ls -A "$TEST_TMP/outside") ]] || fail "created outside the rootfs: $(ls -A "$TEST_TMP/outside")"
  [[ -d $BUNDLE/rootfs/$TEST_TMP/outside/t1 ]] || fail "t1 not created inside the rootfs"
  [[ -d $BUNDLE/rootfs/$TEST_TMP/outside/t2 ]] || fail "t2 not created inside the rootfs"
}

@test "mounts: the default spec's proc, sysfs, devpts, shm, mqueue and cgroup mounts" {
  run_sh 'cat /proc/self/mountinfo'
  expect_status 0
  local l
  l=$(mount_line /proc); [[ $l == *" proc proc "* ]] || fail "/proc: $l"
  l=$(mount_line /sys); [[ $l == *" sysfs sysfs "* ]] && has_opt "${l%% *}" ro || fail "/sys: $l"
  l=$(mount_line /dev); [[ $l == *" tmpfs tmpfs "* ]] && has_opt "${l##* }" mode=755 || fail "/dev: $l"
  l=$(mount_line /dev/pts)
  [[ $l == *" devpts devpts "* ]] || fail "/dev/pts: $l"
  has_opt "${l##* }" ptmxmode=666 && has_opt "${l##* }" mode=620 && has_opt "${l##* }" gid=5 ||
    fail "/dev/pts options: $l"
  l=$(mount_line /dev/shm); [[ $l == *" tmpfs shm "* ]] && has_opt "${l%% *}" noexec || fail "/dev/shm: $l"
  l=$(mount_line /dev/mqueue); [[ $l == *" mqueue mqueue "* ]] || fail "/dev/mqueue: $l"
  # cgroup: on a v1/hybrid host, a tmpfs with the hierarchies below it, read-only.
  l=$(mount_line /sys/fs/cgroup/cpu)
  [[ -z $l ]] && l=$(mount_line /sys/fs/cgroup)
  [[ $l == *" cgroup"* ]] && has_opt "${l%% *}" ro || fail "/sys/fs/cgroup: $l"
}

@test "mounts: devpts newinstance gives the container its own ptys" {
  run_sh 'ls /dev/pts; stat -c "%a" /dev/pts/ptmx'
  expect_status 0
  expect_output "ptmx
666"
}

@test "mounts: a cgroup2 mount" {
  [[ -e /sys/fs/cgroup/unified/cgroup.controllers || -e /sys/fs/cgroup/cgroup.controllers ]] ||
    skip "no cgroup2 on this host"
  add_mount /mnt/cg2 cgroup2 cgroup2 nosuid nodev noexec
  run_sh 'cat /proc/self/mountinfo; ls /mnt/cg2'
  expect_status 0
  [[ $(mount_line /mnt/cg2) == *" cgroup2 cgroup2 "* ]] || fail "$(mount_line /mnt/cg2)"
  expect_line cgroup.procs
}

# A host tmpfs made shared, so mounts made under it later propagate to its peers/slaves.
make_shared_host_dir() {
  mkdir -p "$1"
  mount -t tmpfs -o size=16m husk-shared "$1"
  defer "umount -R -l $1"
  mount --make-shared "$1"
}

# Runs a container that waits up to 3 s for /mnt/s/late/marker to appear, while the host
# (once the container is up) mounts a tmpfs at $1/late and puts the marker in it.
# Output: ready, then seen or not-seen.
late_mount_test() {
  local src=$1
  set_script 'echo ready; for i in $(seq 60); do
      [ -e /mnt/s/late/marker ] && { echo seen; exit 0; }; sleep 0.05; done; echo not-seen'
  start_run_bg
  wait_for 10 file_has "$TEST_TMP/run.out" ready
  mkdir -p "$src/late"
  mount -t tmpfs -o size=1m husk-late "$src/late"
  touch "$src/late/marker"
  wait_bg "$RUN_PID"
  [[ $rc -eq 0 ]] || fail "run exited $rc: $(cat "$TEST_TMP/run.err")"
}

@test "mounts: rslave bind receives mounts made later on the host" {
  make_shared_host_dir "$TEST_TMP/shared"
  add_mount /mnt/s bind "$TEST_TMP/shared" rbind rslave
  late_mount_test "$TEST_TMP/shared"
  [[ $(<"$TEST_TMP/run.out") == "ready
seen" ]] || fail "$(cat "$TEST_TMP/run.out")"
}

@test "mounts: rprivate bind does not receive mounts made later on the host" {
  make_shared_host_dir "$TEST_TMP/shared"
  add_mount /mnt/s bind "$TEST_TMP/shared" rbind rprivate
  late_mount_test "$TEST_TMP/shared"
  [[ $(<"$TEST_TMP/run.out") == "ready
not-seen" ]] || fail "$(cat "$TEST_TMP/run.out")"
}

@test "rootfsPropagation: rslave lets host mounts under the rootfs into the container" {
  make_shared_host_dir "$TEST_TMP/rfs"
  cp -a "$ROOTFS/." "$TEST_TMP/rfs/"
  mkdir -p "$TEST_TMP/rfs/mnt/s"
  update_config '.root.path = $p | .linux.rootfsPropagation = "rslave"' --arg p "$TEST_TMP/rfs"
  late_mount_test "$TEST_TMP/rfs/mnt/s"
  [[ $(<"$TEST_TMP/run.out") == "ready
seen" ]] || fail "$(cat "$TEST_TMP/run.out")"
}

@test "rootfsPropagation: private keeps host mounts under the rootfs out" {
  make_shared_host_dir "$TEST_TMP/rfs"
  cp -a "$ROOTFS/." "$TEST_TMP/rfs/"
  mkdir -p "$TEST_TMP/rfs/mnt/s"
  update_config '.root.path = $p | .linux.rootfsPropagation = "private"' --arg p "$TEST_TMP/rfs"
  late_mount_test "$TEST_TMP/rfs/mnt/s"
  [[ $(<"$TEST_TMP/run.out") == "ready
not-seen" ]] || fail "$(cat "$TEST_TMP/run.out")"
}

@test "devices: the default devices with their numbers and modes" {
  run_sh 'stat -c "%n %F %t:%T %a" /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty'
  expect_status 0
  expect_output "/dev/null character special file 1:3 666
/dev/zero character special file 1:5 666
/dev/full character special file 1:7 666
/dev/random character special file 1:8 666
/dev/urandom character special file 1:9 666
/dev/tty character special file 5:0 666"
}

@test "devices: the default devices work" {
  run_sh 'echo x > /dev/null && head -c 4 /dev/zero | wc -c && head -c 4 /dev/urandom | wc -c;
          head -c 1 /dev/zero 2>&1 >/dev/full'
  expect_status 0
  expect_contains "no space left on device"
  [[ $(grep -c '^4$' <<<"$output") -eq 2 ]] || fail "$output"
}

@test "devices: /dev/fd, stdin, stdout, stderr and ptmx symlinks" {
  run_sh 'for l in fd stdin stdout stderr ptmx; do echo "$l -> $(readlink /dev/$l)"; done'
  expect_status 0
  expect_output "fd -> /proc/self/fd
stdin -> /proc/self/fd/0
stdout -> /proc/self/fd/1
stderr -> /proc/self/fd/2
ptmx -> pts/ptmx"
}

@test "devices: linux.devices entries with type, numbers, mode and owner" {
  update_config '.linux.devices = [
    {path: "/dev/husk-null", type: "c", major: 1, minor: 3, fileMode: 384, uid: 1000, gid: 1000},
    {path: "/dev/sub/husk-blk", type: "b", major: 7, minor: 0}]'
  run_sh 'stat -c "%n %F %t:%T %a %u:%g" /dev/husk-null /dev/sub/husk-blk'
  expect_status 0
  expect_output "/dev/husk-null character special file 1:3 600 1000:1000
/dev/sub/husk-blk block special file 7:0 666 0:0"
}

@test "maskedPaths: a masked file reads empty, a masked directory is empty" {
  [[ -s /proc/timer_list || $(wc -c </proc/timer_list) -gt 0 ]] || skip "no /proc/timer_list"
  [[ -n $(ls -A /sys/firmware) ]] || skip "empty /sys/firmware on this host"
  run_sh 'wc -c < /proc/timer_list; ls -A /sys/firmware | wc -l'
  expect_status 0
  expect_output "0
0"
}

@test "maskedPaths: custom paths in the rootfs" {
  update_config '.linux.maskedPaths += ["/etc/passwd", "/home", "/does/not/exist"]'
  run_sh 'wc -c < /etc/passwd; ls -A /home | wc -l; ls /home/husk; true'
  expect_status 0
  [[ $(grep -cx 0 <<<"$output") -eq 2 ]] || fail "$output"
  expect_contains "no such file"
}

@test "readonlyPaths: /proc/sys cannot be written, other proc files can" {
  update_config '.process.capabilities |= map_values(. + ["CAP_SYS_ADMIN", "CAP_NET_ADMIN"])'
  run_sh 'echo 1 > /proc/sys/net/ipv4/ip_forward; echo 500 > /proc/self/oom_score_adj && echo adj-ok'
  expect_contains "read-only file system"
  expect_line adj-ok
}

@test "readonlyPaths: custom paths in a writable rootfs" {
  new_bundle_copy "$BUNDLE"
  update_config '.linux.readonlyPaths += ["/opt", "/does/not/exist"]'
  run_sh 'touch /opt/x 2>&1; touch /srv/x && echo srv-ok'
  expect_status 0
  expect_contains "read-only file system"
  expect_line srv-ok
}
