# Scenario crash-one for scripts/chaos.sh (sourced by it; runs in its shell with its helpers).
# crash-one: SIGKILL one node.
# Expectation: every survivor marks it failed (waiting at most 60 s); no other node is
# marked failed by anyone. With HA: the leader fences it exactly once (its BMC goes Off
# once) and Masakari gets exactly one notification for it, sent only after the fence was
# confirmed; nobody else is fenced (waiting at most 60 s for the recovery: sushy's fake
# power-off alone takes 1-11 s).
scenario_crash_one() {
    local victim n
    pick 1
    victim=$picked
    expectation="SIGKILL $victim: every survivor marks $victim failed; no node that was not faulted is marked failed"
    checks=("failed-everywhere $victim" "no-false-failures")
    if ha_on; then
        expectation+="; $victim is fenced exactly once and recovered once (one Masakari notification, after the fence); no other node is fenced"
        checks+=("fenced-once $victim" "recovered-once $victim")
        for n in $(except "$victim"); do checks+=("never-fenced $n"); done
    fi
    faulted=("$victim")
    detect_targets=("$victim")
    read -r -a detect_observers <<<"$(except "$victim")"
    "$here/chaos/kill" "$victim"
    # shellcheck disable=SC2046
    wait_for 60 seen_by_all failed "$victim" $(except "$victim") || note "not every survivor marked $victim failed within 60 s"
    if ha_on; then
        wait_for 60 ha_seen "$victim" recovered || note "$victim was not recovered within 60 s of being marked failed"
    fi
    sleep 5  # a little longer, so that a false failure (or a second fence) caused by the crash would show
}
