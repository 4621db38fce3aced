#!/usr/bin/env bats
# "/proc trusted nowhere": no mount lands inside the container's /proc (runc's
# checkProcMount), and the mounts finalize_rootfs makes after pivot_root (masked and
# readonly paths) go by fd, so a /proc or /dev/null replaced under the runtime redirects
# nothing.

load helpers

# expect_refused TEXT: the run failed, naming TEXT, and ran nothing.
expect_refused() {
  [[ $status -ne 0 ]] || fail "accepted: $output"
  expect_contains "$1"
  [[ $output != *should-not-run* ]] || fail "the container ran: $output"
}

@test "proc mounts: a file bound over /proc/sys/kernel/cap_last_cap is refused" {
  husk_only "runc names the destination with its rootfs path"
  # The attack: the runtime reads cap_last_cap from the container's /proc to size the
  # bounding set; a "0" there kept every capability but CAP_CHOWN (CapBnd 000001fffefffffe).
  echo 0 >"$TEST_TMP/zero"
  add_mount /proc/sys/kernel/cap_last_cap bind "$TEST_TMP/zero" bind ro
  run_sh 'grep CapBnd /proc/self/status; echo should-not-run'
  expect_refused '"/proc/sys/kernel/cap_last_cap" cannot be mounted because it is inside /proc'
}

@test "proc mounts: a destination reached through an image symlink into /proc is refused" {
  husk_only "runc names the destination with its rootfs path"
  new_bundle_copy "$BUNDLE"
  ln -s /proc "$BUNDLE/rootfs/abs-proc"
  mkdir -p "$BUNDLE/rootfs/mnt/deep"
  ln -s ../../proc/sys "$BUNDLE/rootfs/mnt/deep/rel-sys"
  echo 0 >"$TEST_TMP/zero"
  add_mount /abs-proc/sys/kernel/cap_last_cap bind "$TEST_TMP/zero" bind
  set_args echo should-not-run
  run_ctr
  expect_refused '"/proc/sys/kernel/cap_last_cap" cannot be mounted because it is inside /proc'

  update_config '.mounts |= map(select(.destination != "/abs-proc/sys/kernel/cap_last_cap"))'
  add_tmpfs /mnt/deep/rel-sys/kernel
  run_ctr
  expect_refused '"/proc/sys/kernel" cannot be mounted because it is inside /proc'
}

@test "proc mounts: /proc itself takes only a procfs" {
  husk_only "runc names the destination with its rootfs path"
  update_config '.mounts += [{destination: "/proc", type: "tmpfs", source: "tmpfs"}]'
  set_args echo should-not-run
  run_ctr
  expect_refused '"/proc" cannot be mounted because it is not of type proc'

  update_config '.mounts |= map(select(.type != "tmpfs" or .destination != "/proc"))'
  mkdir -p "$TEST_TMP/fakeproc/self"
  add_mount /proc bind "$TEST_TMP/fakeproc" rbind
  run_ctr
  expect_refused '"/proc" cannot be mounted because it is not of type proc'
}

