# shellcheck shell=bash disable=SC2034,SC2154 # variables used by the .bats files; set by bats
# Shared harness of the engine tests (tests/integration/engine_*.bats): a real container
# engine (podman, containerd + ctr, dockerd + docker) drives husk-oci, as it would drive runc.
#
# Per .bats file:
#   - a temp dir ($ENG_TMP) holding the engine's every directory, socket, config and log;
#   - the busybox image from tests/engines/make-image (cached in tests/engines/.cache);
#   - a logging wrapper ($ENG_WRAPPER, named husk-oci) that the engine is pointed at: it
#     appends each call's argv to $ENG_LOG, runs the runtime and records its exit status
#     (with the last error of the runtime's --log file), so tests can assert that husk-oci
#     really was called, and with which verbs;
#   - a sandbox (tests/engines/sandbox): the engine runs in a private mount namespace and a
#     cgroup namespace, so its absolute cgroupsPath values nest below our own cgroups (see
#     docs/engines.md);
#   - teardown checks that nothing is left: processes in the sandbox, cgroups, mounts,
#     network links, firewall chains, host paths the engine might create, runtime state.
#
# Environment:
#   HUSK_BUILD  build dir holding bin/husk-oci (default <repo>/build)
#   HUSK_OCI    runtime to drive (default $HUSK_BUILD/bin/husk-oci); a runc binary works too,
#               which validates the harness (its cgroups nest the same way)
#   HUSK_ENGINE_TIMEOUT  seconds one engine command may take (default 60)
#   HUSK_ENGINE_IMAGE_DIR  where make-image caches the image (default tests/engines/.cache)
#   HUSK_ENGINE_LOG_DIR  when set, the runtime's argv log and the daemons' logs are copied
#               there at the end (<engine>-runtime.log, ...)

bats_require_minimum_version 1.5.0

