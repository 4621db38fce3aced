#!/usr/bin/env bats
# Anonymous volumes (-v /DST, --mount type=volume without a source) of kept containers: made
# once, at the first start, named in the container's record, mounted again by every later
# start (start, restart, the restart policy), and removed with the container by rm -v, --rm
# and -d --rm, as docker does; plain rm leaves them dangling for volume prune. Each test has
# its own HUSK_ROOT; containers run an overlay over the fixture rootfs (--rootfs DIR:O), no
# network, named after the test's CID so the teardown's leak checks cover them.

load helpers

setup() {
  husk_ctr_setup
  VOLS=$HUSK_ROOT/volumes
  HD_ROOTFS=$ROOTFS:O  # an overlay: image-like containers, with a layer to fill volumes from
}

teardown() { husk_ctr_teardown; }

# The volumes in the store, sorted, one a line: as `volume ls -q` says, and as the
# directories under $HUSK_ROOT/volumes are.
volume_ls() { h volume ls -q | sort; }
volume_dirs() { find "$VOLS" -mindepth 1 -maxdepth 1 ! -name .lock -printf '%f\n' 2>/dev/null | sort; }

# Both views agree and hold exactly the names given (none: empty).
expect_volumes() {
  local want
  want=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
  [[ $(volume_ls) == "$want" ]] || fail "volume ls -q: $(volume_ls | tr '\n' ' ') want: ${want//$'\n'/ }"
  [[ $(volume_dirs) == "$want" ]] || fail "volume dirs: $(volume_dirs | tr '\n' ' ') want: ${want//$'\n'/ }"
}

# The anonymous volume a container's record names for TARGET.
anon_of() { jq -r --arg t "$2" '.anonymous_volumes[$t] // empty' "$HUSK_ROOT/containers/$1/record.json"; }

# Lines of a file in a volume, or 0.
lines_in() { [[ -f $VOLS/$1/_data/$2 ]] && wc -l <"$VOLS/$1/_data/$2" || echo 0; }

@test "a kept container's anonymous volumes are made once: start and restart mount the same ones" {
  hd "$CID" -v /data --mount type=volume,dst=/more -- \
    sh -c 'echo run >>/data/runs; echo run >>/more/runs; exec sleep 60' >/dev/null
  local data more
  data=$(anon_of "$CID" /data)
  more=$(anon_of "$CID" /more)
  [[ $data =~ ^[0-9a-f]{64}$ && $more =~ ^[0-9a-f]{64}$ && $data != "$more" ]] ||
    fail "record: $(cat "$HUSK_ROOT/containers/$CID/record.json")"
  wait_for 5 eval '[[ $(lines_in '"$data"' runs) == 1 && $(lines_in '"$more"' runs) == 1 ]]' ||
    fail "first run did not write: $(lines_in "$data" runs)"
  expect_volumes "$data" "$more"
  # The container sees the file its first run wrote.
  run h exec "$CID" cat /data/runs
  expect_output run

  run h stop -t 0 "$CID"
  expect_status 0
  run h start "$CID"
  expect_status 0
  wait_for 5 eval '[[ $(lines_in '"$data"' runs) == 2 && $(lines_in '"$more"' runs) == 2 ]]' ||
    fail "start: runs $(lines_in "$data" runs) $(lines_in "$more" runs)"
  expect_volumes "$data" "$more"

  run h restart -t 0 "$CID"
  expect_status 0
  wait_for 5 eval '[[ $(lines_in '"$data"' runs) == 3 ]]' || fail "restart: runs $(lines_in "$data" runs)"
  [[ $(anon_of "$CID" /data) == "$data" ]] || fail "the record's volume changed"
  expect_volumes "$data" "$more"
}

@test "the restart policy and husk create/start mount the same anonymous volume on every run" {
  hd "$CID" --restart on-failure:2 -v /data -- sh -c 'echo run >>/data/runs; exit 3' >/dev/null
  wait_for 20 eval '[[ $(state_of "$CID") == exited && $(h inspect "$CID" | jq .[0].RestartCount) == 2 ]]' ||
    fail "state $(state_of "$CID")"
  local data
  data=$(anon_of "$CID" /data)
  [[ $(lines_in "$data" runs) == 3 ]] || fail "three runs, one volume: runs $(lines_in "$data" runs)"
  expect_volumes "$data"

  # husk create makes none; the first start does, the second reuses it.
  run h create --net none --name "$CID-c" -e "HUSK_TEST_MARK=$MARK" --rootfs "$ROOTFS:O" \
    -v /state -- sh -c 'echo run >>/state/runs'
  expect_status 0
  [[ -z $(anon_of "$CID-c" /state) ]] || fail "create made a volume"
  expect_volumes "$data"
  local i
  for i in 1 2; do
    run h start -a "$CID-c"
    expect_status 0
    wait_for 5 eval '[[ $(state_of "$CID-c") == exited ]]' || fail "start $i: $(state_of "$CID-c")"
  done
  local state
  state=$(anon_of "$CID-c" /state)
  [[ -n $state && $(lines_in "$state" runs) == 2 ]] || fail "runs: $(lines_in "$state" runs)"
  expect_volumes "$data" "$state"
}

