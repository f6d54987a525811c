# Scenario skew for scripts/chaos.sh (sourced by it; runs in its shell with its helpers).
# skew (Vigil only): one node's wall clock 25 s ahead (scripts/chaos/skew, which restarts
# its agent: a graceful leave and a new life), held for 60 s, then set right (another restart).
# Expectation: detection runs on the monotonic clock, and ±30 s is the seal's freshness
# window, so 25 s ahead changes nothing but the node's own log and event times (checked:
# clock-skewed): the node rejoins, is never marked failed, no other node is, and every
# node sees every node alive at the end. (30 s is the edge: one way drops most packets as
# stale; beyond it the node is cut off: see skew-beyond.)
scenario_systems[skew]=vigil
scenario_skew() {
    skew_run 25 60 rejoins
    expectation="set $skewed_node's clock 25 s ahead (inside the ±30 s freshness window) for 60 s, then right again: $skewed_node is never marked failed, nor is anyone else; all alive at the end"
    checks=("clock-skewed $skewed_node 25" "never-failed $skewed_node" "no-false-failures" "all-alive-at-end")
}

# skew_run SECONDS HOLD rejoins|cut-off: the skew scenarios' common part; sets skewed_node.
skew_run() {
    local victim ahead=$1 hold=$2 info_json stale=() n
    pick 1
    victim=$picked skewed_node=$picked
    faulted=("$victim")
    "$here/chaos/skew" "$victim" "$ahead"
    if [[ $3 == rejoins ]]; then
        wait_for 30 everyone_alive || note "not every node saw every node alive within 30 s of $victim's skewed restart"
    fi
    sleep "$hold"
    for n in $(all_nodes); do
        info_json=$("$VIGIL" info --control "$(node_dir "$n")/vigil.sock" --format json 2>/dev/null || echo '{}')
        stale+=("$n:$(jq -r '.counters.dropped_stale // "?"' <<<"$info_json")")
    done
    members_json "$victim" >"$RUN/victim-skewed-view.json" || true
    "$here/chaos/skew" "$victim" 0
    wait_for 60 everyone_alive || note "not every node saw every node alive within 60 s after $victim's clock was set right"
    extra_json=$(jq -cn --argjson a "$ahead" --argjson h "$hold" --arg s "${stale[*]}" \
        --argjson v "$(jq -c '[.members[] | select(.status == "alive") | .name]' "$RUN/victim-skewed-view.json" 2>/dev/null || echo null)" \
        '{skew_seconds: $a, hold_seconds: $h, dropped_stale_while_skewed: $s, alive_in_skewed_view: $v}')
    sleep 2
}
