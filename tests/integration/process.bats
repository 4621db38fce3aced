#!/usr/bin/env bats
# process: env, cwd, user and groups, umask, rlimits, oomScoreAdj, noNewPrivileges.

load helpers

@test "process.env: exactly the configured variables, plus HOME from /etc/passwd" {
  update_config '.process.env = ["PATH=/bin:/usr/bin", "FOO=bar baz", "EMPTY=", "EQ=a=b", $m]' \
    --arg m "HUSK_TEST_MARK=$MARK"
  set_args env
  run_ctr
  expect_status 0
  local want
  want=$(printf '%s\n' "PATH=/bin:/usr/bin" "FOO=bar baz" "EMPTY=" "EQ=a=b" \
    "HUSK_TEST_MARK=$MARK" "HOME=/root" | sort)
  [[ $(sort <<<"$output") == "$want" ]] || fail "env differs:
$(diff <(echo "$want") <(sort <<<"$output"))"
}

@test "process.env: HOME given in the config is kept" {
  update_config '.process.env += ["HOME=/custom"]'
  run_sh 'echo $HOME'
  expect_status 0
  expect_output /custom
}

@test "process.env: HOME of a user without a passwd entry is /" {
  update_config '.process.user = {uid: 4242, gid: 4242}'
  run_sh 'echo $HOME'
  expect_status 0
  expect_output /
}

@test "process.cwd: the process starts there" {
  update_config '.process.cwd = "/usr/bin"'
  run_sh 'pwd'
  expect_status 0
  expect_output /usr/bin
}

@test "process.cwd: a missing cwd is created" {
  add_tmpfs /mnt/work size=1m
  update_config '.process.cwd = "/mnt/work/new/dir"'
  run_sh 'pwd'
  expect_status 0
  expect_output /mnt/work/new/dir
}

@test "process.user: uid, gid and additionalGids" {
  update_config '.process.user = {uid: 1000, gid: 1000, additionalGids: [10, 20]}'
  run_sh 'id -u; id -g; grep -E "^(Uid|Gid|Groups):" /proc/self/status'
  expect_status 0
  expect_output "$(printf '1000\n1000\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nGroups:\t10 20 ')"
}

@test "process.user: root without additionalGids has no supplementary groups" {
  run_sh 'grep "^Groups:" /proc/self/status | tr -d " \t"'
  expect_status 0
  expect_output Groups:
}

@test "process.user: a non-root user cannot write root's files" {
  new_bundle_copy "$BUNDLE"
  update_config '.process.user = {uid: 1000, gid: 1000}'
  run_sh 'touch /root-only; touch /home/husk/mine && echo home-ok'
  expect_contains "permission denied"
  expect_line home-ok
}

@test "process.user.umask: applied, and 0022 by default" {
  update_config '.process.user.umask = 63'
  run_sh umask
  expect_status 0
  expect_output 0077
  update_config 'del(.process.user.umask)'
  run_sh umask
  expect_output 0022
}

@test "process.rlimits: soft and hard limits" {
  local hard_n
  hard_n=$(ulimit -Hn)
  [[ $hard_n == unlimited || $hard_n -ge 1024 ]] || skip "host nofile hard limit $hard_n"
  update_config '.process.rlimits = [
    {type: "RLIMIT_NOFILE", soft: 512, hard: 1024},
    {type: "RLIMIT_CORE", soft: 0, hard: 0},
    {type: "RLIMIT_NPROC", soft: 100, hard: 200},
    {type: "RLIMIT_STACK", soft: 4194304, hard: 8388608}]'
  run_sh 'ulimit -Sn; ulimit -Hn; cat /proc/self/limits'
  expect_status 0
  limit() { awk -v n="$1" 'index($0, n) == 1 { print $(NF-2), $(NF-1) }' <<<"$output"; }
  [[ $(head -n2 <<<"$output" | tr '\n' ' ') == "512 1024 " ]] || fail "ulimit -n: $output"
  [[ $(limit "Max open files") == "512 1024" ]] || fail "nofile: $(limit "Max open files")"
  [[ $(limit "Max core file size") == "0 0" ]] || fail "core: $(limit "Max core file size")"
  [[ $(limit "Max processes") == "100 200" ]] || fail "nproc: $(limit "Max processes")"
  [[ $(limit "Max stack size") == "4194304 8388608" ]] || fail "stack: $(limit "Max stack size")"
}

@test "process.oomScoreAdj: set, or inherited when absent" {
  update_config '.process.oomScoreAdj = 500'
  run_sh 'cat /proc/self/oom_score_adj'
  expect_status 0
  expect_output 500
  update_config '.process.oomScoreAdj = 1000'
  run_sh 'cat /proc/self/oom_score_adj'
  expect_output 1000
  update_config 'del(.process.oomScoreAdj)'
  run_sh 'cat /proc/self/oom_score_adj'
  expect_output "$(cat /proc/self/oom_score_adj)"
}

