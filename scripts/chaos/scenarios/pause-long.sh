# Scenario pause-long for scripts/chaos.sh (sourced by it; runs in its shell with its helpers).
# pause-long: SIGSTOP one node for 60 s, far beyond the preset's pause tolerance (lan: 1.3 s),
# a VM frozen for good, or a host hung in the kernel.
# Expectation (needs HA): every other node marks it failed; the leader fences it exactly once
# (one life fenced, its BMC goes Off once), and the power watcher then kills the frozen agent
# with everything in its namespace, so it never runs again (it is never resumed: no SIGCONT
# reaches it before the power-off); Masakari gets exactly one notification for it, after the
# fence; no other node is failed or fenced. Waits at most 45 s for the power-off.
# Without HA (--no-ha, or serf: what scripts/compare-serf.sh runs), the detection part only:
# every other node marks it failed, nobody else is; the pause is then ended (SIGCONT).
scenario_pause_long() {
    local victim seconds=60 n pauser
    pick 1
    victim=$picked
    if ((!HA)); then
        expectation="SIGSTOP $victim (no HA): every other node marks it failed; no other node is marked failed"
        checks=("failed-everywhere $victim" "no-false-failures")
    else
        expectation="SIGSTOP $victim for $seconds s: every other node marks it failed; it is fenced exactly once, its BMC powers it off (the frozen agent is killed, never resumed) and Masakari gets one notification for it, after the fence; no other node is failed or fenced"
        checks=("failed-everywhere $victim" "no-false-failures" "silent-after-fault $victim" "fenced-once $victim" "recovered-once $victim")
        for n in $(except "$victim"); do checks+=("never-fenced $n"); done
    fi
    faulted=("$victim")
    detect_targets=("$victim")
    read -r -a detect_observers <<<"$(except "$victim")"
    # The pause runs beside the scenario; with HA the power-off kills the paused agent.
    "$here/chaos/pause" "$victim" "$seconds" >"$out/pause.log" 2>&1 &
    pauser=$!
    # shellcheck disable=SC2046
    wait_for 45 seen_by_all failed "$victim" $(except "$victim") || note "not every other node marked $victim failed within 45 s"
    if ((HA)); then
        wait_for 45 powered_off "$victim" || note "$victim was not powered off within 45 s of being marked failed"
        ! agent_pid "$victim" >/dev/null || note "$victim's agent still runs after its power-off"
    else
        sleep 5  # a false failure caused by the pause would show here
    fi
    # chaos/pause is still in its sleep (bash runs its trap only after it): end the sleep, by
    # pid; without HA it resumes the agent on its way out.
    pkill -P "$pauser" sleep 2>/dev/null || true
    wait "$pauser" 2>/dev/null || true
    ((HA)) || return 0
    wait_for 30 ha_seen "$victim" recovered || note "$victim was not recovered within 30 s of its power-off"
    sleep 5  # a second fence, or a false failure, would show here
}
