#!/usr/bin/env bash
# Blob store throughput: upload and download a bundle on a 3-node loopback cluster of real
# `slipway server` processes, next to `cp` of the same file on the same disk (the physical
# reference), and the receiving server's peak RSS during the upload. Blobs are encrypted at rest
# (always): the servers share one key-encryption key file made here. The cost of encryption
# alone, against the same store path without it, is `go test ./server/core/blob -bench Store`.
#
#   scripts/bench-blob.sh [SIZE_MIB]     (default 1024; needs bin/slipway: make build)
#
# SLIPWAY_BIN=/path/to/slipway runs another build, e.g. one from before encryption at rest (a
# binary without `operator keyring` gets no key-encryption key), for a run without the feature.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
bin=${SLIPWAY_BIN:-$PWD/bin/slipway}
work=$(mktemp -d "${TMPDIR:-/tmp}/slipway-bench-XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f MiB/s", b / 1048576 / s }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
token=slw_bench-token-0123456789abcdef
echo "$token" > "$work/token"
kek=()
if "$bin" operator keyring kek create --out "$work/keyring.kek" >/dev/null 2>&1; then
  kek=(--keyring-kek-file "$work/keyring.kek")
  echo "blobs encrypted at rest"
else
  echo "this build has no encryption at rest"
fi
base=$((20000 + RANDOM % 20000))
join=""
for i in 0 1 2; do join="$join,127.0.0.1:$((base + 10*i + 1))"; done
join=${join#,}
for i in 0 1 2; do
  "$bin" server --node-id "b$i" --data-dir "$work/s$i" --http-addr "127.0.0.1:$((base + 10*i))" --ssh-addr off \
    --raft-addr "127.0.0.1:$((base + 10*i + 1))" --bootstrap-expect 3 --join "$join" \
    --initial-management-token-file "$work/token" "${kek[@]}" \
    --max-bundle-size 4GiB --log-level error \
    >"$work/s$i.log" 2>&1 &
  pids+=($!)
done
export SLIPWAY_TOKEN=$token SLIPWAY_ADDR=http://127.0.0.1:$((base + 10))
for _ in $(seq 100); do "$bin" app create bench >/dev/null 2>&1 && break; sleep 0.2; done

echo "making a ${size_mib} MiB bundle..."
mkdir -p "$work/bundle"
printf 'version: 0.0\nos: linux\nfiles:\n  - source: /\n    destination: /opt/bench\n' > "$work/bundle/appspec.yml"
head -c $((size_mib * 1048576)) /dev/urandom > "$work/bundle/payload.bin"
tar -C "$work/bundle" -cf "$work/bundle.tar" .
bytes=$(stat -c %s "$work/bundle.tar")
sha=$(sha256sum "$work/bundle.tar" | cut -d' ' -f1)
sync

t0=$(now); cp "$work/bundle.tar" "$work/copy.tar"; sync; t1=$(now)
cp_s=$(secs "$t0" "$t1")
rm -f "$work/copy.tar"

# Upload through node 1 (a follower or the leader; either way a quorum must hold it).
up_pid=${pids[1]}
t0=$(now)
curl -sf -X POST -H "Authorization: Bearer $token" -H "X-Slipway-Sha256: $sha" \
  -H "Content-Type: application/octet-stream" -T "$work/bundle.tar" \
  "http://127.0.0.1:$((base + 10))/v1/apps/bench/revisions" > "$work/rev.json"
t1=$(now)
up_s=$(secs "$t0" "$t1")
rss_kib=$(awk '/VmHWM/ {print $2}' /proc/$up_pid/status)
rev=$(sed -n 's/.*"id": "\([^"]*\)".*/\1/p' "$work/rev.json")

# Download from every node (a node that lacks it yet fetches it from a peer first).
down=""
for i in 0 1 2; do
  t0=$(now)
  curl -sf -H "Authorization: Bearer $token" -o "$work/down$i.tar" "http://127.0.0.1:$((base + 10*i))/v1/revisions/$rev/content"
  sync; t1=$(now)
  got=$(sha256sum "$work/down$i.tar" | cut -d' ' -f1)
  [ "$got" = "$sha" ] || { echo "node $i served different bytes"; exit 1; }
  down="$down node$i $(rate "$bytes" "$(secs "$t0" "$t1")")"
  rm -f "$work/down$i.tar"
done

echo "bundle:        $bytes bytes"
echo "cp (reference): $(rate "$bytes" "$cp_s") ($cp_s s)"
echo "upload:        $(rate "$bytes" "$up_s") ($up_s s, acknowledged after a quorum fsynced it and the record committed) = $(awk -v a="$cp_s" -v b="$up_s" 'BEGIN{printf "%.2f", a/b}') x cp"
echo "download:     $down (byte-identical on every node)"
echo "peak RSS of the receiving server: $((rss_kib / 1024)) MiB"
