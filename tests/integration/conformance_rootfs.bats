#!/usr/bin/env bats
# Conformance with runc for the root filesystem, terminals, user and mount
# namespaces (issue 11): the pty's group, bind sources a user-namespaced root
# cannot reach, the createContainer hook's cwd, masked paths under a symlinked
# /proc or /sys, and containers without a mount namespace of their own.

load helpers

# ---------------------------------------------------------------------------------------
# 1. The pty's owner: the process's uid, and the group devpts gives it (gid=5 in runc's
#    default spec), never the process's gid.

@test "tty: run's pty belongs to the user and to devpts's gid=5 (tty)" {
  update_config '.process.terminal = true | .process.user = {uid: 1000, gid: 100}'
  set_script 'stat -c "owner %u:%g" $(tty)'
  start_recvtty
  oci create --bundle "$BUNDLE" --console-socket "$TEST_TMP/console.sock" "$CID"
  oci start "$CID"
  wait_bg "$RECV_PID"
  run cat "$TEST_TMP/tty.out"
  expect_match '^owner 1000:5'
  oci delete --force "$CID"
}

@test "tty: exec's pty belongs to the user and to devpts's gid=5 (tty)" {
  set_script 'exec sleep 1000'
  run_detached
  start_recvtty
  oci exec --tty --detach --user 1000:100 --console-socket "$TEST_TMP/console.sock" "$CID" \
    sh -c 'stat -c "owner %u:%g" $(tty)' >"$TEST_TMP/x.out" 2>&1 || fail "exec: $(cat "$TEST_TMP/x.out")"
  wait_bg "$RECV_PID"
  run cat "$TEST_TMP/tty.out"
  expect_match '^owner 1000:5'
  oci delete --force "$CID"
}

@test "tty: without gid= on devpts the pty keeps the opener's group, not the process's" {
  update_config '.process.terminal = true | .process.user = {uid: 1000, gid: 100}
    | (.mounts[] | select(.destination == "/dev/pts") | .options) |= map(select(startswith("gid=") | not))'
  set_script 'stat -c "owner %u:%g" $(tty)'
  start_recvtty
  oci create --bundle "$BUNDLE" --console-socket "$TEST_TMP/console.sock" "$CID"
  oci start "$CID"
  wait_bg "$RECV_PID"
  run cat "$TEST_TMP/tty.out"
  expect_match '^owner 1000:0'
  oci delete --force "$CID"
}

# ---------------------------------------------------------------------------------------
# 3. Hooks' cwd: createContainer runs in the rootfs (runc's hooks use ./lib/...),
#    startContainer in process.cwd inside the container.

@test "hooks: createContainer runs with the rootfs as its cwd, startContainer in process.cwd" {
  new_bundle_copy "$BUNDLE"
  local out=$TEST_TMP/hook-out
  mkdir "$out"
  # The createContainer hook runs before pivot_root: host paths are still there.
  update_config '
    .hooks.createContainer = [{path: "/bin/sh", args: ["sh", "-c", "pwd -P > \($out)/cc.cwd && touch ./made-by-cc"]}]
    | .hooks.startContainer = [{path: "/bin/sh", args: ["sh", "-c", "pwd > /tmp/sc.cwd"]}]
    | .process.cwd = "/home/husk"' --arg out "$out"
  run_sh 'cat /made-by-cc /tmp/sc.cwd && echo ran'
  expect_status 0
  expect_line /home/husk
  expect_line ran
  [[ $(<"$out/cc.cwd") == "$(realpath "$BUNDLE/rootfs")" ]] ||
    fail "createContainer cwd $(<"$out/cc.cwd"), want $BUNDLE/rootfs"
}

# ---------------------------------------------------------------------------------------
# 4. proc and sysfs only on ordinary directories: a symlinked /proc or /sys in the image
#    would carry them (and the masked paths with them) elsewhere. runc's words.

