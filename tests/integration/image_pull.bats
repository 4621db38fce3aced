#!/usr/bin/env bats
# husk pull, login and logout against Debian's docker-registry on 127.0.0.1
# (tests/fixtures/registry): plain, TLS, basic auth and token setups; indexes; gzip, zstd and
# uncompressed layers compared with umoci's unpack; shared and repeated blobs; kill -9; a
# corrupted blob.

load helpers

# One plain registry and the test images for the whole file.
setup_file() {
  PT=$(mktemp -d /tmp/husk-pull.XXXXXX)
  export PT
  ADDR=$("$FIXTURES/registry" start plain "$PT/plain")
  export ADDR
  "$FIXTURES/registry" push "$PT/plain" bb:1 >/dev/null
  local l=$PT/layout
  "$FIXTURES/make-layered-image" "$l" multi >/dev/null
  umoci unpack --image "$l:multi" "$PT/umoci" >/dev/null
  local push=(skopeo --insecure-policy copy -q --dest-tls-verify=false)
  "${push[@]}" "oci:$l:multi" "docker://$ADDR/multi:gzip"
  "${push[@]}" --dest-compress --dest-compress-format zstd "oci:$l:multi" "dir:$PT/dir-zstd"
  "${push[@]}" "dir:$PT/dir-zstd" "docker://$ADDR/multi:zstd"
  "${push[@]}" --dest-decompress "oci:$l:multi" "dir:$PT/dir-none"
  "${push[@]}" --preserve-digests "dir:$PT/dir-none" "docker://$ADDR/multi:none"
}

teardown_file() {
  [[ -n ${PT:-} ]] || return 0
  local d
  for d in "$PT"/plain "$PT"/reg-*; do "$FIXTURES/registry" stop "$d" || true; done
  rm -rf "$PT"
}

setup() {
  HUSK_ROOT=$(mktemp -d /tmp/husk-pull-root.XXXXXX)
  export HUSK_ROOT
  export REGISTRY_AUTH_FILE=$HUSK_ROOT/auth.json
  STORE=$HUSK_ROOT/image
  PROXY_PID=
}

teardown() {
  if [[ -n ${PROXY_PID:-} ]]; then kill "$PROXY_PID" 2>/dev/null || true; fi
  if [[ -n ${PULL_PID:-} ]]; then kill -9 "$PULL_PID" 2>/dev/null || true; fi
  if [[ -n ${TREG:-} ]]; then "$FIXTURES/registry" stop "$TREG" || true; fi
  rm -rf "$HUSK_ROOT"
}

# A registry of MODE for this test only, in TREG; its address in addr. (docker-registry takes
# REGISTRY_* variables as configuration: REGISTRY_AUTH_FILE must not reach it.)
start_registry() {
  TREG=$PT/reg-$1-$BATS_TEST_NUMBER
  addr=$(env -u REGISTRY_AUTH_FILE "$FIXTURES/registry" start "$1" "$TREG")
}

# Blob GETs husk made (not skopeo) in registry log $1 after line $2.
husk_blob_gets() {
  tail -n "+$(($2 + 1))" "$1" | grep -c '"GET /v2/[^ ]*/blobs/sha256:[0-9a-f]* HTTP/1.1" 200 .* "husk"$' || true
}

# Asserts the store holds no image, no layer and no blob, and tmp/ holds nothing.
store_empty() {
  [[ -z $(find "$STORE/images" "$STORE/layers" "$STORE/blobs/sha256" "$STORE/tmp" \
    -mindepth 1 -print -quit 2>/dev/null) ]] ||
    fail "store not empty: $(find "$STORE" -mindepth 2 | head)"
}

