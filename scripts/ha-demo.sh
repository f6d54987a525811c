#!/usr/bin/env bash
# HA end to end on this machine's loopback, to watch and to measure: five real Vigil
# agents (`--preset local`) with HA on, one sushy-tools Redfish emulator serving one
# system per node (fake driver, TLS, basic auth), and the real Masakari API (noauth, on
# SQLite; a small Keystone+Nova stand-in answers its host check). One agent is killed
# with SIGKILL; the leader fences it through its BMC, and once the BMC reports Off,
# sends Masakari its notification. The script prints a timeline taken from every
# survivor's `vigil monitor --format json` stream (the earliest sighting of each step),
# then the time from the kill to the recovery request, with and without the
# emulator's own power-off delay (sushy's fake driver turns a system Off 1-11 s after
# ForceOff, at random; a real BMC has its own).
#
# Everything lives in one temporary directory, removed at the end; every process
# started here is stopped on exit, Ctrl-C included.
#
#     bash scripts/ha-demo.sh
#     VIGIL_BINARY=.build/debug/vigil bash scripts/ha-demo.sh   # skip the release build
set -euo pipefail
source "$(dirname "$0")/env.sh"
bash scripts/test-components.sh
bash scripts/test-components-recovery.sh
venv=${VIGIL_TEST_VENV:-$PWD/.build-venv}
masakari_venv=$PWD/.build-venv-masakari
for tool in "$venv/bin/sushy-emulator" "$masakari_venv/bin/masakari-api"; do
    [[ -x $tool ]] || { echo "ha-demo: $tool is missing (see scripts/test-components*.sh)" >&2; exit 1; }
done

# VIGIL_BINARY=PATH uses that build instead of building the release one.
if [[ -n ${VIGIL_BINARY:-} ]]; then
    vigil=$VIGIL_BINARY
else
    swift build -c release --product vigil
    vigil=$PWD/.build/release/vigil
fi
dir=$(mktemp -d /tmp/vigil-ha-demo.XXXXXX)
names=(node-1 node-2 node-3 node-4 node-5)
declare -A agent_pid=()
helper_pids=()
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    for pid in "${agent_pid[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${helper_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    sleep 0.5
    for pid in "${agent_pid[@]}" "${helper_pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    if ((status != 0)); then
        echo "ha-demo: failed (status $status); last lines of each log:" >&2
        for log in "$dir"/*.log "$dir"/masakari/*.log; do [[ -e $log ]] && { echo "--- $log" >&2; tail -n 5 "$log" >&2; }; done
    fi
    [[ -n ${VIGIL_DEMO_KEEP:-} ]] || rm -rf "$dir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

source "$here/demo-lib.sh"  # now_ms, until_ok ($here: the scripts folder, set by env.sh)
source "$here/ha-lib.sh"    # the emulator, Masakari and the agents' HA config, shared with cluster.sh
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# background NAME CMD...: runs a helper, logging to NAME.log, stopped on exit.
background() {
    local name=$1
    shift
    "$@" >>"$dir/$name.log" 2>&1 &
    helper_pids+=($!)
    disown "$!"
}
sock() { echo "$dir/$1/vigil.sock"; }

# --- The BMCs: one Redfish emulator, one system per node --------------------------
echo "== starting sushy-emulator (one Redfish system per node) and Masakari (in $dir)"
sushy_port=$(free_port)
ha_bmc_setup "$dir" 127.0.0.1 "$sushy_port" "$venv" "${names[@]}"
background sushy "$venv/bin/sushy-emulator" --config "$dir/sushy.conf"
redfish() { curl -sk -u "admin:$ha_bmc_password" "https://127.0.0.1:$sushy_port$1"; }
power_of() { redfish "/redfish/v1/Systems/${ha_system[$1]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["PowerState"])'; }
until_ok 60 power_of node-1 >/dev/null 2>&1 || { echo "ha-demo: sushy-emulator did not answer" >&2; exit 1; }

# --- Masakari, and the Keystone+Nova stand-in its host check talks to ------------
openstack_port=$(free_port)
background openstack "$masakari_venv/bin/python" "$PWD/scripts/ha-demo-openstack.py" "$openstack_port"
masakari_port=$(free_port)
ha_masakari_setup "$dir/masakari" 127.0.0.1 "$masakari_port" "$openstack_port" "$masakari_venv"
background masakari "$masakari_venv/bin/masakari-api" --config-file "$dir/masakari/masakari.conf"
masakari_url=http://127.0.0.1:$masakari_port
until_ok 60 ha_masakari_api "$masakari_url/" -o /dev/null || { echo "ha-demo: Masakari did not answer" >&2; exit 1; }
ha_masakari_segment "$masakari_url" vigil-demo "${names[@]}"
notifications() { ha_masakari_api "$masakari_url/v1/notifications" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["notifications"]))'; }

# --- The agents: every one holds the whole fencing map ---------------------------
ha_config "https://127.0.0.1:$sushy_port" "$dir" "$masakari_url" "ha: {retry_min: 1s, retry_max: 5s}" "${names[@]}" >"$dir/vigil.yaml"
key=$($vigil keygen)
start() {
    local name=$1
    shift
    $vigil agent --name "$name" --data-dir "$dir/$name" --control "$(sock "$name")" --encrypt "$key" \
        --preset local --config "$dir/vigil.yaml" "$@" >>"$dir/$name.log" 2>&1 &
    agent_pid[$name]=$!
    disown "$!"
}
address() {
    until_ok 30 "$vigil" info --control "$(sock "$1")" --format json >/dev/null 2>&1 ||
        { echo "ha-demo: $1 did not answer on its control socket" >&2; return 1; }
    $vigil info --control "$(sock "$1")" --format json | sed -n 's/.*"address" *: *"\([^"]*\)".*/\1/p' | head -n 1
}
all_alive() {
    for observer in "${names[@]}"; do
        [[ $($vigil members --control "$(sock "$observer")" --status alive --format json 2>/dev/null |
            grep -c '"name"') == "${#names[@]}" ]] || return 1
    done
}
echo "== starting ${#names[@]} agents with HA on"
start node-1 --bind 127.0.0.1:0
seed=$(address node-1)
for name in "${names[@]:1}"; do start "$name" --bind 127.0.0.1:0 --join "$seed"; done
for name in "${names[@]}"; do address "$name" >/dev/null; done
until_ok 60 all_alive || { echo "ha-demo: the agents did not all see each other alive" >&2; exit 1; }
leader_of() { $vigil leader --control "$(sock node-1)" --format json 2>/dev/null | sed -n 's/.*"leader" *: *"\([^"]*\)".*/\1/p'; }
until_ok 30 test -n "$(leader_of)" || { echo "ha-demo: no leader was elected" >&2; exit 1; }
leader=$(leader_of)
victim=""
for name in "${names[@]}"; do [[ $name != "$leader" ]] && victim=$name; done
survivors=()
for name in "${names[@]}"; do [[ $name != "$victim" ]] && survivors+=("$name"); done
$vigil leader --control "$(sock node-1)"
grep -h 'ha.enabled' "$dir/node-1.log" | head -n 1

