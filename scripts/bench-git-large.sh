#!/usr/bin/env bash
# A large file through git hosting: one commit holding a file of SIZE_MIB MiB of random bytes
# pushed to server 0 of a 3-node loopback cluster of real `slipway server` processes and cloned
# back through server 1, sampling every server's resident memory (VmRSS from /proc/PID/status,
# every 0.1 s, and VmHWM, the kernel's peak) during the push and during the clone. The memory
# of the git processes the servers run (receive-pack, index-pack, upload-pack, pack-objects) is
# theirs, not the server's, and is not counted: the point is that the server streams. The same
# push and clone through `git http-backend` (internal/githttpref) are the reference.
#
# It also prints the receiving server's timings of the push from its last byte to the answer
# (its "git push" log line; server/git/DESIGN.md).
#
#   scripts/bench-git-large.sh [SIZE_MIB]     (default 1024; needs bin/slipway: make build)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
bin=${SLIPWAY_BIN:-$PWD/bin/slipway}
work=$(mktemp -d "${TMPDIR:-/tmp}/slipway-bench-git-large-XXXXXX")
pids=()
sampler=""
cleanup() {
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/githttpref" ./internal/githttpref # before HOME moves: the usual build cache
export HOME=$work/home GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
mkdir -p "$HOME"
git config --global user.name bench && git config --global user.email bench@example.com

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rate() { awk -v m="$1" -v s="$2" 'BEGIN { printf "%.1f MiB/s", m / s }'; }
kib() { awk -v k="$1" 'BEGIN { printf "%.0f MiB", k / 1024 }'; }
status() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; } # PID FIELD -> KiB

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(git --version), load $(cut -d' ' -f1-3 /proc/loadavg)"
git init -q -b main "$work/src"
head -c $((size_mib << 20)) /dev/urandom > "$work/src/big.bin"
git -C "$work/src" add big.bin && git -C "$work/src" commit -qm "a ${size_mib} MiB file"
echo "repository: one commit, a ${size_mib} MiB file of random bytes"

token=slw_bench-token-0123456789abcdef
echo "$token" > "$work/token"
"$bin" operator keyring kek create --out "$work/keyring.kek" >/dev/null
base=$((20000 + RANDOM % 20000))
join=""
for i in 0 1 2; do join="$join,127.0.0.1:$((base + 10*i + 1))"; done
join=${join#,}
for i in 0 1 2; do
  "$bin" server --node-id "g$i" --data-dir "$work/s$i" --http-addr "127.0.0.1:$((base + 10*i))" \
    --raft-addr "127.0.0.1:$((base + 10*i + 1))" --bootstrap-expect 3 --join "$join" \
    --initial-management-token-file "$work/token" --keyring-kek-file "$work/keyring.kek" --log-level info \
    >"$work/s$i.log" 2>&1 &
  pids+=($!)
done
export SLIPWAY_TOKEN=$token SLIPWAY_ADDR=http://127.0.0.1:$((base + 10))
created=""
for _ in $(seq 300); do "$bin" repo create big >/dev/null 2>&1 && created=1 && break; sleep 0.2; done
[ -n "$created" ] || { echo "the cluster did not come up within a minute: $("$bin" repo create big 2>&1)" >&2; exit 1; }
url() { echo "http://x:$token@127.0.0.1:$((base + 10*$1))/git/big.git"; }

# sample FILE: every 0.1 s, the servers' VmRSS in KiB, one line "rss0 rss1 rss2", until killed.
sample() {
  while :; do
    echo "$(status "${pids[0]}" VmRSS) $(status "${pids[1]}" VmRSS) $(status "${pids[2]}" VmRSS)"
    sleep 0.1
  done >"$1"
}
phase() { # NAME COMMAND...: runs it while sampling, then prints its time and each server's RSS
  local name=$1 a b
  shift
  local before=("$(status "${pids[0]}" VmRSS)" "$(status "${pids[1]}" VmRSS)" "$(status "${pids[2]}" VmRSS)")
  sample "$work/$name.rss" &
  sampler=$!
  a=$(now); "$@"; b=$(now)
  kill "$sampler"; wait "$sampler" 2>/dev/null || true; sampler=""
  echo "$name: $(secs "$a" "$b") s  $(rate "$size_mib" "$(secs "$a" "$b")")"
  for i in 0 1 2; do
    local max
    max=$(awk -v c=$((i + 1)) 'BEGIN { m = 0 } $c > m { m = $c } END { print m }' "$work/$name.rss")
    echo "  server$i RSS: before $(kib "${before[$i]}"), peak sampled $(kib "$max"), VmHWM so far $(kib "$(status "${pids[$i]}" VmHWM)")"
  done
}
phase "push to server0" git -C "$work/src" push -q "$(url 0)" main
echo "  server0, last byte pushed to acknowledgement (ms): $(grep 'git push' "$work/s0.log" | tail -1 | grep -o '[a-z_]*_ms[=:"]*[0-9]*' | tr -d '"' | tr ':' '=' | tr '\n' ' ')"
phase "clone via server1 (first: its copy catches up)" git clone -q --bare "$(url 1)" "$work/c1"
rm -rf "$work/c1"
phase "clone via server1 again" git clone -q --bare "$(url 1)" "$work/c1"
if [ "$(git --git-dir "$work/c1" rev-parse main:big.bin)" != "$(git -C "$work/src" rev-parse main:big.bin)" ]; then
  echo "the clone's big.bin differs from the pushed one" >&2
  exit 1
fi
echo "the clone's big.bin is the pushed one"

# The reference: the same push and clone through git http-backend behind Go's net/http
# (internal/githttpref), into and out of a plain bare repository that keeps a push's pack as
# Slipway's copies do (transfer.unpackLimit=1: with git's default of 100, the three objects
# would be unpacked into loose objects, the 1 GiB one compressed again).
"$work/githttpref" -root "$work" -addr "127.0.0.1:$((base + 60))" >"$work/githttpref.log" 2>&1 &
pids+=($!)
git init -q --bare "$work/ref.git" && git --git-dir "$work/ref.git" config http.receivepack true && git --git-dir "$work/ref.git" config transfer.unpackLimit 1
for _ in $(seq 50); do git ls-remote "http://127.0.0.1:$((base + 60))/ref.git" >/dev/null 2>&1 && break; sleep 0.1; done
a=$(now); git -C "$work/src" push -q "http://127.0.0.1:$((base + 60))/ref.git" main; b=$(now)
echo "push to git http-backend: $(secs "$a" "$b") s  $(rate "$size_mib" "$(secs "$a" "$b")")"
for _ in 1 2; do
  rm -rf "$work/c2"
  a=$(now); git clone -q --bare "http://127.0.0.1:$((base + 60))/ref.git" "$work/c2"; b=$(now)
  echo "clone via git http-backend: $(secs "$a" "$b") s  $(rate "$size_mib" "$(secs "$a" "$b")")"
done
