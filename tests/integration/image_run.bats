#!/usr/bin/env bats
# `husk run IMAGE`: the image's layers as overlay lowers (short links in the store), the
# container's own layer under <root>/containers/<id>, and the image config applied as docker
# does. Images are built here (tests/fixtures/make-oci-image), turned into docker-archives by
# skopeo and loaded into a private store (HUSK_ROOT) with `husk load`; podman runs the same
# archives (vfs storage, no cgroups, no network) where its answer is the reference.

load helpers

IMAGES=localhost/husk-it

setup_file() {
  husk_setup_file
  export HUSK_ROOT=$FILE_TMP/store
  local layout=$FILE_TMP/layout mk=$FIXTURES/make-oci-image
  # plain: a layer that adds /etc/motd, /work and /data/seed, and deletes /etc/hosts; Cmd sh.
  "$mk" "$layout" plain --base "$ROOTFS" \
    --layer 'file:/etc/motd=from-image,rm:/etc/hosts,dir:/work,dir:/data,file:/data/seed=seeded'
  # ep: Entrypoint + Cmd.
  "$mk" "$layout" ep --base "$ROOTFS" \
    --config '{"Entrypoint": ["/bin/echo", "ep"], "Cmd": ["default", "cmd"]}'
  # user: a named User, a WorkingDir that does not exist yet, Env, StopSignal, Labels.
  "$mk" "$layout" user --base "$ROOTFS" \
    --config '{"User": "husk", "WorkingDir": "/work/new/dir", "Env": ["FOO=image", "PATH=/usr/bin:/bin"],
               "Cmd": ["sh", "-c", "id; pwd; echo FOO=$FOO HOME=$HOME; stat -c \"%U %a\" ."],
               "StopSignal": "SIGQUIT", "Labels": {"org.example.kind": "test"}}'
  # evil: /etc/passwd a symlink out of the image (to the host's, if it were followed).
  "$mk" "$layout" evil --base "$ROOTFS" --layer 'rm:/etc/passwd' \
    --layer 'link:/etc/passwd=../../../../../../../../etc/passwd'
  # web: ExposedPorts for -P; busybox's httpd serving /www, under a shell that ends on SIGTERM
  # (as pid 1, httpd itself would ignore it).
  "$mk" "$layout" web --base "$ROOTFS" --layer 'dir:/www,file:/www/index.html=served by husk' \
    --config '{"ExposedPorts": {"80/tcp": {}}, "Cmd": ["sh", "-c", "trap \"exit 0\" TERM; httpd -f -p 80 -h /www & wait"]}'
  # bare: /bin/busybox and /bin/sh, nothing else (no /proc, /dev, /etc to mount on).
  mkdir -p "$FILE_TMP/bare/bin"
  cp /bin/busybox "$FILE_TMP/bare/bin/" && ln -s busybox "$FILE_TMP/bare/bin/sh"
  "$mk" "$layout" bare --base "$FILE_TMP/bare"
  # deep: 140 layers on the base, more than overlayfs' one-page mount data holds by name.
  "$mk" "$layout" deep --base "$ROOTFS" --deep 140
  local t
  for t in plain ep user evil web bare deep; do
    skopeo --insecure-policy copy -q "oci:$layout:$t" "docker-archive:$FILE_TMP/$t.tar:$IMAGES/$t:latest"
    "$HUSK" load -q -i "$FILE_TMP/$t.tar" >/dev/null
  done
}

teardown_file() {
  if [[ -n ${PODMAN_DIR:-} && -d $PODMAN_DIR ]]; then
    pod rmi -a -f >/dev/null 2>&1 || true
  fi
  husk_teardown_file
}

setup() { husk_setup; }

teardown() {
  local left
  left=$(ls -A "$HUSK_ROOT/containers" 2>/dev/null | grep -F "$CID" || true)
  husk_teardown
  [[ -z $left ]] || fail "container layers left: $left"
  left=$(ls -A "$HUSK_ROOT/image/holds" 2>/dev/null || true)
  [[ -z $left ]] || fail "holds left: $left"
}

husk_run() {
  timeout --kill-after=5 "$TIMEOUT" "$HUSK" run --rm --net none -e "HUSK_TEST_MARK=$MARK" --name "$CID" "$@" </dev/null
}

# podman with a private vfs store under FILE_TMP, no cgroups and no network: nothing to
# clean but FILE_TMP. The same archives are loaded once.
pod() {
  if [[ -z ${PODMAN_DIR:-} ]]; then
    PODMAN_DIR=$FILE_TMP/podman
    local nofile nproc
    nofile=$(ulimit -Hn); (( nofile > 4096 )) && nofile=4096
    nproc=$(ulimit -Hu); (( nproc > 4096 )) && nproc=4096
    podman_conf "$PODMAN_DIR" "$nofile" "$nproc"
  fi
  CONTAINERS_CONF=$PODMAN_DIR/containers.conf CONTAINERS_STORAGE_CONF=$PODMAN_DIR/storage.conf \
    TMPDIR=$PODMAN_DIR/tmp podman "$@"
}

