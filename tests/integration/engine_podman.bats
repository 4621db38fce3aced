#!/usr/bin/env bats
# podman (with conmon) drives husk-oci: `podman --runtime PATH --cgroup-manager cgroupfs`,
# private containers.conf and storage.conf, all storage under a temp dir, run inside the
# engine sandbox (tests/engines/lib.bash, docs/engines.md).

load ../engines/lib

setup_file() {
  command -v podman >/dev/null && command -v conmon >/dev/null ||
    fail "podman and conmon are not installed (scripts/setup installs them)" || return 1
  eng_setup_file podman || return 1
  local d=$ENG_TMP/podman
  mkdir -p "$d/tmp" "$d/networks" "$d/volumes"
  # Root lacks CAP_SYS_RESOURCE here: podman's default rlimits (1048576) are above the
  # hard limits and raising them fails with EPERM. podman itself runs conmon and the
  # runtime with a lower nproc limit than ours (32768 here), so stay well below both.
  local nofile nproc
  nofile=$(ulimit -Hn); (( nofile > 4096 )) && nofile=4096
  nproc=$(ulimit -Hu); (( nproc > 4096 )) && nproc=4096
  cat >"$d/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
log_driver = "k8s-file"
netns = "none"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$d/events.log"
tmp_dir = "$d/tmp/libpod"
static_dir = "$d/storage/libpod"
volume_path = "$d/volumes"
image_copy_tmp_dir = "$d/tmp"
# conmon makes its console sockets in TMPDIR (and leaves them when the runtime fails).
conmon_env_vars = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TMPDIR=$d/tmp"]
# podman passes --log-format=json --log FILE only to runtimes named here.
runtime_supports_json = ["crun", "runc", "kata", "runsc", "youki", "krun", "husk-oci"]

[network]
network_backend = "netavark"
network_config_dir = "$d/networks"
EOF
  cat >"$d/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$d/storage"
runroot = "$d/run"
EOF
  export CONTAINERS_CONF=$d/containers.conf CONTAINERS_STORAGE_CONF=$d/storage.conf TMPDIR=$d/tmp
  pod load -q -i "$ENG_IMAGE_TAR" >&3 || fail "podman load failed" || return 1
}

teardown_file() {
  if [[ -n ${ENG_TMP:-} && -n ${ENG_SANDBOX:-} ]]; then
    pod rm --all --force --time 0 >/dev/null 2>&1
    # Unmounts the image layers and container roots (all in the sandbox's namespace).
    pod system reset --force >/dev/null 2>&1
  fi
  eng_teardown_file
}

# pod ARGS...: podman in the sandbox, pointed at the husk-oci wrapper.
pod() {
  (cd "$ENG_TMP/work" && exec timeout --kill-after=5 "$ENG_TIMEOUT" \
    "$ENG_DIR/sandbox" enter "$ENG_SANDBOX" "$ENG_CG" \
    podman --runtime "$ENG_WRAPPER" --cgroup-manager cgroupfs "$@")
}

# The full id of a container (podman's name for it).
pod_id() { pod inspect --format '{{.Id}}' "$1"; }

# A shell function for the container: cg CONTROLLER FILE prints a cgroup v1 file of the
# container's own cgroup. The runtime mounts either the container's cgroup or the whole
# hierarchy at /sys/fs/cgroup/<controller>: both are tried.
CG_FN='cg() {
  p=$(sed -n "s/^[0-9]*:$1:\(.*\)/\1/p" /proc/self/cgroup)
  for f in "/sys/fs/cgroup/$1$p/$2" "/sys/fs/cgroup/$1/$2"; do
    if [ -r "$f" ]; then echo "$1/$2=$(cat "$f")"; return; fi
  done
  echo "$1/$2 not found"
}'

@test "podman: run --rm echo hi, through husk-oci" {
  run pod run --rm --name p-echo --network none "$ENG_IMAGE" echo hi
  expect_status 0
  expect_output hi
  local id
  id=$(eng_last_created)
  [[ -n $id ]] || fail "husk-oci was never called with create; log: $(cat "$ENG_LOG")"
  eng_expect_verbs "$id" create start delete
  eng_expect_call "$id" '^create .*--bundle .*--pid-file '
}

@test "podman: the container's exit status is podman's (sh -c 'exit 3' -> 3)" {
  run pod run --rm --network none "$ENG_IMAGE" sh -c 'exit 3'
  expect_status 3
}

