#!/usr/bin/env bash
# What the default preset's traffic buys, and what cheaper variants of it would cost:
# runs `vigil simulate --config FILE` for every YAML file in scripts/sim-variants/ (or
# the files given) and prints one Markdown table row per file. Seeded: a rerun gives
# the same numbers. About a minute per file on a 2-core machine.
#
#     bash scripts/sim-variants.sh [FILE.yaml ...]
#
# Per file, on 50 simulated nodes (release build):
#   idle        60 s, no fault: bytes and messages each node sends per second (mean);
#   crash       seeds 1-3, 120 s, 3 crashes each, 1% loss: crash → failed everywhere, the
#               median of the runs' p50s and the largest max; "beyond" = that max minus
#               the configuration's pause tolerance (issue 6 asks at most 1 s at p99);
#   loss 20%    300 s at 20% loss on every link: false failures (must be 0);
#   pauses      300 s, 10 nodes pausing for exactly the pause tolerance about once a
#               minute: false failures (must be 0);
#   gray        300 s, 2 nodes losing 80% both ways: gray nodes failed (of 2), false failures.
# Bytes are the simulator's count (packet + 48 seal + 28 IPv4/UDP per datagram); a real
# agent also sends its envelope header (12 bytes + its advertised host) and, on Ethernet,
# 14 bytes of frame header per datagram: scripts/bench-agent.sh measures those.
# Raw reports: sim-out/variants/<file>-<run>.json.
set -euo pipefail
source "$(dirname "$0")/env.sh"
if (($# == 0)); then set -- scripts/sim-variants/*.yaml; fi
for f in "$@"; do [[ -r $f ]] || { echo "sim-variants: cannot read \`$f\`" >&2; exit 2; }; done
swift build -c release --product vigil >&2
vigil=.build/release/vigil
out=sim-out/variants
mkdir -p "$out"

sim() { # NAME FILE ARGS...: one run, its JSON report kept
    local name=$1 file=$2
    shift 2
    "$vigil" simulate --nodes 50 --config "$file" --format json --out "$out/$name.json" "$@" >/dev/null
}

echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(uname -m) ($(nproc) cores) by \`bash scripts/sim-variants.sh$(printf ' %s' "$@")\` at $(git rev-parse --short HEAD 2>/dev/null || echo '?')."
echo
echo "| config | bytes/node/s | messages/node/s | crash → failed everywhere p50 / max | pause tolerance | max beyond tolerance | false failures at 20% loss | false failures, pauses at tolerance | gray failed (false failures) |"
echo "|---|---|---|---|---|---|---|---|---|"
for file in "$@"; do
    base=$(basename "$file" .yaml)
    tolerance_ms=$("$vigil" simulate --nodes 3 --duration 1s --config "$file" --format json | jq '.scenario.pause_tolerance_ms')
    pause=$(jq -n --argjson ms "$tolerance_ms" '$ms | floor | tostring + "ms"' -r)
    sim "$base-idle" "$file" --duration 60s --seed 1
    for seed in 1 2 3; do sim "$base-crash$seed" "$file" --duration 120s --crash 3 --loss 1% --seed "$seed"; done
    sim "$base-loss20" "$file" --duration 300s --loss 20% --seed 1
    sim "$base-pauses" "$file" --duration 300s --pause 10 --pause-for "$pause" --seed 1
    sim "$base-gray" "$file" --duration 300s --gray 2 --gray-loss 0.8 --seed 1
    jq -rn --arg name "$file" --argjson tol "$tolerance_ms" \
        --slurpfile idle "$out/$base-idle.json" \
        --slurpfile c1 "$out/$base-crash1.json" --slurpfile c2 "$out/$base-crash2.json" --slurpfile c3 "$out/$base-crash3.json" \
        --slurpfile loss "$out/$base-loss20.json" --slurpfile pauses "$out/$base-pauses.json" --slurpfile gray "$out/$base-gray.json" '
        def r: . * 1 | round;
        ($c1 + $c2 + $c3) as $crash
        | ($crash | map(.detection.failed_everywhere_ms.p50) | sort | .[1]) as $p50
        | ($crash | map(.detection.failed_everywhere_ms.max) | max) as $max
        | ($crash | map(.detection.undetected) | add) as $undetected
        | "| `\($name)` | \($idle[0].traffic.bytes_sent_per_node_per_s.mean | r) | \($idle[0].traffic.messages_sent_per_node_per_s.mean * 10 | round / 10) "
          + "| \($p50 | r) / \($max | r) ms\(if $undetected > 0 then " (\($undetected) undetected)" else "" end) | \($tol | r) ms | \($max - $tol | r) ms "
          + "| \($loss[0].false_failures) | \($pauses[0].false_failures) | \($gray[0].gray_failed | length) of 2 (\($gray[0].false_failures)) |"'
done