# The tree of image $1 (an id) seen through a read-only overlay of its layers, as a
# tree-manifest, into file $2.
overlay_tree() {
  local lower mnt=$HUSK_ROOT/mnt
  lower=$(python3 -c '
import json, sys
s, image = sys.argv[1], sys.argv[2]
r = json.load(open(f"{s}/images/{image}.json"))
links = [json.load(open(f"{s}/layers/{c[7:]}/layer.json"))["link"] for c in r["layers"]]
print(":".join("l/" + l for l in reversed(links)))' "$STORE" "$1")
  mkdir -p "$mnt"
  unshare -m sh -c "cd '$STORE' && mount -t overlay husk-test -o 'ro,lowerdir=$lower' '$mnt' &&
    '$FIXTURES/tree-manifest' '$mnt'" >"$2"
}

@test "pull: plain registry, progress lines, the id, a second pull fetches nothing" {
  local log=$PT/plain/registry.log before
  before=$(wc -l <"$log")
  run --separate-stderr "$HUSK" pull "$ADDR/bb:1"
  [[ $status -eq 0 ]] || fail "$stderr"
  [[ $output =~ ^[0-9a-f]{64}$ ]] || fail "stdout: $output"
  local id=$output
  [[ -f $STORE/images/$id.json ]]
  # Not a terminal: one plain line per state change, the layer's short digest first.
  echo "$stderr" | grep -Eq '^[0-9a-f]{12}: downloading +0 B / ' || fail "$stderr"
  echo "$stderr" | grep -Eq '^[0-9a-f]{12}: done ' || fail "$stderr"
  [[ $(echo "$stderr" | grep -c 'downloading') -eq 1 ]] || fail "redrawn lines: $stderr"
  grep -q "\"$ADDR/bb:1\"" "$STORE/tags.json"
  [[ $(husk_blob_gets "$log" "$before") -ge 1 ]]

  before=$(wc -l <"$log")
  run --separate-stderr "$HUSK" pull "$ADDR/bb:1"
  [[ $status -eq 0 && $output == "$id" ]] || fail "$stderr"
  echo "$stderr" | grep -Eq '^[0-9a-f]{12}: already exists$' || fail "$stderr"
  [[ $(husk_blob_gets "$log" "$before") -eq 0 ]] || fail "blobs fetched again"

  run --separate-stderr "$HUSK" pull -q "$ADDR/bb:1"
  [[ $status -eq 0 && $output == "$id" && -z $stderr ]] || fail "-q: $output / $stderr"

  # By digest: the same image, no new tag; a lone manifest for another platform is a warning.
  local digest
  digest=$(curl -s -o /dev/null -w '%header{docker-content-digest}' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$ADDR/v2/bb/manifests/1")
  run --separate-stderr "$HUSK" pull --platform linux/arm64 "$ADDR/bb@$digest"
  [[ $status -eq 0 && $output == "$id" ]] || fail "by digest: $stderr"
  [[ $stderr == *"warning: image is linux/amd64, not linux/arm64/v8"* ]] || fail "$stderr"
  [[ $(jq 'length' "$STORE/tags.json") -eq 1 ]] || fail "$(cat "$STORE/tags.json")"
  jq -e --arg d "$ADDR/bb@$digest" '.repo_digests | index($d)' "$STORE/images/$id.json"

  run --separate-stderr "$HUSK" pull "$ADDR/nothing:1"
  [[ $status -ne 0 ]]
  [[ $stderr == *"husk: pull $ADDR/nothing:1: manifest unknown (404)" ]] || fail "$stderr"
}

@test "pull: on a terminal the progress is redrawn in place" {
  run --separate-stderr python3 "$FIXTURES/in-pty" 30 "$HUSK" pull "$ADDR/bb:1"
  [[ $status -eq 0 ]] || fail "$output $stderr"
  [[ $output == *$'\e[1A\e[K'*': done '* ]] || fail "$output"
  [[ $(echo "$output" | tail -1) =~ ^[0-9a-f]{64}$ ]] || fail "$output"
}

@test "pull: gzip, zstd and uncompressed layers give umoci's tree through overlayfs" {
  "$FIXTURES/tree-manifest" "$PT/umoci/rootfs" >"$HUSK_ROOT/umoci.txt"
  # What the image holds, so the comparison is not vacuous.
  grep -q $'^data/setuid\tfile\t4755\t0:0' "$HUSK_ROOT/umoci.txt"
  grep -q $'^data/xattr\tfile\t0644\t0:0\t.*\tuser.husk=68656c6c6f$' "$HUSK_ROOT/umoci.txt"
  grep -q $'^data/hl2\t.*link-group=data/hl1$' "$HUSK_ROOT/umoci.txt"
  grep -q $'^data/null\tchar\t0666\t0:0\t1:3$' "$HUSK_ROOT/umoci.txt"
  grep -q $'^home/u/file\tfile\t0600\t1234:5678' "$HUSK_ROOT/umoci.txt"
  ! grep -Eq '^(data/gone|dirgone|opq/old|opq/sub)' "$HUSK_ROOT/umoci.txt"
  local c media
  for c in gzip zstd none; do
    media=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
      "http://$ADDR/v2/multi/manifests/$c" | jq -r '.layers[0].mediaType')
    case $c in
      gzip) [[ $media == *tar+gzip ]] ;;
      zstd) [[ $media == *tar+zstd ]] ;;
      none) [[ $media == *layer.v1.tar ]] ;;
    esac || fail "$c: layer type $media"
    run --separate-stderr "$HUSK" pull -q "$ADDR/multi:$c"
    [[ $status -eq 0 ]] || fail "$c: $stderr"
    overlay_tree "$output" "$HUSK_ROOT/husk-$c.txt"
    diff -u "$HUSK_ROOT/umoci.txt" "$HUSK_ROOT/husk-$c.txt" || fail "$c: trees differ"
  done
  # The comparison sees a deliberate difference of each kind.
  local copy=$HUSK_ROOT/copy
  cp -a "$PT/umoci/rootfs" "$copy"
  python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.husk", b"other")' "$copy/data/xattr"
  chmod u-s "$copy/data/setuid"
  chown 1:1 "$copy/home/nobody"
  ln -sfn elsewhere "$copy/data/link"
  "$FIXTURES/tree-manifest" "$copy" >"$HUSK_ROOT/copy.txt"
  run diff "$HUSK_ROOT/husk-gzip.txt" "$HUSK_ROOT/copy.txt"
  [[ $status -ne 0 ]]
  [[ $(echo "$output" | grep -c '^>') -eq 4 ]] || fail "$output"
}

