#!/usr/bin/env bats
# Volumes: `husk run -v/--tmpfs/--mount` and `husk volume`. Named volumes live in a private
# store (HUSK_ROOT=$TEST_TMP/store); the container's root is an overlay over a busybox
# rootfs (--rootfs DIR:O), the root a new volume is filled from.

load helpers

LAYERS=/run/husk-storage

setup() {
  husk_setup
  [[ -x $HUSK ]] || fail "husk CLI not found: $HUSK (build first or set HUSK_CLI)"
  export HUSK_ROOT=$TEST_TMP/store
  VOLS=$HUSK_ROOT/volumes
  LOWER=$TEST_TMP/lower
  cp -a "$ROOTFS" "$LOWER"
}

teardown() {
  local left
  left=$(find "$LAYERS" -mindepth 1 -maxdepth 1 -name "$CID*" 2>/dev/null)
  husk_teardown
  [[ -z $left ]] || fail "container layers left: $left"
}

husk_run() {
  timeout --kill-after=5 "$TIMEOUT" "$HUSK" run --rm --net none --name "$CID" \
    -e "HUSK_TEST_MARK=$MARK" "$@" </dev/null
}

# The volumes in the store (names), one a line.
volume_names() { find "$VOLS" -mindepth 1 -maxdepth 1 ! -name .lock -printf '%f\n' 2>/dev/null; }

# A file's xattr VALUE, or nothing (python: getfattr is not installed everywhere).
xattr_of() {
  python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False).decode())' \
    "$1" "$2" 2>/dev/null
}

@test "husk run -v /host:/dst: rw writes reach the host, :ro writes fail with EROFS" {
  mkdir "$TEST_TMP/rw" "$TEST_TMP/ro"
  echo keep >"$TEST_TMP/ro/f"
  run husk_run --rootfs "$LOWER:O" -v "$TEST_TMP/rw:/rw" -v "$TEST_TMP/ro:/ro:ro" -- sh -c '
    echo hello >/rw/new; cat /ro/f; echo x >/ro/f 2>&1; touch /ro/g 2>&1; true'
  expect_status 0
  expect_line keep
  expect_match "can't create /ro/f: Read-only file system"
  expect_match "/ro/g: Read-only file system"
  [[ $(cat "$TEST_TMP/rw/new") == hello ]] || fail "the host does not see the write"
  [[ $(cat "$TEST_TMP/ro/f") == keep && ! -e $TEST_TMP/ro/g ]] || fail "the :ro dir changed"
}

@test "husk run -v NAME:/dst: filled from the root on first use (owners, modes, xattrs, links, devices), kept and not refilled" {
  local d=$LOWER/srv/app
  mkdir -p "$d/sub"
  echo original >"$d/file"
  chown 1234:2345 "$d/file"
  chmod 4751 "$d/file"
  ln -s file "$d/link"
  ln -s /etc/passwd "$d/abs"
  mkfifo "$d/fifo"
  mknod "$d/null" c 1 3
  chown 7:8 "$d/sub" "$d"
  chmod 0710 "$d"
  chmod 0750 "$d/sub"
  python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.husk", b"kept")' "$d/file"
  touch -h -d '2001-02-03 04:05:06' "$d/file" "$d/link" "$d/sub"

  run husk_run --rootfs "$LOWER:O" -v data:/srv/app -- sh -c '
    cat /srv/app/file; echo changed >/srv/app/file; echo new >/srv/app/added'
  expect_status 0
  expect_line original
  local v=$VOLS/data/_data
  [[ -d $v ]] || fail "no volume data: $(ls -la "$VOLS")"
  run stat -c '%n %F %a %u:%g' "$v" "$v/file" "$v/sub" "$v/fifo" "$v/null"
  expect_line "$v directory 710 7:8"
  expect_line "$v/file regular file 4751 1234:2345"
  expect_line "$v/sub directory 750 7:8"
  expect_line "$v/fifo fifo 644 0:0"
  expect_line "$v/null character special file 644 0:0"
  [[ $(readlink "$v/link") == file && $(readlink "$v/abs") == /etc/passwd ]] ||
    fail "links: $(ls -l "$v")"
  [[ $(stat -c %Y "$v/sub") == $(stat -c %Y "$d/sub") ]] || fail "directory mtime not kept"
  [[ $(stat -c %Y "$v/link") == $(stat -c %Y "$d/link") ]] || fail "symlink mtime not kept"
  [[ $(xattr_of "$v/file" user.husk) == kept ]] || fail "xattr not copied"
  [[ $(stat -c '%t:%T' "$v/null") == 1:3 ]] || fail "device numbers differ"
  # The container's writes are in the volume; the lower is untouched.
  [[ $(cat "$v/file") == changed && $(cat "$v/added") == new ]] || fail "writes lost"
  [[ $(cat "$d/file") == original ]] || fail "the lower changed"

  # Second use: the changed content stays, nothing is copied again (even once emptied).
  run husk_run --rootfs "$LOWER:O" -v data:/srv/app -- sh -c 'cat /srv/app/file; rm -r /srv/app/*'
  expect_status 0
  expect_line changed
  run husk_run --rootfs "$LOWER:O" -v data:/srv/app -- ls -A /srv/app
  expect_status 0
  expect_output ""
  grep -q '"filled": true' "$VOLS/data/volume.json" || fail "record: $(cat "$VOLS/data/volume.json")"

  # nocopy: a new volume stays empty.
  run husk_run --rootfs "$LOWER:O" -v bare:/srv/app:nocopy -- ls -A /srv/app
  expect_status 0
  expect_output ""
}

