#!/usr/bin/env bats
# `husk run --rootfs DIR:O`: DIR is the read-only lower layer of an overlayfs root, mounted
# in the container's mount namespace; the container writes to a layer of its own,
# $HUSK_ROOT/containers/<name>/layer (upper, work, merged), removed with the container (--rm).
# Real mounts: these tests look at DIR, the upper layer and both sides' mountinfo.

load helpers

setup() {
  husk_setup
  export HUSK_ROOT=$TEST_TMP/root
  [[ -x $HUSK ]] || fail "husk CLI not found: $HUSK (build first or set HUSK_CLI)"
  # A lower of this test's own, so that its tree and mtimes can be compared whole.
  LOWER=$TEST_TMP/lower
  cp -a "$ROOTFS" "$LOWER"
  echo original >"$LOWER/etc/motd"
  touch -d '2001-02-03 04:05:06' "$LOWER/etc/motd" "$LOWER/etc" "$LOWER/bin"
}

teardown() {
  local left
  left=$(find "$HUSK_ROOT/containers" -mindepth 1 -maxdepth 1 -name "$CID*" 2>/dev/null)
  husk_teardown
  [[ -z $left ]] || fail "container layers left: $left"
}

# husk_run ARGS...: `husk run` with our env marker and no network, stdin closed.
husk_run() {
  timeout --kill-after=5 "$TIMEOUT" "$HUSK" run --rm --net none -e "HUSK_TEST_MARK=$MARK" "$@" </dev/null
}

# husk_bg NAME OUT ARGS...: `husk run --name NAME` in the background, output in OUT; pid
# in $BG (also in BG_PIDS for teardown).
husk_bg() {
  local name=$1 out=$2; shift 2
  env "$HUSK" run --rm --net none -e "HUSK_TEST_MARK=$MARK" --name "$name" "$@" </dev/null >"$out" 2>&1 &
  BG=$!
  BG_PIDS+=("$BG")
}

# The lower's whole tree: path, type, mode, owner, size, mtime (to the nanosecond).
tree_of() { (cd "$1" && find . -printf '%p %y %m %U:%G %s %T@\n' | LC_ALL=C sort); }

# Overlay mounts in this (the host's) mount namespace that name the lower or a layer.
host_overlays() { grep -E " - overlay .*($LOWER|$HUSK_ROOT/containers/$CID/layer)" /proc/self/mountinfo || true; }

# The container's init on the host: the marked process that is pid 1 in its namespace.
init_pid() {
  local p
  for p in $(marked_pids); do
    awk '/^NSpid/ {exit !($NF == 1)}' "/proc/$p/status" 2>/dev/null && { echo "$p"; return 0; }
  done
  return 1
}

@test "husk run --rootfs DIR:O: new, changed and deleted files stay in the container's layer; DIR is untouched" {
  tree_of "$LOWER" >"$TEST_TMP/before"
  local mode
  mode=$(stat -c %a "$LOWER")
  # The container changes its root, shows what it sees, then waits until told to stop.
  husk_bg "$CID" "$TEST_TMP/out" --rootfs "$LOWER:O" -- sh -c '
    trap "exit 0" TERM
    echo new >/newfile; echo changed >>/etc/motd; rm /bin/ls; mkdir /newdir
    echo "sees: $(cat /newfile) $(tail -n1 /etc/motd) $(test -e /bin/ls && echo ls-there || echo ls-gone)"
    echo "root mode: $(stat -c %a /)"
    grep " / / " /proc/self/mountinfo
    echo ready
    while :; do sleep 0.05; done'
  wait_for 10 file_has "$TEST_TMP/out" ready
  local upper=$HUSK_ROOT/containers/$CID/layer/upper
  # The writes are in the upper layer: the new file, a copy-up of the changed one, and a
  # whiteout (a 0/0 character device) for the deleted one.
  [[ $(cat "$upper/newfile") == new ]] || fail "upper/newfile: $(cat "$upper/newfile" 2>&1)"
  [[ $(cat "$upper/etc/motd") == $'original\nchanged' ]] || fail "upper/etc/motd: $(cat "$upper/etc/motd")"
  [[ $(stat -c '%F %t:%T' "$upper/bin/ls") == "character special file 0:0" ]] ||
    fail "no whiteout: $(stat -c '%F %t:%T' "$upper/bin/ls" 2>&1)"
  [[ -d $upper/newdir ]] || fail "upper/newdir missing"
  # The host's mount namespace never sees the overlay; the container's "/" is it.
  [[ -z $(host_overlays) ]] || fail "overlay visible on the host: $(host_overlays)"
  run cat "$TEST_TMP/out"
  expect_line "sees: new changed ls-gone"
  expect_line "root mode: $mode"
  expect_match " / / [a-z,]+ - overlay [^ ]+ rw,lowerdir\+?=$LOWER,upperdir=$upper,workdir=$HUSK_ROOT/containers/$CID/layer/work"
  kill -TERM "$BG"
  wait_bg "$BG"
  [[ $rc == 0 ]] || fail "husk exited $rc"
  # Nothing reached the lower (paths, modes, owners, sizes, mtimes), and the layer is gone.
  tree_of "$LOWER" >"$TEST_TMP/after"
  diff -u "$TEST_TMP/before" "$TEST_TMP/after" || fail "the lower changed"
  [[ $(cat "$LOWER/etc/motd") == original && -e $LOWER/bin/ls && ! -e $LOWER/newfile ]] ||
    fail "lower files changed"
  [[ ! -e $HUSK_ROOT/containers/$CID/layer ]] || fail "layer left: $(ls -la "$HUSK_ROOT/containers/$CID/layer")"
}

