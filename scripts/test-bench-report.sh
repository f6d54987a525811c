#!/usr/bin/env bash
# Checks scripts/bench-report.sh on tiny made-up inputs (no benchmark is run): once with
# no inputs at all (every section must say "Not measured"), once with one file of every
# kind (every section must have its table, every plot must be well-formed SVG).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tmp=$(mktemp -d /tmp/vigil-bench-report.XXXXXX)
trap '[[ -n ${KEEP-} ]] || rm -rf "$tmp"' EXIT
fail() { echo "test-bench-report: $*" >&2; exit 1; }

mkdir -p "$tmp/empty/bench-out" "$tmp/empty/chaos-out"
bash "$here/bench-report.sh" --in "$tmp/empty/bench-out" --chaos "$tmp/empty/chaos-out" \
    --out "$tmp/empty/B.md" --svg-dir "$tmp/empty/svg" 2>/dev/null
n=$(grep -c '^Not measured' "$tmp/empty/B.md")
((n == 6)) || fail "with no inputs, expected 6 'Not measured' sections, got $n"
grep -q '| \*\*met\*\*' "$tmp/empty/B.md" && fail "with no inputs, a target is 'met'"

python3 - "$tmp/full" <<'PY'
import json, os, sys
root = sys.argv[1]
b, c = os.path.join(root, "bench-out"), os.path.join(root, "chaos-out")
for d in ("scale", "agent-20260101-000000", "curve", "micro", "compare-20260101-000000/crash-one-vigil-1",
          "compare-20260101-000000/crash-one-serf-1"):
    os.makedirs(os.path.join(c if d.startswith("compare") else b, d), exist_ok=True)
def sim(n, bytes_):
    return {"nodes": n, "preset": "lan", "seed": 1, "scenario_seconds": 60, "false_failures": 0, "wall_seconds": 10,
            "scenario": {"pause_tolerance_ms": 1300},
            "detection": {"undetected": 0, "failed_everywhere_ms": {"p50": 1900, "p99": 2000},
                          "first_suspect_ms": {"p50": 1100}},
            "traffic": {"bytes_sent_per_node_per_s": {"mean": bytes_, "max": 9000},
                        "messages_sent_per_node_per_s": {"mean": 25}},
            "throughput": {"messages": 2_000_000, "messages_per_wall_s": 2_000_000}}
json.dump(sim(100, 2600), open(f"{b}/scale/n100.json", "w"))
json.dump(sim(10000, 2900), open(f"{b}/scale/n10000.json", "w"))
open(f"{b}/scale/n30000.skipped", "w").write("300\n")
window = {"seconds": 30, "agents_measured": 50, "cpu_percent": {"median": 0.1, "max": 0.2},
          "rss_mb": {"median": 10, "max": 11}, "sent_bytes_per_s": {"median": 1500, "max": 1900}}
for system in ("vigil", "serf"):
    json.dump({"system": system, "version": "x", "nodes": 50, "idle": window, "churn": None},
              open(f"{b}/agent-20260101-000000/{system}.json", "w"))
json.dump({"date": "2026-01-01T00:00:00Z", "commit": "abc", "message": "ping", "highest_rate_without_drops": 120000,
           "agent_cpu_percent_at_that_rate": 90, "lowest_rate_with_drops": 130000, "generator_highest_rate": 130000,
           "isolation": "namespace x"}, open(f"{b}/absorb-20260101T000000Z.json", "w"))
json.dump([{"system": "vigil", "profile": "lan", "detection_ms": {"p50": 1900, "max": 2100},
            "bytes_per_node_per_s": 2600, "pause_tolerance_ms": 1323, "false_failures_loss20": 0},
           {"system": "vigil", "profile": "wan", "detection_ms": {"p50": 5600, "max": 5900},
            "bytes_per_node_per_s": 800, "pause_tolerance_ms": 5068},
           {"system": "serf", "profile": "lan", "detection_ms": {"p50": 6000, "max": 8000},
            "bytes_per_node_per_s": 600, "pause_tolerance_ms": None}], open(f"{b}/curve/curve-1.json", "w"))
json.dump([{"name": "Seal 1 KiB - Time (wall clock)", "unit": "μs", "value": 3,
            "extra": "80th percentile: 2\n95th percentile: 3"}], open(f"{b}/micro/Current_run.json", "w"))
for system, ms in (("vigil", 1800), ("serf", 6000)):
    json.dump({"nodes": 5, "preset": "lan", "passed": True, "detection_ms": {"by_observer": {"n1:n5": ms, "n2:n5": ms + 10}},
               "false_failure_events": [], "bytes_per_node_per_s": {"mean": 3000 if system == "vigil" else 600},
               "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:00:10Z"}},
              open(f"{c}/compare-20260101-000000/crash-one-{system}-1/report.json", "w"))
PY
bash "$here/bench-report.sh" --in "$tmp/full/bench-out" --chaos "$tmp/full/chaos-out" \
    --out "$tmp/full/B.md" --svg-dir "$tmp/full/svg" 2>/dev/null
md=$tmp/full/B.md
grep -q '^Not measured' "$md" && fail "with every input present, a section says 'Not measured'"
for want in '| 10000 |' '| 30000 |' 'Current_run.json' '| serf | lan |' '120,000/s' '| crash-one | vigil | 1 of 1 | 1800 ms' \
    'within 25% of N=100 | 2600 → 2900 B/s (+12%)' 'on one core | 120,000/s'; do
    grep -qF -- "$want" "$md" || fail "expected \`$want\` in the report"
done
met=$(grep -c '| \*\*met\*\*' "$md")
((met == 7)) || fail "expected 7 targets met on the made-up inputs, got $met"
for svg in detection-vs-n bytes-vs-n agent-cost compare-serf curve-detection-vs-bytes curve-detection-vs-tolerance; do
    [[ -f $tmp/full/svg/$svg.svg ]] || fail "no $svg.svg"
    python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$tmp/full/svg/$svg.svg" ||
        fail "$svg.svg is not well-formed"
done
echo "test-bench-report: ok"
