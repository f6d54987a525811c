# Scenario crash-many for scripts/chaos.sh (sourced by it; runs in its shell with its helpers).
# crash-many: SIGKILL more than the brake's share of the nodes at once (the agents' default
# `ha.max_failed_share`, 30%: 2 of 5), fewer than half, so the rest keep a majority and a
# leader. A rack switch or a power strip, not a cloud-wide failure: exactly what the brake
# is for.
# Expectation (needs HA, 5 nodes or more): every survivor marks them failed; the leader holds
# them `awaiting-approval` (logged at critical) and fences none of them for the 15 s the
# scenario waits; then `vigil fence approve --all` on a survivor, and each is fenced exactly
# once, only after the approval, and recovered once (one Masakari notification each); no
# survivor is failed or fenced.
ha_scenarios+=(crash-many)
min_nodes[crash-many]=5
scenario_crash_many() {
    local share=30 count victims rest n hold=15
    need_ha
    # The fewest nodes that trip the share rule (two at least), while a majority survives.
    count=$((NODES * share / 100 + 1))
    ((count >= 2)) || count=2
    ((2 * count < NODES)) || usage_error "crash-many needs at least 5 nodes (killing $count of $NODES leaves no majority to fence)"
    pick "$count"
    victims=$picked
    rest=$(except "$victims")
    expectation="SIGKILL $victims at once ($count of $NODES, above the brake's $share%): every survivor marks them failed; none is fenced before \`vigil fence approve --all\` ($hold s after the brake held them); then each is fenced exactly once and recovered once; no survivor is failed or fenced"
    checks=("no-false-failures")
    for n in $victims; do
        checks+=("failed-everywhere $n" "log-critical awaiting-approval $n" "fenced-after-approval $n" "fenced-once $n" "recovered-once $n")
    done
    for n in $rest; do checks+=("never-fenced $n"); done
    read -r -a faulted <<<"$victims"
    read -r -a detect_targets <<<"$victims"
    read -r -a detect_observers <<<"$rest"
    extra_json=$(jq -cn --argjson s "$share" --argjson h "$hold" '{brake_share_percent: $s, hold_before_approval_seconds: $h}')
    # shellcheck disable=SC2086
    "$here/chaos/kill" $victims  # one kill(1) for all: at once
    all_held() { local v; for v in $victims; do ha_seen "$v" awaiting-approval || return 1; done; }
    all_recovered() { local v; for v in $victims; do ha_seen "$v" recovered || return 1; done; }
    for n in $victims; do
        # shellcheck disable=SC2086
        wait_for 60 seen_by_all failed "$n" $rest || note "not every survivor marked $n failed within 60 s"
    done
    wait_for 30 all_held || note "the brake did not hold every one of $victims within 30 s"
    sleep "$hold"  # an operator looks at what happened; nothing may be fenced meanwhile
    local approver
    approver=$(echo "$rest" | awk '{print $NF}')
    fence_on "$approver" approve --all || note "vigil fence approve --all on $approver failed"
    wait_for 60 all_recovered || note "not all of $victims were recovered within 60 s of the approval"
    sleep 5  # a second fence would show here
}
