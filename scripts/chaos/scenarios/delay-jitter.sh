# Scenario delay-jitter for scripts/chaos.sh (sourced by it; runs in its shell with its helpers).
# delay-jitter: every frame between nodes is held 100 ms ± 50 ms (uniform, so frames are
# reordered; scripts/chaos/delay on every node, each frame delayed once), for 60 s
# (VIGIL_CHAOS_DURATION), then the delay is removed. A round trip is then 200 ± 100 ms, as
# long as the `lan` preset's direct probe timeout (200 ms): many direct probes are late
# and go through relays (two more delayed hops), which is what this tests.
# Expectation: no node is marked failed by anyone; all alive at the end. Suspicions are
# counted, not forbidden.
prepare_delay_jitter() { "$here/chaos/delay" --setup; }
scenario_delay_jitter() {
    local seconds n delayed
    seconds=$(scenario_seconds 60)
    extra_json=$(jq -cn --argjson s "$seconds" '{delay_ms: 100, jitter_ms: 50, delay_seconds: $s, delay_applied: "every node (each frame once)"}')
    expectation="every frame held 100 ms ± 50 ms for $seconds s: no node is marked failed by anyone; all alive at the end"
    checks=("no-false-failures" "all-alive-at-end")
    faulted=()
    for n in $(all_nodes); do "$here/chaos/delay" "$n" 100 50; done
    sleep "$seconds"
    for n in $(all_nodes); do "$here/chaos/delay" "$n" 0; done
    # Each delayer's last line: "delayer: stopped after N frames".
    delayed=$(cat "$RUN"/faults/delay-n*.log 2>/dev/null | awk '/stopped after/ { s += $4 } END { print s + 0 }')
    extra_json=$(jq -c --argjson d "$delayed" '. + {frames_delayed: $d}' <<<"$extra_json")
    ((delayed > 0)) || note "the delayers held no frame: the fault did not bite"
    wait_for 30 everyone_alive || note "not every node saw every node alive within 30 s after the delay ended"
    sleep 2
}
