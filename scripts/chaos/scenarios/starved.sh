# Scenario starved for scripts/chaos.sh (sourced by it; runs in its shell with its helpers).
# starved: one agent held to 5% of one CPU for two minutes (scripts/chaos/starve: cgroup v1
# cpu quota), then freed.
# Expectation (checked first: the cap bit, i.e. the kernel throttled the agent at least
# once — an idle Vigil agent of a 5-node cluster uses about 2% of a CPU, so 5% may not bite;
# see starved-hard): the case Lifeguard was made for. The starved node may be found failed (its
# acks leave late or not at all: for the others it is as good as gone), but no healthy node
# may be suspected or marked failed by anyone — the starved node's own probes time out
# because it runs late, not because the others are gone, and Lifeguard's health score
# (raised by its own late timers and missed acks) stretches its timeouts and keeps it from
# voting. At the end every node sees every node alive: a Vigil node certified failed stays
# failed for its life, so 10 s after the cap is lifted the scenario restarts it if a
# healthy node still holds it failed (the fence's power cycle, until HA runs in these
# scripts). Serf is run the same way, without the restart.
no_ha_scenarios+=(starved)  # it restarts the node it faulted itself: no fence to race with
# The issue's 5%: an idle agent needs less than that, so the cap alone never bites (first
# runs: 0 of 1199 periods throttled); a busy loop in the same cgroup (`starve --hog`) takes
# its share, as a runaway process on the host would, and the agent waits its turn.
scenario_starved() { starved_run 5 120 100 --hog; }

# starved_run PERCENT SECONDS PERIOD_MS [--hog]: the starved scenarios' common part.
starved_run() {
    local victim percent=$1 hold=$2 period=$3 hog=${4:-} o failed_by=() restarted=false stat
    pick 1
    victim=$picked
    extra_json=$(jq -cn --argjson p "$percent" --argjson h "$hold" '{starve_percent: $p, starve_seconds: $h}')
    expectation="hold $victim's agent to $percent% of one CPU (cfs period $period ms${hog:+, shared with a busy loop}) for $hold s: $victim may be found failed, but no other node is suspected or marked failed by anyone; every node sees every node alive at the end"
    checks=("throttled $victim" "no-false-failures" "no-false-suspicions" "all-alive-at-end")
    faulted=("$victim")
    detect_targets=("$victim")
    read -r -a detect_observers <<<"$(except "$victim")"
    "$here/chaos/starve" --period "$period" $hog "$victim" "$percent"
    sleep "$hold"
    cp "$(starve_cgroup "$victim")/cpu.stat" "$(node_dir "$victim")/cpu.stat"
    stat=$(tr '\n' ' ' <"$(node_dir "$victim")/cpu.stat")
    "$here/chaos/starve" "$victim" 0
    for o in $(except "$victim"); do [[ $(status_in "$o" "$victim") == failed ]] && failed_by+=("$o"); done
    if ((${#failed_by[@]} > 0)); then
        note "$victim was held failed by ${failed_by[*]} when the cap was lifted"
    fi
    if [[ $SYSTEM == vigil ]]; then
        sleep 10
        for o in $(except "$victim"); do
            if [[ $(status_in "$o" "$victim") == failed ]]; then
                "$here/chaos/restart" "$victim"
                restarted=true
                break
            fi
        done
    fi
    extra_json=$(jq -cn --argjson p "$percent" --argjson h "$hold" --argjson c "$period" --arg f "${failed_by[*]}" \
        --arg s "$stat" --argjson r "$restarted" \
        '{starve_percent: $p, starve_seconds: $h, starve_period_ms: $c, failed_by_when_lifted: ($f | split(" ") | map(select(. != ""))),
          restarted_after_lift: $r, cpu_stat: $s}')
    wait_for 60 everyone_alive || note "not every node saw every node alive within 60 s after the cap was lifted"
    sleep 2
}
