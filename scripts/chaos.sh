#!/usr/bin/env bash
# Chaos scenarios on real agents in network namespaces (scripts/cluster.sh), for Vigil or serf.
#
#     scripts/chaos.sh run SCENARIO [--nodes N] [--system vigil|serf] [--seed S] [--no-ha] [--out DIR]
#     scripts/chaos.sh list [--all]     # --all: also the measurements (idle, pause-at, loss-soak)
#
# VIGIL_CHAOS_DURATION=SECONDS shortens (or stretches) the scenarios that hold a fault for
# a while (loss-10: 600 s by default; delay-jitter, flap, gray: see their files).
# VIGIL_CHAOS_SETTLE=SECONDS (default 3): how long the converged cluster runs before the
# scenario starts. VIGIL_CHAOS_PRESET, VIGIL_CHAOS_PROTOCOL (Vigil's preset and a file of `protocol:`
# overrides) and VIGIL_CHAOS_SERF_PROFILE (serf's -profile) choose the timing: scripts/cluster.sh.
#
# Sets a cluster up (default 5 nodes, Vigil with --preset lan), lets it settle, injects the
# scenario's faults with scripts/chaos/*, waits, takes each node's final view, tears it all
# down (also on failure or Ctrl-C) and writes report.json and report.html into --out
# (default chaos-out/SCENARIO-SYSTEM-<time>). Every node's event stream is recorded from
# its start (nodes/nK/events.ndjson). The seed picks the faulted nodes. Vigil runs with HA
# (BMC emulator, power watcher, Masakari: scripts/cluster.sh) unless --no-ha; at the end every
# running node's `vigil history` and `vigil fence status`, Masakari's notifications and the
# BMCs' power are kept for the report. Scenarios that are about fencing need HA and refuse
# to run without it (exit 2).
#
# Exit status: 0 the expectation held; 1 it did not (the failed checks are printed);
# 2 bad arguments; 3 the cluster could not be set up.
set -euo pipefail
chaos_me=chaos
source "$(dirname "$0")/chaos/lib.sh"
here=$chaos_repo/scripts

usage() { usage_error "usage: chaos.sh run SCENARIO [--nodes N] [--system vigil|serf] [--seed S] [--no-ha] [--out DIR] (scenarios: ${scenarios[*]})"; }

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
# scenario_seconds DEFAULT: how long the scenario holds its fault: VIGIL_CHAOS_DURATION
# (checked before the cluster is set up) or DEFAULT.
scenario_seconds() { echo "${VIGIL_CHAOS_DURATION:-$1}"; }

