#!/usr/bin/env bash
# Chaos scenarios on real agents in network namespaces (scripts/cluster.sh), for Vigil or serf.
#
#     scripts/chaos.sh run SCENARIO [--nodes N] [--system vigil|serf] [--seed S] [--out DIR]
#     scripts/chaos.sh list
#
# Sets a cluster up (default 5 nodes, Vigil with --preset lan), lets it settle, injects the
# scenario's faults with scripts/chaos/*, waits, takes each node's final view, tears it all
# down (also on failure or Ctrl-C) and writes report.json and report.html into --out
# (default chaos-out/SCENARIO-SYSTEM-<time>). Every node's event stream is recorded from
# its start (nodes/nK/events.ndjson). The seed picks the faulted nodes.
#
# Exit status: 0 the expectation held; 1 it did not (the failed checks are printed);
# 2 bad arguments; 3 the cluster could not be set up.
set -euo pipefail
chaos_me=chaos
source "$(dirname "$0")/chaos/lib.sh"
here=$chaos_repo/scripts

scenarios=(crash-one pause-short partition-minority)
usage() { usage_error "usage: chaos.sh run SCENARIO [--nodes N] [--system vigil|serf] [--seed S] [--out DIR] (scenarios: ${scenarios[*]})"; }

# ---------------------------------------------------------------------------- helpers
# pick K: sets `picked` to K distinct nodes of n1..nN chosen with the seed (an LCG of our
# own, run in this shell: bash reseeds $RANDOM in every subshell).
rng=1
next_random() { rng=$(((rng * 1103515245 + 12345) % 2147483648)); }
pick() {
    local pool=() chosen=() i
    for i in $(seq 1 "$NODES"); do pool+=("n$i"); done
    for _ in $(seq 1 "$1"); do
        next_random
        i=$(((rng >> 8) % ${#pool[@]}))
        chosen+=("${pool[$i]}")
        pool=("${pool[@]:0:$i}" "${pool[@]:$((i + 1))}")
    done
    picked=$(printf '%s\n' "${chosen[@]}" | sort -V | tr '\n' ' ' | sed 's/ $//')
}
all_nodes() { seq -f 'n%g' 1 "$NODES" | tr '\n' ' ' | sed 's/ $//'; }
except() { local n; for n in $(all_nodes); do [[ " $1 " == *" $n "* ]] || printf '%s ' "$n"; done | sed 's/ $//'; }
# status_in OBSERVER MEMBER: MEMBER's status in OBSERVER's view.
status_in() { members_json "$1" | jq -r --arg m "$2" '.members[] | select(.name == $m) | .status' 2>/dev/null; }
# seen_by_all STATUS MEMBER OBSERVERS...
seen_by_all() {
    local status=$1 member=$2 o
    shift 2
    for o in "$@"; do [[ $(status_in "$o" "$member") == "$status" ]] || return 1; done
}
everyone_alive() {
    local o
    for o in $(all_nodes); do
        [[ $(members_json "$o" | jq '[.members[] | select(.status == "alive")] | length' 2>/dev/null) == "$NODES" ]] || return 1
    done
}
# wait_for SECONDS CMD...: polls CMD every 0.5 s; status 1 after SECONDS.
wait_for() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < end)) || return 1
        sleep 0.5
    done
}
note() { notes+=("$*"); echo "chaos: $*"; }

# pause_tolerance_ms: the preset's pause tolerance as the simulator reports it
# (`scenario.pause_tolerance_ms` of `vigil simulate --format json`; README, Presets).
pause_tolerance_ms() {
    "$VIGIL_FOR_FIGURES" simulate --nodes 3 --duration 1s --preset "$PRESET" --format json |
        jq -r '.scenario.pause_tolerance_ms | round'
}

# ---------------------------------------------------------------------------- scenarios
# Each sets `expectation` (the sentence in the report), `checks` (what report.py verifies,
# see its header), `faulted` and optionally `detect_targets`/`detect_observers`, then
# injects its faults and waits.

# crash-one: SIGKILL one node.
# Expectation: every survivor marks it failed (waiting at most 60 s); no other node is
# marked failed by anyone.
scenario_crash_one() {
    local victim
    pick 1
    victim=$picked
    expectation="SIGKILL $victim: every survivor marks $victim failed; no node that was not faulted is marked failed"
    checks=("failed-everywhere $victim" "no-false-failures")
    faulted=("$victim")
    detect_targets=("$victim")
    read -r -a detect_observers <<<"$(except "$victim")"
    "$here/chaos/kill" "$victim"
    # shellcheck disable=SC2046
    wait_for 60 seen_by_all failed "$victim" $(except "$victim") || note "not every survivor marked $victim failed within 60 s"
    sleep 5  # a little longer, so that a false failure caused by the crash would show
}

