#!/usr/bin/env bash
# Turns benchmark results into BENCHMARKS.md (Markdown tables, issue 6's targets with
# met / not met) and SVG plots in docs/bench/ (hand-written SVG: viewable offline, no
# plotting library needed). Reads, where present (each section says when one is missing):
#   bench-out/scale/n*.json, n*.time, scale.md   scripts/bench-scale.sh
#   bench-out/agent-*/{vigil,serf}.json          scripts/bench-agent.sh (the latest run by name)
#   bench-out/absorb-*.json                      scripts/bench-absorb.sh
#   chaos-out/compare-*/*/report.json            scripts/compare-serf.sh (the latest run by name)
#   bench-out/curve/*.json                       scripts/bench-curve.sh
#   bench-out/micro/*.json                       swift package benchmark --format jsonSmallerIsBetter
#
#   scripts/bench-report.sh
#   scripts/bench-report.sh --in /other/bench-out --chaos /other/chaos-out
#   scripts/bench-report.sh --out /tmp/B.md --svg-dir /tmp/bench     # e.g. to look before committing
#
# Writes nothing but --out and the SVGs in --svg-dir (an SVG there that this run did not
# draw is removed, so no stale plot stays behind). Standard-library python3 only.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
for arg in "$@"; do
    [[ $arg == -h || $arg == --help ]] && { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
done
cd "$here/.."
exec python3 "$here/bench_report.py" "$@"
