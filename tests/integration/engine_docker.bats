#!/usr/bin/env bats
# dockerd drives husk-oci: `dockerd --add-runtime husk=PATH`, `docker run --runtime husk`.
# dockerd (and the containerd it starts) runs with its own data-root, exec-root, pidfile
# and unix socket, without a bridge, iptables or masquerading, inside the engine sandbox
# (tests/engines/lib.bash, docs/engines.md). Containers use --network none.

load ../engines/lib

DOCKER=/usr/bin/docker  # another docker CLI may come first in PATH

setup_file() {
  command -v dockerd >/dev/null && [[ -x $DOCKER ]] ||
    fail "docker.io is not installed (scripts/setup installs it)" || return 1
  eng_setup_file docker || return 1
  local d=$ENG_TMP/docker
  mkdir -p "$d/config"
  echo '{}' >"$d/daemon.json"
  export DOCKER_SOCK=$d/docker.sock DOCKER_CONFIG=$d/config
  eng_start_daemon dockerd "$DOCKER_SOCK" \
    dockerd --host "unix://$DOCKER_SOCK" --data-root "$d/data" --exec-root "$d/exec" \
      --pidfile "$d/docker.pid" --config-file "$d/daemon.json" \
      --add-runtime "husk=$ENG_WRAPPER" --exec-opt native.cgroupdriver=cgroupfs \
      --bridge none --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false \
      --userland-proxy=false --storage-driver overlay2 || return 1
  wait_for 30 dk info >/dev/null 2>&1 || fail "dockerd does not answer: $(tail -n 20 "$ENG_TMP/dockerd.log")" ||
    return 1
  dk load -i "$ENG_IMAGE_TAR" >&3 || fail "docker load failed" || return 1
}

teardown_file() {
  if [[ -n ${ENG_DAEMON_PID:-} ]] && pid_alive "$ENG_DAEMON_PID"; then
    local ids
    ids=$(dk ps -aq 2>/dev/null)
    [[ -n $ids ]] && dk rm --force $ids >/dev/null 2>&1
    dk rmi --force "$ENG_IMAGE" >/dev/null 2>&1
  fi
  eng_stop_daemon
  eng_teardown_file
}

# dk ARGS...: the docker CLI against our daemon, under a time limit.
dk() {
  timeout --kill-after=5 "$ENG_TIMEOUT" "$DOCKER" --host "unix://$DOCKER_SOCK" "$@" </dev/null
}

@test "docker: run --runtime husk --rm echo hi, through husk-oci" {
  run dk run --runtime husk --rm --network none --name d-echo "$ENG_IMAGE" echo hi
  expect_status 0
  expect_output hi
  local id
  id=$(eng_last_created)
  [[ -n $id ]] || fail "husk-oci was never called with create; log: $(cat "$ENG_LOG")"
  eng_expect_verbs "$id" create start delete
  eng_expect_call "$id" '^create .*--bundle .*--pid-file '
}

@test "docker: the container's exit status is docker's (sh -c 'exit 3' -> 3)" {
  run dk run --runtime husk --rm --network none "$ENG_IMAGE" sh -c 'exit 3'
  expect_status 3
}

@test "docker: run -d, exec, stop (SIGTERM reaches the container), rm" {
  run dk run --runtime husk -d --network none --name d-life "$ENG_IMAGE" \
    sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done'
  expect_status 0
  local id=$output
  run dk exec d-life sh -c 'echo from-exec; cat /proc/1/cmdline | tr "\0" " "'
  local exec_status=$status exec_output=$output
  run dk exec d-life sh -c 'exit 5'
  local exec5=$status
  run dk stop --time 10 d-life
  local stop_status=$status
  run dk inspect --format '{{.State.Status}} {{.State.ExitCode}}' d-life
  local after_stop=$output
  run dk rm d-life
  expect_status 0
  [[ $stop_status == 0 && $after_stop == "exited 0" ]] ||
    fail "stop: status $stop_status, then state '$after_stop' (want 'exited 0': SIGTERM ran the trap)"
  eng_expect_verbs "$id" create start kill delete
  eng_expect_call "$id" '^kill .* (15|TERM|SIGTERM)$'
  [[ $exec_status == 0 && $exec_output == "from-exec"$'\n'"sh -c "* ]] ||
    fail "exec: status $exec_status, output: $exec_output"
  [[ $exec5 == 5 ]] || fail "exec of 'exit 5' returned $exec5"
  eng_expect_call "$id" '^exec .*--process '
}

@test "docker: --memory 64m and --pids-limit 50 in the container's cgroups; docker update" {
  run dk run --runtime husk -d --network none --name d-limits --memory 64m --pids-limit 50 \
    "$ENG_IMAGE" sleep 600
  expect_status 0
  local id=$output mem pids host_mem=none host_pids=none updated=none
  mem=$(eng_container_cgroup "$id" memory)
  pids=$(eng_container_cgroup "$id" pids)
  [[ -n $mem ]] && host_mem=$(<"$mem/memory.limit_in_bytes")
  [[ -n $pids ]] && host_pids=$(<"$pids/pids.max")
  run dk update --pids-limit 60 d-limits
  local update_status=$status update_output=$output
  [[ -n $pids ]] && updated=$(<"$pids/pids.max")
  dk rm --force d-limits >/dev/null
  [[ $mem == "$(eng_own_memory_dir)/docker/$id" ]] || fail "memory cgroup: ${mem:-none}"
  [[ $host_mem == 67108864 ]] || fail "memory.limit_in_bytes: $host_mem"
  [[ $host_pids == 50 ]] || fail "pids.max: $host_pids"
  [[ $update_status == 0 && $updated == 60 ]] ||
    fail "docker update --pids-limit 60: status $update_status ($update_output), pids.max $updated"
  eng_expect_call "$id" '^update --resources - '
}

@test "docker: run -it gets a terminal (containerd shim's console socket)" {
  run eng_terminal "$DOCKER --host unix://$DOCKER_SOCK run --runtime husk --rm -it \
    --network none --name d-tty $ENG_IMAGE sh -c 'tty; test -t 0 && test -t 1 && echo is-a-tty'"
  [[ $status == 0 ]] || fail "docker run -it: status $status: $output"
  grep -q '^/dev/pts/0$' <<<"$output" || fail "tty inside: $output"
  grep -q '^is-a-tty$' <<<"$output" || fail "stdin/stdout not a tty: $output"
  grep -q ' call create .*--console-socket ' "$ENG_LOG" || fail "no create with --console-socket"
}

@test "docker: --user 65534:65534 runs the program as that uid and gid" {
  run dk run --runtime husk --rm --network none --name d-user --user 65534:65534 "$ENG_IMAGE" \
    sh -c "$ENG_IDS_SCRIPT"
  expect_status 0
  eng_expect_ids 65534
  local id
  id=$(eng_last_created)
  eng_expect_verbs "$id" create start
}
