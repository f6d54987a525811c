#!/usr/bin/env bash
# Runs chaos scenarios for Vigil and for serf on the same topology and prints one
# Markdown table (the README's comparison comes from it).
#
#     bash scripts/compare-serf.sh [--seeds "1 2 3"] [--nodes N] [--soak SECONDS] [SCENARIO...]
#
# Default: the detection scenarios crash-one, pause-long, partition-minority and loss-10,
# seeds 1 2 3, 5 nodes, loss-10 soaking 120 s (`--soak`; the scenario's own default is
# 10 min). Vigil runs with --no-ha (detection only, no BMC emulator or Masakari beside it,
# like serf). About 35 minutes with the defaults.
# Each (system, seed) is one scripts/chaos.sh run with its own cluster; the reports stay in
# chaos-out/compare-<time>/. Detection is pooled over the seeds: p50 and max of every
# (observer, target) sample; false failures are summed; bytes per node per second is the
# mean over the runs. A scenario whose expectation fails still counts (its row says so).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
seeds="1 2 3" nodes=5 soak=120 scenarios=()
while (($# > 0)); do
    case $1 in
    --seeds) (($# >= 2)) || { echo "compare-serf: --seeds needs a list like \"1 2 3\"" >&2; exit 2; }; seeds=$2; shift 2 ;;
    --nodes) (($# >= 2)) || { echo "compare-serf: --nodes needs a number" >&2; exit 2; }; nodes=$2; shift 2 ;;
    --soak) (($# >= 2)) && [[ $2 =~ ^[1-9][0-9]*$ ]] || { echo "compare-serf: --soak needs whole seconds" >&2; exit 2; }; soak=$2; shift 2 ;;
    -*) echo "compare-serf: unknown option \`$1\`" >&2; exit 2 ;;
    *) scenarios+=("$1"); shift ;;
    esac
done
((${#scenarios[@]} > 0)) || scenarios=(crash-one pause-long partition-minority loss-10)
for s in $seeds; do [[ $s =~ ^[0-9]+$ ]] || { echo "compare-serf: seeds must be whole numbers, got \`$s\`" >&2; exit 2; }; done
known=$(bash "$here/chaos.sh" list)  # not piped into grep -q: pipefail would see the list cut short
for sc in "${scenarios[@]}"; do
    grep -qx -- "$sc" <<<"$known" || { echo "compare-serf: unknown scenario \`$sc\` ($(echo $known))" >&2; exit 2; }
done
out=$(cd "$here/.." && pwd)/chaos-out/compare-$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$out"
for sc in "${scenarios[@]}"; do
    for system in vigil serf; do
        for seed in $seeds; do
            ha=() && [[ $system == vigil ]] && ha=(--no-ha)
            VIGIL_CHAOS_DURATION=$soak bash "$here/chaos.sh" run "$sc" --system "$system" "${ha[@]}" --nodes "$nodes" --seed "$seed" \
                --out "$out/$sc-$system-$seed" >"$out/$sc-$system-$seed.log" 2>&1 || true
        done
    done
done
echo "$(date -u +%Y-%m-%d), $nodes nodes, seeds $seeds, loss-10 soak $soak s: bash scripts/compare-serf.sh --seeds \"$seeds\" --nodes $nodes --soak $soak ${scenarios[*]}"
echo
echo "| scenario | system | runs passed | detection p50 | detection max | false failures | bytes/node/s |"
echo "|---|---|---|---|---|---|---|"
for sc in "${scenarios[@]}"; do
    for system in vigil serf; do
        python3 - "$out" "$sc" "$system" $seeds <<'EOF'
import json, math, os, sys
out, sc, system, seeds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
reports = []
for seed in seeds:
    path = os.path.join(out, f"{sc}-{system}-{seed}", "report.json")
    if os.path.exists(path):
        reports.append(json.load(open(path)))
samples = [v for r in reports if r.get("detection_ms") for v in r["detection_ms"]["by_observer"].values()]
def rank(v, p):
    v = sorted(v)
    return v[max(0, math.ceil(p / 100 * len(v)) - 1)] if v else None
ms = lambda v: "-" if v is None else f"{v} ms"
passed = sum(1 for r in reports if r["passed"])
false = sum(len(r["false_failure_events"]) for r in reports)
traffic = [r["bytes_per_node_per_s"]["mean"] for r in reports if r["bytes_per_node_per_s"]["mean"] is not None]
print(f"| {sc} | {system} | {passed} of {len(seeds)} | {ms(rank(samples, 50))} | {ms(max(samples) if samples else None)} "
      f"| {false} | {round(sum(traffic) / len(traffic)) if traffic else '-'} |")
EOF
    done
done
echo
echo "reports: $out"
