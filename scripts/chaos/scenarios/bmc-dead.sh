# Scenario bmc-dead for scripts/chaos.sh (sourced by it; runs in its shell with its helpers).
# bmc-dead: one node's BMC refuses power-off (scripts/chaos/bmc-fail), then the node crashes
# (SIGKILL).
# Expectation (needs HA): every survivor marks it failed; the leader tries to fence it and
# keeps failing (`fence-failed`, retried with backoff) for the 20 s the scenario watches;
# nothing is recovered (no Masakari notification, no recovery step: a node that may still be
# running is never recovered); its BMC stays On; and the operator is told loudly: the
# `fence-failed` step is in the event streams, logged at critical (`ha.changed`), and listed by
# `vigil fence status` (exit 3) and `vigil history` on the survivors. No other node is fenced.
ha_scenarios+=(bmc-dead)
scenario_bmc_dead() {
    local victim n watch=20
    need_ha
    pick 1
    victim=$picked
    expectation="the BMC of $victim refuses power-off, then $victim is SIGKILLed: every survivor marks it failed; its fence fails and is retried, nothing is recovered, its BMC stays On; \`fence-failed\` is in the event streams, logged at critical and shown by \`vigil fence status\` (exit 3) and \`vigil history\`; no other node is fenced"
    checks=("failed-everywhere $victim" "no-false-failures" "no-recovery $victim" "bmc-stayed-on $victim"
        "event-seen ha:fence-failed $victim" "log-critical fence-failed $victim" "operator-sees fence-failed $victim")
    for n in $(except "$victim"); do checks+=("never-fenced $n"); done
    faulted=("$victim")
    detect_targets=("$victim")
    read -r -a detect_observers <<<"$(except "$victim")"
    extra_json=$(jq -cn --argjson w "$watch" '{watched_seconds_after_first_fence_failure: $w}')
    "$here/chaos/bmc-fail" "$victim" on
    "$here/chaos/kill" "$victim"
    # shellcheck disable=SC2046
    wait_for 60 seen_by_all failed "$victim" $(except "$victim") || note "not every survivor marked $victim failed within 60 s"
    wait_for 30 ha_seen "$victim" fence-failed || note "no fence-failed step for $victim within 30 s"
    sleep "$watch"  # retries (1 s doubling to 5 s) keep failing; nothing may be recovered meanwhile
}