@test "mounts: /proc or /sys a symlink in the rootfs is refused with runc's phrase" {
  local d
  for d in proc sys; do
    new_bundle_copy "$BUNDLE"
    rm -rf "$BUNDLE/rootfs/$d"
    ln -s /elsewhere "$BUNDLE/rootfs/$d"
    run_ctr
    expect_status 1
    expect_contains "must be mounted on ordinary directory"
    expect_contains "\"/$d\" is a symlink to \"/elsewhere\""
    [[ ! -e $BUNDLE/rootfs/elsewhere ]] || fail "/elsewhere created for /$d"
    [[ ! -e $ROOT/$CID ]] || fail "state left behind"
    rm -rf "$BUNDLE"
  done
}

@test "mounts: /proc a file in the rootfs is refused" {
  new_bundle_copy "$BUNDLE"
  rm -rf "$BUNDLE/rootfs/proc"
  touch "$BUNDLE/rootfs/proc"
  run_ctr
  expect_status 1
  expect_contains "\"/proc\" is not a directory: filesystem \"proc\" must be mounted on ordinary directory"
}

# ---------------------------------------------------------------------------------------
# 2. User namespaces: bind sources the mapped root cannot reach (a 0700 host dir) are
#    opened by the runtime, in the init's mount namespace, and bound from that fd.

userns_config() {
  user_namespace 100000
}

# Two sources in 0700 dirs owned by the host's root: no mapped uid may search them.
make_hidden_sources() {
  local i
  for i in 1 2; do
    mkdir -p "$TEST_TMP/hidden-$i/dir"
    echo "content-$i" >"$TEST_TMP/hidden-$i/dir/file"
    chmod 700 "$TEST_TMP/hidden-$i"
  done
  update_config '.mounts += [
      {destination: "/mnt", type: "bind", source: $a, options: ["bind"]},
      {destination: "/srv", type: "bind", source: $b, options: ["rbind", "ro"]}]' \
    --arg a "$TEST_TMP/hidden-1/dir" --arg b "$TEST_TMP/hidden-2/dir"
}

@test "userns: bind sources in 0700 host dirs are mounted (run)" {
  userns_config
  make_hidden_sources
  run_sh 'cat /mnt/file /srv/file; id -u'
  expect_status 0
  expect_output $'content-1\ncontent-2\n0'
}

@test "userns: bind sources in 0700 host dirs, then exec sees them" {
  userns_config
  make_hidden_sources
  set_script 'exec sleep 1000'
  run_detached
  run oci exec "$CID" cat /mnt/file /srv/file
  expect_status 0
  expect_output $'content-1\ncontent-2'
  oci delete --force "$CID"
}

@test "userns: a missing bind source fails create with the mount named, nothing left" {
  userns_config
  update_config '.mounts += [{destination: "/mnt/x", type: "bind", source: $s, options: ["bind"]}]' \
    --arg s "$TEST_TMP/no-such-dir"
  run_ctr
  expect_status 1
  expect_contains "mount \"$TEST_TMP/no-such-dir\" on \"/mnt/x\": No such file or directory"
  [[ ! -e $ROOT/$CID ]] || fail "state left behind"
}

@test "userns: a bind from a read-only host mount stays locked read-only in the container" {
  userns_config
  mkdir -p "$TEST_TMP/hidden/ro"
  chmod 700 "$TEST_TMP/hidden"
  mount --bind "$TEST_TMP/hidden/ro" "$TEST_TMP/hidden/ro"
  defer "umount -l '$TEST_TMP/hidden/ro'"
  mount -o remount,bind,ro "$TEST_TMP/hidden/ro"
  update_config '.mounts += [{destination: "/opt", type: "bind", source: $s, options: ["bind"]}]
    | .process.capabilities |= map_values(. + ["CAP_SYS_ADMIN"])' --arg s "$TEST_TMP/hidden/ro"
  # The control: a mount of the container's own can be made writable again.
  add_tmpfs /home ro
  run_sh 'mount -o remount,bind,rw /home && echo control-rw
    touch /opt/x 2>&1; mount -o remount,bind,rw /opt 2>&1 && echo remounted-rw; touch /opt/y 2>&1 && echo wrote'
  expect_line control-rw
  expect_contains "Read-only file system"
  expect_no_line remounted-rw
  expect_no_line wrote
}

# ---------------------------------------------------------------------------------------
# 5. No mount namespace: the container's mounts live in the host's namespace, on a private
#    bind of the rootfs the runtime makes and delete detaches; the host's "/" is untouched.

