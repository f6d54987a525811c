#!/usr/bin/env bash
# Vigil's presets against serf's profiles, as whole curves: detection time against bytes per
# node per second and against the pause each tolerates (issue 6: a pause and a crash look the
# same until the pause ends, so one number alone says little).
#
#     bash scripts/bench-curve.sh [--nodes N] [--seeds "1 2"] [--vigil-presets "local lan wan"]
#         [--serf-profiles "local lan wan"] [--vigil-configs "local-lean lan-lean wan-lean"] [--idle S]
#         [--soak S] [--loss P] [--settle S] [--ids "7 8"] [--out DIR] [--resume DIR]
#
# For each (system, preset/profile) and seed, on a 5-node cluster without HA (real agents in
# network namespaces: scripts/chaos.sh, one cluster per run):
#   idle       no fault for --idle s (120) after --settle s: bytes each node sends per second,
#              from its bridge port's counters (the chaos report's `bytes_per_node_per_s.mean`);
#   crash-one  SIGKILL one node after --settle s (30) of steady state: detection p50 / max over
#              every (observer, crashed node) sample, pooled over the seeds;
#   pause-at   the stated pause tolerance, checked: one node SIGSTOPped twice for exactly the
#              tolerance (no failure expected), then once for 130% of it (failure expected);
#   loss-soak  every node loses --loss % (20) of the frames it sends for --soak s (120): false
#              failures (nodes marked failed by anyone), summed over the seeds.
# The pause tolerance stated is, for Vigil, the configuration's own `pauseTolerance`
# (README "Presets and the pause they tolerate": `vigil simulate` reports it for a preset;
# for a named config the same formula over its overrides); for serf it is derived from
# memberlist's timers, not bisected, by the same reasoning: a probe sent as the pause begins
# ends its round, and raises the suspicion, ProbeInterval later; the shortest suspicion (all
# confirmations in) is SuspicionMult × max(1, log10 N) × ProbeInterval; the refutation needs
# one GossipInterval to get out. So ProbeInterval + SuspicionMult × max(1, log10 N) ×
# ProbeInterval − GossipInterval (memberlist's DefaultLANConfig and friends: lan 1 s + 4 s −
# 200 ms, local 1 s + 3 s − 100 ms, wan 5 s + 30 s − 500 ms at N = 5). It
# is reported as `pause_tolerance_ms` only when the check held (no failure at 100%);
# otherwise null, and the table says what happened.
#
# Named Vigil configs (--vigil-configs; "" for none) are a preset plus `protocol:` overrides
# written by this script into the output folder (see vigil_config below): points of the curve
# that no preset gives yet.
#
# --ids "7 8" runs two lanes side by side, each its own cluster id (VIGIL_CHAOS_ID, so their
# namespaces never clash); default: one lane, VIGIL_CHAOS_ID of the environment. Every run
# goes under nice -n 5. Output: bench-out/curve/curve-<time>.json (a list of {system,
# profile, detection_ms: {p50, max}, bytes_per_node_per_s, pause_tolerance_ms,
# false_failures_loss20, measured_at}), the Markdown table in curve-<time>.md (also printed),
# the chaos reports in bench-out/curve/<time>/. About 7 minutes per (config, seed) and lane
# with the defaults (serf wan about 10). --resume bench-out/curve/<time> measures into that
# folder again, skipping every run that has its report (delete a run's folder to redo it),
# and writes a new curve from all of them.
# Exit status: 0 after a run (whatever it measured), 2 bad arguments.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
chaos_me=bench-curve
usage_error() { echo "bench-curve: $*" >&2; exit 2; }