# same_as_podman IMAGE [FLAGS...] -- [ARGS...]: `husk run FLAGS IMAGE ARGS` prints what
# `podman run FLAGS IMAGE ARGS` prints, with the same status.
same_as_podman() {
  local image=$1 flags=() want got ws gs
  shift
  while [[ $1 != -- ]]; do flags+=("$1"); shift; done
  shift
  pod image exists "$IMAGES/$image:latest" || pod load -q -i "$FILE_TMP/$image.tar" >/dev/null
  # Through cgroup-sandbox: podman's cgroups (runc, cgroupfs) below a cgroup of ours.
  local cg=husk-it-pod-$$
  want=$("$FIXTURES/cgroup-sandbox" "$cg" env CONTAINERS_CONF="$PODMAN_DIR/containers.conf" \
           CONTAINERS_STORAGE_CONF="$PODMAN_DIR/storage.conf" TMPDIR="$PODMAN_DIR/tmp" \
           podman run --rm --network none --cgroup-parent "/$cg" "${flags[@]}" "$IMAGES/$image" "$@" \
           </dev/null 2>&1) && ws=0 || ws=$?
  got=$(husk_run "${flags[@]}" "$IMAGES/$image" "$@" 2>&1) && gs=0 || gs=$?
  [[ $got == "$want" && $gs == "$ws" ]] ||
    fail "husk run ${flags[*]} $image $* differs from podman run:
--- podman (status $ws)
$want
--- husk (status $gs)
$got"
}

@test "husk run IMAGE: Entrypoint and Cmd as docker combines them, the same as podman" {
  run husk_run "$IMAGES/ep"
  [[ $status -eq 0 && $output == "ep default cmd" ]] || fail "$output"
  same_as_podman ep --
  same_as_podman ep -- x y
  same_as_podman ep --entrypoint /bin/echo --
  same_as_podman ep --entrypoint /bin/echo -- only args
  same_as_podman ep --entrypoint "" -- /bin/echo no entrypoint
}

@test "husk run IMAGE: a named User from the image's passwd, a new WorkingDir, Env; as podman" {
  run husk_run "$IMAGES/user"
  [[ $status -eq 0 ]] || fail "$output"
  [[ ${lines[0]} == "uid=1000(husk) gid=1000(husk)"* ]] || fail "$output"
  [[ ${lines[1]} == /work/new/dir && ${lines[2]} == "FOO=image HOME=/home/husk" ]] || fail "$output"
  same_as_podman user --
  same_as_podman user -u 0 -w /tmp -e FOO=flag -- sh -c 'id -u; pwd; echo $FOO; echo $PATH'
  same_as_podman user -u nobody -- id
  same_as_podman user -e FOO -- sh -c 'echo ${FOO-unset}'
}

