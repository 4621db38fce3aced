#!/usr/bin/env bats
# Container escapes, each performed for real against the runtime under test (docs/security.md):
#   CVE-2024-21626  a cwd through one of the runtime's own fds (/proc/self/fd/N) lands on
#                   a host directory;
#   CVE-2019-5736   a container program named /proc/self/exe, or a script whose interpreter
#                   is, runs the runtime's binary inside the container, where a sibling grabs
#                   /proc/<pid>/exe and, once no runtime process is left, writes through it.
# The CVE-2019-5736 tests run a *copy* of the runtime binary: the attack, if it succeeds,
# rewrites that copy, never the build.

load helpers

teardown() {
  local id
  for id in "$CID" "$CID-b"; do delete_ctr "$id"; done
  husk_teardown
}

# ---------------------------------------------------------------------------------------
# CVE-2024-21626

# The fds a runtime could hold when it enters the cwd: every one of them must be refused,
# however the container is started.
FD_RANGE=$(seq 3 14)

# expect_cwd_refused N: the last command failed, naming the cwd, and nothing ran inside.
expect_cwd_refused() {
  [[ $status -ne 0 ]] || fail "cwd /proc/self/fd/$1 was entered; the container saw:
$output"
  expect_contains "cwd \"/proc/self/fd/$1\""
  expect_no_line escaped
}

@test "CVE-2024-21626: process.cwd = /proc/self/fd/N is refused for every N (run)" {
  local n
  for n in $FD_RANGE; do
    update_config '.process.cwd = $c' --arg c "/proc/self/fd/$n"
    run_sh 'echo escaped; ls ../../../..'
    expect_cwd_refused "$n"
  done
}

@test "CVE-2024-21626: process.cwd = /proc/self/fd/N is refused for every N (create)" {
  local n
  set_script 'echo escaped; ls ../../../..'
  for n in $FD_RANGE; do
    update_config '.process.cwd = $c' --arg c "/proc/self/fd/$n"
    # Into a file: a created init would hold a pipe open, and bats' run would wait on it.
    status=0
    oci create --bundle "$BUNDLE" "$CID" >"$TEST_TMP/create.out" 2>&1 || status=$?
    output=$(<"$TEST_TMP/create.out")
    expect_cwd_refused "$n"
    [[ ! -e $ROOT/$CID ]] || fail "a refused create left its state dir"
  done
}

@test "CVE-2024-21626: exec --cwd and --process cwd through /proc/self/fd/N are refused" {
  set_script 'exec sleep 1000'
  run_detached
  local n
  for n in $FD_RANGE; do
    run oci exec --cwd "/proc/self/fd/$n" "$CID" sh -c 'echo escaped; ls ../../../..'
    expect_cwd_refused "$n"
    jq -n '{args: ["sh", "-c", "echo escaped; ls ../../../.."], cwd: $c, env: ["PATH=/bin"],
            user: {uid: 0, gid: 0}}' --arg c "/proc/self/fd/$n" >"$TEST_TMP/process.json"
    run oci exec --process "$TEST_TMP/process.json" "$CID"
    expect_cwd_refused "$n"
  done
}

@test "CVE-2024-21626: husk run -w /proc/self/fd/N is refused for every N" {
  local n
  for n in $FD_RANGE; do
    HUSK_ROOT=$TEST_TMP/husk-root run timeout 30 "$HUSK" run --rm --rootfs "$ROOTFS" --net none \
      -w "/proc/self/fd/$n" -- \
      sh -c 'echo escaped; ls ../../../..'
    expect_cwd_refused "$n"
  done
}

@test "cwd: a symlink in the image is followed inside the root, a missing cwd is made there" {
  new_bundle_copy "$BUNDLE"
  ln -s ../../../../../../tmp "$BUNDLE/rootfs/escape"
  update_config '.process.cwd = "/escape/made/here"'
  run_sh 'pwd; ls -d /tmp/made/here'
  expect_status 0
  expect_line /tmp/made/here
  [[ -d $BUNDLE/rootfs/tmp/made/here ]] || fail "the cwd was not made inside the rootfs"
  [[ ! -e /tmp/made ]] || fail "the cwd was made on the host"
}

# ---------------------------------------------------------------------------------------
# CVE-2019-5736

# The grabber, run inside the container: waits for a process whose command line names
# "evil" and whose exe it can open, keeps that fd, and once /tmp/go appears (the test
# makes it when no runtime process is left) tries to append to the file through it.
GRABBER='
report=/tmp/report
until [ -s $report ]; do
  for d in /proc/[0-9]*; do
    [ "${d#/proc/}" = "$$" ] && continue
    case "$(tr "\0" " " <$d/cmdline 2>/dev/null)" in
      *evil*) command exec 5<"$d/exe" 2>/dev/null && echo "grabbed $d" >$report && break ;;
    esac
  done
  [ -s $report ] || usleep 5000