nodes=5 seeds=1 vigil_presets="local lan wan" serf_profiles="local lan wan" vigil_configs="local-lean lan-lean wan-lean"
idle=120 soak=120 loss=20 settle=30 ids=${VIGIL_CHAOS_ID:-} out="" resume=""
while (($# > 0)); do
    case $1 in
    --nodes) (($# >= 2)) || usage_error "--nodes needs a number"; nodes=$2; shift 2 ;;
    --seeds) (($# >= 2)) || usage_error "--seeds needs a list like \"1 2\""; seeds=$2; shift 2 ;;
    --vigil-presets) (($# >= 2)) || usage_error "--vigil-presets needs a list like \"local lan wan\""; vigil_presets=$2; shift 2 ;;
    --serf-profiles) (($# >= 2)) || usage_error "--serf-profiles needs a list like \"local lan wan\""; serf_profiles=$2; shift 2 ;;
    --vigil-configs) (($# >= 2)) || usage_error "--vigil-configs needs a list like \"lan-lean\" (or \"\")"; vigil_configs=$2; shift 2 ;;
    --idle) (($# >= 2)) || usage_error "--idle needs seconds"; idle=$2; shift 2 ;;
    --soak) (($# >= 2)) || usage_error "--soak needs seconds"; soak=$2; shift 2 ;;
    --loss) (($# >= 2)) || usage_error "--loss needs a percentage"; loss=$2; shift 2 ;;
    --settle) (($# >= 2)) || usage_error "--settle needs seconds"; settle=$2; shift 2 ;;
    --ids) (($# >= 2)) || usage_error "--ids needs cluster ids like \"7 8\""; ids=$2; shift 2 ;;
    --out) (($# >= 2)) || usage_error "--out needs a directory"; out=$2; shift 2 ;;
    --resume) (($# >= 2)) && [[ -d $2 ]] || usage_error "--resume needs the runs folder of an earlier curve"; resume=$2; shift 2 ;;
    *) usage_error "unknown argument \`$1\`" ;;
    esac
done
[[ $nodes =~ ^[0-9]+$ ]] && ((nodes >= 3 && nodes <= 50)) || usage_error "--nodes must be 3 to 50, got \`$nodes\`"
for s in $seeds; do [[ $s =~ ^[0-9]+$ ]] || usage_error "seeds must be whole numbers, got \`$s\`"; done
[[ -n ${seeds// /} ]] || usage_error "--seeds must name at least one seed"
for p in $vigil_presets; do [[ $p == local || $p == lan || $p == wan ]] || usage_error "Vigil presets are local, lan, wan; got \`$p\`"; done
for p in $serf_profiles; do [[ $p == local || $p == lan || $p == wan ]] || usage_error "serf profiles are local, lan, wan; got \`$p\`"; done
for c in $vigil_configs; do [[ $c == local-lean || $c == lan-lean || $c == wan-lean ]] || usage_error "named Vigil configs are local-lean, lan-lean, wan-lean; got \`$c\`"; done
for v in idle soak settle; do [[ ${!v} =~ ^[0-9]+$ ]] && ((${!v} >= 1 && ${!v} <= 3600)) || usage_error "--$v must be whole seconds from 1 to 3600, got \`${!v}\`"; done
[[ $loss =~ ^[0-9]+$ ]] && ((loss >= 1 && loss <= 99)) || usage_error "--loss must be a whole percentage from 1 to 99, got \`$loss\`"
for i in $ids; do [[ $i =~ ^[a-z0-9]{1,4}$ ]] || usage_error "cluster ids are 1 to 4 lowercase letters or digits, got \`$i\`"; done
((EUID == 0)) || { echo "bench-curve: needs root (network namespaces)" >&2; exit 1; }
vigil=${VIGIL_BIN:-$repo/.build/release/vigil}
[[ -x $vigil ]] || { echo "bench-curve: no vigil binary at $vigil; build it (swift build -c release --product vigil) or set VIGIL_BIN" >&2; exit 1; }
export VIGIL_BIN=$vigil

stamp=$(date -u +%Y%m%d-%H%M%S)
if [[ -n $resume ]]; then
    runs=$(cd "$resume" && pwd)
    out=$(dirname "$runs")
else
    out=${out:-$repo/bench-out/curve}
    mkdir -p "$out/$stamp"
    out=$(cd "$out" && pwd)
    runs=$out/$stamp
fi

# ------------------------------------------------------------------ named Vigil configs
# vigil_config NAME: the `protocol:` overrides of a named config (on top of `preset: lan`).
# All three watch each member with 2 observers instead of the presets' 5 (4 in a 5-node
# cluster), push-pull every 90 s (wan-lean 300 s) instead of 30 s, and renew the leader's
# lease every 5 s (wan-lean 30 s) instead of every second: about 3.5 datagrams per node per
# second in all at 2 s probes, against 25 with `lan`. The lease then takes 15 s (60 s) to
# run out after a leader crash: a slower election, not a slower detection.
#   local-lean  serf local's traffic or less: probe every 1.5 s
#   lan-lean    serf lan's traffic or less: probe every 2 s
#   wan-lean    serf wan's traffic or less: probe every 15 s
# Each gives every duration the tolerance formula reads (tolerance_ms parses them).
vigil_config() {
    case $1 in
    local-lean) cat <<'EOF'
protocol:
  probe: {period: 1500ms, observers: 2}
  phi: {acceptable_pause: 200ms, min_std_deviation: 150ms}
  lifeguard: {suspicion_min: 400ms, suspicion_max: 1600ms}
  gossip: {interval: 200ms, sync_interval: 90s}
  election: {heartbeat_interval: 5s, lease: 15s, election_timeout_min: 2s, election_timeout_max: 6s}
EOF
    ;;
    lan-lean) cat <<'EOF'
protocol:
  probe: {period: 2s, observers: 2}
  phi: {acceptable_pause: 200ms, min_std_deviation: 200ms}
  lifeguard: {suspicion_min: 500ms, suspicion_max: 2s}
  gossip: {interval: 200ms, sync_interval: 90s}
  election: {heartbeat_interval: 5s, lease: 15s, election_timeout_min: 2s, election_timeout_max: 6s}
EOF
    ;;
    wan-lean) cat <<'EOF'
protocol:
  probe: {period: 15s, timeout: 1s, observers: 2}
  phi: {acceptable_pause: 1s, min_std_deviation: 500ms}
  lifeguard: {suspicion_min: 2s, suspicion_max: 8s}
  gossip: {interval: 500ms, sync_interval: 300s}
  election: {heartbeat_interval: 30s, lease: 60s, election_timeout_min: 5s, election_timeout_max: 15s}
EOF
    ;;
    esac
}

# tolerance_ms SYSTEM PROFILE: the stated pause tolerance in ms.
tolerance_ms() {
    case $1 in
    vigil)
        if [[ -f $runs/$2.yaml ]]; then
            # Configuration.pauseTolerance over the overrides: acceptable_pause + z·min_std_deviation
            # + suspicion_min − gossip.interval, z where Akka's logistic approximation reaches phi 8.
            python3 - "$runs/$2.yaml" <<'EOF'
import math, re, sys
text = open(sys.argv[1]).read()
def ms(key):
    m = re.search(key + r": (\d+)(ms|s)", text)
    return int(m.group(1)) * (1 if m.group(2) == "ms" else 1000)
def phi(y):
    x = y * (1.5976 + 0.070566 * y * y)
    return math.log10(1 + math.exp(x))
lo, hi = 0.0, 40.0
for _ in range(80):
    mid = (lo + hi) / 2
    lo, hi = (mid, hi) if phi(mid) < 8 else (lo, mid)
print(round(ms("acceptable_pause") + lo * ms("min_std_deviation") + ms("suspicion_min") - ms(r"\binterval")))
EOF
        else
            "$vigil" simulate --nodes 3 --duration 1s --preset "$2" --format json | jq -r '.scenario.pause_tolerance_ms | round'
        fi
        ;;
    serf)
        # memberlist: the failing probe round (ProbeInterval), then the suspicion timeout
        # SuspicionMult × max(1, log10 N) × ProbeInterval, less the refutation's gossip interval.
        local mult interval gossip
        case $2 in
        lan) mult=4 interval=1000 gossip=200 ;;
        local) mult=3 interval=1000 gossip=100 ;;
        wan) mult=6 interval=5000 gossip=500 ;;
        esac
        awk -v m="$mult" -v i="$interval" -v g="$gossip" -v n="$nodes" \
            'BEGIN { l = log(n) / log(10); if (l < 1) l = 1; printf "%d\n", i + m * l * i - g }'
        ;;
    esac
}

configs=()
for p in $vigil_presets; do configs+=("vigil:$p"); done
for c in $vigil_configs; do vigil_config "$c" >"$runs/$c.yaml"; configs+=("vigil:$c"); done
for p in $serf_profiles; do configs+=("serf:$p"); done
((${#configs[@]} > 0)) || usage_error "nothing to measure: no preset, config or profile given"
declare -A tolerance=()
for c in "${configs[@]}"; do tolerance[$c]=$(tolerance_ms "${c%%:*}" "${c#*:}"); done

# run_chaos ID SYSTEM PROFILE SEED SCENARIO NAME [VAR=VALUE...]: one scripts/chaos.sh run into
# $runs/NAME (its log beside it); never fails (the report says what happened).
run_chaos() {
    local id=$1 system=$2 profile=$3 seed=$4 scenario=$5 name=$6
    shift 6
    local env=(VIGIL_CHAOS_ID="$id" "$@") args=(--system "$system" --nodes "$nodes" --seed "$seed" --out "$runs/$name")
    case $system in
    vigil)
        args+=(--no-ha)
        if [[ -f $runs/$profile.yaml ]]; then env+=(VIGIL_CHAOS_PRESET=lan VIGIL_CHAOS_PROTOCOL="$runs/$profile.yaml"); else env+=(VIGIL_CHAOS_PRESET="$profile"); fi
        ;;
    serf) env+=(VIGIL_CHAOS_SERF_PROFILE="$profile") ;;
    esac
    if [[ -f $runs/$name/report.json ]]; then echo "bench-curve: $name measured already (kept)"; return 0; fi
    rm -rf "${runs:?}/$name"
    echo "bench-curve: $(date -u +%H:%M:%S) lane ${id:-default}: $system $profile seed $seed: $scenario${*:+ ($*)}"
    env "${env[@]}" nice -n 5 bash "$here/chaos.sh" run "$scenario" "${args[@]}" >"$runs/$name.log" 2>&1 || true
}

# measure ID CONFIG: every run of one (system, profile), every seed, in lane ID.
measure() {
    local id=$1 system=${2%%:*} profile=${2#*:} seed tol over
    tol=${tolerance[$2]}
    over=$(((tol * 13 + 9) / 10))
    for seed in $seeds; do
        local base=$system-$profile-s$seed
        run_chaos "$id" "$system" "$profile" "$seed" idle "$base-idle" VIGIL_CHAOS_SETTLE="$settle" VIGIL_CHAOS_DURATION="$idle"
        run_chaos "$id" "$system" "$profile" "$seed" crash-one "$base-crash" VIGIL_CHAOS_SETTLE="$settle"
        run_chaos "$id" "$system" "$profile" "$seed" pause-at "$base-pause100" VIGIL_CHAOS_SETTLE="$settle" \
            VIGIL_CHAOS_PAUSE_MS="$tol" VIGIL_CHAOS_PAUSES=2
        run_chaos "$id" "$system" "$profile" "$seed" pause-at "$base-pause130" VIGIL_CHAOS_SETTLE="$settle" \
            VIGIL_CHAOS_PAUSE_MS="$over" VIGIL_CHAOS_PAUSES=1
        run_chaos "$id" "$system" "$profile" "$seed" loss-soak "$base-loss" VIGIL_CHAOS_DURATION="$soak" VIGIL_CHAOS_LOSS="$loss"
    done
}

# Lanes: the longest configurations first, each to the lane with the least work so far
# (serf wan's runs are the long ones: its detection and pauses take half a minute each).
lanes=($ids)
((${#lanes[@]} > 0)) || lanes=("")
declare -A load=() plan=()
for i in "${!lanes[@]}"; do load[$i]=0 plan[$i]=""; done
for c in $(for c in "${configs[@]}"; do echo "${tolerance[$c]} $c"; done | sort -rn | awk '{print $2}'); do
    best=0
    for i in "${!lanes[@]}"; do ((load[$i] < load[$best])) && best=$i; done
    load[$best]=$((load[$best] + idle + soak + 4 * settle + 80 + 4 * tolerance[$c] / 1000))
    plan[$best]+=" $c"
done
echo "bench-curve: ${#configs[@]} configurations × seeds $seeds, $nodes nodes, idle $idle s, settle $settle s, soak $soak s at $loss% loss; runs in $runs"
for i in "${!lanes[@]}"; do echo "bench-curve: lane ${lanes[$i]:-default}:${plan[$i]} (about $((load[$i] / 60 + 1)) min)"; done
pids=()
for i in "${!lanes[@]}"; do
    (for c in ${plan[$i]}; do measure "${lanes[$i]}" "$c"; done) &
    pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null || true; for i in "${lanes[@]}"; do VIGIL_CHAOS_ID=$i bash "$here/cluster.sh" down >/dev/null 2>&1 || true; done; exit 130' INT TERM
for p in "${pids[@]}"; do wait "$p" || true; done
trap - INT TERM

# ------------------------------------------------------------------------------- summary
for c in "${configs[@]}"; do echo "$c ${tolerance[$c]}"; done >"$runs/tolerances.txt"
python3 - "$runs" "$out/curve-$stamp.json" "$out/curve-$stamp.md" "$seeds" "$loss" "$soak" "$idle" "$settle" "$nodes" \
    "bash scripts/bench-curve.sh --nodes $nodes --seeds \"$seeds\" --vigil-presets \"$vigil_presets\" --serf-profiles \"$serf_profiles\" --vigil-configs \"$vigil_configs\" --idle $idle --soak $soak --loss $loss --settle $settle" <<'EOF'
import json, math, os, sys
from datetime import datetime, timezone
runs, json_out, md_out, seeds, loss, soak, idle, settle, nodes, command = sys.argv[1:]
seeds = seeds.split()
configs = [line.split() for line in open(os.path.join(runs, "tolerances.txt"))]

def report(name):
    path = os.path.join(runs, name, "report.json")
    return json.load(open(path)) if os.path.exists(path) else None

def rank(values, p):
    values = sorted(values)
    return values[max(0, math.ceil(p / 100 * len(values)) - 1)] if values else None

def check(r, prefix):
    return next((c for c in r["checks"] if c["check"].startswith(prefix)), None) if r else None

rows, table = [], []
for config, tol in configs:
    system, profile = config.split(":", 1)
    tol = int(tol)
    samples, traffic, false_loss, missing = [], [], 0, []
    survived, failed_over, pause_detail = True, True, []
    measured = []
    for seed in seeds:
        base = f"{system}-{profile}-s{seed}"
        idle_r, crash_r, p100, p130, loss_r = (report(f"{base}-{k}") for k in ("idle", "crash", "pause100", "pause130", "loss"))
        for k, r in zip(("idle", "crash", "pause100", "pause130", "loss"), (idle_r, crash_r, p100, p130, loss_r)):
            if r is None:
                missing.append(f"{k} s{seed}")
            else:
                measured.append(os.path.getmtime(os.path.join(runs, f"{base}-{k}", "report.json")))
        if idle_r and idle_r["bytes_per_node_per_s"]["mean"] is not None:
            traffic.append(idle_r["bytes_per_node_per_s"]["mean"])
            if idle_r["false_failures"]:
                pause_detail.append(f"idle s{seed}: false failures {idle_r['false_failures']}")
        if crash_r and crash_r.get("detection_ms"):
            samples += list(crash_r["detection_ms"]["by_observer"].values())
            if crash_r["detection_ms"]["undetected"]:
                missing.append(f"undetected {crash_r['detection_ms']['undetected']} s{seed}")
        c = check(p100, "never-failed")
        if c is None or not c["passed"] or (p100 and p100["false_failures"]):
            survived = False
        c = check(p130, "never-failed")
        if c is None or c["passed"]:
            failed_over = False
        if loss_r is not None:
            false_loss += len(loss_r["false_failures"])
    if missing:
        pause_detail.append("missing or incomplete: " + ", ".join(missing))
    loss_runs = [report(f"{system}-{profile}-s{s}-loss") for s in seeds]
    loss_known = all(r is not None for r in loss_runs)
    suspicions = sum(sum(r["suspicions"].values()) for r in loss_runs if r)
    row = {
        "system": system,
        "profile": profile,
        "detection_ms": {"p50": rank(samples, 50), "max": max(samples) if samples else None},
        "bytes_per_node_per_s": round(sum(traffic) / len(traffic), 1) if traffic else None,
        "pause_tolerance_ms": tol if survived else None,
        "false_failures_loss20": false_loss if loss_known else None,
        "measured_at": datetime.fromtimestamp(max(measured) if measured else 0, tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    rows.append(row)
    pause_text = (f"{tol} ms: {'no failure' if survived else '**failed**'} at 100%, "
                  f"{'failed' if failed_over else '**no failure**'} at 130%")
    table.append((row, pause_text, suspicions, pause_detail))

with open(json_out, "w") as f:
    json.dump(rows, f, indent=2)
    f.write("\n")

def ms(v):
    return "-" if v is None else f"{v}"
lines = [f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M')} UTC, {nodes} nodes, no HA, seeds {' '.join(seeds)}, "
         f"idle {idle} s, settle {settle} s before each fault, {loss}% loss soak {soak} s: `{command}`", "",
         "| system | preset / profile | detection p50 / max | bytes/node/s (idle) | pause tolerance: stated, checked | "
         f"false failures at {loss}% loss ({soak} s; suspicions) |",
         "|---|---|---|---|---|---|"]
for row, pause_text, suspicions, detail in table:
    d = row["detection_ms"]
    lines.append(f"| {row['system']} | {row['profile']} | {ms(d['p50'])} / {ms(d['max'])} ms | {ms(row['bytes_per_node_per_s'])} "
                 f"| {pause_text} | {ms(row['false_failures_loss20'])} ({suspicions}) |")
notes = [f"- {row['system']} {row['profile']}: {'; '.join(detail)}" for row, _, _, detail in table if detail]
# Dominance: every serf point needs a Vigil point with no more traffic, a faster p50 and
# no false failure under the loss.
verdicts = []
for s in (r for r in rows if r["system"] == "serf"):
    if s["bytes_per_node_per_s"] is None or s["detection_ms"]["p50"] is None:
        verdicts.append(f"- serf {s['profile']}: not measured"); continue
    better = [v for v in rows if v["system"] == "vigil" and v["bytes_per_node_per_s"] is not None
              and v["detection_ms"]["p50"] is not None and v["bytes_per_node_per_s"] <= s["bytes_per_node_per_s"]
              and v["detection_ms"]["p50"] < s["detection_ms"]["p50"] and v["false_failures_loss20"] == 0]
    if better:
        b = min(better, key=lambda v: v["detection_ms"]["p50"])
        also_max = b["detection_ms"]["max"] < s["detection_ms"]["max"]
        verdicts.append(f"- serf {s['profile']} ({s['bytes_per_node_per_s']} B/s, p50 {s['detection_ms']['p50']} ms): dominated by vigil "
                        f"{b['profile']} ({b['bytes_per_node_per_s']} B/s, p50 {b['detection_ms']['p50']} ms, max "
                        f"{b['detection_ms']['max']} {'<' if also_max else '>='} {s['detection_ms']['max']} ms)")
    else:
        verdicts.append(f"- serf {s['profile']} ({s['bytes_per_node_per_s']} B/s, p50 {s['detection_ms']['p50']} ms): "
                        "**not dominated**: no Vigil point with no more traffic, faster detection and no false failure under loss")
text = "\n".join(lines + [""] + notes + ([""] if notes else []) + ["Dominance (traffic and detection p50):"] + verdicts) + "\n"
open(md_out, "w").write(text)
print(text)
print(f"curve: {json_out}\nreports: {runs}")
EOF
