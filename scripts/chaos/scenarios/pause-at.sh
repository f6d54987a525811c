# Scenario pause-at for scripts/chaos.sh (sourced by it; runs in its shell with its helpers).
# pause-at: SIGSTOP one node for VIGIL_CHAOS_PAUSE_MS milliseconds (required), VIGIL_CHAOS_PAUSES
# times (default 1), 5 s apart: a pause of a chosen length, to check a stated pause tolerance.
# Expectation: the paused node is never marked failed, nor is anyone else. At a pause beyond
# the tolerance the first check is meant to fail (scripts/bench-curve.sh runs both and reads
# `never-failed` and the detection of the paused node from the report).
# A measurement for scripts/bench-curve.sh, not part of the suite (`chaos.sh list --all`).
bench_scenarios+=(pause-at)
prepare_pause_at() {
    [[ ${VIGIL_CHAOS_PAUSE_MS:-} =~ ^[1-9][0-9]*$ ]] && ((VIGIL_CHAOS_PAUSE_MS <= 600000)) ||
        { echo "chaos: pause-at needs VIGIL_CHAOS_PAUSE_MS, whole milliseconds from 1 to 600000, got \`${VIGIL_CHAOS_PAUSE_MS:-}\`" >&2; return 1; }
    [[ ${VIGIL_CHAOS_PAUSES:-1} =~ ^[1-9]$ ]] ||
        { echo "chaos: VIGIL_CHAOS_PAUSES must be 1 to 9, got \`$VIGIL_CHAOS_PAUSES\`" >&2; return 1; }
}
scenario_pause_at() {
    local victim ms=$VIGIL_CHAOS_PAUSE_MS count=${VIGIL_CHAOS_PAUSES:-1} seconds i
    pick 1
    victim=$picked
    seconds=$(awk -v t="$ms" 'BEGIN { printf "%.3f", t / 1000 }')
    extra_json=$(jq -cn --argjson ms "$ms" --argjson c "$count" '{pause_ms: $ms, pauses: $c}')
    expectation="SIGSTOP $victim $count time(s) for $seconds s: $victim is never marked failed; no false failures"
    checks=("never-failed $victim" "no-false-failures")
    faulted=("$victim")
    detect_targets=("$victim")
    read -r -a detect_observers <<<"$(except "$victim")"
    for i in $(seq 1 "$count"); do
        ((i == 1)) || sleep 5
        "$here/chaos/pause" "$victim" "$seconds"
    done
    sleep 5  # a failure certified just after the resume, or its gossip, would show here
}
