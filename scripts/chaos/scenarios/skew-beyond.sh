# Scenario skew-beyond for scripts/chaos.sh (sourced by it; runs in its shell with its helpers).
# skew-beyond (Vigil only): one node's wall clock 60 s ahead, past the seal's ±30 s
# freshness window, for 60 s, then set right. Each change restarts its agent
# (scripts/chaos/skew).
# Expectation: every packet it seals is dropped as stale by the others and it drops theirs,
# so it cannot rejoin: it is cut off, which is the replay defence working. No other node
# is marked failed by anyone (the cut-off node hears no one, so it votes for nothing); the
# node is told: its log has a warning or error while skewed (log-warns); once its clock is
# right it rejoins and every node sees every node alive at the end.
scenario_systems[skew-beyond]=vigil
scenario_skew_beyond() {
    skew_run 60 60 cut-off
    expectation="set $skewed_node's clock 60 s ahead (past the ±30 s freshness window) for 60 s, then right again: no other node is marked failed; $skewed_node logs a warning while cut off; all alive at the end"
    checks=("clock-skewed $skewed_node 60" "no-false-failures" "log-warns $skewed_node" "all-alive-at-end")
}