@test "husk run -v NAME:/dst: a symlink in the root is resolved inside it, never to the host" {
  # The host's secret, and an image whose /data leads to it by an absolute and a
  # relative symlink. Resolved on the host, either would copy the secret into the volume.
  mkdir -p "$TEST_TMP/secret"
  echo host-secret >"$TEST_TMP/secret/key"
  ln -s "$TEST_TMP/secret" "$LOWER/data"
  ln -s "../../../../../../../../..$TEST_TMP/secret" "$LOWER/data2"
  run husk_run --rootfs "$LOWER:O" -v atk:/data -v atk2:/data2 -- sh -c 'ls -A /data /data2'
  expect_status 0
  if grep -rqs host-secret "$VOLS"; then fail "the host's file was copied into a volume"; fi
  [[ -z $(ls -A "$VOLS/atk/_data") && -z $(ls -A "$VOLS/atk2/_data") ]] ||
    fail "volumes not empty: $(ls -lAR "$VOLS")"
  # The same link to /etc copies the root's /etc, not the host's.
  rm "$LOWER/data"
  ln -s /etc "$LOWER/data"
  echo image-only >"$LOWER/etc/image-marker"
  run husk_run --rootfs "$LOWER:O" -v etc:/data -- true
  expect_status 0
  [[ -e $VOLS/etc/_data/image-marker ]] || fail "the root's /etc was not copied"
  [[ ! -e $VOLS/etc/_data/os-release && ! -e $VOLS/etc/_data/fstab ]] ||
    fail "the host's /etc was copied: $(ls "$VOLS/etc/_data")"
  # A volume name that is a path is refused, by run and by create, and nothing is made.
  run husk_run --rootfs "$LOWER:O" -v ../x:/d -- true
  expect_status 125
  expect_output "husk: -v \"../x:/d\": volume name \"../x\": use a letter or digit, then letters, digits, \"_\", \".\" or \"-\" (at most 255)"
  run "$HUSK" volume create ../x
  (( status != 0 )) || fail "create ../x succeeded"
  [[ ${#lines[@]} == 1 ]] || fail "not one line: $output"
  [[ ! -e $HUSK_ROOT/x && ! -e $VOLS/x ]] || fail "made ../x"
}

@test "husk run --tmpfs and --mount of each type: options seen in mountinfo" {
  mkdir "$TEST_TMP/b"
  echo bound >"$TEST_TMP/b/f"
  run husk_run --rootfs "$LOWER:O" --tmpfs /scratch:size=1m,mode=1700 \
    --mount "type=tmpfs,target=/t2,tmpfs-size=2m,tmpfs-mode=1770" \
    --mount "type=bind,source=$TEST_TMP/b,target=/b,readonly" \
    --mount "type=volume,source=mv,target=/mv" -- sh -c '
      grep -E " /(scratch|t2|b|mv) " /proc/self/mountinfo; cat /b/f; echo v >/mv/x'
  expect_status 0
  expect_match " /scratch rw,nosuid,nodev,noexec[a-z,]* - tmpfs tmpfs rw,size=1024k,mode=1700"
  expect_match " /t2 rw,nosuid,nodev[a-z,]* - tmpfs tmpfs rw,size=2048k,mode=1770"
  expect_match " /b ro[a-z,]* "
  expect_match " /mv rw[a-z,]* "
  expect_line bound
  [[ $(cat "$VOLS/mv/_data/x") == v ]] || fail "the --mount volume did not keep the write"
}

@test "husk volume rm: refused while a running container uses the volume; after kill -9 of husk and the container it works" {
  run "$HUSK" volume create --label team=a used
  expect_status 0
  expect_output used
  env "$HUSK" run --rm --net none -e "HUSK_TEST_MARK=$MARK" --name "$CID" --rootfs "$LOWER:O" \
    -v used:/d -- sh -c 'echo ready >/d/r; exec sleep 100' </dev/null >"$TEST_TMP/out" 2>&1 &
  local bg=$!
  BG_PIDS+=("$bg")
  wait_for 10 test -e "$VOLS/used/_data/r"
  run "$HUSK" volume rm used
  expect_status 125
  expect_output "husk: volume \"used\" is in use by container $CID"
  run "$HUSK" volume rm -f used
  expect_status 125
  run "$HUSK" volume prune -a
  expect_status 0
  [[ -d $VOLS/used ]] || fail "prune removed a volume in use"
  # kill -9 of husk: the use passed to the container's init, which still runs.
  local init
  init=$(for p in $(marked_pids); do
    awk '/^NSpid/ {exit !($NF == 1)}' "/proc/$p/status" 2>/dev/null && echo "$p"; done)
  [[ -n $init ]] || fail "no container init"
  kill -KILL "$bg"
  wait_bg "$bg"
  run "$HUSK" volume rm used
  expect_status 125
  kill -KILL "$init"
  wait_for 5 eval "! pid_alive $init"
  run "$HUSK" volume rm used
  expect_status 0
  [[ ! -e $VOLS/used ]] || fail "volume left: $(ls -A "$VOLS")"
  "$OCI" --root /run/husk delete -f "$CID" >/dev/null 2>&1 || true
  rm -rf "${LAYERS:?}/$CID"  # the dead container's layer (the next run would reclaim it)
}

@test "husk volume create/ls/inspect/prune: docker's shapes; anonymous volumes go with the run" {
  run "$HUSK" volume create --label a=1 --label b=two named
  expect_status 0
  run "$HUSK" volume inspect named
  expect_status 0
  [[ $(jq -r '.[0] | [.Name, .Driver, .Scope, .Labels.a, .Labels.b, .Mountpoint] | join(" ")' \
      <<<"$output") == "named local local 1 two $VOLS/named/_data" ]] || fail "inspect: $output"
  [[ $(jq -r '.[0].CreatedAt' <<<"$output") =~ ^20[0-9-]+T[0-9:.]+Z$ ]] || fail "CreatedAt: $output"
  run "$HUSK" volume create
  expect_status 0
  [[ $output =~ ^[0-9a-f]{64}$ ]] || fail "random name: $output"
  local random=$output
  run "$HUSK" volume ls -q
  expect_status 0
  expect_line named
  expect_line "$random"
  run "$HUSK" volume ls --format json
  expect_status 0
  [[ $(jq -sr 'map(.Name) | sort | join(" ")' <<<"$output") == "$(sort <<<"$random"$'\n'named | tr '\n' ' ' | sed 's/ $//')" ]] ||
    fail "ls json: $output"
  run "$HUSK" volume inspect nosuch
  expect_status 125
  expect_contains 'volume "nosuch": no such volume'

  # An anonymous volume (-v /dst, --mount without source) is filled, then removed with the run.
  run husk_run --rootfs "$LOWER:O" -v /etc --mount type=volume,target=/anon2 -- sh -c '
    cat /etc/passwd >/dev/null && echo ok; ls -d /anon2'
  expect_status 0
  expect_line ok
  [[ $(volume_names | sort) == "$(sort <<<"$random"$'\n'named)" ]] || fail "left: $(volume_names)"
  # prune: docker 23+ takes unused anonymous volumes only; -a named ones too.
  run "$HUSK" volume prune
  expect_status 0
  [[ -d $VOLS/named && -d $VOLS/$random ]] || fail "prune removed named volumes"
  run "$HUSK" volume prune -a
  expect_status 0
  expect_line named
  [[ -z $(volume_names) ]] || fail "left after prune -a: $(volume_names)"
}

@test "husk run volume flags: bad ones are one line, non-zero, and leave nothing" {
  local bad
  for bad in "-v $TEST_TMP/missing:/m" "-v rel:dst" "-v /h:/a/../b" \
             "--mount type=bind,source=$TEST_TMP,target=/x,colour=red" \
             "-v $TEST_TMP:/dup --tmpfs /dup" "--tmpfs /t:size=1m --mount type=volume,target=/t" \
             "--mount type=tmpfs,target=/t,tmpfs-size=lots"; do
    # shellcheck disable=SC2086  # word splitting of the flags is wanted
    run husk_run --rootfs "$LOWER:O" -v newvol:/nv $bad -- true
    (( status == 125 )) || fail "$bad: status $status: $output"
    [[ ${#lines[@]} == 1 && $output == "husk: "* ]] || fail "$bad: not one line: $output"
    [[ -z $(volume_names) ]] || fail "$bad: volumes made: $(volume_names)"
    [[ ! -e $LAYERS/$CID ]] || fail "$bad: container layer left"
  done
  run husk_run --rootfs "$LOWER:O" -v "$TEST_TMP/missing:/m" -- true
  expect_output "husk: -v \"$TEST_TMP/missing:/m\": bind source path \"$TEST_TMP/missing\": No such file or directory"
  [[ ! -e $TEST_TMP/missing ]] || fail "the missing host path was created"
  run husk_run --rootfs "$LOWER:O" --mount "type=bind,source=/tmp,target=/x,colour=red" -- true
  expect_output "husk: --mount \"type=bind,source=/tmp,target=/x,colour=red\": unknown key \"colour\""
}