for name in "${survivors[@]}"; do
    background "monitor-$name" $vigil monitor --control "$(sock "$name")" --format json
done
sleep 0.5  # let the monitors connect; not part of any measurement
echo; echo "== kill -9 $victim (BMC PowerState $(power_of "$victim"))"
killed_at=$(now_ms)
kill -9 "${agent_pid[$victim]}"
unset "agent_pid[$victim]"
recovered() { grep -qs "\"member\":\"$victim\".*\"to\":\"recovered\"\|\"to\":\"recovered\".*\"member\":\"$victim\"" "$dir"/monitor-*.log; }
until_ok 180 recovered || { echo "ha-demo: $victim was not recovered within 180 s" >&2; exit 1; }

# first EVENT TO: the earliest time any survivor's monitor saw the victim reach TO
# (ms since the kill) and on which node; the leader sees its own steps first.
first() {
    local best="" best_node="" time line
    for name in "${survivors[@]}"; do
        line=$(grep "\"event\":\"$1\"" "$dir/monitor-$name.log" | grep "\"member\":\"$victim\"" |
            grep "\"to\":\"$2\"" | head -n 1 || true)
        [[ -n $line ]] || continue
        time=$(date -d "$(sed -n 's/.*"time":"\([^"]*\)".*/\1/p' <<<"$line")" +%s%3N)
        if [[ -z $best ]] || ((time < best)); then best=$time; best_node=$name; fi
    done
    [[ -n $best ]] && echo "$((best - killed_at)) $best_node" || echo "- -"
}
detail() {
    grep -h "\"member\":\"$victim\"" "$dir"/monitor-*.log | grep "\"to\":\"$1\"" | head -n 1 |
        sed -n 's/.*"detail":"\([^"]*\)".*/\1/p'
}
echo; echo "== timeline of $victim, ms after the kill (earliest survivor to see each step)"
printf '%-34s %8s  %-8s %s\n' STEP MS SEEN-ON DETAIL
row() {
    local step=$1 ms node
    read -r ms node <<<"$(first "$2" "$3")"
    printf '%-34s %8s  %-8s %s\n' "$step" "$ms" "$node" "${4:-}"
    eval "$5=$ms"
}
row "suspect" member-status suspect "" t_suspect
row "failed (certificate)" member-status failed "" t_failed
row "fence ordered (leader $leader)" ha fencing "" t_fencing
row "power Off confirmed" ha fenced "$(detail fenced)" t_fenced
row "recovery request sent" ha recovering "" t_recovering
row "recovery accepted" ha recovered "$(detail recovered)" t_recovered
echo
echo "BMC of $victim: PowerState $(power_of "$victim"); Masakari notifications: $(notifications)"
for name in "${survivors[@]}"; do echo "BMC of $name: PowerState $(power_of "$name")"; done
bmc_delay=$((t_fenced - t_fencing))
echo
echo "kill -> recovery request sent:                     $t_recovering ms"
echo "  of which fence ordered -> Off confirmed (BMC):     $bmc_delay ms (sushy's fake power-off delay: 1-11 s at random)"
echo "kill -> recovery request, without the BMC's delay: $((t_recovering - bmc_delay)) ms"
echo "kill -> recovery accepted by Masakari:             $t_recovered ms"

follower=""
for name in "${survivors[@]}"; do [[ $name != "$leader" ]] && follower=$name; done
echo; echo "== vigil history on $follower (its own journal: every step gossiped to it)"
$vigil history --control "$(sock "$follower")"
echo; echo "== vigil fence status on $follower"
$vigil fence status --control "$(sock "$follower")" || true
