# Scenario oneway for scripts/chaos.sh (sourced by it; runs in its shell with its helpers).
# oneway: the frames of node A stop reaching node B (B's still reach A) for 30 s, then heal.
# Expectation (Vigil): nobody is marked failed, not A, not B, not anyone else, during the
# cut or after it, and at the end every node sees every node alive. Why (DESIGN.md,
# "Probing"; SWIM §4): B's pings reach A but A's acks to B are dropped, and A's pings to B
# are dropped; each then asks relays (`ping-req`), and a relay C reaches both (A→C, C→B,
# B→C and C→A all flow) and forwards the ack. Every ack, relayed ones included, is a
# heartbeat, and a member is suspected only when its probe round failed *and* phi is high,
# so the indirect path keeps both alive; A's gossip reaches B through the others. A
# suspicion from a relay round that lost a packet may happen and is refuted; it is
# counted, not forbidden.
scenario_oneway() {
    local a b hold=30 dropped
    pick 2
    read -r a b <<<"$picked"
    extra_json=$(jq -cn --argjson h "$hold" --arg a "$a" --arg b "$b" '{oneway_seconds: $h, oneway_from: $a, oneway_to: $b}')
    expectation="$a's frames do not reach $b for $hold s ($b's reach $a), then heal: nobody is marked failed ($a and $b are heard through relays); everyone alive at the end"
    checks=("never-failed $a" "never-failed $b" "no-false-failures" "all-alive-at-end")
    faulted=("$a" "$b")
    "$here/chaos/oneway" "$a" "$b"
    sleep "$hold"
    dropped=$(nft_dropped chaos_oneway)
    "$here/chaos/heal"
    extra_json=$(jq -c --argjson d "$dropped" '. + {oneway_frames_dropped: $d}' <<<"$extra_json")
    ((dropped > 0)) || note "the one-way rule dropped no frame: the fault did not bite"
    wait_for 30 everyone_alive || note "not every node saw every node alive within 30 s after the heal"
    sleep 5  # a failure caused by the cut but certified late would still show
}
