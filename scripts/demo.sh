#!/usr/bin/env bash
# The first thing to run: five real Vigil agents on this machine's loopback.
#
# Builds `vigil` (release), starts five agents on 127.0.0.1 with a fresh cluster key
# (`--preset local`), shows `vigil members`, kills one with SIGKILL and shows each
# survivor marking it failed, with the milliseconds from the kill (taken from each
# survivor's own `vigil monitor` stream), restarts it from its data directory with no
# --join (it rejoins through the members it saved) and shows it alive everywhere again
# with a higher incarnation. Everything lives in one temporary directory, removed at
# the end; every process started here is stopped on exit, Ctrl-C included.
#
#     bash scripts/demo.sh [N]      # N agents, default 5
set -euo pipefail
source "$(dirname "$0")/env.sh"
n=${1:-5}
((n >= 3)) || { echo "demo: need at least 3 agents, got $n" >&2; exit 2; }

swift build -c release --product vigil
vigil=$PWD/.build/release/vigil
dir=$(mktemp -d /tmp/vigil-demo.XXXXXX)
declare -A agent_pid=()
monitor_pids=()
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    for pid in "${monitor_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    # SIGTERM: a graceful leave; whatever is still running after 5 s is killed.
    for pid in "${agent_pid[@]}"; do kill "$pid" 2>/dev/null || true; done
    local running=()
    for _ in $(seq 1 50); do
        running=()
        for pid in "${agent_pid[@]}"; do kill -0 "$pid" 2>/dev/null && running+=("$pid"); done
        ((${#running[@]} > 0)) || break
        sleep 0.1
    done
    for pid in "${running[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    if ((status != 0)); then
        echo "demo: failed (status $status); last lines of each agent's log:" >&2
        for log in "$dir"/*.log; do [[ -e $log ]] && { echo "--- $log" >&2; tail -n 5 "$log" >&2; }; done
    fi
    rm -rf "$dir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

key=$($vigil keygen)
sock() { echo "$dir/$1/vigil.sock"; }
source "$here/demo-lib.sh"  # now_ms, until_ok ($here: the scripts folder, set by env.sh)
# field NAME: the value of "NAME" in the pretty JSON on stdin (first match).
field() { sed -n "s/.*\"$1\" *: *\"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" | head -n 1; }
# start NAME [ARGS...]: starts an agent with its own data directory, socket and log.
start() {
    local name=$1
    shift
    $vigil agent --name "$name" --data-dir "$dir/$name" --control "$(sock "$name")" --encrypt "$key" \
        --preset local "$@" >>"$dir/$name.log" 2>&1 &
    agent_pid[$name]=$!
    # Out of bash's job table, so that killing one on purpose prints no "Killed"
    # notice; bash still reaps it, and cleanup still stops it.
    disown "$!"
}
# address NAME: HOST:PORT the agent bound (it was given port 0), once it answers.
address() {
    until_ok 30 "$vigil" info --control "$(sock "$1")" --format json >/dev/null 2>&1 ||
        { echo "demo: $1 did not answer on its control socket" >&2; return 1; }
    $vigil info --control "$(sock "$1")" --format json | field address
}
# status_of OBSERVER MEMBER / incarnation_of OBSERVER MEMBER: as OBSERVER sees MEMBER.
status_of() { $vigil members --control "$(sock "$1")" --name "$2" --format json 2>/dev/null | field status; }
incarnation_of() { $vigil members --control "$(sock "$1")" --name "$2" --format json 2>/dev/null | field incarnation; }
# all_see STATUS MEMBER OBSERVERS...: every observer lists MEMBER with STATUS.
all_see() {
    local status=$1 member=$2
    shift 2
    for observer in "$@"; do [[ $(status_of "$observer" "$member") == "$status" ]] || return 1; done
}
all_alive() {
    for observer in "${names[@]}"; do
        [[ $($vigil members --control "$(sock "$observer")" --status alive --format json 2>/dev/null |
            grep -c '"name"') == "$n" ]] || return 1
    done
}

names=()
for i in $(seq 1 "$n"); do names+=("node-$i"); done
echo "== starting $n agents on 127.0.0.1 (data, sockets and logs in $dir)"
start node-1 --bind 127.0.0.1:0
seed=$(address node-1)
for name in "${names[@]:1}"; do start "$name" --bind 127.0.0.1:0 --join "$seed"; done
declare -A port=()
for name in "${names[@]}"; do
    addr=$(address "$name")
    port[$name]=${addr##*:}
done
until_ok 60 all_alive || { echo "demo: the agents did not all see each other alive" >&2; exit 1; }
echo; echo "== vigil members (on node-1)"
$vigil members --control "$(sock node-1)"
# The leader is the one member that may fence and recover; give the election a moment.
has_leader() { $vigil leader --control "$(sock node-1)" >/dev/null 2>&1; }
until_ok 30 has_leader || { echo "demo: no leader was elected" >&2; exit 1; }
echo; echo "== vigil leader (on node-1)"
$vigil leader --control "$(sock node-1)"

victim=${names[$((n - 1))]}
survivors=("${names[@]:0:$((n - 1))}")
# A restart rejoins through the members the agent saved (every 10 s): wait for them.
echo; echo "== waiting for $victim to save its members snapshot (every 10 s)"
snapshot_saved() { [[ $(grep -cs '"alive"' "$dir/$victim/members.json") == "$((n - 1))" ]]; }
until_ok 30 snapshot_saved || { echo "demo: $victim saved no members snapshot with the others alive" >&2; exit 1; }
before=$(incarnation_of node-1 "$victim")

# Each survivor's own event stream timestamps the moment it marks the victim failed.
for name in "${survivors[@]}"; do
    $vigil monitor --control "$(sock "$name")" --format json >"$dir/$name.events" 2>/dev/null &
    monitor_pids+=($!)
    disown "$!"
done
sleep 0.5  # let the monitors connect; not part of any measurement
echo; echo "== kill -9 $victim (incarnation $before)"
killed_at=$(now_ms)
kill -9 "${agent_pid[$victim]}"
gone() { ! kill -0 "$1" 2>/dev/null; }
until_ok 10 gone "${agent_pid[$victim]}"
unset "agent_pid[$victim]"
until_ok 60 all_see failed "$victim" "${survivors[@]}" ||
    { echo "demo: not every survivor marked $victim failed" >&2; exit 1; }
# event_ms NODE TO: when NODE's monitor saw the victim go to status TO, ms since the kill.
event_ms() {
    local time
    time=$(grep '"event":"member-status"' "$dir/$1.events" | grep "\"member\":\"$victim\"" |
        grep "\"to\":\"$2\"" | head -n 1 | sed -n 's/.*"time":"\([^"]*\)".*/\1/p')
    [[ -n $time ]] && echo "$(($(date -d "$time" +%s%3N) - killed_at)) ms" || echo "-"
}
printf '%-10s %-14s %s\n' NODE SUSPECT FAILED
for name in "${survivors[@]}"; do
    printf '%-10s %-14s %s\n' "$name" "$(event_ms "$name" suspect)" "$(event_ms "$name" failed)"
done
for pid in "${monitor_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
monitor_pids=()
echo; echo "== vigil members (on node-1)"
$vigil members --control "$(sock node-1)"
echo; echo "== vigil explain $victim (on node-1)"
$vigil explain --control "$(sock node-1)" "$victim"
until_ok 30 has_leader || { echo "demo: no leader after the crash" >&2; exit 1; }
echo; echo "== vigil leader (on node-1) after the crash (had $victim led, a new leader would hold a higher term)"
$vigil leader --control "$(sock node-1)"

echo; echo "== restarting $victim from its data directory, no --join"
restarted_at=$(now_ms)
start "$victim" --bind "127.0.0.1:${port[$victim]}"
rejoined() {
    all_see alive "$victim" "${names[@]}" || return 1
    local incarnation
    for observer in "${names[@]}"; do
        incarnation=$(incarnation_of "$observer" "$victim")
        [[ -n $incarnation ]] && ((incarnation > before)) || return 1
    done
}
until_ok 60 rejoined || { echo "demo: $victim did not rejoin everywhere" >&2; exit 1; }
after=$(incarnation_of node-1 "$victim")
# An incarnation's high 32 bits count the process's starts (its life), kept in the data directory.
echo "$victim alive on all $n nodes $(($(now_ms) - restarted_at)) ms after the restart;" \
    "incarnation $before -> $after (life $((before >> 32)) -> $((after >> 32)))"
echo; echo "== vigil members (on node-1)"
$vigil members --control "$(sock node-1)"
echo; echo "== stopping every agent (SIGTERM: graceful leave)"
