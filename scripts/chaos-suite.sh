#!/usr/bin/env bash
# Runs chaos scenarios one after the other (each its own cluster, scripts/chaos.sh) and
# prints one table: passed, detection p50/max, false failures, bytes per node per second.
#
#     bash scripts/chaos-suite.sh [--system vigil|serf] [--nodes N] [--seed S] [--no-ha] [--out DIR] [SCENARIO...]
#
# With no SCENARIO, every scenario of `scripts/chaos.sh list` (the full suite: about
# 25 minutes for Vigil, most of it the 10-minute loss-10 soak; VIGIL_CHAOS_SOAK_SECONDS
# shortens it). Reports go to DIR/SCENARIO/ (default chaos-out/suite-SYSTEM-<time>), the
# table also to DIR/summary.md. Exit status 1 when any scenario failed its expectation or
# left a namespace behind (the table says which), 2 on bad arguments.
# Environment as for scripts/chaos.sh (VIGIL_BIN, VIGIL_CHAOS_ID, VIGIL_CHAOS_PRESET).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
chaos_me=chaos-suite
source "$here/chaos/lib.sh"

system=vigil nodes=5 seed=1 out="" no_ha="" scenarios=()
while (($# > 0)); do
    case $1 in
    --system) (($# >= 2)) || usage_error "--system needs vigil or serf"; system=$2; shift 2 ;;
    --nodes) (($# >= 2)) || usage_error "--nodes needs a number"; nodes=$2; shift 2 ;;
    --seed) (($# >= 2)) || usage_error "--seed needs a number"; seed=$2; shift 2 ;;
    --out) (($# >= 2)) || usage_error "--out needs a directory"; out=$2; shift 2 ;;
    --no-ha) no_ha=--no-ha; shift ;;
    -*) usage_error "unknown option \`$1\` (usage: chaos-suite.sh [--system vigil|serf] [--nodes N] [--seed S] [--no-ha] [--out DIR] [SCENARIO...])" ;;
    *) scenarios+=("$1"); shift ;;
    esac
done
known=$(bash "$here/chaos.sh" list)
((${#scenarios[@]} > 0)) || mapfile -t scenarios <<<"$known"
for sc in "${scenarios[@]}"; do
    grep -qx -- "$sc" <<<"$known" || usage_error "unknown scenario \`$sc\` (scenarios: $(echo $known))"
done
out=${out:-$chaos_repo/chaos-out/suite-$system-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$out"

failed=()
started=$SECONDS
for sc in "${scenarios[@]}"; do
    status=0
    bash "$here/chaos.sh" run "$sc" --system "$system" --nodes "$nodes" --seed "$seed" $no_ha --out "$out/$sc" || status=$?
    ((status == 0)) || failed+=("$sc (exit $status)")
    left=$(ip netns list | awk '{print $1}' | grep -E "^(${node_ns_prefix}[0-9]+|$bridge_ns)\$" || true)
    if [[ -n $left ]]; then
        failed+=("$sc left namespaces behind: $(echo $left)")
        bash "$here/cluster.sh" down >/dev/null 2>&1 || true
    fi
done

{
    echo "$(date -u +%Y-%m-%d), $system, $nodes nodes, seed $seed, $(((SECONDS - started) / 60)) min: bash scripts/chaos-suite.sh --system $system --nodes $nodes --seed $seed${no_ha:+ --no-ha} ${scenarios[*]}"
    echo
    echo "| scenario | passed | detection p50 | detection max | false failures | fences | recoveries | bytes/node/s |"
    echo "|---|---|---|---|---|---|---|---|"
    for sc in "${scenarios[@]}"; do
        report=$out/$sc/report.json
        if [[ -f $report ]]; then
            jq -r --arg s "$sc" '
                def ms: if . == null then "-" else "\(.) ms" end;
                "| \($s) | \(if .passed then "yes" else "**no**" end) | \(.detection_ms.p50 | ms) | \(.detection_ms.max | ms) | "
                + "\(if (.false_failures | length) == 0 then "none" else (.false_failures | join(", ")) end) | "
                + "\((.fences // []) | map("\(.node) (term \(.term))") | join(", ") | if . == "" then "none" else . end) | "
                + "\((.recoveries // []) | map(select(.source == "masakari") | .node) | join(", ") | if . == "" then "none" else . end) | "
                + "\(.bytes_per_node_per_s.mean // "-") |"' "$report"
        else
            echo "| $sc | **no report** | - | - | - | - | - | - |"
        fi
    done
} | tee "$out/summary.md"
echo
if ((${#failed[@]} > 0)); then
    echo "chaos-suite: FAILED: ${failed[*]}; reports in $out" >&2
    exit 1
fi
echo "chaos-suite: all ${#scenarios[@]} passed; reports in $out"