ENG_SRC=${HUSK_SRC:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
HUSK_BUILD=${HUSK_BUILD:-$ENG_SRC/build}
ENG_DIR=$ENG_SRC/tests/engines
ENG_RUNTIME=${HUSK_OCI:-$HUSK_BUILD/bin/husk-oci}
ENG_TIMEOUT=${HUSK_ENGINE_TIMEOUT:-60}
ENG_IMAGE_DIR=${HUSK_ENGINE_IMAGE_DIR:-$ENG_DIR/.cache}

fail() {
  echo "FAIL: $*" >&2
  return 1
}

# wait_for SECONDS CMD...: polls CMD every 50 ms until it succeeds.
wait_for() {
  local deadline=$(( ${EPOCHREALTIME/./} + $1 * 1000000 )); shift
  until "$@"; do
    (( ${EPOCHREALTIME/./} < deadline )) || return 1
    sleep 0.05
  done
}

pid_alive() { [[ -e /proc/$1 ]] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
pid_gone() { ! pid_alive "$1"; }

# ---------------------------------------------------------------------------------------
# Assertions on $status / $output (set by bats' run)

expect_status() {
  [[ $status -eq $1 ]] || fail "exit status $status, want $1; output:
$output"
}

expect_output() {
  [[ $output == "$1" ]] || fail "output differs
--- want
$1
--- got
$output"
}

expect_line() {
  grep -qxF -- "$1" <<<"$output" || fail "no line \"$1\" in output:
$output"
}

# eng_terminal 'SHELL COMMAND': runs the command on a terminal of its own (a pty from
# tests/fixtures/in-pty: the command's session leader, never typed into, output without
# CRs), for at most 90 s. On the deadline every process left in its session is killed and
# listed, and the status is 124.
eng_terminal() {
  "$ENG_SRC/tests/fixtures/in-pty" 90 bash -c "$1"
}

# ---------------------------------------------------------------------------------------
# The runtime wrapper and its log

# Writes the logging wrapper. Each call adds to $ENG_LOG "PID argv ARGV..." (all of it),
# "PID call VERB ARGS..." (the verb and what follows it: no global options) and, when the
# runtime ends, "PID exit STATUS VERB [last error of its --log]". It does not exec:
# the exit status is worth more to the report than the one extra process.
eng_write_wrapper() {
  local path=$1
  cat >"$path" <<EOF
#!/bin/bash
# Logs the runtime's argv (tests/engines/lib.bash) and runs $ENG_RUNTIME.
log=$ENG_LOG
verb=- logfile= args=("\$@") i=0
while (( i < \${#args[@]} )); do
  case \${args[i]} in
    --log) logfile=\${args[i+1]:-}; (( i += 2 )) ;;
    --log=*) logfile=\${args[i]#--log=}; (( i += 1 )) ;;
    --root|--log-format|--criu|--rootless) (( i += 2 )) ;;
    -*) (( i += 1 )) ;;
    *) verb=\${args[i]}; break ;;
  esac
done
echo "\$\$ argv \$*" >>"\$log"
echo "\$\$ call \$verb \${args[*]:i+1}" >>"\$log"
$(printf '%q' "$ENG_RUNTIME") "\$@"
rc=\$?
msg=
if (( rc != 0 )) && [[ -n \$logfile && -f \$logfile ]]; then
  msg=\$(grep -a '"level":"error"\|level=error\|^error' "\$logfile" 2>/dev/null | tail -n 1)
fi
echo "\$\$ exit \$rc \$verb \$msg" >>"\$log"
exit \$rc
EOF
  chmod 755 "$path"
}

# eng_calls_for ID: the logged calls naming ID as an argument ("VERB ARGS...", without
# the global options).
eng_calls_for() {
  awk -v id="$1" '$2 == "call" { for (i = 4; i <= NF; i++) if ($i == id) { $1 = $2 = ""; sub(/^  /, ""); print; next } }' \
    "$ENG_LOG"
}

# eng_argv_for ID: the full argv of the calls naming ID.
eng_argv_for() {
  awk -v id="$1" '$2 == "argv" { for (i = 3; i <= NF; i++) if ($i == id) { $1 = $2 = ""; sub(/^  /, ""); print; next } }' \
    "$ENG_LOG"
}

# eng_expect_verbs ID VERB...: the runtime was called with each VERB for container ID.
eng_expect_verbs() {
  local id=$1 v calls
  shift
  calls=$(eng_calls_for "$id")
  for v in "$@"; do
    grep -q "^$v " <<<"$calls" || fail "husk-oci was not called with \"$v\" for $id; its calls for it:
${calls:-(none)}
full log:
$(cat "$ENG_LOG")"
  done
}

# eng_expect_call ID ERE: some call for ID matches ERE (e.g. 'exec .*--process').
eng_expect_call() {
  local calls
  calls=$(eng_calls_for "$1")
  grep -qE -- "$2" <<<"$calls" || fail "no call for $1 matching /$2/; its calls:
${calls:-(none)}"
}

# The engines' --user and user-namespace cases, checked the same way for each engine.
# ENG_IDS_SCRIPT prints what eng_expect_ids checks; ENG_MAPS_SCRIPT what eng_expect_maps does.
ENG_IDS_SCRIPT='echo "uid=$(id -u) gid=$(id -g)"; grep -E "^(Uid|Gid):" /proc/self/status'
ENG_MAPS_SCRIPT='cat /proc/self/uid_map /proc/self/gid_map; echo "uid=$(id -u)"'

# eng_expect_ids ID: $output (of ENG_IDS_SCRIPT) shows uid and gid ID, the real, effective,
# saved and filesystem ones all switched.
eng_expect_ids() {
  expect_line "uid=$1 gid=$1"
  expect_line "$(printf 'Uid:\t%s\t%s\t%s\t%s' "$1" "$1" "$1" "$1")"
  expect_line "$(printf 'Gid:\t%s\t%s\t%s\t%s' "$1" "$1" "$1" "$1")"
}

# eng_expect_maps HOST SIZE: $output (of ENG_MAPS_SCRIPT) shows uid and gid maps of 0 to
# HOST for SIZE ids, and root inside. /proc/self/{uid,gid}_map: inside, host start, length
# (whitespace-padded columns).
eng_expect_maps() {
  [[ $(awk 'NR == 1 { print $1, $2, $3 }' <<<"$output") == "0 $1 $2" ]] || fail "uid_map: $output"
  [[ $(awk 'NR == 2 { print $1, $2, $3 }' <<<"$output") == "0 $1 $2" ]] || fail "gid_map: $output"
  expect_line "uid=0"
}

# eng_last_created [ERE]: the container id of the last logged `create` call (of the last one
# whose line matches ERE, when given); nothing when there was none.
eng_last_created() {
  awk -v re="${1:-}" '$2 == "call" && $3 == "create" && $0 ~ re { id = $NF } END { print id }' \
    "$ENG_LOG"
}

# Every call that failed: "PID exit STATUS VERB MESSAGE".
eng_failed_calls() { awk '$2 == "exit" && $3 != 0' "$ENG_LOG"; }

# ---------------------------------------------------------------------------------------
# Cgroup bookkeeping

# "MOUNT_POINT SUPER_OPTIONS" for each cgroup hierarchy mounted under /sys/fs/cgroup here.
eng_cgroup_mounts() {
  awk '{ for (i = 7; $i != "-"; i++);
         if (($(i+1) == "cgroup" || $(i+1) == "cgroup2") && $5 ~ "^/sys/fs/cgroup/")
           print $5, $(i+3) }' /proc/self/mountinfo
}

