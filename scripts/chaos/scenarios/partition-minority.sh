# Scenario partition-minority for scripts/chaos.sh (sourced by it; runs in its shell with its helpers).
# partition-minority: cut floor((N-1)/2) nodes (2 of 5) off the others for 30 s, then heal.
# Expectation (Vigil): no node of the majority side is marked failed by anyone, the
# minority's own views included (an observer that suspects more than half the members does
# not vote, and 2 of 5 votes make no certificate); after the heal every node sees every
# node alive.
# With HA (the default): the minority never fences (no leader there: every fence step is
# signed by a majority node); the majority fences each cut-off node exactly once, through its
# BMC, which stays reachable (the management network, br0's address, is not cut), and
# Masakari gets one notification for each. Two of five are more than the brake's 30%, so the
# leader holds them `awaiting-approval`: the scenario approves (`vigil fence approve --all` on a
# majority node: the operator who sees that the cut-off rack is really gone) and expects no
# fence before that. After the heal it powers the fenced nodes on (scripts/chaos/power) and
# returns them to service (`vigil fence unfence`), then expects everyone alive.
# Without HA (--no-ha): a cut-off node the majority certified failed stays failed for its life
# (it should learn it and log `declared-failed`); 10 s after the heal the scenario restarts each
# cut-off node the majority still holds failed — the power cycle the fence does with HA — and
# then expects everyone alive. Serf is run the same way (no restart: it has no such rule) and
# reported as is.
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
    if ha_on; then
        partition_minority_ha
        return
    fi
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

# The HA half of partition-minority (variables of the caller: cut, rest, hold).
partition_minority_ha() {
    local n started approver braked=0
    approver=$(echo "$rest" | awk '{print $1}')
    expectation="cut $cut off from $rest for at least $hold s: no node of the majority side is marked failed by anyone; the minority never fences; the majority fences each of $cut exactly once (after \`vigil fence approve --all\` if the brake holds them) and Masakari gets one notification each; after the heal, power on and \`vigil fence unfence\`, every node sees every node alive"
    checks+=("fences-only-by ${rest// /,}")
    for n in $cut; do checks+=("fenced-once $n" "recovered-once $n" "event-seen ha:unfenced $n"); done
    for n in $rest; do checks+=("never-fenced $n"); done
    started=$SECONDS
    "$here/chaos/partition" "$cut" "$rest"
    acted_on() { local c; for c in $cut; do ha_seen "$c" awaiting-approval || ha_seen "$c" fencing || return 1; done; }
    all_off() { local c; for c in $cut; do powered_off "$c" || return 1; done; }
    wait_for 30 acted_on || note "the majority had not acted on every one of $cut within 30 s (no awaiting-approval or fencing)"
    for n in $cut; do ha_seen "$n" awaiting-approval && braked=1; done
    if ((braked)); then
        sleep 5  # the brake holds: nothing may be fenced meanwhile (checked: fenced-after-approval)
        for n in $cut; do checks+=("fenced-after-approval $n"); done
        fence_on "$approver" approve --all || note "vigil fence approve --all on $approver failed"
    fi
    wait_for 40 all_off || note "not every one of $cut was powered off within 40 s"
    local left=$((hold - (SECONDS - started)))
    ((left <= 0)) || sleep "$left"
    "$here/chaos/heal"
    for n in $cut; do "$here/chaos/power" "$n" on || note "$n did not power on"; done
    back() { local c o; for c in $cut; do for o in $rest; do [[ $(status_in "$o" "$c") == alive ]] || return 1; done; done; }
    wait_for 60 back || note "the majority did not see every one of $cut alive (a new life) within 60 s of its power-on"
    for n in $cut; do fence_on "$approver" unfence "$n" || note "vigil fence unfence $n on $approver failed"; done
    extra_json=$(jq -cn --argjson h "$hold" --argjson b "$braked" --arg a "$approver" \
        '{partition_seconds: $h, brake_held: ($b == 1), operator_node: $a}')
    wait_for 60 everyone_alive || note "not every node saw every node alive within 60 s after the unfence"
    sleep 2
}
