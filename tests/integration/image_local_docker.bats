#!/usr/bin/env bats
# `husk save` -> `docker load` (Debian's docker.io) -> `docker run`, and `docker save` ->
# `husk load`. dockerd runs as in engine_docker.bats: its own data-root, exec-root and
# socket, no bridge or iptables, inside the engine sandbox (tests/engines/lib.bash);
# containers use --network none and docker's default runtime. One dockerd for the file.

load ../engines/lib

DOCKER=/usr/bin/docker  # another docker CLI may come first in PATH
HUSK=${HUSK_CLI:-$HUSK_BUILD/bin/husk}

setup_file() {
  command -v dockerd >/dev/null && [[ -x $DOCKER ]] ||
    fail "docker.io is not installed (scripts/setup installs it)" || return 1
  eng_setup_file docker-img || return 1
  local d=$ENG_TMP/docker
  mkdir -p "$d/config"
  echo '{}' >"$d/daemon.json"
  export DOCKER_SOCK=$d/docker.sock DOCKER_CONFIG=$d/config HUSK_ROOT=$ENG_TMP/husk-root
  eng_start_daemon dockerd "$DOCKER_SOCK" \
    dockerd --host "unix://$DOCKER_SOCK" --data-root "$d/data" --exec-root "$d/exec" \
      --pidfile "$d/docker.pid" --config-file "$d/daemon.json" \
      --exec-opt native.cgroupdriver=cgroupfs \
      --bridge none --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false \
      --userland-proxy=false --storage-driver overlay2 || return 1
  wait_for 30 dk info >/dev/null 2>&1 || fail "dockerd does not answer: $(tail -n 20 "$ENG_TMP/dockerd.log")" ||
    return 1
}

teardown_file() {
  if [[ -n ${ENG_DAEMON_PID:-} ]] && pid_alive "$ENG_DAEMON_PID"; then
    local ids
    ids=$(dk ps -aq 2>/dev/null)
    [[ -n $ids ]] && dk rm --force $ids >/dev/null 2>&1
    dk rmi --force localhost/husk-saved:1 "$ENG_IMAGE" >/dev/null 2>&1
  fi
  eng_stop_daemon
  eng_teardown_file
}

dk() {
  timeout --kill-after=5 "$ENG_TIMEOUT" "$DOCKER" --host "unix://$DOCKER_SOCK" "$@" </dev/null
}

@test "husk save -> docker load -> docker run; docker save -> husk load (same id)" {
  "$HUSK" import "$ENG_ROOTFS_TAR" localhost/husk-saved:1 >/dev/null
  "$HUSK" save -o "$ENG_TMP/saved.tar" localhost/husk-saved:1
  run dk load -i "$ENG_TMP/saved.tar"
  expect_status 0
  expect_line "Loaded image: localhost/husk-saved:1"
  run dk run --rm --network none localhost/husk-saved:1 busybox echo ok
  expect_status 0
  expect_output ok
  local want
  want=$("$HUSK" image inspect localhost/husk-saved:1 | jq -r '.[0].Id')
  [[ $(dk image inspect --format '{{.Id}}' localhost/husk-saved:1) == "$want" ]] ||
    fail "docker's id differs from husk's $want"

  # Both images share their one layer: docker writes it once and links the other to it.
  dk load -q -i "$ENG_IMAGE_TAR" >/dev/null
  dk save -o "$ENG_TMP/docker.tar" "$ENG_IMAGE" localhost/husk-saved:1
  tar -tvf "$ENG_TMP/docker.tar" | grep -q '^l.*layer.tar -> ' ||
    fail "docker save wrote no layer link: $(tar -tvf "$ENG_TMP/docker.tar")"
  rm -rf "$HUSK_ROOT"
  run "$HUSK" load -i "$ENG_TMP/docker.tar"
  expect_status 0
  expect_line "Loaded image: $ENG_IMAGE"
  expect_line "Loaded image: localhost/husk-saved:1"
  [[ $("$HUSK" image inspect "$ENG_IMAGE" | jq -r '.[0].Id') == \
     $(dk image inspect --format '{{.Id}}' "$ENG_IMAGE") ]] || fail "ids differ"
  run "$HUSK" run --rm --net none --pull never "$ENG_IMAGE" -- busybox echo docker-saved
  expect_status 0
  expect_output docker-saved
  rm -rf "$HUSK_ROOT"
}