eng_memory_mount() { eng_cgroup_mounts | awk '$2 ~ /(^|,)memory(,|$)/ { print $1; exit }'; }

# Our memory cgroup dir on the host: the root the sandbox gives the memory hierarchy.
eng_own_memory_dir() { echo "$(eng_memory_mount)$ENG_OWN_MEM"; }

# Memory cgroup dirs outside the machine's /process_api subtree (there must be no new one).
eng_memory_outside() {
  local m
  m=$(eng_memory_mount)
  find "$m" -path "$m/process_api" -prune -o -type d -print | LC_ALL=C sort
}

# Dirs below our memory cgroup (the sandbox's memory root).
eng_memory_own_dirs() { find "$(eng_own_memory_dir)" -mindepth 1 -type d | LC_ALL=C sort; }

# eng_container_cgroup ID CONTROLLER: the container's cgroup dir on the host (found by
# name below the sandbox's root of that hierarchy), or nothing.
eng_container_cgroup() {
  local id=$1 ctl=$2 mp opts base
  while read -r mp opts; do
    [[ ,$opts, == *,$ctl,* ]] || continue
    if [[ $ctl == memory ]]; then base=$(eng_own_memory_dir); else base=$mp/$ENG_CG; fi
    find "$base" -mindepth 1 -type d -name "*$id*" -print -quit
  done < <(eng_cgroup_mounts)
}

# ---------------------------------------------------------------------------------------
# Host state the engines could change

ENG_HOST_PATHS=(/run/containerd /var/lib/containerd /opt/containerd /run/docker /var/run/docker.sock
  /var/lib/docker /etc/docker/key.json /run/libpod /run/containers /var/lib/containers
  /etc/containers/networks /etc/cni/net.d /var/lib/cni /run/netns /dev/shm/libpod_lock)

eng_existing_host_paths() {
  local p
  for p in "${ENG_HOST_PATHS[@]}"; do [[ -e $p || -L $p ]] && echo "$p"; done | LC_ALL=C sort
}

# Files engines and their helpers make in /tmp when TMPDIR is not set for them.
eng_tmp_litter() {
  find /tmp -maxdepth 1 \( -name 'conmon-term.*' -o -name 'pty[0-9]*' -o -name 'runc-process*' \
    -o -name 'containerd-*' \) -print | LC_ALL=C sort
}

eng_links() { ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | LC_ALL=C sort; }

# "TABLE CHAIN" for every iptables / ip6tables chain ("4 filter DOCKER").
eng_chains() {
  local v cmd
  for v in 4 6; do
    cmd=iptables-save; [[ $v == 6 ]] && cmd=ip6tables-save
    command -v "$cmd" >/dev/null || continue
    "$cmd" 2>/dev/null | awk -v v="$v" '/^\*/ { t = substr($1, 2) } /^:/ { print v, t, substr($1, 2) }'
  done | LC_ALL=C sort
}

# ---------------------------------------------------------------------------------------
# File setup and teardown

