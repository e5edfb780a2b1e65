#!/usr/bin/env bash
# Git hosting throughput: a generated repository (COMMITS commits, each adding a file of
# FILE_KIB KiB of incompressible bytes and changing a shared text file) pushed to a 3-node
# loopback cluster of real `slipway server` processes, then cloned and fetched through another
# server, next to two references serving the same repository from a plain bare copy on the same
# disk: `git daemon` (git's own protocol) and `git http-backend` behind Go's net/http
# (internal/githttpref: smart HTTP over the same kind of listener as Slipway's, so that ratio is
# Slipway's own cost). Reports push throughput, the time from the push's last byte to its
# acknowledgement and its parts (the receiving server's "git push" log line), the receiving
# server's peak RSS, clone and fetch times (median of RUNS runs, interleaved) and their ratios
# to the references, with the CPU the serving process and its git used per clone, and the clone
# again once the serving copy has a bitmap index (multi-pack, then one pack), as the
# references' copy has. The clone through server 1 is
# timed over SSH too.
#
#   scripts/bench-git.sh [COMMITS] [FILE_KIB]     (default 3000 and 64, about 190 MiB; needs
#                                                  bin/slipway: make build; go, python3, git)
#   RUNS=3 by default.
set -euo pipefail
cd "$(dirname "$0")/.."
commits=${1:-3000}
file_kib=${2:-64}
runs=${RUNS:-3}
bin=${SLIPWAY_BIN:-$PWD/bin/slipway}
work=$(mktemp -d "${TMPDIR:-/tmp}/slipway-bench-git-XXXXXX")
pids=()
cleanup() {
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
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f MiB/s", b / 1048576 / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(git --version), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "generating $commits commits of ${file_kib} KiB each..."
git init -q --bare --initial-branch=main "$work/src.git"
python3 - "$commits" "$file_kib" <<'PY' | git --git-dir "$work/src.git" fast-import --quiet
import os, sys
commits, kib = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout.buffer
for i in range(commits):
    blob = os.urandom(kib * 1024)
    text = ("".join(f"line {j} of commit {i}\n" for j in range(i % 50 + 1))).encode()
    msg = f"commit {i}\n".encode()
    out.write(b"commit refs/heads/main\n")
    out.write(f"committer bench <bench@example.com> {1700000000 + i} +0000\n".encode())
    out.write(b"data %d\n%s\n" % (len(msg), msg))
    out.write(b"M 100644 inline data/f%05d.bin\ndata %d\n%s\n" % (i, len(blob), blob))
    out.write(b"M 100644 inline notes.txt\ndata %d\n%s\n" % (len(text), text))
PY
git --git-dir "$work/src.git" repack -adq
size=$(du -sb "$work/src.git/objects" | cut -f1)
echo "repository: $commits commits, $(awk -v b="$size" 'BEGIN { printf "%.0f MiB", b / 1048576 }') of objects"

token=slw_bench-token-0123456789abcdef
echo "$token" > "$work/token"
"$bin" operator keyring kek create --out "$work/keyring.kek" >/dev/null
base=$((20000 + RANDOM % 20000))
join=""
for i in 0 1 2; do join="$join,127.0.0.1:$((base + 10*i + 1))"; done
join=${join#,}
for i in 0 1 2; do
  "$bin" server --node-id "g$i" --data-dir "$work/s$i" --http-addr "127.0.0.1:$((base + 10*i))" \
    --raft-addr "127.0.0.1:$((base + 10*i + 1))" --ssh-addr "127.0.0.1:$((base + 10*i + 2))" --bootstrap-expect 3 --join "$join" \
    --initial-management-token-file "$work/token" --keyring-kek-file "$work/keyring.kek" --log-level info \
    >"$work/s$i.log" 2>&1 &
  pids+=($!)
done
export SLIPWAY_TOKEN=$token SLIPWAY_ADDR=http://127.0.0.1:$((base + 10))
created=""
for _ in $(seq 300); do "$bin" repo create bench >/dev/null 2>&1 && created=1 && break; sleep 0.2; done
[ -n "$created" ] || { echo "the cluster did not come up within a minute: $("$bin" repo create bench 2>&1)" >&2; exit 1; }
url() { echo "http://x:$token@127.0.0.1:$((base + 10*$1))/git/bench.git"; }

git daemon --reuseaddr --base-path="$work" --export-all --listen=127.0.0.1 --port=$((base + 50)) "$work" >/dev/null 2>&1 &
pids+=($!)
"$work/githttpref" -root "$work" -addr "127.0.0.1:$((base + 60))" >"$work/githttpref.log" 2>&1 &
backend_pid=$!
pids+=($!)
daemon=git://127.0.0.1:$((base + 50))/src.git
backend=http://127.0.0.1:$((base + 60))/src.git
for _ in $(seq 50); do git ls-remote "$daemon" >/dev/null 2>&1 && break; sleep 0.1; done
for _ in $(seq 50); do git ls-remote "$backend" >/dev/null 2>&1 && break; sleep 0.1; done

# The receiving server's peak RSS: VmHWM of server 0 over the push.
t0=$(now)
git --git-dir "$work/src.git" push -q "$(url 0)" main
t1=$(now)
rss=$(awk '/VmHWM/ {printf "%.0f MiB", $2/1024}' "/proc/${pids[0]}/status")
echo "push to server0:        $(secs "$t0" "$t1") s  $(rate "$size" "$(secs "$t0" "$t1")")  (server0 peak RSS $rss)"
timings() { # SERVER: the timings of its last "git push" log line
  grep 'git push' "$work/s$1.log" | tail -1 | grep -o '[a-z_]*_ms[=:"]*[0-9]*' | tr -d '"' | tr ':' '=' | tr '\n' ' '
}
echo "  server0, last byte pushed to acknowledgement (ms): $(timings 0)"
# The same push to git http-backend, into an empty bare repository that accepts pushes.
git init -q --bare "$work/pushed.git" && git --git-dir "$work/pushed.git" config http.receivepack true && git --git-dir "$work/pushed.git" config transfer.unpackLimit 1
t0=$(now); git --git-dir "$work/src.git" push -q "http://127.0.0.1:$((base + 60))/pushed.git" main; t1=$(now)
echo "push to http-backend:   $(secs "$t0" "$t1") s  $(rate "$size" "$(secs "$t0" "$t1")")"


# cpu PID: the CPU seconds the process and its reaped children (the git it ran) have used.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15 + $16 + $17) / hz }' "/proc/$1/stat"; }
clone() { # NAME URL [SERVER_PID]: "seconds cpu", cpu being what SERVER_PID and its git used
  rm -rf "$work/$1"
  local a b c0=0 c1=0
  [ -n "${3:-}" ] && c0=$(cpu "$3")
  a=$(now); git clone -q --bare "$2" "$work/$1"; b=$(now)
  if [ -n "${3:-}" ]; then # its git reaped (git daemon reaps its children a little later)
    for _ in $(seq 100); do pgrep -P "$3" >/dev/null || break; sleep 0.05; done
    c1=$(cpu "$3")
  fi
  echo "$(secs "$a" "$b") $(secs "$c0" "$c1")"
}
# The first clone through server 1 right after the push includes its catching up (fetching the
# pack blob from a peer and indexing it); the second is the steady state.
s_first=$(clone c-slipway "$(url 1)")
echo "first clone via server1 right after the push (includes its catch-up): ${s_first% *} s"
# RUNS rounds, each cloning through server 1, git daemon and git http-backend in turn, so
# that the machine's load falls on all three alike; the medians are compared.
clones() { # LABEL: the medians into s_clone, d_clone, h_clone (seconds) and s_cpu, h_cpu
  local s=() d=() h=() sc=() hc=() r
  for _ in $(seq "$runs"); do
    r=$(clone c-slipway "$(url 1)" "${pids[1]}"); s+=("${r% *}"); sc+=("${r#* }")
    r=$(clone c-daemon "$daemon"); d+=("${r% *}")
    r=$(clone c-backend "$backend" "$backend_pid"); h+=("${r% *}"); hc+=("${r#* }")
  done
  s_clone=$(median "${s[@]}") d_clone=$(median "${d[@]}") h_clone=$(median "${h[@]}")
  s_cpu=$(median "${sc[@]}") h_cpu=$(median "${hc[@]}")
  echo "$1 (median of $runs, load $(cut -d' ' -f1 /proc/loadavg); seconds: slipway ${s[*]}, daemon ${d[*]}, http-backend ${h[*]}; server CPU seconds: slipway ${sc[*]}, http-backend ${hc[*]})"
  echo "  clone via server1:       $s_clone s  $(rate "$size" "$s_clone")  server CPU $s_cpu s"
  echo "  clone via git daemon:    $d_clone s  $(rate "$size" "$d_clone")  (its CPU is not measurable: git daemon's children are not accounted to it)   ratio (slipway / daemon throughput): $(ratio "$d_clone" "$s_clone")"
  echo "  clone via http-backend:  $h_clone s  $(rate "$size" "$h_clone")  server CPU $h_cpu s   ratio (slipway / http-backend throughput): $(ratio "$h_clone" "$s_clone")"
}
copy1=$(ls -d "$work"/s1/git/repos/*/)
echo "server1's copy: $(ls "$copy1/objects/pack/"*.pack | wc -l) pack(s), $(ls "$copy1/objects/pack/"*.bitmap 2>/dev/null | wc -l) bitmap(s); reference: $(ls "$work/src.git/objects/pack/"*.pack | wc -l) pack(s), $(ls "$work/src.git/objects/pack/"*.bitmap 2>/dev/null | wc -l) bitmap(s)"
c0=$(cpu "${pids[1]}"); sleep 3
echo "server1's CPU when idle (Raft heartbeats, background tasks): $(secs "$c0" "$(cpu "${pids[1]}")") s over 3 s"
clones "clone, steady state"

# The same clone over SSH: a user with a key, the cluster's host key pinned.
"$bin" iam user create bench >/dev/null
"$bin" iam policy attach CodeCommitFullAccess --user bench >/dev/null
ssh-keygen -q -t ed25519 -N "" -f "$work/id" && "$bin" iam key add bench "$work/id.pub" >/dev/null
echo "slipway-cluster $("$bin" repo host-key --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["public_key"])')" > "$work/known_hosts"
export GIT_SSH_COMMAND="ssh -F /dev/null -i $work/id -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=$work/known_hosts -o StrictHostKeyChecking=yes -o HostKeyAlias=slipway-cluster"
ssh_url="ssh://git@127.0.0.1:$((base + 12))/bench.git"
for _ in $(seq 50); do git ls-remote "$ssh_url" >/dev/null 2>&1 && break; sleep 0.1; done
s_ssh=$(clone c-ssh "$ssh_url" "${pids[1]}")
echo "clone via server1 over SSH: ${s_ssh% *} s  $(rate "$size" "${s_ssh% *}")  server CPU ${s_ssh#* } s  (ratio to git daemon $(ratio "$d_clone" "${s_ssh% *}"), to http-backend $(ratio "$h_clone" "${s_ssh% *}"))"

# A fetch of 100 new commits, pushed through server 2.
git clone -q "$work/src.git" "$work/wt"
(cd "$work/wt" && for i in $(seq 100); do head -c $((file_kib * 1024)) /dev/urandom > "new$i.bin"; git add "new$i.bin"; git commit -qm "new $i"; done)
t0=$(now); git -C "$work/wt" push -q "$(url 2)" main; t1=$(now)
echo "push of 100 commits:    $(secs "$t0" "$t1") s"
git -C "$work/wt" push -q "$work/src.git" main
fetch() { # DIR URL
  local a b
  a=$(now); git --git-dir "$work/$1" fetch -q "$2" main; b=$(now)
  secs "$a" "$b"
}
echo "  server2, last byte pushed to acknowledgement (ms): $(timings 2)"
s_fetch=$(fetch c-slipway "$(url 1)")
d_fetch=$(fetch c-daemon "$daemon")
h_fetch=$(fetch c-backend "$backend")
echo "fetch via server1:      $s_fetch s"
echo "fetch via git daemon:   $d_fetch s   time ratio (daemon / slipway): $(ratio "$d_fetch" "$s_fetch")"
echo "fetch via http-backend: $h_fetch s   time ratio (http-backend / slipway): $(ratio "$h_fetch" "$s_fetch")"

# The same clones once server 1's copy has a bitmap index, as the references' copy has: first
# a multi-pack bitmap over its packs as they are (git multi-pack-index write --bitmap, no pack
# rewritten), then one pack with a bitmap (git repack -adb). By hand here: the servers do not
# write bitmaps yet.
git --git-dir "$work/src.git" repack -adbq # the references get the 100 new commits into their bitmap too
a=$(now)
git --git-dir "$copy1" multi-pack-index write --bitmap 2>/dev/null
echo "git multi-pack-index write --bitmap on server1's copy ($(ls "$copy1/objects/pack/"*.pack | wc -l) packs): $(secs "$a" "$(now)") s"
clones "clone after git multi-pack-index write --bitmap of server1's copy"
git --git-dir "$copy1" repack -adbq
echo "server1's copy after git repack -adb: $(ls "$copy1/objects/pack/"*.pack | wc -l) pack(s), $(ls "$copy1/objects/pack/"*.bitmap 2>/dev/null | wc -l) bitmap(s)"
clones "clone after git repack -adb of server1's copy"