@test "pull: an index is resolved to linux/amd64, --platform picks another, unknown fails" {
  local l=$PT/layout
  umoci config --image "$l:multi" --architecture arm64 --tag arm
  python3 - "$l" <<'EOF'
import hashlib, json, sys
layout = sys.argv[1]
index = json.load(open(f"{layout}/index.json"))
def by_tag(tag):
    return next(m for m in index["manifests"]
                if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
entries = []
for tag, arch in (("multi", "amd64"), ("arm", "arm64")):
    m = {k: v for k, v in by_tag(tag).items() if k != "annotations"}
    m["platform"] = {"os": "linux", "architecture": arch}
    entries.append(m)
body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                   "manifests": entries}).encode()
digest = hashlib.sha256(body).hexdigest()
open(f"{layout}/blobs/sha256/{digest}", "wb").write(body)
index["manifests"].append({"mediaType": "application/vnd.oci.image.index.v1+json",
                           "digest": "sha256:" + digest, "size": len(body),
                           "annotations": {"org.opencontainers.image.ref.name": "multiarch"}})
json.dump(index, open(f"{layout}/index.json", "w"))
for tag in ("multi", "arm"):
    m = json.load(open(f"{layout}/blobs/sha256/{by_tag(tag)['digest'][7:]}"))
    open(f"{layout}/{tag}.config", "w").write(m["config"]["digest"][7:])
EOF
  skopeo --insecure-policy copy -q --all --dest-tls-verify=false "oci:$l:multiarch" \
    "docker://$ADDR/multi:index"
  local amd arm
  amd=$(cat "$l/multi.config")
  arm=$(cat "$l/arm.config")
  [[ $amd != "$arm" ]]
  run --separate-stderr "$HUSK" pull -q "$ADDR/multi:index"
  [[ $status -eq 0 && $output == "$amd" ]] || fail "default: $output $stderr"
  run --separate-stderr "$HUSK" pull -q --platform linux/arm64 "$ADDR/multi:index"
  [[ $status -eq 0 && $output == "$arm" ]] || fail "arm64: $output $stderr"
  jq -e '.architecture == "arm64"' "$STORE/blobs/sha256/$arm"
  run --separate-stderr "$HUSK" pull -q --platform linux/s390x "$ADDR/multi:index"
  [[ $status -ne 0 ]]
  [[ $stderr == "husk: pull $ADDR/multi:index: "*s390x* ]] || fail "$stderr"
  [[ $(echo "$stderr" | wc -l) -eq 1 ]] || fail "$stderr"
  [[ $(ls "$STORE/images" | wc -l) -eq 2 ]]
}