# eng_setup_file ENGINE: temp dir, image, wrapper, snapshots, sandbox holder.
eng_setup_file() {
  local engine=$1
  [[ -x $ENG_RUNTIME ]] || fail "runtime not found: $ENG_RUNTIME (build first, or set HUSK_BUILD / HUSK_OCI)" ||
    return 1
  local t
  t=$(mktemp -d "/tmp/husk-eng-$engine.XXXXXX")
  chmod 755 "$t"
  export ENG_TMP=$t ENG_LOG=$t/runtime.log ENG_WRAPPER=$t/bin/husk-oci ENG_ENGINE=$engine
  mkdir -p "$t/bin" "$t/work"
  : >"$ENG_LOG"
  eng_write_wrapper "$ENG_WRAPPER"

  "$ENG_DIR/make-image" "$ENG_IMAGE_DIR" >&3
  export ENG_IMAGE ENG_IMAGE_TAR=$ENG_IMAGE_DIR/image.tar ENG_ROOTFS_TAR=$ENG_IMAGE_DIR/rootfs.tar
  ENG_IMAGE=$(<"$ENG_IMAGE_DIR/name")

  export ENG_CG=husk-eng-$engine-$$
  export ENG_OWN_MEM
  ENG_OWN_MEM=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
  [[ -n $ENG_OWN_MEM && -n $(eng_memory_mount) ]] || fail "no v1 memory cgroup here" || return 1
  eng_memory_outside >"$t/memory-outside.before"
  eng_memory_own_dirs >"$t/memory-own.before"
  eng_links >"$t/links.before"
  eng_chains >"$t/chains.before"
  eng_existing_host_paths >"$t/paths.before"
  eng_tmp_litter >"$t/tmp-litter.before"

  "$ENG_DIR/sandbox" hold "$ENG_CG" "$t/sandbox.ready" "$t/overlay" </dev/null >"$t/sandbox.log" 2>&1 3>&- &
  export ENG_SANDBOX=$!
  disown "$ENG_SANDBOX"  # killed at the end: no job notice from bash
  if ! wait_for 10 test -e "$t/sandbox.ready"; then
    fail "sandbox did not start: $(cat "$t/sandbox.log")"
    return 1
  fi
}

# eng_in_sandbox CMD...: runs CMD in the sandbox's namespaces and cgroups, from $ENG_TMP/work
# (conmon drops an "oom" file in its working directory).
eng_in_sandbox() {
  (cd "$ENG_TMP/work" && exec "$ENG_DIR/sandbox" enter "$ENG_SANDBOX" "$ENG_CG" "$@")
}

# eng_start_daemon NAME SOCKET CMD...: starts a daemon in the sandbox (stdio to
# $ENG_TMP/NAME.log) and waits for its unix socket; sets ENG_DAEMON_PID.
eng_start_daemon() {
  local name=$1 sock=$2
  shift 2
  # TMPDIR: the shims put console sockets and exec process files there.
  mkdir -p "$ENG_TMP/tmp"
  (cd "$ENG_TMP/work" && TMPDIR=$ENG_TMP/tmp exec "$ENG_DIR/sandbox" enter "$ENG_SANDBOX" "$ENG_CG" "$@") \
    </dev/null >"$ENG_TMP/$name.log" 2>&1 3>&- &
  export ENG_DAEMON_PID=$!
  disown "$ENG_DAEMON_PID"
  if ! wait_for 60 eng_daemon_ready "$sock"; then
    fail "$name did not come up on $sock; its log ends:
$(tail -n 30 "$ENG_TMP/$name.log")"
    return 1
  fi
}

eng_daemon_ready() {
  pid_alive "$ENG_DAEMON_PID" || return 2
  [[ -S $1 ]]
}

# eng_stop_daemon: SIGTERM, up to 20 s, then SIGKILL.
eng_stop_daemon() {
  local pid=${ENG_DAEMON_PID:-}
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  if ! wait_for 20 pid_gone "$pid"; then
    echo "# daemon $pid ignored SIGTERM for 20 s: SIGKILL" >&3
    kill -KILL "$pid" 2>/dev/null
    wait_for 5 pid_gone "$pid"
  fi
  return 0
}

