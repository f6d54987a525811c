# Scenario leader-crash-mid-fence for scripts/chaos.sh (sourced by it; runs in its shell with its helpers).
# leader-crash-mid-fence: SIGKILL a follower; as soon as the leader has ordered its fence (the
# `fencing` step shows in the leader's own event stream), and before the BMC reports it Off
# (sushy's fake driver takes 1-11 s), SIGKILL the leader too.
# Expectation (needs HA, 5 nodes or more, so that a majority survives both): the survivors
# elect a new leader, which finishes the fence under its own term (power-off is idempotent):
# the follower is fenced exactly once (one life fenced, its BMC goes Off once) and Masakari
# gets exactly one notification for it; the old leader is marked failed by every survivor and
# fenced at most once (two failed of five trip the brake until the first one's fence takes it
# out of the count, so whether it is held is reported, not asserted); no survivor is failed or
# fenced. Waits at most 60 s for the follower's recovery.
ha_scenarios+=(leader-crash-mid-fence)
min_nodes[leader-crash-mid-fence]=5
scenario_leader_crash_mid_fence() {
    local leader victim n i ordered_ms killed_ms in_flight=0 rest
    need_ha
    ((NODES >= 5)) || usage_error "leader-crash-mid-fence needs at least 5 nodes (a majority must survive two crashes)"
    leader=$(current_leader) || die "no leader to crash"
    # A follower, chosen with the seed.
    for i in $(seq 1 50); do
        pick 1
        [[ $picked != "$leader" ]] && break
    done
    victim=$picked
    rest=$(except "$victim $leader")
    expectation="SIGKILL $victim, then its leader $leader as soon as it has ordered the fence: a new leader finishes the fence; $victim is fenced exactly once and recovered once; $leader is marked failed by every survivor and fenced at most once; no survivor is failed or fenced"
    checks=("no-false-failures" "failed-everywhere $victim" "failed-everywhere $leader" "fence-resumed $victim"
        "fenced-once $victim" "recovered-once $victim" "fenced-at-most-once $leader")
    for n in $rest; do checks+=("never-fenced $n"); done
    faulted=("$victim" "$leader")
    detect_targets=("$victim")
    read -r -a detect_observers <<<"$rest $leader"
    "$here/chaos/kill" "$victim"
    # The leader's own stream shows its step first; poll it closely (the BMC gives us 1-11 s).
    for _ in $(seq 1 600); do
        grep -q "\"member\": \"$victim\".*\"phase\": \"fencing\"\\|\"phase\": \"fencing\".*\"member\": \"$victim\"" \
            "$(node_dir "$leader")/events.ndjson" 2>/dev/null && { ordered_ms=$(now_ms); break; }
        sleep 0.05
    done
    if [[ -z ${ordered_ms:-} ]]; then
        note "$leader never ordered the fence of $victim within 30 s"
        ordered_ms=0
    fi
    ha_seen "$victim" fenced || powered_off "$victim" || in_flight=1
    "$here/chaos/kill" "$leader"
    killed_ms=$(now_ms)
    ((in_flight)) || note "the fence of $victim was already confirmed when $leader was killed (not mid-fence)"
    wait_for 60 ha_seen "$victim" recovered || note "$victim was not recovered within 60 s of the leader's crash"
    # The old leader: held by the brake, or fenced once the victim's fence took it out of the count.
    settled() { ha_seen "$leader" recovered || ha_seen "$leader" awaiting-approval; }
    wait_for 30 settled || note "$leader was neither recovered nor held by the brake within 30 s"
    sleep 5  # a second fence of either would show here
    local held=0 fenced=0
    ha_seen "$leader" awaiting-approval && held=1
    ha_seen "$leader" fenced && fenced=1
    note "old leader $leader: $( ((held)) && echo "held by the brake" || echo "not held by the brake")$( ((fenced)) && echo ", fenced" || echo ", not fenced")"
    extra_json=$(jq -cn --arg l "$leader" --arg v "$victim" --argjson o "$ordered_ms" --argjson k "$killed_ms" --argjson f "$in_flight" \
        --argjson h "$held" --argjson x "$fenced" \
        '{old_leader: $l, victim: $v, leader_killed_ms_after_fence_ordered: (if $o > 0 then $k - $o else null end),
          fence_in_flight_at_kill: ($f == 1), old_leader_held_by_brake: ($h == 1), old_leader_fenced: ($x == 1)}')
}
