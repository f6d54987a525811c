# Scenario idle for scripts/chaos.sh (sourced by it; runs in its shell with its helpers).
# idle: no fault at all for 60 s (VIGIL_CHAOS_DURATION=SECONDS): what the cluster sends when
# nothing happens, from the bridge ports (the report's bytes per node per second).
# Expectation: no node is marked failed by anyone; all alive at the end.
# A measurement for scripts/bench-curve.sh, not part of the suite (`chaos.sh list --all`).
bench_scenarios+=(idle)
scenario_idle() {
    local seconds
    seconds=$(scenario_seconds 60)
    extra_json=$(jq -cn --argjson s "$seconds" '{idle_seconds: $s}')
    expectation="no fault for $seconds s: no node is marked failed; all alive at the end"
    checks=("no-false-failures" "all-alive-at-end")
    faulted=()
    sleep "$seconds"
}