# Pids (other than the holder) living in the sandbox's mount namespace.
eng_sandbox_pids() {
  local ns p pid
  ns=$(readlink "/proc/$ENG_SANDBOX/ns/mnt" 2>/dev/null) || return 0
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [[ $pid == "$ENG_SANDBOX" ]] && continue
    [[ $(readlink "$p/ns/mnt" 2>/dev/null) == "$ns" ]] && echo "$pid"
  done
  return 0
}

# Container ids the runtime created (last argument of each create), and the state root
# each was given ("ROOT ID"); without --root the runtime's default.
eng_created() {
  local default=/run/husk
  [[ $(basename "$ENG_RUNTIME") == runc ]] && default=/run/runc
  awk -v def="$default" '$2 == "argv" {
      root = def
      for (i = 3; i < NF; i++) {
        if ($i == "--root") root = $(i + 1)
        else if ($i ~ /^--root=/) root = substr($i, 8)
        else if ($i == "create") { print root, $NF; break }
        else if ($i !~ /^-/ && $(i - 1) !~ /^--(root|log|log-format|criu|rootless)$/) break
      }
    }' "$ENG_LOG" | LC_ALL=C sort -u
}

# Removes a cgroup dir tree bottom-up; prints what it could not remove.
eng_rmdir_tree() {
  local d
  while read -r d; do
    for _ in 1 2 3 4 5; do rmdir "$d" 2>/dev/null && break; sleep 0.1; done
    [[ -d $d ]] && echo "$d"
  done < <(find "$1" -depth -type d 2>/dev/null)
  return 0
}

