# Scenario crash-one for scripts/chaos.sh (sourced by it; runs in its shell with its helpers).
# crash-one: SIGKILL one node.
# Expectation: every survivor marks it failed (waiting at most 60 s); no other node is
# marked failed by anyone.
scenario_crash_one() {
    local victim
    pick 1
    victim=$picked
    expectation="SIGKILL $victim: every survivor marks $victim failed; no node that was not faulted is marked failed"
    checks=("failed-everywhere $victim" "no-false-failures")
    faulted=("$victim")
    detect_targets=("$victim")
    read -r -a detect_observers <<<"$(except "$victim")"
    "$here/chaos/kill" "$victim"
    # shellcheck disable=SC2046
    wait_for 60 seen_by_all failed "$victim" $(except "$victim") || note "not every survivor marked $victim failed within 60 s"
    sleep 5  # a little longer, so that a false failure caused by the crash would show
}
