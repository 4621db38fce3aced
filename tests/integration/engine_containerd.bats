#!/usr/bin/env bats
# containerd drives husk-oci through its runc shim (io.containerd.runc.v2), with the shim's
# BinaryName option pointing at husk-oci (what `ctr run --runc-binary` sets, and what the
# CRI plugin sets from its runtime options for Kubernetes). containerd runs with its own
# config, root, state and socket, CRI disabled, inside the engine sandbox
# (tests/engines/lib.bash, docs/engines.md).

load ../engines/lib

setup_file() {
  command -v containerd >/dev/null && command -v ctr >/dev/null ||
    fail "containerd is not installed (scripts/setup installs it)" || return 1
  eng_setup_file containerd || return 1
  local d=$ENG_TMP/containerd
  mkdir -p "$d" "$ENG_TMP/fifo"
  export CTR_SOCK=$d/containerd.sock CTR_STATE=$d/state
  cat >"$d/config.toml" <<EOF
version = 2
root = "$d/root"
state = "$d/state"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
]

[grpc]
  address = "$CTR_SOCK"

[ttrpc]
  address = "$d/containerd.ttrpc.sock"

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$d/opt"
EOF
  eng_start_daemon containerd "$CTR_SOCK" containerd --config "$d/config.toml" || return 1
  ctrc images import "$ENG_IMAGE_TAR" >&3 || fail "ctr images import failed" || return 1
}

teardown_file() {
  if [[ -n ${ENG_DAEMON_PID:-} ]] && pid_alive "$ENG_DAEMON_PID"; then
    local id
    for id in $(ctrc tasks ls -q 2>/dev/null); do
      ctrc tasks kill --signal SIGKILL "$id" >/dev/null 2>&1
      wait_for 10 eval "[[ \$(ctrc tasks ls 2>/dev/null | awk -v id=$id '\$1 == id { print \$3 }') != RUNNING ]]"
      ctrc tasks delete --force "$id" >/dev/null 2>&1
    done
    for id in $(ctrc containers ls -q 2>/dev/null); do ctrc containers delete "$id" >/dev/null 2>&1; done
    ctrc images rm "$ENG_IMAGE" >/dev/null 2>&1
  fi
  eng_stop_daemon
  eng_teardown_file
}

# ctrc ARGS...: ctr against our containerd, stdin from /dev/null (ctr run never closes a
# task's stdin at EOF), under a time limit.
ctrc() {
  timeout --kill-after=5 "$ENG_TIMEOUT" ctr --address "$CTR_SOCK" "$@" </dev/null
}

# ctr run with the shim's BinaryName option set to the husk-oci wrapper.
ctr_run() {
  ctrc run --runtime io.containerd.runc.v2 --runc-binary "$ENG_WRAPPER" --fifo-dir "$ENG_TMP/fifo" "$@"
}

# ctr tasks exec with its FIFOs in our temp dir (the default is /run/containerd/fifo).
ctr_exec() { ctrc tasks exec --fifo-dir "$ENG_TMP/fifo" "$@"; }

task_status() { ctrc tasks ls 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }'; }

@test "containerd: ctr run --rm echo hi, through husk-oci" {
  run ctr_run --rm "$ENG_IMAGE" c-echo echo hi
  expect_status 0
  expect_output hi
  eng_expect_verbs c-echo create start delete
  # The shim's calls: --root, --log and --log-format json before every verb.
  eng_expect_call c-echo '^create .*--bundle .*--pid-file '
  eng_argv_for c-echo | grep -q '^--root [^ ]* --log [^ ]*/log.json --log-format json create ' ||
    fail "create without the shim's global options: $(eng_argv_for c-echo)"
}

@test "containerd: the task's exit status is ctr's (sh -c 'exit 3' -> 3)" {
  run ctr_run --rm "$ENG_IMAGE" c-exit sh -c 'exit 3'
  expect_status 3
}

@test "containerd: the container's cgroups are /default/<id>, nested below ours" {
  run ctr_run -d "$ENG_IMAGE" c-cgroup sh -c 'cat /proc/self/cgroup; exec sleep 600'
  expect_status 0
  local mem pids
  mem=$(eng_container_cgroup c-cgroup memory)
  pids=$(eng_container_cgroup c-cgroup pids)
  ctrc tasks kill --signal SIGKILL c-cgroup >/dev/null
  wait_for 10 eval '[[ $(task_status c-cgroup) == STOPPED ]]'
  ctrc tasks delete c-cgroup >/dev/null
  ctrc containers delete c-cgroup >/dev/null
  [[ $mem == "$(eng_own_memory_dir)/default/c-cgroup" ]] || fail "memory cgroup: ${mem:-none}"
  [[ $pids == */$ENG_CG/default/c-cgroup ]] || fail "pids cgroup: ${pids:-none}"
  [[ ! -d $mem && ! -d $pids ]] || fail "the container's cgroups outlived its delete: $mem $pids"
  eng_expect_call c-cgroup '^kill c-cgroup (9|KILL|SIGKILL)$'
}