# The leak checks and clean-up. Runs every step even when one fails; fails at the end
# naming every problem found. The engine file stops its daemon (and removes what it made
# through the engine) first.
eng_teardown_file() {
  [[ -n ${ENG_TMP:-} && -d $ENG_TMP ]] || return 0
  set +e
  local problems=() pids p id root d kept

  # Processes left in the sandbox (containers, shims, conmon): the engine should have
  # ended them all.
  pids=$(eng_sandbox_pids | tr '\n' ' ')
  if [[ -n ${pids// /} ]]; then
    local desc=""
    for p in $pids; do desc+="$p($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-80)) "; done
    problems+=("processes left in the sandbox: $desc")
    for p in $pids; do kill -KILL "$p" 2>/dev/null; done
    for p in $pids; do wait_for 5 pid_gone "$p"; done
  fi
  kill -KILL "$ENG_SANDBOX" 2>/dev/null
  wait_for 5 pid_gone "$ENG_SANDBOX"

  # Mounts: everything the engine mounted was in the sandbox's namespace, gone with it;
  # none may show here.
  local mounts
  mounts=$(awk -v d="$ENG_TMP" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo)
  if [[ -n $mounts ]]; then
    problems+=("mounts left in the host namespace: $mounts")
    while read -r d; do umount -l "$d"; done < <(sort -r <<<"$mounts")
  fi

  # Cgroups: the container's own cgroups must be gone (the runtime's delete removes them).
  # The engines' parent cgroups (/docker, /default, /libpod_parent) stay by design: removed
  # here, with the sandbox's own ones.
  local ids=() leftover
  while read -r root id; do [[ -n $id ]] && ids+=("$id"); done < <(eng_created)
  leftover=$( {
    eng_cgroup_mounts | while read -r d _; do [[ -d $d/$ENG_CG ]] && find "$d/$ENG_CG" -type d; done
    LC_ALL=C comm -13 "$ENG_TMP/memory-own.before" <(eng_memory_own_dirs)
  } )
  for id in "${ids[@]}"; do
    kept=$(grep -F -- "$id" <<<"$leftover")
    [[ -n $kept ]] && problems+=("cgroups of container $id left: $kept")
  done
  eng_cgroup_mounts | while read -r d _; do [[ -d $d/$ENG_CG ]] && eng_rmdir_tree "$d/$ENG_CG"; done \
    >"$ENG_TMP/cg-stuck"
  LC_ALL=C comm -13 "$ENG_TMP/memory-own.before" <(eng_memory_own_dirs) | sort -r | while read -r d; do
    eng_rmdir_tree "$d"
  done >>"$ENG_TMP/cg-stuck"
  [[ -s $ENG_TMP/cg-stuck ]] && problems+=("cgroups that could not be removed: $(sort -u "$ENG_TMP/cg-stuck")")
  local outside
  outside=$(LC_ALL=C comm -13 "$ENG_TMP/memory-outside.before" <(eng_memory_outside))
  [[ -n $outside ]] && problems+=("NEW MEMORY CGROUPS OUTSIDE /process_api: $outside")

  # Runtime state of every container it created. Without --root it is under /run, which
  # the sandbox overlays: there it is in the overlay's upper dir.
  local where
  while read -r root id; do
    [[ -n $id ]] || continue
    where=$root/$id
    [[ $root == /run/* ]] && where=$ENG_TMP/overlay/_run/upper/${root#/run/}/$id
    [[ -e $where ]] && problems+=("runtime state left: $root/$id")
  done < <(eng_created)

  # Network links and firewall chains the engine added (none are expected: the daemons run
  # without bridges or iptables, containers with --network none). The host's network
  # namespace is shared with other users of the machine: only what bears an engine's name
  # is removed, anything else is reported.
  local added
  added=$(LC_ALL=C comm -13 "$ENG_TMP/links.before" <(eng_links))
  if [[ -n $added ]]; then
    problems+=("network links added: $added")
    grep -E '^(docker0|docker_gwbridge|br-[0-9a-f]{12}|podman[0-9]+|cni-podman[0-9]+|cni0)$' <<<"$added" |
      while read -r d; do ip link del "$d" 2>/dev/null; done
  fi
  added=$(LC_ALL=C comm -13 "$ENG_TMP/chains.before" <(eng_chains))
  if [[ -n $added ]]; then
    problems+=("firewall chains added: $added")
    eng_remove_chains "$(grep -E ' (DOCKER[A-Z0-9_-]*|NETAVARK[A-Z0-9_-]*|CNI-[A-Za-z0-9_-]+)$' <<<"$added")"
  fi

  # Host paths the engines create when not pointed elsewhere: the sandbox's overlays take
  # their writes, so none may appear here. Reported only, never removed: another user of
  # the machine may have made it meanwhile (ip netns add makes /run/netns).
  added=$(LC_ALL=C comm -13 "$ENG_TMP/paths.before" <(eng_existing_host_paths))
  [[ -n $added ]] && problems+=("host paths appeared (check who made them): $added")
  added=$(LC_ALL=C comm -13 "$ENG_TMP/tmp-litter.before" <(eng_tmp_litter))
  [[ -n $added ]] && problems+=("files left in /tmp: $added")

  # The runtime's failed calls, for the record (not a problem by themselves: engines
  # delete --force containers that are already gone, and probe with --version).
  if [[ -s $ENG_LOG ]]; then
    eng_failed_calls | sed 's/^/# runtime call failed: /' >&3
  fi
  if [[ -n ${HUSK_ENGINE_LOG_DIR:-} ]]; then
    mkdir -p "$HUSK_ENGINE_LOG_DIR"
    cp "$ENG_LOG" "$HUSK_ENGINE_LOG_DIR/$ENG_ENGINE-runtime.log"
    for d in "$ENG_TMP"/*.log; do cp "$d" "$HUSK_ENGINE_LOG_DIR/$ENG_ENGINE-${d##*/}"; done
  fi
  rm -rf --one-file-system "$ENG_TMP"
  (( ${#problems[@]} == 0 )) || fail "$(printf '%s\n' "${problems[@]}")"
}

# eng_remove_chains "V TABLE CHAIN" lines: drops the jumps to each chain, flushes, deletes.
eng_remove_chains() {
  [[ -n $1 ]] || return 0
  local v table chain cmd save rule
  while read -r v table chain; do
    cmd=iptables; [[ $v == 6 ]] && cmd=ip6tables
    save=${cmd}-save
    while read -r rule; do
      # shellcheck disable=SC2086 # a saved rule is split into words as iptables wants
      $cmd -t "$table" -D ${rule#-A } 2>/dev/null
    done < <($save -t "$table" | grep -E -- "^-A .* -j $chain( |\$)")
    $cmd -t "$table" -F "$chain" 2>/dev/null
  done <<<"$1"
  while read -r v table chain; do
    cmd=iptables; [[ $v == 6 ]] && cmd=ip6tables
    $cmd -t "$table" -X "$chain" 2>/dev/null
  done <<<"$1"
}
