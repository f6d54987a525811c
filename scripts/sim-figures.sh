#!/usr/bin/env bash
# Reproduces every simulator figure in the README (release build, default preset
# `lan`), and prints them as a Markdown table with the date and machine. Takes about
# three minutes on a 2-core machine. Raw JSON reports go to sim-out/.
set -euo pipefail
source "$(dirname "$0")/env.sh"
swift build -c release --product vigil
vigil=.build/release/vigil
out=sim-out
mkdir -p "$out"

# (a) N=100, 5% loss, one crash per run, 20 seeds: detection distribution.
for seed in $(seq 1 20); do
    $vigil simulate --nodes 100 --duration 2m --crash 1 --loss 5% --seed "$seed" --format json \
        --out "$out/a-seed$seed.json" >/dev/null
done
# (b) N=100, one virtual hour, 10% loss, 5 nodes pausing 1 s about once a minute.
$vigil simulate --nodes 100 --duration 1h --loss 10% --pause 5 --pause-for 1s --seed 1 --format json \
    --out "$out/b.json" >/dev/null
# (c) constant load: N=50 and N=1000, 1% loss, one crash, 5 virtual minutes each.
$vigil simulate --nodes 50 --duration 5m --crash 1 --loss 1% --seed 1 --format json --out "$out/c-50.json" >/dev/null
# (d) doubles as (c) at N=1000: 10 virtual minutes.
$vigil simulate --nodes 1000 --duration 10m --crash 1 --loss 1% --seed 1 --format json --out "$out/d-1000.json" >/dev/null
# Gray failure: two nodes losing 80% of their packets both ways.
$vigil simulate --nodes 50 --duration 5m --gray 2 --gray-loss 0.8 --seed 1 --format json --out "$out/gray.json" >/dev/null

python3 - "$out" <<'PY'
import json, sys, glob, datetime, platform, os
out = sys.argv[1]
def load(name): return json.load(open(os.path.join(out, name)))
a = [load(os.path.basename(f)) for f in sorted(glob.glob(os.path.join(out, "a-seed*.json")))]
samples = sorted(r["detection"]["failed_everywhere_ms"]["max"] for r in a if r["detection"]["failed_everywhere_ms"].get("count"))
first = sorted(r["detection"]["first_suspect_ms"]["max"] for r in a if r["detection"]["first_suspect_ms"].get("count"))
def rank(xs, p):
    import math
    return xs[max(0, math.ceil(p * len(xs)) - 1)]
b, c50, d = load("b.json"), load("c-50.json"), load("d-1000.json")
gray = load("gray.json")
print(f"Measured {datetime.date.today()} on {platform.machine()} ({os.cpu_count()} cores) by scripts/sim-figures.sh\n")
print("| figure | result |")
print("|---|---|")
print(f"| (a) crash → failed everywhere, N=100, 5% loss, {len(samples)} seeds | p50 {rank(samples,.5):.0f} ms, p99 {rank(samples,.99):.0f} ms, max {samples[-1]:.0f} ms; undetected {sum(r['detection']['undetected'] for r in a)} |")
print(f"| (a) crash → first suspicion | p50 {rank(first,.5):.0f} ms, p99 {rank(first,.99):.0f} ms |")
print(f"| (a) false failures over the 20 runs | {sum(r['false_failures'] for r in a)} |")
print(f"| (b) N=100, 1 h, 10% loss, 5 nodes pausing 1 s/min | false failures {b['false_failures']}, false suspicions {b['false_suspicions']} |")
t50, t1k = c50["traffic"]["bytes_sent_per_node_per_s"]["mean"], d["traffic"]["bytes_sent_per_node_per_s"]["mean"]
print(f"| (c) bytes sent per node per second, N=50 → N=1000 | {t50:.0f} → {t1k:.0f} B/s ({(t1k/t50-1)*100:+.1f}%); messages {c50['traffic']['messages_sent_per_node_per_s']['mean']:.1f} → {d['traffic']['messages_sent_per_node_per_s']['mean']:.1f} /s |")
print(f"| (d) N=1000, 10 virtual minutes, release build | {d['wall_seconds']:.0f} s wall; detection {d['detection']['failed_everywhere_ms'].get('max', float('nan')):.0f} ms |")
print(f"| gray: 2 of 50 nodes lose 80% both ways, 5 min | gray failed {gray['gray_failed']}/2, false failures {gray['false_failures']}, certificates {gray['certifications']} (= once per observer) |")
runs = a + [b, c50, d, gray]
violations = sum(len(r["election"]["invariant_violations"]) for r in runs)
no_leader = sum(1 for r in runs if r["election"]["terms_with_leader"] == 0)
print(f"| leader election over these {len(runs)} runs | runs without a leader {no_leader}, terms with two leaders {violations}; (b): {b['election']['terms_with_leader']} terms with a leader in 1 h of 1 s pauses |")
t = d["traffic"]["bytes_sent_per_node_per_s"]
print(f"| (d) the leader's own traffic at N=1000 (heartbeats to every member) | max {t['max']:.0f} B/s against a mean of {t['mean']:.0f} B/s |")
PY

# Each preset's pause tolerance, checked: 10 of 50 nodes pause about once a minute for
# exactly the tolerance (none may fail) and for 130% of it (they do: the bound is
# close), and crash detection at 1% loss.
echo
echo "| preset | pauseTolerance | pauses at 100%: false failures | pauses at 130%: paused nodes failed | crash → failed everywhere p50 / max | bytes/node/s |"
echo "|---|---|---|---|---|---|"
for preset in local lan wan; do
    tol=$($vigil simulate --preset $preset --nodes 5 --duration 1s --format json | python3 -c "import json,sys; print(json.load(sys.stdin)['scenario']['pause_tolerance_ms'])")
    below=$(python3 -c "print(f'{$tol/1000:.3f}s')")
    above=$(python3 -c "print(f'{$tol*1.3/1000:.3f}s')")
    ok=$($vigil simulate --preset $preset --nodes 50 --duration 10m --pause 10 --pause-for "$below" --seed 1 --format json | python3 -c "import json,sys; print(json.load(sys.stdin)['false_failures'])")
    bad=$($vigil simulate --preset $preset --nodes 50 --duration 10m --pause 10 --pause-for "$above" --seed 1 --format json | python3 -c "import json,sys; print(json.load(sys.stdin)['false_failures'])")
    crash=$($vigil simulate --preset $preset --nodes 50 --duration 3m --crash 3 --loss 1% --seed 1 --format json | python3 -c "
import json,sys; r=json.load(sys.stdin); d=r['detection']['failed_everywhere_ms']
print(f\"{d['p50']:.0f} / {d['max']:.0f} ms | {r['traffic']['bytes_sent_per_node_per_s']['mean']:.0f}\")")
    echo "| $preset | $(python3 -c "print(f'{$tol:.0f} ms')") | $ok (pause $below) | $bad of 10 (pause $above) | $crash |"
done