@test "process.oomScoreAdj: the runtime keeps its own score while the container has another" {
  local own
  own=$(cat /proc/self/oom_score_adj)
  update_config ".process.oomScoreAdj = $((own + 300))"
  set_args sleep 1000
  start_run_bg
  wait_for 10 eval '[[ $(oci state "$CID" 2>/dev/null | jq -r .status) == running ]]' ||
    fail "not running: $(cat "$TEST_TMP/run.err")"
  local pid
  pid=$(oci state "$CID" | jq -r .pid)
  [[ $(cat "/proc/$pid/oom_score_adj") == $((own + 300)) ]] || fail "init: $(cat "/proc/$pid/oom_score_adj")"
  [[ $(cat "/proc/$RUN_PID/oom_score_adj") == "$own" ]] ||
    fail "runtime: $(cat "/proc/$RUN_PID/oom_score_adj"), was $own"
  kill -KILL "$pid"
  wait_bg "$RUN_PID"
}

@test "the init shares the runtime's memory until its execve, unless the kernel or oomScoreAdj forbid" {
  husk_only "runc re-executes itself for its init"
  mode() {
    grep -o 'init [0-9]* \(shares our memory until its execve\|runs in a copy of our memory\)' \
      "$TEST_TMP/$1.log" | cut -d' ' -f3- || true
  }
  [[ ${HUSK_SHARED_VM:-} != 0 ]] || skip "memory sharing is off (HUSK_SHARED_VM=0)"
  set_args true
  run oci --debug --log "$TEST_TMP/plain.log" run --bundle "$BUNDLE" "$CID"
  expect_status 0
  [[ $(mode plain) == "shares our memory until its execve" ]] || fail "plain: $(mode plain)"
  update_config ".process.oomScoreAdj = $(cat /proc/self/oom_score_adj)"
  run oci --debug --log "$TEST_TMP/same-oom.log" run --bundle "$BUNDLE" "$CID"
  expect_status 0
  [[ $(mode same-oom) == "shares our memory until its execve" ]] || fail "same oom: $(mode same-oom)"
  update_config ".process.oomScoreAdj = $(( $(cat /proc/self/oom_score_adj) + 1 ))"
  run oci --debug --log "$TEST_TMP/other-oom.log" run --bundle "$BUNDLE" "$CID"
  expect_status 0
  [[ $(mode other-oom) == "runs in a copy of our memory" ]] || fail "other oom: $(mode other-oom)"
  user_namespace 100000
  update_config 'del(.process.oomScoreAdj)'
  run oci --debug --log "$TEST_TMP/userns.log" run --bundle "$BUNDLE" "$CID"
  expect_status 0
  [[ $(mode userns) == "runs in a copy of our memory" ]] || fail "user namespace: $(mode userns)"
}

@test "HUSK_SHARED_VM=0: the init and exec's process get a copy of the runtime's memory" {
  husk_only "runc re-executes itself for its init"
  set_args sleep 100
  HUSK_SHARED_VM=0 oci --debug --log "$TEST_TMP/run.log" run --detach --bundle "$BUNDLE" "$CID"
  run grep -o 'memory sharing is off\|init [0-9]* runs in a copy of our memory' "$TEST_TMP/run.log"
  [[ ${#lines[@]} -eq 2 ]] || fail "run: want the switch and a copy logged: $(cat "$TEST_TMP/run.log")"
  HUSK_SHARED_VM=0 oci --debug --log "$TEST_TMP/exec.log" exec "$CID" true
  run grep -o 'memory sharing is off\|process [0-9]* runs in a copy of our memory' "$TEST_TMP/exec.log"
  [[ ${#lines[@]} -eq 2 ]] || fail "exec: want the switch and a copy logged: $(cat "$TEST_TMP/exec.log")"
  delete_ctr
}

@test "process.noNewPrivileges: NoNewPrivs in /proc/self/status follows the config" {
  update_config '.process.noNewPrivileges = true'
  run_sh 'grep NoNewPrivs /proc/self/status'
  expect_status 0
  expect_output "$(printf 'NoNewPrivs:\t1')"
  update_config '.process.noNewPrivileges = false'
  run_sh 'grep NoNewPrivs /proc/self/status'
  expect_output "$(printf 'NoNewPrivs:\t0')"
}

@test "process: the container's processes have the config's env marker and nothing of ours" {
  export HUSK_LEAK_CHECK=from-the-caller
  run_sh 'env'
  expect_status 0
  expect_no_line HUSK_LEAK_CHECK=from-the-caller
  expect_line "HUSK_TEST_MARK=$MARK"
}