@test "a stopped container's anonymous volume is in use: volume rm refuses it, volume prune keeps it" {
  run h run --net none --name "$CID" -e "HUSK_TEST_MARK=$MARK" --rootfs "$ROOTFS:O" -v /data -- \
    sh -c 'echo kept >/data/f'
  expect_status 0
  local data
  data=$(anon_of "$CID" /data)
  expect_volumes "$data"
  run --separate-stderr h volume rm "$data"
  expect_status 125
  [[ $stderr == "husk: volume \"$data\" is in use by container $CID"* && ${#stderr_lines[@]} == 1 ]] ||
    fail "stderr: $stderr"
  run h volume prune
  expect_status 0
  run h volume prune -a
  expect_status 0
  expect_volumes "$data"
  [[ $(cat "$VOLS/$data/_data/f") == kept ]] || fail "the volume's data changed"
}

@test "a stopped container's named volumes are in use: volume rm refuses them until the container is removed" {
  # -v NAME:/dst and --mount type=volume,source=NAME, as docker counts them: in use while any
  # container (running or not) names them.
  run h run --net none --name "$CID" -e "HUSK_TEST_MARK=$MARK" --rootfs "$ROOTFS:O" \
    -v "$CID-a:/a" --mount "type=volume,source=$CID-b,target=/b" -- sh -c 'echo kept >/a/f; echo kept >/b/f'
  expect_status 0
  expect_volumes "$CID-a" "$CID-b"
  local v
  for v in "$CID-a" "$CID-b"; do
    run --separate-stderr h volume rm "$v"
    expect_status 125
    [[ $stderr == "husk: volume \"$v\" is in use by container $CID" ]] ||
      fail "volume rm $v: $stderr"
  done
  run h volume prune -a
  expect_status 0
  expect_volumes "$CID-a" "$CID-b"
  [[ $(cat "$VOLS/$CID-a/_data/f") == kept && $(cat "$VOLS/$CID-b/_data/f") == kept ]] ||
    fail "the volumes' data changed"
  # Once the container is gone they are anyone's to remove.
  run h rm "$CID"
  expect_status 0
  run h volume rm "$CID-a" "$CID-b"
  expect_status 0
  expect_volumes
}

@test "rm keeps a container's anonymous volumes (dangling: volume prune removes them); rm -v removes them, never a named one" {
  # rm: the anonymous volume stays, no longer any container's; prune takes it, not the named one.
  run h run --net none --name "$CID" -e "HUSK_TEST_MARK=$MARK" --rootfs "$ROOTFS:O" \
    -v /anon -v named:/named -- true
  expect_status 0
  local anon
  anon=$(anon_of "$CID" /anon)
  [[ -n $anon ]] || fail "no anonymous volume recorded"
  expect_volumes "$anon" named
  run h rm "$CID"
  expect_status 0
  expect_volumes "$anon" named
  run h volume prune
  expect_status 0
  expect_line "$anon"
  expect_volumes named

  # rm -v: the anonymous ones go with the container; the named one stays.
  run h run --net none --name "$CID" -e "HUSK_TEST_MARK=$MARK" --rootfs "$ROOTFS:O" \
    -v /anon --mount type=volume,dst=/anon2 -v named:/named -- sh -c 'echo x >/anon/f'
  expect_status 0
  local a1 a2
  a1=$(anon_of "$CID" /anon)
  a2=$(anon_of "$CID" /anon2)
  expect_volumes "$a1" "$a2" named
  run h rm -v "$CID"
  expect_status 0
  expect_output "$CID"
  expect_volumes named
  [[ -z $(h ps -aq) ]] || fail "container left: $(h ps -a)"
}

@test "rm -fv of a running container removes it and its anonymous volumes; rm -v of one without any works" {
  hd "$CID" -v /data -v named:/named -- sh -c 'echo up >/data/f; exec sleep 60' >/dev/null
  local data
  data=$(anon_of "$CID" /data)
  wait_for 5 test -f "$VOLS/$data/_data/f" || fail "the container did not write its volume"
  expect_volumes "$data" named
  # In use by a running container: not removable behind its back.
  run h volume rm "$data"
  expect_status 125
  run h rm -v "$CID"
  expect_status 2
  expect_volumes "$data" named
  run h rm -fv "$CID"
  expect_status 0
  expect_volumes named
  [[ -z $(h ps -aq) ]] || fail "container left: $(h ps -a)"

  hd "$CID" -- true >/dev/null
  run h wait "$CID"
  run h rm -v "$CID"
  expect_status 0
  expect_volumes named
}

@test "--rm removes the anonymous volumes with the container: foreground, and -d --rm through its monitor" {
  run h run --rm --net none --name "$CID" -e "HUSK_TEST_MARK=$MARK" --rootfs "$ROOTFS:O" \
    -v /anon -v named:/named -- sh -c 'echo x >/anon/f; echo y >/named/f'
  expect_status 0
  expect_volumes named

  hd "$CID" --rm -v /anon --mount type=volume,target=/anon2 -v named:/named -- \
    sh -c 'echo x >/anon/f; sleep 0.3' >/dev/null
  # While it runs, its volumes are there.
  [[ $(volume_ls | wc -l) == 3 ]] || fail "volumes while running: $(volume_ls)"
  wait_for 10 eval '[[ -z $(h ps -aq) ]]' || fail "the --rm container stays: $(h ps -a)"
  wait_for 5 eval '[[ $(volume_ls) == named ]]' || fail "left: $(volume_ls | tr '\n' ' ')"
  expect_volumes named
  [[ $(cat "$VOLS/named/_data/f") == y ]] || fail "the named volume lost its data"
}

@test "a first start that fails leaves no anonymous volume: foreground and -d" {
  run -127 h run --net none --name "$CID" -e "HUSK_TEST_MARK=$MARK" --rootfs "$ROOTFS:O" \
    -v /anon -- /no/such/program
  expect_volumes
  [[ -z $(h ps -aq) ]] || fail "container kept: $(h ps -a)"
  run hd "$CID" -v /anon -- /no/such/program
  (( status != 0 )) || fail "run -d of a missing program succeeded"
  wait_for 5 eval '[[ -z $(h ps -aq) ]]' || fail "container kept: $(h ps -a)"
  expect_volumes
}

@test "rm -v of a container whose anonymous volume another running container mounts: removed, the volume stays" {
  run h run --net none --name "$CID" -e "HUSK_TEST_MARK=$MARK" --rootfs "$ROOTFS:O" -v /data -- \
    sh -c 'echo shared >/data/f'
  expect_status 0
  local data
  data=$(anon_of "$CID" /data)
  hd "$CID-b" -v "$data:/x" -- sleep 60 >/dev/null
  run --separate-stderr h rm -v "$CID"
  expect_status 0
  expect_output "$CID"
  [[ $stderr == "husk: volume \"$data\" is in use by container $CID-b" ]] || fail "stderr: $stderr"
  expect_volumes "$data"
  run h exec "$CID-b" cat /x/f
  expect_output shared
  run h rm -fv "$CID-b"
  expect_status 0
  # Mounted by name, it was never CID-b's anonymous volume: it stays, dangling, for prune.
  expect_volumes "$data"
  run h volume prune
  expect_line "$data"
  expect_volumes
}

@test "inspect lists a container's Mounts as docker does: binds, named and anonymous volumes, not --tmpfs" {
  mkdir -p "$TEST_TMP/src"
  run h run --net none --name "$CID" -e "HUSK_TEST_MARK=$MARK" --rootfs "$ROOTFS:O" \
    -v "$TEST_TMP/src:/b:ro" -v "$CID-n:/n" -v /anon --tmpfs /t -- true
  expect_status 0
  local anon
  anon=$(anon_of "$CID" /anon)
  run inspect_field "$CID" Mounts
  expect_status 0
  local got want
  got=$(jq -c '[.[] | [.Type, .Name // "", .Source, .Destination, .RW, .Mode]]' <<<"$output")
  want=$(jq -nc --arg src "$TEST_TMP/src" --arg n "$CID-n" --arg a "$anon" --arg v "$VOLS" \
    '[["bind", "", $src, "/b", false, "ro"],
      ["volume", $n, "\($v)/\($n)/_data", "/n", true, ""],
      ["volume", $a, "\($v)/\($a)/_data", "/anon", true, ""]]')
  [[ $got == "$want" ]] || fail "Mounts: $got, want $want"
  run h rm -v "$CID"
  expect_status 0
  run h volume rm "$CID-n"
  expect_status 0
}