@test "podman: --memory 64m and --pids-limit 50 are in the container's cgroups" {
  pod run -d --name p-limits --network none --memory 64m --pids-limit 50 "$ENG_IMAGE" \
    sh -c "$CG_FN; cg memory memory.limit_in_bytes; cg pids pids.max; exec sleep 600" >/dev/null
  local id
  id=$(pod_id p-limits)
  wait_for 10 eval '[[ $(pod logs p-limits 2>&1 | wc -l) -ge 2 ]]'
  local inside
  inside=$(pod logs p-limits 2>&1)

  # From the host: the container's cgroups, nested below ours (the sandbox's roots).
  local mem pids host_mem=none host_pids=none
  mem=$(eng_container_cgroup "$id" memory)
  pids=$(eng_container_cgroup "$id" pids)
  [[ -n $mem ]] && host_mem=$(<"$mem/memory.limit_in_bytes")
  [[ -n $pids ]] && host_pids=$(<"$pids/pids.max")
  pod rm --force --time 0 p-limits >/dev/null
  [[ -n $mem ]] || fail "no memory cgroup named after $id below $(eng_own_memory_dir)"
  [[ $host_mem == 67108864 ]] || fail "host side memory.limit_in_bytes: $host_mem"
  [[ $host_pids == 50 ]] || fail "host side pids.max: $host_pids"
  grep -qx 'memory/memory.limit_in_bytes=67108864' <<<"$inside" || fail "inside: $inside"
  grep -qx 'pids/pids.max=50' <<<"$inside" || fail "inside: $inside"
}

@test "podman: run -d, stop (SIGTERM reaches the container), rm" {
  run pod run -d --name p-life --network none "$ENG_IMAGE" \
    sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done'
  expect_status 0
  local id=$output
  run pod inspect --format '{{.State.Status}}' p-life
  expect_output running
  run pod stop --time 10 p-life
  expect_status 0
  run pod inspect --format '{{.State.Status}} {{.State.ExitCode}}' p-life
  expect_output "exited 0"
  run pod rm p-life
  expect_status 0
  eng_expect_verbs "$id" create start kill delete
  eng_expect_call "$id" '^kill .* (15|TERM|SIGTERM)$'
}

@test "podman: exec in a running container (output, exit status)" {
  pod run -d --name p-exec --network none "$ENG_IMAGE" sleep 600 >/dev/null
  local id
  id=$(pod_id p-exec)
  run pod exec p-exec sh -c 'echo from-exec; cat /proc/1/cmdline | tr "\0" " "'
  local exec_status=$status exec_output=$output
  run pod exec p-exec sh -c 'exit 5'
  local exec5=$status
  pod rm --force --time 0 p-exec >/dev/null
  [[ $exec_status == 0 && $exec_output == "from-exec"$'\n'"sleep 600 " ]] ||
    fail "exec: status $exec_status, output: $exec_output"
  [[ $exec5 == 5 ]] || fail "exec of 'exit 5' returned $exec5"
  eng_expect_call "$id" '^exec .*--process .*--detach|^exec .*--detach .*--process '
}

@test "podman: -it gets a terminal through the console socket" {
  cd "$ENG_TMP/work"
  run eng_terminal "$ENG_DIR/sandbox enter $ENG_SANDBOX $ENG_CG \
    podman --runtime $ENG_WRAPPER --cgroup-manager cgroupfs run --rm -it --name p-tty --network none \
    $ENG_IMAGE sh -c 'tty; test -t 0 && test -t 1 && echo is-a-tty'"
  local out=$output
  [[ $status == 0 ]] || fail "podman run -it: status $status: $out"
  grep -q '^/dev/pts/0$' <<<"$out" || fail "tty inside: $out"
  grep -q '^is-a-tty$' <<<"$out" || fail "stdin/stdout not a tty: $out"
  local id
  id=$(eng_last_created --console-socket)
  [[ -n $id ]] || fail "no create with --console-socket in the log"
}

@test "podman: exec -it gets a terminal" {
  pod run -d --name p-exec-tty --network none "$ENG_IMAGE" sleep 600 >/dev/null
  local id
  id=$(pod_id p-exec-tty)
  cd "$ENG_TMP/work"
  run eng_terminal "$ENG_DIR/sandbox enter $ENG_SANDBOX $ENG_CG \
    podman --runtime $ENG_WRAPPER --cgroup-manager cgroupfs exec -it p-exec-tty \
    sh -c 'tty; test -t 0 && echo is-a-tty'"
  local out=$output st=$status
  pod rm --force --time 0 p-exec-tty >/dev/null
  [[ $st == 0 ]] || fail "podman exec -it: status $st: $out"
  grep -q '^/dev/pts/[0-9][0-9]*$' <<<"$out" || fail "tty inside: $out"
  grep -q '^is-a-tty$' <<<"$out" || fail "stdin not a tty: $out"
  eng_expect_call "$id" '^exec .*--tty.*--console-socket |^exec .*--console-socket .*--tty'
}

@test "podman: --user 65534:65534 runs the program as that uid and gid" {
  run pod run --rm --name p-user --network none --user 65534:65534 "$ENG_IMAGE" \
    sh -c "$ENG_IDS_SCRIPT"
  expect_status 0
  eng_expect_ids 65534
  local id
  id=$(eng_last_created)
  eng_expect_verbs "$id" create start
}

@test "podman: --uidmap/--gidmap put the container in a user namespace with that mapping" {
  run pod run --rm --name p-userns --network none \
    --uidmap 0:200000:65536 --gidmap 0:200000:65536 "$ENG_IMAGE" \
    sh -c "$ENG_MAPS_SCRIPT; touch /made && echo made"
  expect_status 0
  eng_expect_maps 200000 65536
  # Root in the namespace owns the (chowned) image layers: it may write its rootfs.
  expect_line made
  local id
  id=$(eng_last_created)
  eng_expect_verbs "$id" create start
}
