# Scenario rolling-restart for scripts/chaos.sh (sourced by it; runs in its shell with its helpers).
# rolling-restart: every node restarted in turn, n1 first (scripts/chaos/restart: SIGTERM,
# as `systemctl restart` does, then the same command again); the next node only once every
# node sees every node alive again (at most 30 s), then 2 s more; the first 11 s after
# the steady state, so that every agent has saved its members once.
# Expectation: nobody marks any node failed: Vigil's agent leaves the cluster on SIGTERM
# (a signed leave, seen as `left`), and its new life rejoins; for Vigil each node is seen
# `left` by some other node after its restart (the leave was graceful). Every node sees
# every node alive at the end. Serf is run the same way (serf leaves on SIGTERM only with
# leave_on_terminate, which its defaults do not set) and reported as it is, without the
# `left` checks. With HA (Vigil's default): nothing is fenced (a graceful leave is no failure).
scenario_rolling_restart() {
    local n t0 rejoin=()
    expectation="restart every node in turn (SIGTERM, then start again; the next once every node sees every node alive): nobody marks any node failed; every node sees every node alive at the end"
    checks=("no-failures" "all-alive-at-end")
    if ha_on; then
        expectation+="; nothing is fenced"
        checks+=("no-fences")
    fi
    read -r -a faulted <<<"$(all_nodes)"
    if [[ $SYSTEM == vigil ]]; then
        expectation+="; each restarted node is seen left (a graceful leave) first"
        for n in $(all_nodes); do checks+=("left-seen $n"); done
    fi
    # An agent saves its members to its data directory every 10 s, and n1's config has no
    # `join` (it is the first): restarted sooner, n1 would know nobody and start a cluster
    # of its own (seen on 2026-12-01: README, rolling-restart). Wait for the first save.
    sleep 11
    for n in $(all_nodes); do
        t0=$(now_ms)
        "$here/chaos/restart" "$n"
        if wait_for 30 everyone_alive; then
            rejoin+=("$n:$(($(now_ms) - t0))")
        else
            note "$n: not every node saw every node alive within 30 s of its restart"
            rejoin+=("$n:null")
        fi
        sleep 2
    done
    extra_json=$(jq -cn --arg r "${rejoin[*]}" \
        '{rejoin_ms: ($r | split(" ") | map(split(":") | {(.[0]): (.[1] | fromjson)}) | add)}')
    sleep 3
}
