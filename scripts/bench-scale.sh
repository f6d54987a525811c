#!/usr/bin/env bash
# Scale curve of the simulator (issue 6): `vigil simulate` (release build) at several
# cluster sizes with one crash and 1% loss, one run per size. Records per size the
# detection time (crash → failed everywhere), false failures, bytes and messages sent
# per node per second (scenario phase), the simulator's peak resident memory
# (/usr/bin/time -v) and its protocol messages per wall second (whole run, warm-up
# included). JSON per run lands in bench-out/scale/ (ignored by git), beside a Markdown
# table (scale.md) that is also printed.
#
#   scripts/bench-scale.sh                              # N = 100, 1000, 10000
#   scripts/bench-scale.sh --nodes 100,1000 --duration 2m --seed 3
#   scripts/bench-scale.sh --nodes 100,1000,10000,30000 --no-build
#   scripts/bench-scale.sh --vigil /path/to/other/vigil --out bench-out/before   # compare builds
#
# Every run goes through `nice -n 19`: the machine is shared. Every simulated node
# holds every member, so memory grows like N²: a size whose estimate (--bytes-per-pair,
# measured at N=1000 and 3000) exceeds --max-mem-gib (default: half of MemAvailable)
# is skipped rather than run into the OOM killer next to other work. A size whose run
# fails is reported as such and the others still run.
set -euo pipefail

nodes="100,1000,10000"
duration="2m"
seed=1
loss="1%"
out="bench-out/scale"
build=1
vigil=.build/release/vigil
bytes_per_pair=400
max_mem_gib=$(awk '/MemAvailable/ {printf "%d", $2 / 1024 / 1024 / 2}' /proc/meminfo)
while [[ $# -gt 0 ]]; do
    case "$1" in
        --nodes) nodes="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --seed) seed="$2"; shift 2 ;;
        --loss) loss="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --no-build) build=0; shift ;;
        --vigil) vigil="$2"; build=0; shift 2 ;;
        --max-mem-gib) max_mem_gib="$2"; shift 2 ;;
        --bytes-per-pair) bytes_per_pair="$2"; shift 2 ;;
        -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
        *) echo "bench-scale.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi
if [[ $build == 1 ]]; then
    nice -n 19 swift build -c release --product vigil
fi
[[ -x $vigil ]] || { echo "bench-scale.sh: $vigil missing (build it or drop --no-build)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "bench-scale.sh: /usr/bin/time is needed for peak memory (apt-get install time)" >&2; exit 1; }
mkdir -p "$out"

IFS=',' read -ra sizes <<<"$nodes"
for n in "${sizes[@]}"; do
    echo "bench-scale: N=$n, $duration, seed $seed, loss $loss ..." >&2
    rm -f "$out/n$n.json" "$out/n$n.failed" "$out/n$n.skipped" "$out/n$n.time"
    need=$(( bytes_per_pair * n * n / 1024 / 1024 / 1024 ))
    if (( need > max_mem_gib )); then
        echo "bench-scale: N=$n skipped: needs about $need GiB (N² × $bytes_per_pair B), limit $max_mem_gib GiB" >&2
        echo "$need" >"$out/n$n.skipped"
        continue
    fi
    if ! nice -n 19 /usr/bin/time -v -o "$out/n$n.time" \
        "$vigil" simulate --nodes "$n" --duration "$duration" --crash 1 --loss "$loss" --seed "$seed" \
        --format json --out "$out/n$n.json" >/dev/null 2>"$out/n$n.stderr"; then
        echo "bench-scale: N=$n failed (see $out/n$n.stderr, $out/n$n.time)" >&2
        touch "$out/n$n.failed"
    fi
done

python3 - "$out" "$nodes" "$duration" "$seed" "$loss" <<'PY' | tee "$out/scale.md"
import datetime, json, math, os, platform, re, sys
out, nodes, duration, seed, loss = sys.argv[1:]
sizes = [int(n) for n in nodes.split(",")]

def time_field(n, pattern):
    try:
        text = open(os.path.join(out, f"n{n}.time")).read()
    except OSError:
        return None
    m = re.search(pattern, text)
    return float(m.group(1)) if m else None

def peak_mib(n):
    kb = time_field(n, r"Maximum resident set size \(kbytes\): (\d+)")
    return None if kb is None else kb / 1024

def cpu_seconds(n):
    user = time_field(n, r"User time \(seconds\): ([\d.]+)")
    system = time_field(n, r"System time \(seconds\): ([\d.]+)")
    return None if user is None or system is None else user + system

def ms(d, key):
    v = d.get(key)
    return "n/a" if v is None else f"{v:.0f}"

print(f"Measured {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.machine()} "
      f"({os.cpu_count()} cores, shared) by `scripts/bench-scale.sh --nodes {nodes} --duration {duration} "
      f"--seed {seed} --loss {loss}` (release build, preset lan, one crash).\n")
print("| N | detection p50 / p99 | undetected | false failures | bytes/node/s (mean, max) "
      "| messages/node/s | peak memory | wall (CPU) | messages/wall s (/CPU s) |")
print("|---|---|---|---|---|---|---|---|---|")
base = None
for n in sizes:
    path = os.path.join(out, f"n{n}.json")
    mem = peak_mib(n)
    memtext = "n/a" if mem is None else (f"{mem/1024:.1f} GiB" if mem >= 1024 else f"{mem:.0f} MiB")
    skipped = os.path.join(out, f"n{n}.skipped")
    if os.path.exists(skipped):
        print(f"| {n} | not run: needs about {open(skipped).read().strip()} GiB of memory (N² member records) | | | | | | | |")
        continue
    if not os.path.exists(path) or os.path.exists(os.path.join(out, f"n{n}.failed")):
        print(f"| {n} | run failed (peak memory {memtext}) | | | | | | | |")
        continue
    r = json.load(open(path))
    d = r["detection"]["failed_everywhere_ms"]
    t = r["traffic"]
    b = t["bytes_sent_per_node_per_s"]
    if base is None:
        base = b["mean"]
    growth = f" ({(b['mean'] / base - 1) * 100:+.0f}%)" if base and n != sizes[0] else ""
    thr = r.get("throughput", {})
    rate = thr.get("messages_per_wall_s")
    cpu = cpu_seconds(n)
    per_cpu = f" ({thr['messages'] / cpu:,.0f})" if cpu and "messages" in thr else ""
    cputext = f" ({cpu:.0f} s)" if cpu is not None else ""
    print(f"| {n} | {ms(d, 'p50')} / {ms(d, 'p99')} ms | {r['detection']['undetected']} | {r['false_failures']} "
          f"| {b['mean']:.0f}{growth}, {b['max']:.0f} | {t['messages_sent_per_node_per_s']['mean']:.1f} "
          f"| {memtext} | {r['wall_seconds']:.0f} s{cputext} | {'n/a' if rate is None else f'{rate:,.0f}'}{per_cpu} |")
print("\nWall time is on a machine shared with other work; CPU time (user + system, from "
      "/usr/bin/time) is what the run itself used. Messages are all protocol messages sent, warm-up included.")
PY
