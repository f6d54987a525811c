#!/usr/bin/env bash
# The chaos subset for CI: crash-one, pause-short and partition-minority on five real Vigil
# agents in network namespaces (scripts/chaos.sh), about two to three minutes once vigil is
# built. Fails when a scenario's expectation fails, or when a namespace or process of the
# runs is left behind. Skips (exit 0, one line saying why) when not root or when network
# namespaces cannot be made here.
#
#     bash scripts/chaos-ci.sh
#
# Uses VIGIL_BIN when set, else builds `vigil` in release (a no-op when it is up to date).
# Reports go to a temporary folder, removed when everything passed and kept (its path is
# printed) when something failed; VIGIL_CHAOS_KEEP=1 keeps it always.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if ((EUID != 0)); then
    echo "chaos-ci: SKIPPED: needs root for network namespaces, veths and nftables (running as uid $EUID)"
    exit 0
fi
probe=vigil-ci-probe-$$
if ! ip netns add "$probe" 2>/dev/null; then
    echo "chaos-ci: SKIPPED: cannot create a network namespace here (ip netns add failed)"
    exit 0
fi
ip netns del "$probe"
missing=()
command -v nft >/dev/null 2>&1 || missing+=(nftables)
command -v jq >/dev/null 2>&1 || missing+=(jq)
if ((${#missing[@]} > 0)); then
    echo "chaos-ci: installing ${missing[*]} (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null ||
        { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null; }
fi
if [[ -z ${VIGIL_BIN:-} ]]; then
    source "$here/env.sh"   # toolchain on PATH, build dependencies, cd to the repository
    swift build -c release --product vigil
    export VIGIL_BIN=$PWD/.build/release/vigil
fi

dir=$(mktemp -d /tmp/vigil-chaos-ci.XXXXXX)
failed=()
for scenario in crash-one pause-short partition-minority; do
    status=0
    bash "$here/chaos.sh" run "$scenario" --system vigil --nodes 5 --seed 1 --out "$dir/$scenario" || status=$?
    ((status == 0)) || failed+=("$scenario (exit $status)")
done
left=$(ip netns list | awk '{print $1}' | grep -E "^vigil-${VIGIL_CHAOS_ID:+$VIGIL_CHAOS_ID-}(br|n[0-9]+)\$" || true)
[[ -z $left ]] || failed+=("namespaces left behind: $(echo $left)")

echo
printf '%-20s %-7s %-12s %-12s %s\n' SCENARIO PASSED DETECT_P50 DETECT_MAX FALSE_FAILURES
for scenario in crash-one pause-short partition-minority; do
    report=$dir/$scenario/report.json
    if [[ -f $report ]]; then
        jq -r --arg s "$scenario" '[$s, (.passed|tostring), ((.detection_ms.p50 // "-")|tostring),
            ((.detection_ms.max // "-")|tostring), (.false_failures|join(",")|if . == "" then "none" else . end)] | @tsv' "$report" |
            awk -F'\t' '{ printf "%-20s %-7s %-12s %-12s %s\n", $1, $2, $3, $4, $5 }'
    else
        printf '%-20s %s\n' "$scenario" "no report"
    fi
done
if ((${#failed[@]} > 0)); then
    echo "chaos-ci: FAILED: ${failed[*]}; reports kept in $dir" >&2
    exit 1
fi
if [[ ${VIGIL_CHAOS_KEEP:-0} == 1 ]]; then
    echo "chaos-ci: passed; reports in $dir"
else
    rm -rf "$dir"
    echo "chaos-ci: passed"
fi