@test "pull: concurrent pulls of two images sharing layers fetch each blob once" {
  local l=$PT/layout
  umoci tag --image "$l:multi" multi2
  python3 -c '
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    data = b"only in multi2\n"
    info = tarfile.TarInfo("extra"); info.size = len(data); t.addfile(info, io.BytesIO(data))
' "$HUSK_ROOT/extra.tar"
  umoci raw add-layer --image "$l:multi2" "$HUSK_ROOT/extra.tar"
  skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$l:multi2" \
    "docker://$ADDR/multi2:1"
  local log=$PT/plain/registry.log before
  before=$(wc -l <"$log")
  # Through a proxy at 1 MiB/s, so the 1 MiB base layer's downloads would overlap: the
  # second pull must wait for the first's blob instead of fetching it.
  coproc PROXY { exec "$FIXTURES/slow-proxy" "$ADDR" $((1 << 20)); }
  PROXY_PID=$PROXY_PID
  local port
  read -r port <&"${PROXY[0]}"
  "$HUSK" pull "127.0.0.1:$port/multi:gzip" >"$HUSK_ROOT/a.out" 2>&1 &
  local a=$!
  "$HUSK" pull "127.0.0.1:$port/multi2:1" >"$HUSK_ROOT/b.out" 2>&1 &
  local b=$!
  wait "$a" || fail "first: $(cat "$HUSK_ROOT/a.out")"
  wait "$b" || fail "second: $(cat "$HUSK_ROOT/b.out")"
  # The base layer: downloaded by one pull, "already exists" for the other.
  local base
  base=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$ADDR/v2/multi/manifests/gzip" | jq -r '.layers[0].digest[7:19]')
  [[ $(cat "$HUSK_ROOT/a.out" "$HUSK_ROOT/b.out" | grep -c "^$base: downloading") -eq 1 ]] ||
    fail "$(cat "$HUSK_ROOT/a.out" "$HUSK_ROOT/b.out")"
  # ... after waiting for it (it was not there when that pull began).
  local waited
  waited=$(grep -l "^$base: already exists" "$HUSK_ROOT/a.out" "$HUSK_ROOT/b.out")
  [[ $(echo "$waited" | wc -l) -eq 1 ]] || fail "$(cat "$HUSK_ROOT/a.out" "$HUSK_ROOT/b.out")"
  grep -q "^$base: waiting" "$waited" || fail "$(cat "$waited")"
  # Three shared layers, two configs, multi2's own layer: six GETs, each blob once.
  local gets
  gets=$(tail -n "+$((before + 1))" "$log" | grep '"GET /v2/[^ ]*/blobs/sha256:' | grep '"husk"$' |
    grep -o 'sha256:[0-9a-f]*' | sort)
  [[ $(echo "$gets" | wc -l) -eq 6 ]] || fail "GETs: $gets"
  [[ -z $(echo "$gets" | uniq -d) ]] || fail "fetched twice: $(echo "$gets" | uniq -d)"
  [[ $(ls "$STORE/images" | wc -l) -eq 2 && $(ls "$STORE/layers" | wc -l) -eq 4 ]]
  [[ -z $(ls "$STORE/tmp") ]] || fail "tmp: $(ls "$STORE/tmp")"
}

