# Scenario flap for scripts/chaos.sh (sourced by it; runs in its shell with its helpers).
# flap: one node's link flaps: cut off from all the others for 5 s, back for 5 s, again,
# for 60 s (VIGIL_CHAOS_DURATION), then it stays up.
# Expectation (Vigil, by design: README "How a failure is decided", 8): a 5 s cut is
# longer than detection (~2 s for `lan`), so the others certify the node failed during the
# first cut, and failed is final for a life: through every later heal it stays failed in
# every other node's view, never back to alive (no oscillation after the first 10 s); the
# node alone on its side suspects everyone, so it never votes and nobody else is marked
# failed. (A power cycle, a new life, would bring it back; the scenario does not.) Serf has
# no such rule and is expected to oscillate (failed, alive, failed...): it is reported as is.
no_ha_scenarios+=(flap)  # detection behaviour: a fence would power the node off mid-scenario (crash-one and pause-long cover the fence)
scenario_flap() {
    local victim rest seconds period=5
    pick 1
    victim=$picked
    rest=$(except "$victim")
    seconds=$(scenario_seconds 60)
    extra_json=$(jq -cn --argjson p "$period" --argjson s "$seconds" '{flap_period_seconds: $p, flap_seconds: $s}')
    expectation="$victim's link cut and healed every $period s for $seconds s: every other node marks $victim failed and it stays failed (no oscillation after 10 s); nobody else is marked failed"
    checks=("failed-everywhere $victim" "no-oscillation $victim 10" "no-false-failures")
    faulted=("$victim")
    detect_targets=("$victim")
    read -r -a detect_observers <<<"$rest"
    "$here/chaos/flap" "$victim" "$rest" "$period" "$seconds"
    sleep "$seconds"
    wait_for 15 bash -c "! [[ -f $RUN/faults/flap.what ]]" || true
    sleep 10  # link up for good: a node brought back now would be oscillating
}