@test "husk run IMAGE: the image's layers as seen through the overlay, whiteouts included" {
  run husk_run "$IMAGES/plain" -- sh -c 'cat /etc/motd; test -e /etc/hosts && echo hosts; test -d /work && echo work'
  [[ $status -eq 0 && $output == $'from-image\nwork' ]] || fail "$output"
  # The root is an overlay whose lowers are the store's short links.
  run husk_run "$IMAGES/plain" -- cat /proc/self/mountinfo
  local root
  root=$(awk '$5 == "/" { print }' <<<"$output")
  # lowerdir+= one by one (Linux 6.8+), or lowerdir=a:b.
  [[ $root == *" - overlay "*lowerdir*=l/*l/* ]] || fail "root: $root"
  [[ $root == *upperdir=$HUSK_ROOT/containers/$CID/layer/upper* ]] || fail "root: $root"
}

@test "husk run IMAGE: writes stay in each container's own layer; the image's layers are untouched" {
  local tree_before
  tree_before=$(cd "$HUSK_ROOT/image/layers" && find . -printf '%p %y %m %U:%G %s %T@\n' | LC_ALL=C sort | sha256sum)
  local a=$TEST_TMP/a.out b=$TEST_TMP/b.out
  "$HUSK" run --rm --net none -e "HUSK_TEST_MARK=$MARK" --name "$CID-a" "$IMAGES/plain" -- \
    sh -c 'echo a >/etc/motd; rm /bin/ls; sleep 1; cat /etc/motd; test -e /bin/ls || echo no-ls' >"$a" 2>&1 </dev/null &
  local pa=$!
  "$HUSK" run --rm --net none -e "HUSK_TEST_MARK=$MARK" --name "$CID-b" "$IMAGES/plain" -- \
    sh -c 'echo b >/etc/motd; sleep 1; cat /etc/motd; test -e /bin/ls && echo has-ls' >"$b" 2>&1 </dev/null &
  local pb=$!
  wait "$pa" "$pb"
  [[ $(cat "$a") == $'a\nno-ls' ]] || fail "a: $(cat "$a")"
  [[ $(cat "$b") == $'b\nhas-ls' ]] || fail "b: $(cat "$b")"
  run husk_run "$IMAGES/plain" -- cat /etc/motd
  [[ $output == from-image ]] || fail "a third container sees $output"
  [[ $(cd "$HUSK_ROOT/image/layers" && find . -printf '%p %y %m %U:%G %s %T@\n' | LC_ALL=C sort | sha256sum) == "$tree_before" ]] ||
    fail "the image's layers changed"
  [[ -z $(ls -A "$HUSK_ROOT/containers") ]] || fail "layers left: $(ls -A "$HUSK_ROOT/containers")"
}

@test "husk run --read-only IMAGE: writes fail with EROFS, also on an image without /proc or /etc" {
  run husk_run --read-only "$IMAGES/plain" -- sh -c 'echo x >/etc/motd'
  [[ $status -ne 0 && $output == *"Read-only file system"* ]] || fail "$output"
  # The mount points the image lacks are made before the root turns read-only.
  run husk_run --read-only "$IMAGES/bare" -- /bin/busybox sh -c 'test -d /proc/self && test -d /dev && /bin/busybox touch /x'
  [[ $status -ne 0 && $output == *"Read-only file system"* ]] || fail "$output"
  run husk_run --read-only "$IMAGES/bare" -- /bin/busybox sh -c 'test -d /proc/self && test -d /dev'
  [[ $status -eq 0 ]] || fail "$output"
}

@test "husk run IMAGE: an image of 141 layers runs (short links keep the mount data in a page)" {
  run husk_run "$IMAGES/deep" -- sh -c 'cat /deep/0 /deep/139; ls /deep | wc -l'
  [[ $status -eq 0 && $output == $'0\n139\n140' ]] || fail "$output"
}

# The image is hostile: its /etc/passwd is a symlink climbing out of the layer towards the
# host's /etc/passwd. Followed on the host, `-u _apt` (a user of the host's passwd, not the
# image's) would resolve; husk never follows it, so the name is unknown.
@test "husk run IMAGE -u NAME: a symlinked /etc/passwd in the image never reads the host's" {
  grep -q '^_apt:' /etc/passwd || skip "the host has no _apt user"
  run husk_run -u _apt "$IMAGES/evil" -- id
  [[ $status -ne 0 && ${#lines[@]} -eq 1 && $output == *'"_apt"'* ]] || fail "$output"
  [[ -z $(ls -A "$HUSK_ROOT/containers") ]] || fail "a layer was left"
  run husk_run -u 1000 "$IMAGES/evil" -- id -u
  [[ $status -eq 0 && $output == 1000 ]] || fail "numeric users still work: $output"
}

@test "husk run IMAGE: an image not in the store, a bad --entrypoint: one line, nothing left" {
  run husk_run --pull never localhost/husk-it/nope
  [[ $status -eq 125 && ${#lines[@]} -eq 1 && $output == *'image "localhost/husk-it/nope": not in the store'* ]] ||
    fail "status $status: $output"
  # --pull missing (the default) tries the registry (localhost: nothing listens), then one line.
  run husk_run localhost:1/husk-it/nope
  [[ $status -eq 125 && ${lines[-1]} == "husk: pull localhost:1/husk-it/nope:latest: "*'run a host program after "--"'* ]] ||
    fail "status $status: $output"
  run -127 husk_run --entrypoint /no/such "$IMAGES/ep"
  [[ $status -ne 0 ]] || fail "$output"
  # With --rootfs every word is the command: the image's name is no program there.
  run -127 husk_run --rootfs "$ROOTFS" "$IMAGES/ep"
  [[ -z $(ls -A "$HUSK_ROOT/containers") ]] || fail "a layer was left"
  # A host program still runs after "--".
  run husk_run -- /bin/echo host
  [[ $status -eq 0 && $output == host ]] || fail "$output"
}

@test "husk rmi of an image a container runs is refused; after kill -9 of husk and the container it goes" {
  local out=$TEST_TMP/bg.out
  "$HUSK" run --rm --net none -e "HUSK_TEST_MARK=$MARK" --name "$CID-k" "$IMAGES/plain" -- sleep 60 >"$out" 2>&1 </dev/null &
  local husk_pid=$!
  BG_PIDS+=("$husk_pid")
  wait_for 10 eval '[[ -n $(marked_pids) ]]' || fail "the container did not start: $(cat "$out")"
  wait_for 10 grep -q ' ' "$HUSK_ROOT/image/holds/$CID-k" || fail "no hold"
  run "$HUSK" rmi "$IMAGES/plain"
  [[ $status -ne 0 && $output == *"in use by container \"$CID-k\""* ]] || fail "rmi: $output"
  kill -9 "$husk_pid" $(marked_pids)
  wait_for 10 eval '[[ -z $(marked_pids) ]]' || fail "the container lives on"
  # The hold and the layer are the dead container's: rmi goes, the next run reclaims the
  # layer, prune drops the hold. (The runtime's state of the killed container is husk-oci's.)
  run "$HUSK" rmi "$IMAGES/plain"
  [[ $status -eq 0 ]] || fail "rmi after the kill: $output"
  "$OCI" --root /run/husk delete -f "$CID-k" >/dev/null
  [[ -d $HUSK_ROOT/containers/$CID-k ]] || fail "no stale layer to reclaim (the test would prove nothing)"
  run husk_run "$IMAGES/user" -- true
  [[ $status -eq 0 ]] || fail "$output"
  [[ ! -e $HUSK_ROOT/containers/$CID-k ]] || fail "the stale layer was not reclaimed"
  run "$HUSK" image prune
  [[ $status -eq 0 && ! -e $HUSK_ROOT/image/holds/$CID-k ]] || fail "prune kept the dead hold: $output"
  "$HUSK" load -q -i "$FILE_TMP/plain.tar" >/dev/null
}

@test "husk run -P IMAGE: every ExposedPorts entry published to a free host port" {
  local out=$TEST_TMP/web.out
  "$HUSK" run --rm -e "HUSK_TEST_MARK=$MARK" --name "$CID" -P "$IMAGES/web" >"$out" 2>&1 </dev/null &
  local husk_pid=$!
  BG_PIDS+=("$husk_pid")
  wait_for 15 eval '"$HUSK" port "$CID" 2>/dev/null | grep -q "^80/tcp"' || fail "no port: $(cat "$out")"
  local port
  port=$("$HUSK" port "$CID" | awk -F: '/^80\/tcp/ { print $NF }')
  [[ $port =~ ^[0-9]+$ ]] || fail "port: $("$HUSK" port "$CID")"
  wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:$port/index.html" ||
    fail "nothing served on 127.0.0.1:$port: $(cat "$out")"
  local body
  body=$(curl -sf "http://127.0.0.1:$port/index.html")
  [[ $body == *"served by husk"* ]] || fail "$body"
  kill -TERM "$husk_pid"
  wait "$husk_pid" || true
}

@test "husk run -v NAME:/data IMAGE: a new named volume is filled from the image's /data, once" {
  local vol=$CID-vol
  run husk_run -v "$vol:/data" "$IMAGES/plain" -- sh -c 'cat /data/seed; echo mine >/data/seed; echo new >/data/new'
  [[ $status -eq 0 && $output == seeded ]] || fail "first run: $output"
  run husk_run -v "$vol:/data" "$IMAGES/plain" -- sh -c 'cat /data/seed /data/new'
  [[ $status -eq 0 && $output == $'mine\nnew' ]] || fail "second run (not filled again): $output"
  [[ $(cat "$HUSK_ROOT/volumes/$vol/_data/seed") == mine ]] || fail "the volume's own file"
  run "$HUSK" volume rm "$vol"
  [[ $status -eq 0 && ! -e $HUSK_ROOT/volumes/$vol ]] || fail "volume rm: $output"
}

@test "husk run --pull: missing pulls an image the store lacks (once), always pulls again, never does not" {
  local reg=$TEST_TMP/registry addr
  addr=$("$FIXTURES/registry" start plain "$reg")
  defer "\"$FIXTURES/registry\" stop \"$reg\""
  "$FIXTURES/registry" push "$reg" husk-it/auto:1 >/dev/null
  run --separate-stderr husk_run --pull never "$addr/husk-it/auto:1" -- /bin/busybox echo ran
  [[ $status -eq 125 ]] || fail "never: $output $stderr"
  run --separate-stderr husk_run "$addr/husk-it/auto:1" -- /bin/busybox echo ran
  [[ $status -eq 0 && $output == ran && $stderr == *"pulling it"*"1 layers fetched"* ]] ||
    fail "missing: status $status: $output / $stderr"
  run --separate-stderr husk_run "$addr/husk-it/auto:1" -- /bin/busybox echo ran
  [[ $status -eq 0 && $output == ran && $stderr != *pull* ]] || fail "present: $output / $stderr"
  run --separate-stderr husk_run --pull always "$addr/husk-it/auto:1" -- /bin/busybox echo ran
  [[ $status -eq 0 && $output == ran && $stderr == *"0 layers fetched, 1 already present"* ]] ||
    fail "always: $output / $stderr"
  "$HUSK" rmi "$addr/husk-it/auto:1" >/dev/null
}