no_mntns_config() {
  new_bundle_copy "$BUNDLE"
  update_config '.linux.namespaces |= map(select(.type != "mount"))
    | del(.linux.maskedPaths) | del(.linux.readonlyPaths)'
}

# The propagation fields of the host's "/" line in mountinfo.
host_root_propagation() { awk '$5 == "/" { for (i = 7; $i != "-"; i++) printf "%s ", $i; print "" }' /proc/self/mountinfo; }

mounts_of_bundle() { grep -F -- "$BUNDLE/rootfs" /proc/self/mountinfo || true; }

@test "no mount namespace: the host's namespace, exec in the container's root, delete leaves no mount" {
  no_mntns_config
  touch "$BUNDLE/rootfs/in-the-container"
  local before
  before=$(host_root_propagation)
  set_script 'readlink /proc/self/ns/mnt; exec sleep 1000'
  run_detached
  wait_for 5 file_has "$TEST_TMP/ctr.out" mnt
  [[ $(head -n1 "$TEST_TMP/ctr.out") == "$(readlink /proc/self/ns/mnt)" ]] ||
    fail "container mnt ns $(cat "$TEST_TMP/ctr.out"), host $(readlink /proc/self/ns/mnt)"
  [[ -n $(mounts_of_bundle) ]] || fail "no mount on the rootfs in the host's namespace"
  run oci exec "$CID" ls /
  expect_status 0
  expect_line in-the-container
  oci delete --force "$CID"
  [[ -z $(mounts_of_bundle) ]] || fail "mounts left after delete: $(mounts_of_bundle)"
  [[ $(host_root_propagation) == "$before" ]] || fail "host / propagation changed: $before -> $(host_root_propagation)"
}

# What a refused or failed create must leave: no mount on the bundle's rootfs, no state.
expect_nothing_left() {
  [[ -z $(mounts_of_bundle) ]] || fail "mounts left: $(mounts_of_bundle)"
  [[ ! -e $ROOT/$CID ]] || fail "state left behind"
}

@test "no mount namespace: a failed create leaves no mount behind" {
  no_mntns_config
  update_config '.mounts += [{destination: "/mnt/x", type: "bind", source: $s, options: ["bind"]}]' \
    --arg s "$TEST_TMP/no-such-dir"
  run_ctr
  expect_status 1
  expect_contains "No such file or directory"
  expect_nothing_left
}

@test "no mount namespace: run in the foreground cleans up its mounts" {
  no_mntns_config
  run_sh 'cat /proc/self/mountinfo | wc -l'
  expect_status 0
  [[ -z $(mounts_of_bundle) ]] || fail "mounts left: $(mounts_of_bundle)"
}

@test "no mount namespace: masked and readonly paths are refused (runc's words), nothing made" {
  new_bundle_copy "$BUNDLE"
  update_config '.linux.namespaces |= map(select(.type != "mount"))'
  run_ctr
  expect_status 1
  expect_contains "unable to restrict sys entries without a private MNT namespace"
  expect_nothing_left
}

@test "no mount namespace: delete leaves a mount alone that is not the one create made" {
  no_mntns_config
  set_script 'exec sleep 1000'
  run_detached
  # Someone else's mount over the rootfs now: not ours to detach.
  mount -t tmpfs husk-other "$BUNDLE/rootfs"
  defer "umount -l '$BUNDLE/rootfs'; umount -l '$BUNDLE/rootfs'"
  oci delete --force "$CID"
  grep -qF "husk-other" <(mounts_of_bundle) || fail "the other mount was detached"
  umount "$BUNDLE/rootfs"
  umount -l "$BUNDLE/rootfs"
}

# ---------------------------------------------------------------------------------------
# 6. rootfsPropagation "unbindable": the container's "/" is unbindable (runtime-tools'
#    linux_rootfs_propagation); the host's "/" copy must not be, or the rootfs bind fails.

@test "rootfsPropagation unbindable: the container's / is unbindable" {
  update_config '.linux.rootfsPropagation = "unbindable"'
  run_sh 'awk '"'"'$5 == "/" { print }'"'"' /proc/self/mountinfo'
  expect_status 0
  expect_contains "unbindable"
}