# pause-short: SIGSTOP one node three times, each for 60% of the preset's pause tolerance
# (Vigil's `lan`: read from `vigil simulate`), 4 s apart.
# Expectation: the paused node is never marked failed, nor is anyone else, and at the end
# every node sees every node alive. (It may be suspected and refute: that is the design.)
scenario_pause_short() {
    local victim tolerance seconds
    pick 1
    victim=$picked
    tolerance=$(pause_tolerance_ms)
    seconds=$(awk -v t="$tolerance" 'BEGIN { printf "%.2f", t * 0.6 / 1000 }')
    extra_json=$(jq -cn --argjson t "$tolerance" --argjson s "$seconds" '{pause_tolerance_ms: $t, pause_seconds: $s}')
    expectation="SIGSTOP $victim 3 times for $seconds s (60% of the $PRESET preset's pause tolerance, $tolerance ms): $victim is never marked failed; no false failures; all alive at the end"
    checks=("never-failed $victim" "no-false-failures" "all-alive-at-end")
    faulted=("$victim")
    for i in 1 2 3; do
        "$here/chaos/pause" "$victim" "$seconds"
        sleep 4
    done
    sleep 4
}

# partition-minority: cut floor((N-1)/2) nodes (2 of 5) off the others for 30 s, then heal.
# Expectation (Vigil): no node of the majority side is marked failed by anyone, the
# minority's own views included (an observer that suspects more than half the members does
# not vote, and 2 of 5 votes make no certificate); after the heal every node sees every
# node alive. A cut-off node the majority certified failed stays failed for its life (the
# life rule: it should learn it and log `declared-failed`); 10 s after the heal the scenario
# restarts each cut-off node the majority still holds failed — the power cycle the fence
# will do once HA runs in these scripts — and then expects everyone alive. Serf is run the same way (no restart: it has no such rule) and reported as is.
scenario_partition_minority() {
    local cut rest hold=30 n
    pick $(((NODES - 1) / 2))
    cut=$picked
    rest=$(except "$cut")
    extra_json=$(jq -cn --argjson h "$hold" '{partition_seconds: $h}')
    expectation="cut $cut off from $rest for $hold s, then heal: no node of the majority side ($rest) is marked failed by anyone; after the heal (and, for Vigil, a restart of each cut-off node certified failed meanwhile) every node sees every node alive"
    checks=("no-false-failures" "all-alive-at-end")
    read -r -a faulted <<<"$cut"
    read -r -a detect_targets <<<"$cut"
    read -r -a detect_observers <<<"$rest"
    "$here/chaos/partition" "$cut" "$rest"
    sleep "$hold"
    "$here/chaos/heal"
    local restarted=() learned=()
    if [[ $SYSTEM == vigil ]]; then
        # A cut-off node the majority certified failed stays failed for its life. HA would
        # fence it (power off, later on); restart each cut-off node that a majority node
        # still holds failed 10 s after the heal. Whether the node itself had learned it
        # (its own `declared-failed` event) by then is reported, not asserted.
        sleep 10
        local m o
        for n in $cut; do
            for o in $rest; do
                if [[ $(status_in "$o" "$n") == failed ]]; then
                    grep -q '"kind": "declared-failed"' "$(node_dir "$n")/events.ndjson" 2>/dev/null && learned+=("$n")
                    "$here/chaos/restart" "$n"
                    restarted+=("$n")
                    break
                fi
            done
        done
        for n in "${restarted[@]}"; do
            [[ " ${learned[*]} " == *" $n "* ]] ||
                note "$n: certified failed by the majority, but 10 s after the heal it had not learned it (no declared-failed event)"
        done
    fi
    extra_json=$(jq -cn --argjson h "$hold" --arg r "${restarted[*]}" --arg l "${learned[*]}" \
        '{partition_seconds: $h, restarted_after_heal: ($r | split(" ") | map(select(. != ""))),
          declared_failed_before_restart: ($l | split(" ") | map(select(. != "")))}')
    wait_for 60 everyone_alive || note "not every node saw every node alive within 60 s after the heal"
    sleep 2
}

