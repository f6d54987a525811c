# Scenario pause-short for scripts/chaos.sh (sourced by it; runs in its shell with its helpers).
# pause-short: SIGSTOP one node three times, each for 60% of the preset's pause tolerance
# (Vigil's `lan`: read from `vigil simulate`), 4 s apart.
# Expectation: the paused node is never marked failed, nor is anyone else, and at the end
# every node sees every node alive. (It may be suspected and refute: that is the design.)
# With HA: nothing is fenced (no fence ordered, no BMC goes Off).
scenario_pause_short() {
    local victim tolerance seconds
    pick 1
    victim=$picked
    tolerance=$(pause_tolerance_ms)
    seconds=$(awk -v t="$tolerance" 'BEGIN { printf "%.2f", t * 0.6 / 1000 }')
    extra_json=$(jq -cn --argjson t "$tolerance" --argjson s "$seconds" '{pause_tolerance_ms: $t, pause_seconds: $s}')
    expectation="SIGSTOP $victim 3 times for $seconds s (60% of the $PRESET preset's pause tolerance, $tolerance ms): $victim is never marked failed; no false failures; all alive at the end"
    checks=("never-failed $victim" "no-false-failures" "all-alive-at-end")
    if ha_on; then
        expectation+="; nothing is fenced"
        checks+=("no-fences")
    fi
    faulted=("$victim")
    for i in 1 2 3; do
        "$here/chaos/pause" "$victim" "$seconds"
        sleep 4
    done
    sleep 4
}
