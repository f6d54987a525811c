# Scenario loss-10 for scripts/chaos.sh (sourced by it; runs in its shell with its helpers).
# loss-10: a soak: every node loses 10% of the frames it sends (`loss nK 10 --out` on every
# node, so each frame between two nodes is lost with probability 0.10 once, as the
# simulator's `--loss 10%`), for 10 minutes (VIGIL_CHAOS_DURATION=SECONDS for a short run).
# Expectation: no node is marked failed by anyone (DESIGN.md invariant 5: no live node
# declared failed under the stated loss budget; the simulator's figure (b) holds 10% loss
# for an hour with none); everyone alive at the end, after the loss is removed.
# Suspicions are expected (a probe round can lose its ping, ack and relays) and are counted.
scenario_loss_10() {
    soak_with_loss 10 "$(scenario_seconds 600)"
}

# soak_with_loss PERCENT SECONDS: every node loses PERCENT% of the frames it sends for
# SECONDS, then the loss is removed (loss-10 and loss-soak).
soak_with_loss() {
    local percent=$1 seconds=$2 n dropped
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
