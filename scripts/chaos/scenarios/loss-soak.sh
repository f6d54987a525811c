# Scenario loss-soak for scripts/chaos.sh (sourced by it; runs in its shell with its helpers).
# loss-soak: loss-10 at another rate: every node loses VIGIL_CHAOS_LOSS percent (default 20)
# of the frames it sends (`loss nK P --out` on every node) for 120 s (VIGIL_CHAOS_DURATION).
# Expectation: no node is marked failed by anyone; all alive at the end, after the loss is
# removed. Suspicions are expected and counted.
# A measurement for scripts/bench-curve.sh, not part of the suite (`chaos.sh list --all`).
bench_scenarios+=(loss-soak)
prepare_loss_soak() {
    [[ ${VIGIL_CHAOS_LOSS:-20} =~ ^[0-9]+$ ]] && ((10#${VIGIL_CHAOS_LOSS:-20} >= 1 && 10#${VIGIL_CHAOS_LOSS:-20} <= 99)) ||
        { echo "chaos: VIGIL_CHAOS_LOSS must be a whole percentage from 1 to 99, got \`$VIGIL_CHAOS_LOSS\`" >&2; return 1; }
}
scenario_loss_soak() {
    local seconds n dropped percent=$((10#${VIGIL_CHAOS_LOSS:-20}))
    seconds=$(scenario_seconds 120)
    extra_json=$(jq -cn --argjson p "$percent" --argjson s "$seconds" \
        '{loss_percent: $p, loss_seconds: $s, loss_applied: "each node: \($p)% of the frames it sends"}')
    expectation="every node loses $percent% of the frames it sends for $seconds s: no node is marked failed by anyone; all alive at the end"
    checks=("no-false-failures" "all-alive-at-end")
    faulted=()
    for n in $(all_nodes); do "$here/chaos/loss" "$n" "$percent" --out; done
    sleep "$seconds"
    dropped=$(nft_dropped chaos_loss)
    extra_json=$(jq -c --argjson d "$dropped" '. + {loss_frames_dropped: $d}' <<<"$extra_json")
    for n in $(all_nodes); do "$here/chaos/loss" "$n" 0; done
    wait_for 30 everyone_alive || note "not every node saw every node alive within 30 s after the loss ended"
    sleep 2
}