# --------------------------------------------------------------------- HA helpers
# vigil_on NODE ARGS...: a vigil command against NODE's agent.
vigil_on() { local n=$1; shift; "$VIGIL" "$@" --control "$(node_dir "$n")/vigil.sock"; }
# running_nodes: the nodes whose agent runs now.
running_nodes() { local n; for n in $(all_nodes); do agent_pid "$n" >/dev/null && printf '%s ' "$n"; done | sed 's/ $//'; }
# current_leader: the leader as the first running node that answers sees it (nothing if none).
current_leader() {
    local n l
    for n in $(running_nodes); do
        l=$(vigil_on "$n" leader --format json 2>/dev/null | jq -r '.leader // empty' 2>/dev/null) || continue
        [[ -n $l ]] && { echo "$l"; return 0; }
    done
    return 1
}
# ha_seen MEMBER PHASE: some node's recorded event stream shows MEMBER reach PHASE.
ha_seen() {
    cat "$RUN"/nodes/*/events.ndjson 2>/dev/null |
        jq -en --arg m "$1" --arg p "$2" 'first(inputs | select(.kind == "ha" and .member == $m and .phase == $p)) | true' >/dev/null 2>&1
}
# powered_off NODE: the power watcher has cut NODE's power (and not restored it since).
powered_off() { [[ $(jq -r --arg n "$1" 'select(.node == $n) | .state' "$RUN/power.ndjson" 2>/dev/null | tail -n 1) == Off ]]; }
# fence_on NODE ARGS...: `vigil fence ARGS` taken on NODE (any member takes it), recorded as a fault.
fence_on() {
    local n=$1
    shift
    record_fault "fence-$1" "${*:2}" "vigil fence $* on $n"
    vigil_on "$n" fence "$@"
}
# need_ha: this scenario is about fencing; without HA it has nothing to check.
need_ha() { ha_on || usage_error "scenario $scenario needs HA (Vigil without --no-ha)"; }

# pause_tolerance_ms: the preset's pause tolerance as the simulator reports it
# (`scenario.pause_tolerance_ms` of `vigil simulate --format json`; README, Presets).
pause_tolerance_ms() {
    "$VIGIL_FOR_FIGURES" simulate --nodes 3 --duration 1s --preset "$PRESET" --format json |
        jq -r '.scenario.pause_tolerance_ms | round'
}

# ---------------------------------------------------------------------------- scenarios
# One file per scenario in scripts/chaos/scenarios/NAME.sh, defining scenario_NAME (dashes
# as underscores) with its expectation written above it. Each sets `expectation` (the
# sentence in the report), `checks` (what report.py verifies, see its header), `faulted`
# and optionally `detect_targets`/`detect_observers` and `extra_json` (an object whose
# fields report.py copies into report.json), then injects its faults and waits.
# A scenario file adds its name to ha_scenarios when it needs HA, sets min_nodes[NAME]
# when it needs more than 3 nodes, and scenario_systems[NAME] to the systems it runs on when
# not both; all are checked before any cluster is set up.
scenarios=() ha_scenarios=() no_ha_scenarios=()  # no_ha_scenarios: run with --no-ha always (the scenario repairs nodes itself)
bench_scenarios=()  # measurements for scripts/bench-curve.sh: run by name, left out of `list` (and so of the suite)
declare -A min_nodes=()
declare -A scenario_systems=()  # NAME -> the systems it runs on, when not both (set by its file)
for file in "$here"/chaos/scenarios/*.sh; do
    # shellcheck disable=SC1090
    source "$file"
    scenarios+=("$(basename "$file" .sh)")
done

# --------------------------------------------------------------------------------- run
cmd=${1:-}
case $cmd in
list)
    for s in "${scenarios[@]}"; do
        [[ ${2:-} == --all || " ${bench_scenarios[*]} " != *" $s "* ]] && echo "$s"
    done
    exit 0
    ;;
run) shift ;;
*) usage ;;
esac
scenario=${1:-}
[[ -n $scenario ]] || usage
shift
[[ " ${scenarios[*]} " == *" $scenario "* ]] || usage_error "unknown scenario \`$scenario\` (scenarios: ${scenarios[*]})"
NODES=5 SYSTEM=vigil seed=1 out="" no_ha=""
while (($# > 0)); do
    case $1 in
    --nodes) (($# >= 2)) || usage_error "--nodes needs a number"; NODES=$2; shift 2 ;;
    --system) (($# >= 2)) || usage_error "--system needs vigil or serf"; SYSTEM=$2; shift 2 ;;
    --seed) (($# >= 2)) || usage_error "--seed needs a number"; seed=$2; shift 2 ;;
    --out) (($# >= 2)) || usage_error "--out needs a directory"; out=$2; shift 2 ;;
    --no-ha) no_ha=--no-ha; shift ;;
    *) usage_error "unknown argument \`$1\`" ;;
    esac
done
[[ $NODES =~ ^[0-9]+$ ]] && ((NODES >= 3 && NODES <= 50)) || usage_error "--nodes must be 3 to 50, got \`$NODES\`"
[[ $SYSTEM == vigil || $SYSTEM == serf ]] || usage_error "--system must be vigil or serf, got \`$SYSTEM\`"
[[ $seed =~ ^[0-9]+$ ]] && ((seed <= 2147483647)) || usage_error "--seed must be a whole number, got \`$seed\`"
[[ -z ${scenario_systems[$scenario]:-} || " ${scenario_systems[$scenario]} " == *" $SYSTEM "* ]] ||
    usage_error "$scenario runs on ${scenario_systems[$scenario]} only, not $SYSTEM"
[[ -z ${VIGIL_CHAOS_DURATION:-} ]] || { [[ $VIGIL_CHAOS_DURATION =~ ^[1-9][0-9]*$ ]] && ((VIGIL_CHAOS_DURATION <= 86400)); } ||
    usage_error "VIGIL_CHAOS_DURATION must be whole seconds from 1 to 86400, got \`$VIGIL_CHAOS_DURATION\`"
[[ -z ${VIGIL_CHAOS_SETTLE:-} ]] || { [[ $VIGIL_CHAOS_SETTLE =~ ^[0-9]+$ ]] && ((VIGIL_CHAOS_SETTLE <= 3600)); } ||
    usage_error "VIGIL_CHAOS_SETTLE must be whole seconds from 0 to 3600, got \`$VIGIL_CHAOS_SETTLE\`"
# Scenarios that need HA or more nodes say so before anything is set up.
if ((NODES < ${min_nodes[$scenario]:-3})); then
    usage_error "scenario $scenario needs at least ${min_nodes[$scenario]} nodes, got --nodes $NODES"
fi
if [[ $SYSTEM == vigil && -z $no_ha && " ${no_ha_scenarios[*]} " == *" $scenario "* ]]; then
    # It restarts a node certified failed itself (the power cycle a fence would do), which a
    # fence's power-off would race: HA stays out of it.
    no_ha=--no-ha
    echo "chaos: $scenario runs without HA (it restarts failed nodes itself)"
fi
HA=$([[ $SYSTEM == vigil && -z $no_ha ]] && echo 1 || echo 0)
if ((!HA)) && [[ " ${ha_scenarios[*]} " == *" $scenario "* ]]; then
    usage_error "scenario $scenario is about fencing and needs HA (Vigil without --no-ha)"
fi
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
# A scenario may define prepare_NAME: what it needs installed, done before the cluster runs.
if declare -F "prepare_${scenario//-/_}" >/dev/null; then
    "prepare_${scenario//-/_}" || { echo "chaos: $scenario could not be prepared" >&2; exit 3; }
fi
bash "$here/cluster.sh" up "$NODES" --system "$SYSTEM" $no_ha --out "$out" || { echo "chaos: the cluster could not be set up" >&2; exit 3; }
resolve_run "$out"
export VIGIL_CHAOS_DIR=$out
# Steady state: every detector has heard a few heartbeats before anything breaks. A phi
# detector starts from a guessed interval spread; VIGIL_CHAOS_SETTLE=SECONDS waits longer,
# so it has measured its subjects (scripts/bench-curve.sh: 30 s) — a running cluster's state.
sleep "${VIGIL_CHAOS_SETTLE:-3}"
notes=() extra_json='{}' detect_targets=() detect_observers=() faulted=() checks=() expectation=""
bytes() { ip -n "$bridge_ns" -j -s link show type veth >"$out/$1"; }
bytes bytes-start.json
bytes_start_ms=$(now_ms) start_ms=$bytes_start_ms
"scenario_${scenario//-/_}"
end_ms=$(now_ms)
bytes bytes-end.json
bytes_end_ms=$(now_ms)
for n in $(all_nodes); do members_json "$n" >"$(node_dir "$n")/members.final.json" || rm -f "$(node_dir "$n")/members.final.json"; done
if ha_on; then
    # What the report reads about HA: every running node's journal and fence status (with
    # its exit status: 3 while a fence waits for an operator), Masakari's notifications.
    for n in $(running_nodes); do
        vigil_on "$n" history --format json >"$(node_dir "$n")/history.json" 2>/dev/null || rm -f "$(node_dir "$n")/history.json"
        fs_status=0
        fs=$(vigil_on "$n" fence status --format json 2>/dev/null) || fs_status=$?
        jq --argjson e "$fs_status" '. + {exit: $e}' <<<"$fs" >"$(node_dir "$n")/fence-status.json" 2>/dev/null ||
            rm -f "$(node_dir "$n")/fence-status.json"
    done
    masakari_state >"$out/masakari.json" 2>/dev/null || { rm -f "$out/masakari.json"; note "Masakari did not answer at the end: no notifications read"; }
fi
bash "$here/cluster.sh" down --out "$out" >/dev/null
list() { printf '%s\n' "$@" | jq -R . | jq -sc 'map(select(. != ""))'; }
jq -n --arg scenario "$scenario" --arg system "$SYSTEM" --argjson nodes "$NODES" --argjson seed "$seed" \
    --arg preset "$([[ $SYSTEM == vigil ]] && echo "$PRESET${PROTOCOL:+ + $PROTOCOL}" || echo "serf profile ${SERF_PROFILE:-lan (default)}")" \
    --arg expectation "$expectation" --argjson checks "$(list "${checks[@]}")" --argjson faulted "$(list "${faulted[@]}")" \
    --argjson targets "$(list "${detect_targets[@]}")" --argjson observers "$(list "${detect_observers[@]}")" \
    --argjson notes "$(list "${notes[@]}")" --argjson extra "$extra_json" --argjson ha "$HA" \
    --argjson start "$start_ms" --argjson stop "$end_ms" --argjson b0 "$bytes_start_ms" --argjson b1 "$bytes_end_ms" \
    --arg command "scripts/chaos.sh run $scenario --nodes $NODES --system $SYSTEM --seed $seed${no_ha:+ --no-ha}" \
    '{scenario: $scenario, system: $system, nodes: $nodes, seed: $seed, preset: $preset, command: $command, ha: ($ha == 1),
      expectation: $expectation, checks: $checks, faulted: $faulted, notes: $notes,
      window: {start_ms: $start, end_ms: $stop, bytes_start_ms: $b0, bytes_end_ms: $b1}}
     + (if ($targets | length) > 0 then {detect: {targets: $targets, observers: $observers}} else {} end)
     + {extra: $extra}' >"$out/scenario.json"
status=0
"$(command -v python3)" "$here/chaos/report.py" "$out" || status=$?
if ((status == 0)); then
    echo "chaos: $scenario on $SYSTEM passed; report: $out/report.json, $out/report.html"
else
    echo "chaos: $scenario on $SYSTEM FAILED its expectation: $expectation; report: $out/report.json" >&2
fi
exit "$status"