# --------------------------------------------------------------------------------- run
cmd=${1:-}
case $cmd in
list) printf '%s\n' "${scenarios[@]}"; exit 0 ;;
run) shift ;;
*) usage ;;
esac
scenario=${1:-}
[[ -n $scenario ]] || usage
shift
[[ " ${scenarios[*]} " == *" $scenario "* ]] || usage_error "unknown scenario \`$scenario\` (scenarios: ${scenarios[*]})"
NODES=5 SYSTEM=vigil seed=1 out=""
while (($# > 0)); do
    case $1 in
    --nodes) (($# >= 2)) || usage_error "--nodes needs a number"; NODES=$2; shift 2 ;;
    --system) (($# >= 2)) || usage_error "--system needs vigil or serf"; SYSTEM=$2; shift 2 ;;
    --seed) (($# >= 2)) || usage_error "--seed needs a number"; seed=$2; shift 2 ;;
    --out) (($# >= 2)) || usage_error "--out needs a directory"; out=$2; shift 2 ;;
    *) usage_error "unknown argument \`$1\`" ;;
    esac
done
[[ $NODES =~ ^[0-9]+$ ]] && ((NODES >= 3 && NODES <= 50)) || usage_error "--nodes must be 3 to 50, got \`$NODES\`"
[[ $SYSTEM == vigil || $SYSTEM == serf ]] || usage_error "--system must be vigil or serf, got \`$SYSTEM\`"
[[ $seed =~ ^[0-9]+$ ]] && ((seed <= 2147483647)) || usage_error "--seed must be a whole number, got \`$seed\`"
need_root
PRESET=${VIGIL_CHAOS_PRESET:-lan}
# The pause tolerance is read from Vigil even when serf runs, so both get the same pause.
VIGIL_FOR_FIGURES=${VIGIL_BIN:-$chaos_repo/.build/release/vigil}
if [[ $scenario == pause-short && ! -x $VIGIL_FOR_FIGURES ]]; then
    die "pause-short reads the pause tolerance from vigil, not found at $VIGIL_FOR_FIGURES; build it (swift build -c release --product vigil) or set VIGIL_BIN"
fi
rng=$seed
out=${out:-$chaos_repo/chaos-out/$scenario-$SYSTEM-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
[[ ! -e $out/cluster.env ]] || usage_error "$out already holds a run; give a fresh --out"

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    bash "$here/cluster.sh" down --out "$out" >/dev/null 2>&1 || true
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "chaos: $scenario, $NODES $SYSTEM nodes, seed $seed, out $out"
bash "$here/cluster.sh" up "$NODES" --system "$SYSTEM" --out "$out" || { echo "chaos: the cluster could not be set up" >&2; exit 3; }
resolve_run "$out"
export VIGIL_CHAOS_DIR=$out
sleep 3  # steady state: every detector has heard a few heartbeats before anything breaks
notes=() extra_json='{}' detect_targets=() detect_observers=() faulted=() checks=() expectation=""
bytes() { ip -n "$bridge_ns" -j -s link show type veth >"$out/$1"; }
bytes bytes-start.json
bytes_start_ms=$(now_ms) start_ms=$bytes_start_ms
"scenario_${scenario//-/_}"
end_ms=$(now_ms)
bytes bytes-end.json
bytes_end_ms=$(now_ms)
for n in $(all_nodes); do members_json "$n" >"$(node_dir "$n")/members.final.json" || rm -f "$(node_dir "$n")/members.final.json"; done
bash "$here/cluster.sh" down --out "$out" >/dev/null
list() { printf '%s\n' "$@" | jq -R . | jq -sc 'map(select(. != ""))'; }
jq -n --arg scenario "$scenario" --arg system "$SYSTEM" --argjson nodes "$NODES" --argjson seed "$seed" \
    --arg preset "$([[ $SYSTEM == vigil ]] && echo "$PRESET" || echo "serf defaults (LAN)")" \
    --arg expectation "$expectation" --argjson checks "$(list "${checks[@]}")" --argjson faulted "$(list "${faulted[@]}")" \
    --argjson targets "$(list "${detect_targets[@]}")" --argjson observers "$(list "${detect_observers[@]}")" \
    --argjson notes "$(list "${notes[@]}")" --argjson extra "$extra_json" \
    --argjson start "$start_ms" --argjson stop "$end_ms" --argjson b0 "$bytes_start_ms" --argjson b1 "$bytes_end_ms" \
    --arg command "scripts/chaos.sh run $scenario --nodes $NODES --system $SYSTEM --seed $seed" \
    '{scenario: $scenario, system: $system, nodes: $nodes, seed: $seed, preset: $preset, command: $command,
      expectation: $expectation, checks: $checks, faulted: $faulted, notes: $notes,
      window: {start_ms: $start, end_ms: $stop, bytes_start_ms: $b0, bytes_end_ms: $b1}}
     + (if ($targets | length) > 0 then {detect: {targets: $targets, observers: $observers}} else {} end)
     + $extra' >"$out/scenario.json"
status=0
"$(command -v python3)" "$here/chaos/report.py" "$out" || status=$?
if ((status == 0)); then
    echo "chaos: $scenario on $SYSTEM passed; report: $out/report.json, $out/report.html"
else
    echo "chaos: $scenario on $SYSTEM FAILED its expectation: $expectation; report: $out/report.json" >&2
fi
exit "$status"