@test "proc mounts: the files lxcfs emulates may still be bound over" {
  local f files=() script=
  for f in cpuinfo diskstats meminfo stat swaps uptime loadavg slabinfo sys/kernel/ns_last_pid \
    sys/crypto/fips_enabled; do
    [[ -e /proc/$f ]] || continue
    echo "lxcfs-$f" >"$TEST_TMP/${f//\//_}"
    add_mount "/proc/$f" bind "$TEST_TMP/${f//\//_}" bind ro
    files+=("$f")
    script+="cat /proc/$f; "
  done
  (( ${#files[@]} >= 6 )) || fail "only ${files[*]} exist here"
  run_sh "$script"
  expect_status 0
  for f in "${files[@]}"; do expect_line "lxcfs-$f"; done
}

@test "proc mounts: a rootfs whose /proc is a symlink gets no proc there, nor anything outside" {
  husk_only "wording; runc 1.1 masks through /proc"
  new_bundle_copy "$BUNDLE"
  mkdir -p "$TEST_TMP/outside"
  echo host-file >"$TEST_TMP/outside/kcore"
  rm -rf "$BUNDLE/rootfs/proc"
  ln -s ../../../../../../../../../../"$TEST_TMP/outside" "$BUNDLE/rootfs/proc"
  set_args echo should-not-run
  run_ctr
  expect_refused '"/proc" is a symlink'
  [[ $(ls -A "$TEST_TMP/outside") == kcore ]] || fail "outside changed: $(ls -A "$TEST_TMP/outside")"
  ! findmnt -rn -o TARGET | grep -q "^$TEST_TMP/outside" || fail "mounted on the host"

  # Without a proc mount the masked and readonly paths below /proc resolve inside the
  # rootfs (where nothing exists), never onto the host's files.
  update_config '.mounts |= map(select(.type != "proc"))'
  mkdir -p "$BUNDLE/rootfs/$TEST_TMP/outside"
  echo image-file >"$BUNDLE/rootfs/$TEST_TMP/outside/kcore"
  run_sh 'cat /proc/kcore; echo; echo x >/proc/kcore && echo written'
  expect_status 0
  expect_output $'\nwritten'  # /proc/kcore is masked (reads empty, takes writes to /dev/null)
  [[ $(<"$TEST_TMP/outside/kcore") == host-file ]] || fail "host file changed"
  [[ $(<"$BUNDLE/rootfs/$TEST_TMP/outside/kcore") == image-file ]] || fail "image file changed"
}

# prepare_decoy_rootfs: a writable rootfs with a secret file to mask, a directory to make
# read-only, and a /decoy directory for an attacker's redirections.
prepare_decoy_rootfs() {
  new_bundle_copy "$BUNDLE"
  mkdir -p "$BUNDLE/rootfs/decoy" "$BUNDLE/rootfs/data" "$BUNDLE/rootfs/secretdir"
  echo top-secret >"$BUNDLE/rootfs/etc/secret"
  echo dir-secret >"$BUNDLE/rootfs/secretdir/f"
  update_config '.linux.maskedPaths += ["/etc/secret", "/secretdir"]
    | .linux.readonlyPaths += ["/data"]'
}

@test "masked and readonly paths land on their files when /proc was replaced before pivot_root" {
  husk_only "runc 1.1 mounts through /proc/self/fd (CVE-2025-52881)"
  # An attacker who won a race (CVE-2025-52881) replaced the container's /proc with a tmpfs
  # whose self/fd/N entries all point at /decoy. A createRuntime hook plays that attacker:
  # it runs after the container's mounts, before pivot_root, and enters the init's mount
  # namespace. Mounts made through "/proc/self/fd/N" paths land on /decoy.
  prepare_decoy_rootfs
  local last rootfs
  last=$(</proc/sys/kernel/cap_last_cap)
  rootfs=$(realpath "$BUNDLE/rootfs")
  cat >"$TEST_TMP/attack" <<EOF
#!/bin/sh
set -e
pid=\$(jq -r .pid)
nsenter --mount --target "\$pid" sh -c '
  p=$rootfs/proc
  mount -t tmpfs fakeproc "\$p"
  mkdir -p "\$p/self/fd" "\$p/sys/kernel"
  echo $last >"\$p/sys/kernel/cap_last_cap"
  i=0; while [ \$i -lt 256 ]; do ln -s /decoy "\$p/self/fd/\$i"; i=\$((i + 1)); done'
echo attacked >"$TEST_TMP/attacked"
EOF
  chmod +x "$TEST_TMP/attack"
  update_config '.hooks.createRuntime = [{path: $p}]' --arg p "$TEST_TMP/attack"
  run_sh 'cat /etc/secret; ls /secretdir; touch /data/x 2>/dev/null && echo data-writable;
    touch /decoy/y && echo decoy-writable; echo end'
  [[ -f $TEST_TMP/attacked ]] || fail "the hook did not run: $output"
  expect_status 0
  expect_output $'decoy-writable\nend'
}

@test "maskedPaths: a /dev/null that is a symlink, even to a null device, is refused" {
  husk_only "runc 1.1 follows the symlink (CVE-2025-31133)"
  # With the whole /dev bound from the host no device is made: /dev/null is whatever that
  # directory holds. A symlink could be swapped between the check and the mount
  # (CVE-2025-31133): masking is refused rather than binding what it points at.
  mkdir -p "$TEST_TMP/dev"
  mknod "$TEST_TMP/dev/realnull" c 1 3
  ln -s realnull "$TEST_TMP/dev/null"
  add_mount /dev bind "$TEST_TMP/dev" rbind
  set_args echo should-not-run
  run_ctr
  expect_refused '"/dev/null" is not the null device'

  rm "$TEST_TMP/dev/null"
  echo not-null >"$TEST_TMP/dev/null"
  run_ctr
  expect_refused '"/dev/null" is not the null device'
}