done
until [ -e /tmp/go ]; do usleep 20000; done
if (exec 6>>/proc/self/fd/5 && echo PWNED >&6) 2>>$report; then
  echo "write ok" >>$report
else
  echo "write refused" >>$report
fi
echo done >>$report
exec sleep 1000
'

# Sets up a copy of the runtime ($COPY) and a writable rootfs in $BUNDLE/rootfs holding
# /evil.sh ("#!/proc/self/exe") and /grab.sh; $FULL (fd 7) is a pipe that is full, so
# whatever writes to it blocks until the test drains it.
setup_5736() {
  # The attack needs the binary to run inside the busybox rootfs: a dynamically linked build
  # (the ASan one) has no loader or libraries there, so its execve fails and there is nothing
  # to grab.
  if readelf -l "$OCI" | grep -q 'program interpreter'; then
    skip "the runtime binary is dynamically linked: it cannot run in the test rootfs"
  fi
  mkdir "$TEST_TMP/bin"
  COPY=$TEST_TMP/bin/$(basename "$OCI")
  cp "$OCI" "$COPY"
  SUM=$(sha256sum <"$COPY")
  new_bundle_copy "$BUNDLE"
  printf '#!/proc/self/exe\n' >"$BUNDLE/rootfs/evil.sh"
  chmod 755 "$BUNDLE/rootfs/evil.sh"
  printf '%s' "$GRABBER" >"$BUNDLE/rootfs/grab.sh"
  mkfifo "$TEST_TMP/full"
  exec 7<>"$TEST_TMP/full"
  head -c 65536 /dev/zero >&7
}

ocic() { timeout --kill-after=5 "$TIMEOUT" "$COPY" --root "$ROOT" "$@"; }
# ocic with stdio on /dev/null and stderr on the full pipe. Only the runtime's stderr is
# redirected, never this shell's: bats' own error report would block on the pipe instead of
# failing the test.
ocic_stalled() { timeout --kill-after=5 "$TIMEOUT" "$COPY" --root "$ROOT" "$@" </dev/null >/dev/null 2>&7; }

# The grabber got its fd: let the blocked process finish, then the grabber write.
finish_5736() {
  local report=$BUNDLE/rootfs/tmp/report
  wait_for 20 file_has "$report" grabbed || fail "the grabber never saw the runtime's binary run"
  head -c 65536 <&7 >/dev/null  # the stalled process writes its message and exits
  [[ -z ${1:-} ]] || wait_bg "$1" 20
  touch "$BUNDLE/rootfs/tmp/go"
  wait_for 20 file_has "$report" done || fail "the grabber did not finish: $(cat "$report")"
  exec 7>&-
  cat "$report" >&2
  [[ $(sha256sum <"$COPY") == "$SUM" ]] || fail "the runtime binary on the host was rewritten"
  ! grep -q "write ok" "$report" || fail "the grabber could write to the runtime's binary"
  grep -q "write refused" "$report" || fail "unexpected report: $(cat "$report")"
}

@test "CVE-2019-5736: exec of a '#!/proc/self/exe' script cannot give a handle on the binary" {
  setup_5736
  set_args sh /grab.sh
  ocic run --detach --bundle "$BUNDLE" "$CID" </dev/null >/dev/null
  # The exec'd process runs the runtime's binary through the shebang; its usage error
  # goes to the full pipe, so it stays alive until the grabber has its exe open.
  ocic_stalled exec "$CID" /evil.sh &
  local exec_pid=$!
  BG_PIDS+=("$exec_pid")
  finish_5736 "$exec_pid"
}

# A binary on a read-only mount is already sealed (as on a host whose /usr is read-only):
# the runtime runs it as it is, without the overlay and the re-execution, and the attack
# still finds nothing it can write. The mount is made in a mount namespace of the exec's own.
@test "CVE-2019-5736: a runtime installed on a read-only mount is not re-executed and cannot be written" {
  setup_5736
  set_args sh /grab.sh
  ocic run --detach --bundle "$BUNDLE" "$CID" </dev/null >/dev/null
  unshare --mount --propagation private -- sh -c 'mount --bind -o ro "$1" "$1" && shift && exec "$@"' \
    sh "$TEST_TMP/bin" timeout --kill-after=5 "$TIMEOUT" "$COPY" --root "$ROOT" exec "$CID" /evil.sh \
    </dev/null >/dev/null 2>&7 &
  local exec_pid=$! evil="" p
  BG_PIDS+=("$exec_pid")
  # The process that runs the binary inside the container: its exe is the file on the
  # read-only mount itself, not an overlay's view of it.
  find_evil() {
    for p in /proc/[0-9]*; do
      [[ $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) == "/proc/self/exe /evil.sh"* ]] || continue
      evil=$(readlink "$p/exe") && return 0
    done
    return 1
  }
  wait_for 20 find_evil || fail "the exec never ran /evil.sh"
  [[ $evil == "$COPY" ]] || fail "the runtime re-executed itself from $evil"
  finish_5736 "$exec_pid"
}

