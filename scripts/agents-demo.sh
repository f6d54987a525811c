#!/usr/bin/env bash
# Real agents on this machine's loopback: starts N (default 5) `vigil agent`s on
# 127.0.0.1 with a fresh cluster key, shows `vigil members`, kills one with SIGKILL,
# shows how the others marked it failed (`vigil explain`), then stops the rest with
# SIGTERM (graceful leave). Everything lives in a temporary directory, removed at the end.
set -euo pipefail
source "$(dirname "$0")/env.sh"
n=${1:-5}
swift build -c release --product vigil
vigil=$PWD/.build/release/vigil
dir=$(mktemp -d /tmp/vigil-demo.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
key=$($vigil keygen)
base=27946
for i in $(seq 1 "$n"); do
    join=()
    ((i > 1)) && join=(--join "127.0.0.1:$base")
    $vigil agent --name "node-$i" --bind "127.0.0.1:$((base + i - 1))" --data-dir "$dir/node-$i" \
        --encrypt "$key" --preset local "${join[@]}" >"$dir/node-$i.log" 2>&1 &
    pids+=($!)
done
ctl() { echo "--control=$dir/node-$1/vigil.sock"; }
for _ in $(seq 1 50); do
    alive=$($vigil members "$(ctl 1)" --status alive --format json 2>/dev/null | grep -o '"name"' | wc -l || true)
    ((alive == n)) && break
    sleep 0.2
done
echo "== vigil members (node-1)"
$vigil members "$(ctl 1)"
victim=$n
echo; echo "== SIGKILL node-$victim"
kill -9 "${pids[$((victim - 1))]}"
for _ in $(seq 1 50); do
    $vigil members "$(ctl 1)" --name "node-$victim" --status failed --format json | grep -q '"failed"' && break
    sleep 0.2
done
echo "== vigil members (node-1)"
$vigil members "$(ctl 1)"
echo; echo "== vigil explain node-$victim (node-1)"
$vigil explain "$(ctl 1)" "node-$victim"
