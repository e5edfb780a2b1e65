#!/usr/bin/env bash
# Git hosting throughput: a generated repository (COMMITS commits, each adding a file of
# FILE_KIB KiB of incompressible bytes and changing a shared text file) pushed to a 3-node
# loopback cluster of real `slipway server` processes, then cloned and fetched through another
# server, next to `git daemon` serving the same repository from a plain bare copy on the same
# disk (the reference: git's own server, no authentication, no replication). Reports push
# throughput, the receiving server's peak RSS, clone and fetch times and their ratio to the
# reference. The clone through server 1 is timed over SSH too.
#
#   scripts/bench-git.sh [COMMITS] [FILE_KIB]     (default 3000 and 64, about 190 MiB; needs
#                                                  bin/slipway: make build; python3 and git)
set -euo pipefail
cd "$(dirname "$0")/.."
commits=${1:-3000}
file_kib=${2:-64}
bin=${SLIPWAY_BIN:-$PWD/bin/slipway}
work=$(mktemp -d "${TMPDIR:-/tmp}/slipway-bench-git-XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export HOME=$work/home GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
mkdir -p "$HOME"
git config --global user.name bench && git config --global user.email bench@example.com

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f MiB/s", b / 1048576 / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(git --version)"
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
    --initial-management-token-file "$work/token" --keyring-kek-file "$work/keyring.kek" --log-level error \
    >"$work/s$i.log" 2>&1 &
  pids+=($!)
done
export SLIPWAY_TOKEN=$token SLIPWAY_ADDR=http://127.0.0.1:$((base + 10))
for _ in $(seq 100); do "$bin" repo create bench >/dev/null 2>&1 && break; sleep 0.2; done
url() { echo "http://x:$token@127.0.0.1:$((base + 10*$1))/git/bench.git"; }

# The receiving server's peak RSS: VmHWM of server 0 over the push.
t0=$(now)
git --git-dir "$work/src.git" push -q "$(url 0)" main
t1=$(now)
rss=$(awk '/VmHWM/ {printf "%.0f MiB", $2/1024}' "/proc/${pids[0]}/status")
echo "push to server0:        $(secs "$t0" "$t1") s  $(rate "$size" "$(secs "$t0" "$t1")")  (server0 peak RSS $rss)"

git daemon --reuseaddr --base-path="$work" --export-all --listen=127.0.0.1 --port=$((base + 50)) "$work" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do git ls-remote "git://127.0.0.1:$((base + 50))/src.git" >/dev/null 2>&1 && break; sleep 0.1; done

clone() { # NAME URL
  rm -rf "$work/$1"
  local a b
  a=$(now); git clone -q --bare "$2" "$work/$1"; b=$(now)
  secs "$a" "$b"
}
# The first clone through server 1 right after the push includes its catching up (fetching the
# pack blob from a peer and indexing it); the second is the steady state.
s_first=$(clone c-slipway "$(url 1)")
s_clone=$(clone c-slipway "$(url 1)")
d_clone=$(clone c-daemon "git://127.0.0.1:$((base + 50))/src.git")
echo "first clone via server1 right after the push (includes its catch-up): $s_first s"
echo "clone via server1:      $s_clone s  $(rate "$size" "$s_clone")"
echo "clone via git daemon:   $d_clone s  $(rate "$size" "$d_clone")"
echo "clone throughput ratio (slipway / git daemon): $(ratio "$d_clone" "$s_clone")"

# The same clone over SSH: a user with a key, the cluster's host key pinned.
"$bin" iam user create bench >/dev/null
"$bin" iam policy attach CodeCommitFullAccess --user bench >/dev/null
ssh-keygen -q -t ed25519 -N "" -f "$work/id" && "$bin" iam key add bench "$work/id.pub" >/dev/null
echo "slipway-cluster $("$bin" repo host-key --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["public_key"])')" > "$work/known_hosts"
export GIT_SSH_COMMAND="ssh -F /dev/null -i $work/id -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=$work/known_hosts -o StrictHostKeyChecking=yes -o HostKeyAlias=slipway-cluster"
ssh_url="ssh://git@127.0.0.1:$((base + 12))/bench.git"
for _ in $(seq 50); do git ls-remote "$ssh_url" >/dev/null 2>&1 && break; sleep 0.1; done
s_ssh=$(clone c-ssh "$ssh_url")
echo "clone via server1 over SSH: $s_ssh s  $(rate "$size" "$s_ssh")  (ratio to git daemon $(ratio "$d_clone" "$s_ssh"))"

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
s_fetch=$(fetch c-slipway "$(url 1)")
d_fetch=$(fetch c-daemon "git://127.0.0.1:$((base + 50))/src.git")
echo "fetch via server1:      $s_fetch s"
echo "fetch via git daemon:   $d_fetch s"
echo "fetch time ratio (git daemon / slipway): $(ratio "$d_fetch" "$s_fetch")"