# The init variant: the container's program is /proc/self/exe (or the script). Container
# B joins the pid namespace of container A, whose init is the grabber, so that B's init
# is not A's pid 1 and its end does not end the grabber.
init_5736() {
  setup_5736
  set_args sh /grab.sh
  ocic run --detach --bundle "$BUNDLE" --pid-file "$TEST_TMP/a.pid" "$CID" </dev/null >/dev/null
  local b=$TEST_TMP/bundle-b
  new_bundle "$b" "$@"
  update_config_in "$b" '.root = {path: $r, readonly: false}
    | .linux.namespaces |= map(if .type == "pid" then .path = $p else . end)' \
    --arg r "$BUNDLE/rootfs" --arg p "/proc/$(<"$TEST_TMP/a.pid")/ns/pid"
  ocic_stalled run --detach --bundle "$b" "$CID-b"
  finish_5736
}

@test "CVE-2019-5736: an init whose program is '#!/proc/self/exe' cannot give a handle on the binary" {
  init_5736 /evil.sh
}

@test "CVE-2019-5736: an init whose entrypoint is /proc/self/exe cannot give a handle on the binary" {
  init_5736 /proc/self/exe evil-entrypoint
}

# What a sibling in the container would do, done from the host (which may do more than any
# process inside): hold the exe of a process that runs the runtime's binary, and once it is
# gone, reopen that fd for writing. Sets $err to the error; fails when the write went through.
grab_exe() { exec 8<"/proc/$1/exe"; }
write_grabbed() {
  err=$( { exec 9>>/proc/self/fd/8 && echo PWNED >&9; } 2>&1 ) && {
    exec 8<&-
    fail "the runtime's binary was writable through its exe link"
    return 1
  }
  exec 8<&-
  [[ $err == *"Read-only file system"* || $err == *"Operation not permitted"* ]] ||
    fail "unexpected error writing the exe: $err"
}

@test "CVE-2019-5736: husk run's container never gets a handle on the host's husk binary" {
  setup_5736
  local copy=$TEST_TMP/bin/husk
  cp "$HUSK" "$copy"
  local sum lib
  sum=$(sha256sum <"$copy")
  # husk is dynamically linked (libnftables): its loader and libraries go into the rootfs, so
  # that the container really can run the binary it reaches through /proc/self/exe.
  for lib in $(ldd "$copy" | grep -oE '/[^ ]+'); do
    mkdir -p "$BUNDLE/rootfs$(dirname "$lib")"
    cp -L "$lib" "$BUNDLE/rootfs$lib"
  done
  # No timeout wrapper: the container's init must be husk's own child (wait_bg bounds it).
  # --rm and a root of the test's own: no container record is left in /var/lib/husk.
  HUSK_ROOT=$TEST_TMP/husk-root "$copy" run --rm --rootfs "$BUNDLE/rootfs" --net none -- /evil.sh \
    </dev/null >/dev/null 2>&7 &
  local husk_pid=$! init=""
  BG_PIDS+=("$husk_pid")
  # The container's init ran /evil.sh, that is the husk binary, and is stalled on the pipe.
  wait_for 20 eval 'init=$(ps -o pid= --ppid '"$husk_pid"' | tr -d " "); [[ -n $init ]] &&
    tr "\0" " " </proc/$init/cmdline | grep -q evil' || fail "the container never ran /evil.sh"
  grab_exe "$init"
  head -c 65536 <&7 >/dev/null
  wait_bg "$husk_pid" 20
  exec 7>&-
  write_grabbed
  [[ $(sha256sum <"$copy") == "$sum" ]] || fail "the husk binary on the host was rewritten"
}

@test "CVE-2019-5736: a created init's exe (runtime code until start) is a sealed view" {
  setup_5736
  exec 7>&-
  set_args true
  ocic create --bundle "$BUNDLE" --pid-file "$TEST_TMP/init.pid" "$CID" </dev/null
  grab_exe "$(<"$TEST_TMP/init.pid")"
  ocic delete --force "$CID"
  write_grabbed
  [[ $(sha256sum <"$COPY") == "$SUM" ]] || fail "the runtime binary on the host was rewritten"
}