@test "pull: kill -9 in the middle of a large layer, then a pull succeeds and the store is whole" {
  local l=$PT/layout
  umoci tag --image "$l:multi" big
  python3 -c '
import io, os, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    data = os.urandom(6 << 20)
    info = tarfile.TarInfo("random"); info.size = len(data); t.addfile(info, io.BytesIO(data))
' "$HUSK_ROOT/big.tar"
  umoci raw add-layer --image "$l:big" "$HUSK_ROOT/big.tar"
  skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$l:big" "docker://$ADDR/big:1"
  coproc PROXY { exec "$FIXTURES/slow-proxy" "$ADDR" $((2 << 20)); }
  PROXY_PID=$PROXY_PID
  local port
  read -r port <&"${PROXY[0]}"
  local out=$HUSK_ROOT/killed.out base
  base=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$ADDR/v2/big/manifests/1" | jq -r '.layers[0].digest[7:19]')
  "$HUSK" pull "127.0.0.1:$port/big:1" >/dev/null 2>"$out" &
  PULL_PID=$!
  # Until the big blob is partly written (2 MiB/s: ~3 s for the whole layer) and, pipelined,
  # the base layer (1 MiB) is already unpacked.
  local i part
  for ((i = 0; i < 200; i++)); do
    part=$(find "$STORE/tmp" -name 'part-*' -size +1536k 2>/dev/null | head -1)
    [[ -n $part ]] && grep -q "^$base: done" "$out" && break
    sleep 0.05
  done
  [[ -n $part ]] || fail "no partial blob appeared: $(cat "$out")"
  grep -q "^$base: done" "$out" || fail "base layer not unpacked during the download: $(cat "$out")"
  # In parallel: the big layer started downloading before the base layer's download ended.
  local big
  big=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$ADDR/v2/big/manifests/1" | jq -r '.layers[-1].digest[7:19]')
  [[ $(grep -n "^$big: downloading" "$out" | cut -d: -f1) -lt \
    $(grep -n "^$base: verifying" "$out" | cut -d: -f1) ]] || fail "not in parallel: $(cat "$out")"
  kill -9 "$PULL_PID"
  wait "$PULL_PID" || true
  PULL_PID=
  [[ -z $(ls "$STORE/images") ]]
  run --separate-stderr "$HUSK" pull -q "$ADDR/big:1"
  [[ $status -eq 0 ]] || fail "$stderr"
  local id=$output
  [[ -f $STORE/images/$id.json ]]
  # Whole: every blob is what its name says, every layer of the image is there.
  local b
  for b in "$STORE"/blobs/sha256/*; do
    [[ $(sha256sum <"$b" | cut -d' ' -f1) == "$(basename "$b")" ]] || fail "blob $b corrupt"
  done
  for b in $(jq -r '.layers[]' "$STORE/images/$id.json"); do
    [[ -d $STORE/layers/${b#sha256:}/diff ]] || fail "layer $b missing"
  done
  overlay_tree "$id" "$HUSK_ROOT/tree.txt"
  grep -q $'^random\tfile\t' "$HUSK_ROOT/tree.txt"
  # What the killed pull left is in tmp/ only.
  [[ -z $(find "$STORE" -path "$STORE/tmp" -prune -o -name 'part-*' -print) ]]
}

@test "pull: a corrupted blob fails with both digests and leaves nothing" {
  local l=$PT/layout
  umoci tag --image "$l:multi" corrupt
  python3 -c '
import io, os, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    data = os.urandom(64 << 10)
    info = tarfile.TarInfo("random"); info.size = len(data); t.addfile(info, io.BytesIO(data))
' "$HUSK_ROOT/c.tar"
  umoci raw add-layer --image "$l:corrupt" "$HUSK_ROOT/c.tar"
  skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$l:corrupt" \
    "docker://$ADDR/corrupt:1"
  local digest data
  digest=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$ADDR/v2/corrupt/manifests/1" | jq -r '.layers[-1].digest')
  data=$PT/plain/data/docker/registry/v2/blobs/sha256/${digest:7:2}/${digest#sha256:}/data
  [[ -f $data ]]
  # One byte flipped in the middle: same size, another digest.
  python3 -c '
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(32 << 10); b = f.read(1); f.seek(32 << 10); f.write(bytes([b[0] ^ 0xff]))
' "$data"
  # A fresh store: the shared layers are fetched too, the corrupt one fails.
  run --separate-stderr "$HUSK" pull "$ADDR/corrupt:1"
  [[ $status -ne 0 ]]
  local want="husk: pull $ADDR/corrupt:1: blob $digest: digest mismatch: expected $digest, got sha256:"
  [[ $(echo "$stderr" | tail -1) == "$want"* ]] || fail "$stderr"
  [[ -z $(ls "$STORE/images") ]] || fail "an image record"
  [[ ! -e $STORE/blobs/sha256/${digest#sha256:} ]]
  [[ -z $(ls "$STORE/tmp") ]] || fail "tmp: $(ls "$STORE/tmp")"
  ! grep -q corrupt "$STORE/tags.json" 2>/dev/null
}

@test "pull: TLS with --cert-dir, with --tls-verify=false, and failing without either" {
  local addr
  start_registry tls
  "$FIXTURES/registry" push "$TREG" bb:1 >/dev/null
  run --separate-stderr "$HUSK" pull -q "$addr/bb:1"
  [[ $status -ne 0 ]]
  [[ $stderr == "husk: pull $addr/bb:1: $addr: TLS: "* ]] || fail "$stderr"
  store_empty
  run --separate-stderr "$HUSK" pull -q --cert-dir "$TREG/ca" "$addr/bb:1"
  [[ $status -eq 0 ]] || fail "$stderr"
  local id=$output
  rm -rf "$STORE"
  run --separate-stderr "$HUSK" pull -q --tls-verify=false "$addr/bb:1"
  [[ $status -eq 0 && $output == "$id" ]] || fail "$stderr"
}

@test "login/pull/logout: basic auth; a bad password writes nothing; no login is a 401" {
  local addr
  start_registry basic
  "$FIXTURES/registry" push "$TREG" bb:1 >/dev/null
  run --separate-stderr "$HUSK" pull -q "$addr/bb:1"
  [[ $status -ne 0 ]]
  [[ $stderr == "husk: pull $addr/bb:1: unauthorized: "*"(401)" ]] || fail "$stderr"
  store_empty

  # An auth file with another registry's entry, kept through login and logout.
  printf '{"auths": {"other.example:5000": {"auth": "dTpw"}}, "x-keep": 1}\n' >"$REGISTRY_AUTH_FILE"
  local before
  before=$(sha256sum <"$REGISTRY_AUTH_FILE")
  run --separate-stderr "$HUSK" login -u husk -p wrong "$addr"
  [[ $status -ne 0 ]]
  [[ $stderr == "husk: login: $addr: unauthorized"*"(401)" ]] || fail "$stderr"
  [[ $(echo "$stderr" | wc -l) -eq 1 ]]
  [[ $(sha256sum <"$REGISTRY_AUTH_FILE") == "$before" ]] || fail "auth file changed"

  run --separate-stderr bash -c "echo secret | '$HUSK' login -u husk --password-stdin '$addr'"
  [[ $status -eq 0 && $output == "Login Succeeded!" ]] || fail "$stderr"
  [[ $(stat -c %a "$REGISTRY_AUTH_FILE") == 600 ]]
  jq -e --arg a "$addr" '.auths[$a].auth == "aHVzazpzZWNyZXQ=" and
    .auths["other.example:5000"].auth == "dTpw" and ."x-keep" == 1' "$REGISTRY_AUTH_FILE"

  run --separate-stderr "$HUSK" pull -q "$addr/bb:1"
  [[ $status -eq 0 ]] || fail "$stderr"

  run "$HUSK" logout "$addr"
  [[ $status -eq 0 ]]
  jq -e --arg a "$addr" '.auths[$a] == null and .auths["other.example:5000"].auth == "dTpw"' \
    "$REGISTRY_AUTH_FILE"
  run --separate-stderr "$HUSK" logout "$addr"
  [[ $status -ne 0 && $stderr == "husk: logout: not logged in to $addr" ]] || fail "$stderr"
  rm -rf "$STORE"
  run --separate-stderr "$HUSK" pull -q "$addr/bb:1"
  [[ $status -ne 0 && $stderr == *"(401)" ]] || fail "$stderr"
  run "$HUSK" logout --all
  [[ $status -eq 0 && ! -e $REGISTRY_AUTH_FILE ]]
}

@test "login/pull: a token server's bearer tokens, with --creds and with login" {
  local addr
  start_registry token
  "$FIXTURES/registry" push "$TREG" bb:1 >/dev/null
  run --separate-stderr "$HUSK" pull -q "$addr/bb:1"
  [[ $status -ne 0 && $stderr == "husk: pull $addr/bb:1: token from http://"*"(401)" ]] ||
    fail "$stderr"
  run --separate-stderr "$HUSK" pull -q --creds husk:secret "$addr/bb:1"
  [[ $status -eq 0 ]] || fail "$stderr"
  local id=$output
  run --separate-stderr "$HUSK" login -u husk -p nope "$addr"
  [[ $status -ne 0 && ! -e $REGISTRY_AUTH_FILE ]] || fail "$stderr"
  run --separate-stderr "$HUSK" login -u husk -p secret "$addr"
  [[ $status -eq 0 ]] || fail "$stderr"
  rm -rf "$STORE"
  run --separate-stderr "$HUSK" pull -q "$addr/bb:1"
  [[ $status -eq 0 && $output == "$id" ]] || fail "$stderr"
}
