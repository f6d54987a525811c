# Scenario gray for scripts/chaos.sh (sourced by it; runs in its shell with its helpers).
# gray: one node loses 80% of the frames it receives (`loss NODE 80 --in`; what it sends
# all arrives) for 180 s (VIGIL_CHAOS_DURATION), longer than the `lan` flap window (2 min)
# so that the flap limit can act: a gray failure, half there.
# Expectation: the node ends stably failed or stably alive in every other node's view,
# never oscillating: from 30 s on, at most one status change of it per observer and never
# back from failed (for Vigil failed is final for a life, and a member that refuted 6
# suspicions within 2 min is voted on at once: README "How a failure is decided", 8). No
# other node is affected: nobody but the gray node sees any other member leave `alive`,
# and nobody is marked failed but the gray node.
no_ha_scenarios+=(gray)  # detection behaviour: a fence would power the node off mid-scenario (crash-one and pause-long cover the fence)
scenario_gray() {
    local victim seconds dropped
    pick 1
    victim=$picked
    seconds=$(scenario_seconds 180)
    extra_json=$(jq -cn --argjson s "$seconds" '{gray_loss_in_percent: 80, gray_seconds: $s}')
    expectation="$victim loses 80% of its incoming frames for $seconds s: it ends stably failed or stably alive (no oscillation after 30 s); no other node is affected (nobody else suspected or failed, except in $victim's own view)"
    checks=("no-oscillation $victim 30" "unaffected-except $victim" "no-false-failures")
    faulted=("$victim")
    "$here/chaos/loss" "$victim" 80 --in
    sleep "$seconds"
    dropped=$(nft_dropped chaos_loss)
    extra_json=$(jq -c --argjson d "$dropped" '. + {gray_frames_dropped: $d}' <<<"$extra_json")
}
