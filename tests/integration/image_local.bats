#!/usr/bin/env bats
# Local image verbs (docs/images.md): husk load / save / import / images / rmi /
# image inspect / image prune, round trips with podman (a private store under the file's
# temp dir, --network none), hostile archives, and a writer killed with kill -9.
# Every test uses its own store (HUSK_ROOT under its temp dir).

load helpers

setup_file() {
  command -v podman >/dev/null || fail "podman is not installed (scripts/setup installs it)" ||
    return 1
  IMG_FILE_TMP=$(mktemp -d /tmp/husk-it-img.XXXXXX)
  export IMG_FILE_TMP
  # The busybox image the engine tests use: a deterministic docker-archive.
  "$HUSK_SRC/tests/engines/make-image" "$IMG_FILE_TMP/img" >&3
  export IMG_TAR=$IMG_FILE_TMP/img/image.tar IMG_ROOTFS_TAR=$IMG_FILE_TMP/img/rootfs.tar
  IMG_NAME=$(<"$IMG_FILE_TMP/img/name")
  export IMG_NAME
  # podman with its own store and config, nothing of the host's.
  local d=$IMG_FILE_TMP/podman nofile nproc
  mkdir -p "$d/tmp"
  nofile=$(ulimit -Hn); (( nofile > 4096 )) && nofile=4096
  nproc=$(ulimit -Hu); (( nproc > 4096 )) && nproc=4096
  cat >"$d/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
log_driver = "k8s-file"
netns = "none"
[engine]
# crun refuses this host's hybrid cgroup layout; Debian's runc runs the containers.
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$d/events.log"
tmp_dir = "$d/tmp/libpod"
static_dir = "$d/storage/libpod"
volume_path = "$d/volumes"
image_copy_tmp_dir = "$d/tmp"
EOF
  cat >"$d/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$d/storage"
runroot = "$d/run"
EOF
  export CONTAINERS_CONF=$d/containers.conf CONTAINERS_STORAGE_CONF=$d/storage.conf TMPDIR=$d/tmp
  podman load -q -i "$IMG_TAR" >/dev/null || fail "podman load of the fixture failed" || return 1
  podman save -q --format docker-archive -o "$IMG_FILE_TMP/p-docker.tar" "$IMG_NAME" &&
    podman save -q --format oci-archive -o "$IMG_FILE_TMP/p-oci.tar" "$IMG_NAME" ||
    fail "podman save failed" || return 1
}

teardown_file() {
  [[ -n ${IMG_FILE_TMP:-} ]] || return 0
  podman rm --all --force --time 0 >/dev/null 2>&1
  podman system reset --force >/dev/null 2>&1
  umount_under "$IMG_FILE_TMP" 2>/dev/null
  rm -rf --one-file-system "$IMG_FILE_TMP"
}

setup() {
  T=$(mktemp -d /tmp/husk-it-img-t.XXXXXX)
  export HUSK_ROOT=$T/root
  BG=()
}

teardown() {
  local pid
  for pid in "${BG[@]}"; do kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  [[ -n ${T:-} ]] && rm -rf --one-file-system "$T"
  return 0
}

# What the store holds: every path with its type and size (blobs, layers, records, tmp/),
# but the two lock files, which the first writer makes and which stay, empty.
store_listing() {
  (cd "$HUSK_ROOT" && find . ! -path ./image/lock ! -path ./image/pull.lock -printf '%p %y %s\n' |
     LC_ALL=C sort)
}

