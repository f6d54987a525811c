# Scenario rotate-with-node-down for scripts/chaos.sh (sourced by it; runs in its shell with its helpers).
# rotate-with-node-down (Vigil only): SIGKILL one node; once the others hold it failed,
# rotate the cluster key on the live ones (README, "Rotating the cluster key": `vigil keys
# install NEW`, `use NEW`, `remove OLD`, each issued at one live node and waiting for every
# live member); restart the down node as it was (config `encrypt:` the old key; it was down
# for every keyring record, so it has no keyring.json); 20 s later do what an operator would:
# put the new key in its config's `encrypt:`, delete its keyring.json if any, restart it.
# Expectation: the key commands succeed and every live member ends holding only the new key
# (key-rotated); the node with the old key cannot get in and disturbs no one (no node that
# was not faulted is marked failed, it is not seen alive by the others meanwhile); it is
# told: its log has a warning or error while it runs with the old key (log-warns); with the
# new key it rejoins and every node sees every node alive at the end.
no_ha_scenarios+=(rotate-with-node-down)  # it restarts the node it faulted itself: no fence to race with
scenario_systems[rotate-with-node-down]=vigil
scenario_rotate_with_node_down() {
    local victim live at ctl old new op output status n dir
    pick 1
    victim=$picked
    live=$(except "$victim")
    at=${live%% *}
    ctl=$(node_dir "$at")/vigil.sock
    dir=$(node_dir "$victim")
    expectation="kill $victim, rotate the cluster key at $at (install, use, remove), restart $victim with the old key, then with the new one: every live member ends with only the new key; $victim with the old key gets in nowhere, disturbs no one and logs a warning; with the new key it rejoins and all are alive at the end"
    checks=("key-rotated" "no-false-failures" "old-key-kept-out $victim" "log-warns $victim" "all-alive-at-end")
    faulted=("$victim")
    "$here/chaos/kill" "$victim"
    # shellcheck disable=SC2086
    wait_for 30 seen_by_all failed "$victim" $live || note "not every live node held $victim failed within 30 s"
    old=$(sed -n 's/^encrypt: "\(.*\)"$/\1/p' "$dir/config.yaml")
    new=$("$VIGIL" keygen)
    "$VIGIL" keys list --control "$ctl" --format json >"$RUN/keys-before.json"
    record_fault rotate "$live" "keys install/use/remove at $at while $victim is down"
    local outputs=()
    for op in "install $new" "use $new" "remove $old"; do
        status=0
        # shellcheck disable=SC2086
        output=$("$VIGIL" keys $op --control "$ctl" 2>&1) || status=$?
        outputs+=("vigil keys ${op%% *}: $output (exit $status)")
        echo "chaos: vigil keys ${op%% *}: $output (exit $status)"
        ((status == 0)) || note "vigil keys ${op%% *} at $at exited $status: $output"
    done
    "$VIGIL" keys list --control "$ctl" --format json >"$RUN/keys-after.json"
    # The down node comes back as it was: old key, no keyring record.
    "$here/chaos/restart" "$victim"
    sleep 20
    local seen_by_victim info_json stuck_view=()
    seen_by_victim=$(members_json "$victim" | jq -c '[.members[] | select(.status == "alive") | .name]')
    for n in $live; do
        stuck_view+=("$n:$(status_in "$n" "$victim")")
        info_json=$("$VIGIL" info --control "$(node_dir "$n")/vigil.sock" --format json 2>/dev/null || echo '{}')
        stuck_view+=("$n.dropped_bad_seal:$(jq -r '.counters.dropped_bad_seal // "?"' <<<"$info_json")")
    done
    members_json "$victim" >"$RUN/victim-old-key-view.json" || true
    # The operator's fix: the new key in the config, the stale keyring file gone, restart.
    sed -i "s|^encrypt: .*|encrypt: \"$new\"|" "$dir/config.yaml"
    rm -f "$dir/data/keyring.json"
    "$here/chaos/restart" "$victim"
    wait_for 60 everyone_alive || note "not every node saw every node alive within 60 s of $victim's restart with the new key"
    extra_json=$(jq -cn --arg k "${outputs[*]}" --argjson v "$seen_by_victim" --arg s "${stuck_view[*]}" \
        '{key_commands: $k, old_key_phase: {alive_in_victims_view: $v, others: $s}}')
    sleep 2
}