@test "husk run --rootfs DIR:O: two containers on one DIR at once each see only their own writes" {
  local c
  # Each writes, then waits for SIGUSR1 (husk forwards it) before it looks: both are running,
  # each on its own upper, when they look.
  for c in a b; do
    husk_bg "$CID-$c" "$TEST_TMP/$c.out" --rootfs "$LOWER:O" -- sh -c "
      trap 'go=1' USR1
      echo $c >/who; touch /only-$c; rm /etc/motd; echo ready >&2
      while [ -z \"\$go\" ]; do sleep 0.05; done
      echo who=\$(cat /who); ls /only-a /only-b 2>/dev/null; test -e /etc/motd || echo motd-gone"
    eval "pid_$c=\$BG"
  done
  wait_for 10 file_has "$TEST_TMP/a.out" ready
  wait_for 10 file_has "$TEST_TMP/b.out" ready
  [[ -e $HUSK_ROOT/containers/$CID-a/layer/upper/only-a && -e $HUSK_ROOT/containers/$CID-b/layer/upper/only-b ]] || fail "no uppers"
  [[ ! -e $HUSK_ROOT/containers/$CID-a/layer/upper/only-b && ! -e $HUSK_ROOT/containers/$CID-b/layer/upper/only-a ]] ||
    fail "a write crossed layers"
  for c in a b; do
    eval "kill -USR1 \$pid_$c; wait_bg \$pid_$c"
    [[ $rc == 0 ]] || fail "container $c exited $rc: $(cat "$TEST_TMP/$c.out")"
    [[ $(cat "$TEST_TMP/$c.out") == "ready"$'\n'"who=$c"$'\n'"/only-$c"$'\n'"motd-gone" ]] ||
      fail "container $c saw: $(cat "$TEST_TMP/$c.out")"
  done
  [[ $(cat "$LOWER/etc/motd") == original ]] || fail "the lower's motd changed"
}

@test "husk run --rootfs DIR:O: the layer goes at a normal exit, a failing one and a kill by signal" {
  run husk_run --name "$CID" --rootfs "$LOWER:O" -- sh -c 'echo x >/f; exit 3'
  expect_status 3
  [[ ! -e $HUSK_ROOT/containers/$CID/layer ]] || fail "layer left after exit 3"
  husk_bg "$CID" "$TEST_TMP/out" --rootfs "$LOWER:O" -- sh -c 'echo x >/f; echo ready; exec sleep 100'
  wait_for 10 file_has "$TEST_TMP/out" ready
  [[ -e $HUSK_ROOT/containers/$CID/layer/upper/f ]] || fail "no layer during the run"
  local pid
  pid=$(init_pid) || fail "no container init found"
  kill -KILL "$pid"
  wait_bg "$BG"
  [[ $rc == 137 ]] || fail "husk exited $rc, want 137"
  [[ ! -e $HUSK_ROOT/containers/$CID/layer ]] || fail "layer left after SIGKILL of the container"
}

@test "husk run --rootfs DIR:O: kill -9 of husk leaves the layer to the running container, the next run reclaims it" {
  husk_bg "$CID-k" "$TEST_TMP/out" --rootfs "$LOWER:O" -- sh -c 'echo x >/f; echo ready; exec sleep 100'
  wait_for 10 file_has "$TEST_TMP/out" ready
  kill -KILL "$BG"
  wait_bg "$BG"
  # The container still runs on its layer: the owner is its init now, and a run now keeps it.
  run husk_run --name "$CID" --rootfs "$LOWER:O" -- true
  expect_status 0
  [[ -e $HUSK_ROOT/containers/$CID-k/layer/upper/f ]] || fail "the running container's layer was taken"
  # Once the container is gone (the runtime's own delete), the next run reclaims the layer.
  "$OCI" --root /run/husk delete -f "$CID-k" >/dev/null
  [[ -d $HUSK_ROOT/containers/$CID-k/layer ]] || fail "no stale layer to reclaim (the test would prove nothing)"
  run husk_run --name "$CID" --rootfs "$LOWER:O" -- true
  expect_status 0
  [[ ! -e $HUSK_ROOT/containers/$CID-k/layer ]] || fail "stale layer not reclaimed: $(ls "$HUSK_ROOT/containers/$CID-k/layer")"
}

@test "husk run --read-only --rootfs DIR:O: an overlay with no upper, writes fail with EROFS" {
  husk_bg "$CID" "$TEST_TMP/out" --read-only --rootfs "$LOWER:O" -- sh -c '
    trap "exit 0" TERM
    touch /x 2>&1; echo changed >>/etc/motd 2>&1; rm /bin/ls 2>&1
    grep " / / " /proc/self/mountinfo; echo ready
    while :; do sleep 0.05; done'
  wait_for 10 file_has "$TEST_TMP/out" ready
  [[ -d $HUSK_ROOT/containers/$CID/layer/merged && ! -e $HUSK_ROOT/containers/$CID/layer/upper && ! -e $HUSK_ROOT/containers/$CID/layer/work ]] ||
    fail "layer dirs: $(ls "$HUSK_ROOT/containers/$CID/layer")"
  kill -TERM "$BG"
  wait_bg "$BG"
  run cat "$TEST_TMP/out"
  expect_line "touch: /x: Read-only file system"
  expect_match "can't create /etc/motd: Read-only file system|/etc/motd: Read-only file system"
  expect_match "rm: can't remove '/bin/ls': Read-only file system"
  expect_match " / / ro[a-z,]* - overlay [^ ]+ ro,lowerdir\+?=$LOWER"
  [[ ! -e $LOWER/x && $(cat "$LOWER/etc/motd") == original && -e $LOWER/bin/ls ]] ||
    fail "the lower changed"
}

@test "husk run --rootfs: a missing DIR, a file, an unknown option: one-line errors, nothing left" {
  local args
  for args in "/nonexistent-$CID:O" "$LOWER/etc/motd:O" "$LOWER:X" "$LOWER:o" ":O"; do
    run --separate-stderr husk_run --name "$CID" --rootfs "$args" -- true
    expect_status 125
    [[ $(wc -l <<<"$stderr") == 1 && $stderr == "husk: --rootfs \""* ]] ||
      fail "--rootfs $args: $stderr"
    [[ ! -e $HUSK_ROOT/containers/$CID/layer ]] || fail "--rootfs $args left $HUSK_ROOT/containers/$CID/layer"
  done
  run --separate-stderr husk_run --rootfs "/nonexistent-$CID:O" -- true
  [[ $stderr == "husk: --rootfs \"/nonexistent-$CID:O\": No such file or directory" ]] || fail "$stderr"
  run --separate-stderr husk_run --rootfs "$LOWER/etc/motd:O" -- true
  [[ $stderr == "husk: --rootfs \"$LOWER/etc/motd:O\": Not a directory" ]] || fail "$stderr"
  run --separate-stderr husk_run --rootfs "$LOWER:X" -- true
  [[ $stderr == "husk: --rootfs \"$LOWER:X\": unknown option \"X\" (only \":O\", an overlay, is known)" ]] ||
    fail "$stderr"
}

@test "husk run --rootfs DIR:O: a DIR stacked too deep on overlayfs is refused in one line naming why" {
  local t=$TEST_TMP/stack
  mkdir -p "$t"/{u1,w1,m1,u2,w2,m2}
  mount -t overlay overlay -o "lowerdir=$LOWER,upperdir=$t/u1,workdir=$t/w1" "$t/m1"
  defer "umount $t/m2; umount $t/m1"
  # One level of overlay below is fine ...
  run husk_run --name "$CID" --rootfs "$t/m1:O" -- cat /etc/motd
  expect_status 0
  expect_output original
  # ... two are more than the kernel stacks (FILESYSTEM_MAX_STACK_DEPTH is 2).
  mount -t overlay overlay -o "lowerdir=$t/m1,upperdir=$t/u2,workdir=$t/w2" "$t/m2"
  run --separate-stderr husk_run --name "$CID" --rootfs "$t/m2:O" -- true
  expect_status 125
  [[ $(wc -l <<<"$stderr") == 1 ]] || fail "$stderr"
  [[ $stderr == *"lower \"$t/m2\" is on overlayfs, and the kernel stacks filesystems only 2 deep"* ]] ||
    fail "$stderr"
  [[ ! -e $HUSK_ROOT/containers/$CID/layer ]] || fail "layer left after a failed mount"
}