@test "containerd: detached task, kill (SIGTERM), delete" {
  run ctr_run -d "$ENG_IMAGE" c-life sh -c 'trap "exit 7" TERM; while :; do sleep 0.1; done'
  expect_status 0
  [[ $(task_status c-life) == RUNNING ]] || fail "task: $(ctrc tasks ls)"
  run ctrc tasks kill c-life
  expect_status 0
  wait_for 10 eval '[[ $(task_status c-life) == STOPPED ]]' || fail "task did not stop: $(ctrc tasks ls)"
  run ctrc tasks delete c-life
  expect_status 0
  # ctr warns of the non-zero exit code of the deleted task: the trap's 7 proves SIGTERM arrived.
  [[ $output == *"exit code 7"* ]] || fail "tasks delete: $output"
  run ctrc containers delete c-life
  expect_status 0
  eng_expect_verbs c-life create start kill delete
  eng_expect_call c-life '^kill c-life (15|TERM|SIGTERM)$'
}

@test "containerd: ctr task exec in a running task (output, exit status)" {
  ctr_run -d "$ENG_IMAGE" c-exec sleep 600 >/dev/null
  run ctr_exec --exec-id e1 c-exec sh -c 'echo from-exec; cat /proc/1/cmdline | tr "\0" " "'
  local exec_status=$status exec_output=$output
  run ctr_exec --exec-id e2 c-exec sh -c 'exit 5'
  local exec5=$status
  ctrc tasks kill --signal SIGKILL c-exec >/dev/null
  wait_for 10 eval '[[ $(task_status c-exec) == STOPPED ]]'
  ctrc tasks delete c-exec >/dev/null
  ctrc containers delete c-exec >/dev/null
  [[ $exec_status == 0 && $exec_output == "from-exec"$'\n'"sleep 600 " ]] ||
    fail "exec: status $exec_status, output: $exec_output"
  [[ $exec5 == 5 ]] || fail "exec of 'exit 5' returned $exec5"
  eng_expect_call c-exec '^exec .*--process .*--detach .*--pid-file |^exec .*--detach .*--process '
}

@test "containerd: ctr task ps, pause and resume" {
  ctr_run -d "$ENG_IMAGE" c-pause sleep 600 >/dev/null
  run ctrc tasks ps c-pause
  local ps_status=$status ps_output=$output
  run ctrc tasks pause c-pause
  local pause_status=$status pause_output=$output paused
  paused=$(task_status c-pause)
  run ctrc tasks resume c-pause
  local resume_status=$status resume_output=$output resumed
  resumed=$(task_status c-pause)
  ctrc tasks kill --signal SIGKILL c-pause >/dev/null
  wait_for 10 eval '[[ $(task_status c-pause) == STOPPED ]]'
  ctrc tasks delete c-pause >/dev/null
  ctrc containers delete c-pause >/dev/null
  local init_pid
  init_pid=$(awk 'NR > 1 { print $1; exit }' <<<"$ps_output")
  [[ $ps_status == 0 && $init_pid =~ ^[0-9]+$ ]] || fail "tasks ps: status $ps_status: $ps_output"
  [[ $pause_status == 0 && $paused == PAUSED ]] || fail "pause: status $pause_status, task $paused: $pause_output"
  [[ $resume_status == 0 && $resumed == RUNNING ]] || fail "resume: status $resume_status, task $resumed: $resume_output"
  eng_expect_verbs c-pause ps pause resume
}

@test "containerd: the runc shim took husk-oci from its BinaryName option" {
  ctr_run -d "$ENG_IMAGE" c-opts sleep 600 >/dev/null
  local opts=$CTR_STATE/io.containerd.runtime.v2.task/default/c-opts/options.json
  local binary
  binary=$(jq -r '.binary_name // .BinaryName // empty' "$opts" 2>/dev/null)
  ctrc tasks kill --signal SIGKILL c-opts >/dev/null
  wait_for 10 eval '[[ $(task_status c-opts) == STOPPED ]]'
  ctrc tasks delete c-opts >/dev/null
  ctrc containers delete c-opts >/dev/null
  [[ $binary == "$ENG_WRAPPER" ]] || fail "shim options ($opts): $(cat "$opts" 2>&1)"
  eng_expect_verbs c-opts create start
}

@test "containerd: a spec with a user namespace and uid/gid mappings (ctr run --config)" {
  # ctr 1.6 runs --uidmap/--gidmap containers with the shim's default runc, whatever
  # --runc-binary says; a whole spec of ours (ctr oci spec, plus the namespace and the
  # mappings) goes through the BinaryName option like any other.
  # The image's rootfs, in a dir the mapped root (host uid 200000) can search.
  mkdir -p "$ENG_TMP/userns-rootfs"
  tar -xf "$ENG_ROOTFS_TAR" -C "$ENG_TMP/userns-rootfs"
  ctrc oci spec | jq '.process.args = ["sh", "-c", $script]
      | .process.terminal = false
      | .root = {path: $rootfs, readonly: true}
      | .linux.namespaces += [{type: "user"}]
      | .linux.uidMappings = [{containerID: 0, hostID: 200000, size: 65536}]
      | .linux.gidMappings = [{containerID: 0, hostID: 200000, size: 65536}]' \
    --arg script "$ENG_MAPS_SCRIPT" \
    --arg rootfs "$ENG_TMP/userns-rootfs" >"$ENG_TMP/userns-spec.json"
  run ctr_run --rm --config "$ENG_TMP/userns-spec.json" c-userns
  expect_status 0
  eng_expect_maps 200000 65536
  eng_expect_verbs c-userns create start delete
}