# A tree as lines: path, type, mode, owner, size, and a checksum of each file's bytes (or
# a symlink's target). Directories' sizes are left out (they depend on the file system).
tree_listing() {
  (cd "$1" && find . -mindepth 1 \( -type d -printf '%p d %m %U:%G -\n' \) -o \
     \( -type l -printf '%p l %m %U:%G %l\n' \) -o \( -type f -printf '%p f %m %U:%G %s\n' \) -o \
     \( -printf '%p %y %m %U:%G %D\n' \) | LC_ALL=C sort
   find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}

# The id (hex) of the image config an OCI archive's (only) manifest names.
oci_config_id() {
  local dir=$T/oci-peek manifest
  mkdir -p "$dir" && tar -C "$dir" -xf "$1"
  manifest=$(jq -r '.manifests[0].digest | sub("sha256:"; "")' "$dir/index.json")
  jq -r '.config.digest | sub("sha256:"; "")' "$dir/blobs/sha256/$manifest"
}

layer_dir() {  # layer_dir IMAGE N: the diff dir of the image's Nth layer (0 = base)
  local chain
  chain=$(jq -r ".layers[$2] | sub(\"sha256:\"; \"\")" "$HUSK_ROOT/image/images/$1.json")
  echo "$HUSK_ROOT/image/layers/$chain/diff"
}

@test "load: podman's docker-archive and oci-archive (gzip layers), and a gzipped tarball" {
  local want_docker want_oci
  want_docker=$(podman image inspect --format '{{.Id}}' "$IMG_NAME")
  want_oci=$(oci_config_id "$IMG_FILE_TMP/p-oci.tar")
  run "$HUSK" load -i "$IMG_FILE_TMP/p-docker.tar"
  expect_status 0
  expect_output "Loaded image: $IMG_NAME"
  run "$HUSK" images --no-trunc
  expect_status 0
  expect_match "^localhost/husk-busybox +latest +sha256:$want_docker "
  run "$HUSK" run --rm --net none --pull never "$IMG_NAME" -- busybox echo podman-saved
  expect_status 0
  expect_output podman-saved
  run "$HUSK" rmi "$IMG_NAME"
  expect_status 0
  expect_line "Deleted: sha256:$want_docker"

  run "$HUSK" load -i "$IMG_FILE_TMP/p-oci.tar"
  expect_status 0
  run "$HUSK" images -q --no-trunc
  expect_output "sha256:$want_oci"
  run "$HUSK" image inspect "$IMG_NAME"
  expect_status 0
  [[ $(jq -r '.[0].RepoTags[0]' <<<"$output") == "$IMG_NAME" ]] || fail "RepoTags: $output"
  run "$HUSK" run --rm --net none --pull never "$IMG_NAME" -- busybox echo oci-archive
  expect_status 0
  expect_output oci-archive

  gzip -c "$IMG_TAR" >"$T/img.tar.gz"
  run "$HUSK" load -q <"$T/img.tar.gz"
  expect_status 0
  expect_output ""
  run "$HUSK" images -q
  [[ ${#lines[@]} == 2 ]] || fail "want 2 images (both formats' ids), got: $output"
}

@test "load: the unpacked layer equals podman's image tree (paths, modes, owners, contents)" {
  "$HUSK" load -q -i "$IMG_FILE_TMP/p-oci.tar"
  local id mnt
  id=$("$HUSK" images -q --no-trunc | sed 's/^sha256://')
  mnt=$(podman image mount "$IMG_NAME") || fail "podman image mount failed"
  tree_listing "$mnt" >"$T/podman.txt"
  podman image unmount "$IMG_NAME" >/dev/null
  tree_listing "$(layer_dir "$id" 0)" >"$T/husk.txt"
  [[ $(wc -l <"$T/husk.txt") -gt 200 ]] || fail "the tree is too small: $(wc -l <"$T/husk.txt")"
  diff -u "$T/podman.txt" "$T/husk.txt" || fail "husk's layer differs from podman's image"
}

@test "save: podman load of husk's archive runs it, with the same id" {
  # podman's oci-archive: gzip layer blobs in the store, decompressed by save.
  "$HUSK" load -q -i "$IMG_FILE_TMP/p-oci.tar"
  "$HUSK" import "$IMG_ROOTFS_TAR" localhost/husk-imported:1 >/dev/null
  run "$HUSK" save -o "$T/out.tar" "$IMG_NAME" localhost/husk-imported:1
  expect_status 0
  # Each layer.tar is the uncompressed layer: its sha256 is its diff_id (stored once).
  tar -C "$T" -xf "$T/out.tar" manifest.json
  local layers
  layers=$(jq -r '.[].Layers[]' "$T/manifest.json" | sort -u)
  [[ $(wc -l <<<"$layers") == 1 ]] || fail "the shared layer is not written once: $layers"
  [[ $(tar -xOf "$T/out.tar" "$layers" | sha256sum | cut -d' ' -f1) == "${layers%%/*}" ]] ||
    fail "layer.tar's sha256 is not its diff_id"
  ! ls "$T"/out.tar.tmp-* 2>/dev/null || fail "temp file left"

  podman rmi -f localhost/husk-imported:1 >/dev/null 2>&1 || true
  run podman load -i "$T/out.tar"
  expect_status 0
  # cgroup-sandbox: runc's cgroups below one of ours (and our memory cgroup), removed after.
  run "$FIXTURES/cgroup-sandbox" "husk-it-pod-$$" podman run --rm --network none \
    --cgroup-parent "/husk-it-pod-$$" localhost/husk-imported:1 busybox echo ok
  expect_status 0
  expect_output ok
  [[ $(podman image inspect --format '{{.Id}}' localhost/husk-imported:1) == \
     $(jq -r '.[0].Id | sub("sha256:"; "")' <<<"$("$HUSK" image inspect localhost/husk-imported:1)") ]] ||
    fail "podman's id differs from husk's"
  podman rmi -f localhost/husk-imported:1 >/dev/null
}

@test "save: an unknown image is a one-line error and no file" {
  run "$HUSK" save -o "$T/out.tar" nosuch:1
  expect_status 125
  [[ ${#lines[@]} == 1 && $output == "husk: save -o $T/out.tar: "*nosuch* ]] || fail "$output"
  [[ ! -e $T/out.tar ]] && ! ls "$T"/out.tar.* 2>/dev/null || fail "a file was left"
}

# hostile ARCHIVE_DIR MESSAGE: tar the dir, load it, expect MESSAGE and an unchanged store.
hostile() {
  "$HUSK" images >/dev/null
  store_listing >"$T/before"
  (cd "$1" && tar -cf "$T/hostile.tar" .)
  run "$HUSK" load -i "$T/hostile.tar"
  [[ $status != 0 ]] || fail "a hostile archive was loaded: $output"
  [[ ${#lines[@]} == 1 && $output == "husk: load -i $T/hostile.tar: "* ]] ||
    fail "not a one-line error: $output"
  expect_contains "$2"
  store_listing >"$T/after"
  diff -u "$T/before" "$T/after" || fail "the store changed"
}

unpack_fixture() {
  rm -rf "$T/a" && mkdir -p "$T/a" && tar -C "$T/a" -xf "${1:-$IMG_TAR}"
}

@test "load: hostile docker-archives are refused and leave the store as it was" {
  unpack_fixture
  local m=$T/a/manifest.json
  jq -c '.[0].Layers = ["../../etc/passwd"]' "$m" >"$T/m" && cp "$T/m" "$m"
  hostile "$T/a" 'path escapes the archive'

  unpack_fixture
  jq -c '.[0].Layers = ["/etc/passwd"]' "$m" >"$T/m" && cp "$T/m" "$m"
  hostile "$T/a" 'absolute path'

  unpack_fixture
  jq -c '.[0].Config = "../x.json"' "$m" >"$T/m" && cp "$T/m" "$m"
  hostile "$T/a" 'path escapes the archive'

  # A layer whose bytes do not match the config's diff_id.
  unpack_fixture
  local layer
  layer=$(jq -r '.[0].Layers[0]' "$m")
  printf 'x' >>"$T/a/$layer"
  hostile "$T/a" "but the config's diff_id is"

  # The layer as a symlink to the host's files, or out of the archive, or to another link.
  unpack_fixture
  rm "$T/a/$layer" && ln -s /etc/passwd "$T/a/$layer"
  hostile "$T/a" 'a symlink to an absolute path'
  unpack_fixture
  rm "$T/a/$layer" && ln -s ../../../../etc/passwd "$T/a/$layer"
  hostile "$T/a" 'path escapes the archive'
  unpack_fixture
  mv "$T/a/$layer" "$T/a/real.tar" && ln -s real.tar "$T/a/hop" && ln -s ../hop "$T/a/$layer"
  hostile "$T/a" 'not a regular file'
  # A hardlink entry out of the archive (tar hardlinks name archive paths).
  unpack_fixture
  python3 - "$T/a" "$layer" <<'PY'
import os, sys, tarfile
top, layer = sys.argv[1], sys.argv[2]
os.remove(os.path.join(top, layer))
with tarfile.open(os.path.join(top, "..", "hl.tar"), "w") as t:
    for n in sorted(os.listdir(top)):
        t.add(os.path.join(top, n), arcname=n)
    info = tarfile.TarInfo(layer); info.type = tarfile.LNKTYPE; info.linkname = "../../etc/passwd"
    t.addfile(info)
PY
  "$HUSK" images >/dev/null
  store_listing >"$T/before"
  run "$HUSK" load -i "$T/hl.tar"
  [[ $status != 0 && ${#lines[@]} == 1 ]] || fail "$output"
  expect_contains 'path escapes the archive'
  store_listing >"$T/after"
  diff -u "$T/before" "$T/after" || fail "the store changed"

  # A link inside the archive to the layer's real file is what docker 20.10 writes for a
  # layer several images share: followed by name, inside the archive, it loads.
  unpack_fixture
  mv "$T/a/$layer" "$T/a/real.tar" && ln -s ../real.tar "$T/a/$layer"
  (cd "$T/a" && tar -cf "$T/linked.tar" .)
  run "$HUSK" load -i "$T/linked.tar"
  expect_status 0
  expect_output "Loaded image: $IMG_NAME"

  # A manifest.json over 4 MiB is refused before it is parsed.
  unpack_fixture
  { cat "$m"; head -c 5000000 /dev/zero | tr '\0' ' '; } >"$T/m" && cp "$T/m" "$m"
  hostile "$T/a" 'is too big'

  # Two entries of one name: which one is the layer?
  unpack_fixture
  (cd "$T/a" && tar -cf "$T/dup.tar" . && tar -rf "$T/dup.tar" ./manifest.json)
  "$HUSK" images >/dev/null
  store_listing >"$T/before"
  run "$HUSK" load -i "$T/dup.tar"
  [[ $status != 0 && ${#lines[@]} == 1 ]] || fail "$output"
  expect_contains 'appears 2 times'
  store_listing >"$T/after"
  diff -u "$T/before" "$T/after" || fail "the store changed"
}

@test "load: a layer that climbs out (../escape) is refused after its checks; nothing stays" {
  # A well-formed docker-archive whose only layer's tar holds "../escape": every digest
  # matches, so the refusal comes from unpacking, after the blob went in.
  mkdir -p "$T/a"
  python3 - "$T/a/layer.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.GNU_FORMAT) as t:
    for name in ("ok", "../escape"):
        info = tarfile.TarInfo(name); data = b"x\n"; info.size = len(data)
        t.addfile(info, io.BytesIO(data))
PY
  local diff
  diff=sha256:$(sha256sum "$T/a/layer.tar" | cut -d' ' -f1)
  jq -n -c --arg d "$diff" '{architecture: "amd64", os: "linux",
     rootfs: {type: "layers", diff_ids: [$d]}}' >"$T/a/config.json"
  jq -n -c '[{Config: "config.json", RepoTags: ["localhost/slip:1"], Layers: ["layer.tar"]}]' \
    >"$T/a/manifest.json"
  hostile "$T/a" 'escapes the layer'
  [[ ! -e $HUSK_ROOT/escape && ! -e $HUSK_ROOT/image/escape && ! -e $HUSK_ROOT/image/layers/escape ]] ||
    fail "the entry was written outside the layer"
}

@test "load: hostile oci-archives (blob digest, diff_id) are refused, store unchanged" {
  unpack_fixture "$IMG_FILE_TMP/p-oci.tar"
  local manifest layer
  manifest=$(jq -r '.manifests[0].digest | sub("sha256:"; "")' "$T/a/index.json")
  layer=$(jq -r '.layers[0].digest | sub("sha256:"; "")' "$T/a/blobs/sha256/$manifest")
  # A blob's bytes that are not its digest.
  printf 'x' >>"$T/a/blobs/sha256/$layer"
  hostile "$T/a" 'digest mismatch'

  # A well-formed gzip layer whose content is not the config's diff_id: the manifest and
  # config are rewritten so every digest matches except the diff_id.
  unpack_fixture "$IMG_FILE_TMP/p-oci.tar"
  local blobs=$T/a/blobs/sha256 other new_m size
  gzip -dc "$blobs/$layer" >"$T/l.tar" && printf 'junk' >"$T/junk" &&
    tar -rf "$T/l.tar" -C "$T" junk && gzip -c "$T/l.tar" >"$T/l.tar.gz"
  other=$(sha256sum "$T/l.tar.gz" | cut -d' ' -f1)
  size=$(stat -c %s "$T/l.tar.gz")
  mv "$T/l.tar.gz" "$blobs/$other" && rm "$blobs/$layer"
  jq -c --arg d "sha256:$other" --argjson s "$size" '.layers[0].digest = $d | .layers[0].size = $s' \
    "$blobs/$manifest" >"$T/m"
  new_m=$(sha256sum "$T/m" | cut -d' ' -f1)
  rm "$blobs/$manifest" && mv "$T/m" "$blobs/$new_m"
  jq -c --arg d "sha256:$new_m" --argjson s "$(stat -c %s "$blobs/$new_m")" \
    '.manifests[0].digest = $d | .manifests[0].size = $s' "$T/a/index.json" >"$T/i" &&
    cp "$T/i" "$T/a/index.json"
  hostile "$T/a" 'diff_id mismatch'
}

@test "images, inspect, rmi: shared sizes, several tags need -f, unknown names" {
  "$HUSK" load -q -i "$IMG_TAR"
  # Same rootfs tar: the same layer, shared by both images.
  "$HUSK" import "$IMG_ROOTFS_TAR" localhost/imp:1 >/dev/null
  local size
  size=$(stat -c %s "$IMG_ROOTFS_TAR")
  run "$HUSK" images --format json
  expect_status 0
  [[ $(jq 'length' <<<"$output") == 2 ]] || fail "$output"
  [[ $(jq "[.[] | .Size == $size and .SharedSize == $size and .UniqueSize == 0] | all" \
       <<<"$output") == true ]] || fail "sizes: $output"
  run "$HUSK" images
  expect_line "Total: 2 images, $(echo $size | awk '{printf "%.4g", $1/1e6}')MB ($(echo $size | awk '{printf "%.4g", $1/1e6}')MB shared)"

  run "$HUSK" image inspect localhost/imp:1
  expect_status 0
  [[ $(jq -r '.[0] | "\(.Os) \(.Architecture) \(.RootFS.Layers | length) \(.Size)"' <<<"$output") == \
     "linux $(dpkg --print-architecture) 1 $size" ]] || fail "$output"

  # A second tag on the loaded image: rmi by id needs -f, rmi by tag untags.
  unpack_fixture
  jq -c '.[0].RepoTags += ["localhost/second:2"]' "$T/a/manifest.json" >"$T/m" &&
    cp "$T/m" "$T/a/manifest.json" && (cd "$T/a" && tar -cf "$T/two.tar" .)
  "$HUSK" load -q -i "$T/two.tar"
  local id
  id=$("$HUSK" image inspect localhost/second:2 | jq -r '.[0].Id')
  run "$HUSK" rmi "${id:7:12}"
  expect_status 125
  [[ ${#lines[@]} == 1 ]] || fail "$output"
  expect_contains "--force"
  run "$HUSK" rmi -f "${id:7:12}"
  expect_status 0
  expect_line "Deleted: $id"
  run "$HUSK" images -q
  expect_output "$("$HUSK" image inspect localhost/imp:1 | jq -r '.[0].Id[7:19]')"
  # The layer stays: the imported image uses it.
  [[ -d $(layer_dir "$("$HUSK" images -q --no-trunc | sed 's/sha256://')" 0) ]] || fail "layer gone"

  run "$HUSK" rmi nosuch:1
  expect_status 125
  [[ ${#lines[@]} == 1 && $output == "husk: rmi: "*nosuch* ]] || fail "$output"
  run "$HUSK" image inspect nosuch
  expect_status 125
  [[ ${#lines[@]} == 1 ]] || fail "$output"
}

@test "import: the layer holds the tar's files; a non-tar leaves nothing" {
  gzip -c "$IMG_ROOTFS_TAR" >"$T/rootfs.tar.gz"
  run "$HUSK" import "$T/rootfs.tar.gz" localhost/imp
  expect_status 0
  local id=${output#sha256:}
  mkdir "$T/want" && tar -C "$T/want" --numeric-owner -xpf "$IMG_ROOTFS_TAR"
  tree_listing "$T/want" >"$T/want.txt"
  tree_listing "$(layer_dir "$id" 0)" >"$T/got.txt"
  diff -u "$T/want.txt" "$T/got.txt" || fail "the imported layer differs from the tar"
  run "$HUSK" images
  expect_match '^localhost/imp +latest '

  store_listing >"$T/before"
  head -c 100000 /dev/urandom >"$T/junk"
  run "$HUSK" import "$T/junk" localhost/junk:1
  [[ $status != 0 && ${#lines[@]} == 1 && $output == "husk: import $T/junk: "* ]] || fail "$output"
  store_listing >"$T/after"
  diff -u "$T/before" "$T/after" || fail "the store changed"
}

@test "prune: a load killed with kill -9 leaves tmp/ leftovers that prune removes" {
  "$HUSK" load -q -i "$IMG_TAR"
  "$HUSK" import "$IMG_ROOTFS_TAR" >/dev/null  # dangling: prune removes it
  # A large archive, fed in part, then the writer is killed mid-stream.
  head -c 50000000 /dev/urandom >"$T/big"
  tar -C "$T" -cf "$T/big.tar" big
  mkfifo "$T/fifo"
  "$HUSK" load -i "$T/fifo" &
  local pid=$!
  BG+=("$pid")
  exec 5>"$T/fifo"
  head -c 20000000 "$T/big.tar" >&5
  wait_for 10 bash -c "ls $HUSK_ROOT/image/tmp | grep -q ^load-" || fail "no staging dir"
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  exec 5>&-
  [[ -n $(ls "$HUSK_ROOT/image/tmp") ]] || fail "the killed writer left nothing to prune"
  run "$HUSK" images -q
  expect_status 0
  [[ ${#lines[@]} == 2 ]] || fail "$output"

  run "$HUSK" image prune
  expect_status 0
  expect_line "Deleted Images:"
  expect_match "leftovers in tmp"
  expect_match "^Total reclaimed space: "
  [[ -z $(ls "$HUSK_ROOT/image/tmp") ]] || fail "tmp/ not empty: $(ls "$HUSK_ROOT/image/tmp")"
  run "$HUSK" images -q
  [[ ${#lines[@]} == 1 ]] || fail "the complete image should stay: $output"
  run "$HUSK" image inspect "$IMG_NAME"
  expect_status 0
}
