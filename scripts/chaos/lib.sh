# Shared by scripts/cluster.sh, scripts/chaos.sh and the fault commands in scripts/chaos/.
# Sourced, not run.
#
# One cluster per cluster id exists at a time on a machine: its namespaces have fixed
# names (`vigil-br` for the bridge, `vigil-n1`... for the nodes; with VIGIL_CHAOS_ID=X,
# `vigil-X-br`, `vigil-X-n1`..., so that several clusters can run side by side: each
# bridge lives in its own namespace, so they may all use the same addresses). Everything about the cluster
# that is up lives in its run folder (RUN): `cluster.env` (system, nodes, binaries),
# `faults.ndjson` (every fault injected, with its time) and one folder per node,
# `nodes/nK/` (config, data, agent log, agent pid, the start command, the recorded event
# stream); with HA also `bmc/` (the emulator's config, certificate, password, `systems`
# (node → system UUID), `refuse-power-off`, log), `masakari/` (config, databases, logs),
# `power.ndjson` (every power change the watcher acted on) and `power-watcher.log`.
# `chaos-out/.current` (`.current-X` for cluster id X) in the repository names
# the run folder of the cluster that is up, so that `down` and the faults work from any
# shell; VIGIL_CHAOS_DIR or `--out DIR` overrides it.

chaos_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
chaos_id=${VIGIL_CHAOS_ID:-}
[[ -z $chaos_id || $chaos_id =~ ^[a-z0-9]{1,4}$ ]] || { echo "${chaos_me:-chaos}: VIGIL_CHAOS_ID must be 1 to 4 lowercase letters or digits, got \`$chaos_id\`" >&2; exit 2; }
chaos_pointer=$chaos_repo/chaos-out/.current${chaos_id:+-$chaos_id}
bridge_ns=vigil-${chaos_id:+$chaos_id-}br
node_ns_prefix=vigil-${chaos_id:+$chaos_id-}n
net_prefix=10.77.0    # node K is 10.77.0.K/24; the addresses exist only inside vigil-nK
gossip_port=7946
serf_rpc=127.0.0.1:7373   # each node's own loopback, inside its namespace
# HA (Vigil, unless `up --no-ha`): the BMC emulator and Masakari listen on br0's own address
# in the bridge's namespace (the nodes' "management network": the partition and loss rules
# filter forwarding between ports, not traffic to br0, so a partitioned node's BMC stays
# reachable, as a real out-of-band BMC would); the Keystone+Nova stand-in on that
# namespace's loopback.
bmc_ip=$net_prefix.254
bmc_port=8000
masakari_port=15868
openstack_port=5000

# usage_error MESSAGE: one line, exit 2 (bad input).
usage_error() { echo "${chaos_me:-chaos}: $*" >&2; exit 2; }
# die MESSAGE: one line, exit 1 (something did not work).
die() { echo "${chaos_me:-chaos}: $*" >&2; exit 1; }
now_ms() { date +%s%3N; }

# need_root: namespaces, veths and nftables need root.
need_root() { ((EUID == 0)) || die "needs root (network namespaces, veths, nftables); run as root"; }

# resolve_run [DIR]: sets RUN to the cluster's run folder and loads its cluster.env.
resolve_run() {
    RUN=${1:-${VIGIL_CHAOS_DIR:-}}
    if [[ -z $RUN && -f $chaos_pointer ]]; then RUN=$(cat "$chaos_pointer"); fi
    [[ -n $RUN ]] || die "no cluster is up (no $chaos_pointer); start one with scripts/cluster.sh up N"
    [[ -f $RUN/cluster.env ]] || die "$RUN holds no cluster (no cluster.env); start one with scripts/cluster.sh up N"
    # shellcheck disable=SC1091
    source "$RUN/cluster.env"
}

node_ns() { echo "$node_ns_prefix${1#n}"; }
node_ip() { echo "$net_prefix.${1#n}"; }
# A fixed MAC per node (its eth0), so that cluster.sh can give every namespace permanent
# neighbour entries: the kernel's IPv4 neighbour table is shared by all namespaces and
# `gc_thresh3` (1024 here) caps its dynamic entries, which 50 nodes (2,450 pairs) exceed —
# the late joiners then could not reach anyone ("neighbor table overflow" in dmesg).
node_mac() { local k=${1#n}; printf '02:77:00:00:%02x:%02x' $((k / 256)) $((k % 256)); }
node_dir() { echo "$RUN/nodes/$1"; }

# check_node NAME: NAME is one of this cluster's nodes (n1..nN), else exit 2.
check_node() {
    [[ $1 =~ ^n([1-9][0-9]*)$ ]] && ((BASH_REMATCH[1] <= NODES)) ||
        usage_error "unknown node \`$1\`: this cluster has n1..n$NODES"
}

# agent_pid NAME: the pid of NAME's agent if it is running, else nothing (status 1).
agent_pid() {
    local file pid
    file=$(node_dir "$1")/agent.pid
    [[ -f $file ]] || return 1
    pid=$(cat "$file")
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
    # A killed agent may linger as a zombie until init reaps it: that is not running.
    [[ $(ps -o stat= -p "$pid" 2>/dev/null) != Z* ]] || return 1
    echo "$pid"
}

# start_agent NAME: runs the node's saved start command inside its namespace, detached,
# its output appended to agent.log; the agent's pid goes to agent.pid (`ip netns exec`
# and `bash -c ... exec` keep the pid, so it is the agent's own).
start_agent() {
    local dir
    dir=$(node_dir "$1")
    nohup ip netns exec "$(node_ns "$1")" bash -c 'echo $$ >"$1"; shift; exec "$@"' \
        start "$dir/agent.pid" bash "$dir/start.sh" </dev/null >>"$dir/agent.log" 2>&1 &
    disown $! 2>/dev/null || true
    local i pid
    for i in $(seq 1 50); do
        if pid=$(agent_pid "$1"); then
            proc_after_start "$1" "$pid"
            return 0
        fi
        sleep 0.1
    done
    die "the agent of $1 did not start; see $dir/agent.log"
}

# start_recorder NAME: records NAME's event stream (scripts/chaos/record.py, its monitor
# command saved by `up` in monitor.json) into events.ndjson, appending. It runs in the node's
# namespace, so a power-off (which kills everything there) ends it with the agent.
start_recorder() {
    local dir
    [[ ${VIGIL_CHAOS_RECORD:-1} != 0 ]] || return 0  # scripts/bench-agent.sh: only the agents run
    dir=$(node_dir "$1")
    nohup ip netns exec "$(node_ns "$1")" "$PYTHON" "$chaos_repo/scripts/chaos/record.py" --system "$SYSTEM" --node "$1" \
        --command "$(cat "$dir/monitor.json")" --raw "$dir/events.raw" --events "$dir/events.ndjson" \
        </dev/null >>"$dir/recorder.log" 2>&1 &
    disown $! 2>/dev/null || true
}

# kill_in_namespace NS: SIGKILL every process in NS, until none is left (at most 5 s).
# SIGKILL ends a stopped process too; SIGCONT only after it, because a paused agent resumed
# first would run (and gossip) for a moment before dying — a frozen host that loses power
# never runs again (pause-long caught exactly that).
kill_in_namespace() {
    local ns=$1 pids
    for _ in $(seq 1 50); do
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        [[ -z $pids ]] && return 0
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null || true
        # shellcheck disable=SC2086
        kill -CONT $pids 2>/dev/null || true
        sleep 0.1
    done
    [[ -z $(ip netns pids "$ns" 2>/dev/null || true) ]] || { echo "${chaos_me:-chaos}: processes still in $ns: $(ip netns pids "$ns")" >&2; return 1; }
}

# ha_on: the cluster that is up runs HA (BMC emulator, power watcher, Masakari).
ha_on() { [[ ${HA:-0} == 1 ]]; }
# bmc_system NAME: the UUID of NAME's system in the emulator.
bmc_system() { awk -v n="$1" '$1 == n { print $2 }' "$RUN/bmc/systems"; }
# redfish PATH [CURL-ARGS...]: one call to the emulator, from the bridge's namespace.
redfish() {
    local path=$1
    shift
    ip netns exec "$bridge_ns" curl -sS --max-time 10 --cacert "$RUN/bmc/cert.pem" -u "admin:$(cat "$RUN/bmc/bmc-password")" \
        "$@" "https://$bmc_ip:$bmc_port$path"
}
# power_state NAME: On or Off, as NAME's BMC reports it.
power_state() { redfish "/redfish/v1/Systems/$(bmc_system "$1")" | jq -r .PowerState; }
# masakari GET-PATH: one read of the Masakari API, from the bridge's namespace.
masakari() { ip netns exec "$bridge_ns" curl -sSf --max-time 10 -H 'X-Auth-Token: admin:admin' "http://$bmc_ip:$masakari_port$1"; }
# masakari_state: {"notifications": [... each with its host's `hostname`], "hosts": [{name, uuid, on_maintenance}]}
# (a notification names its host by UUID only).
masakari_state() {
    local notes segment hosts
    notes=$(masakari /v1/notifications) || return 1
    segment=$(masakari /v1/segments | jq -r '.segments[0].uuid') || return 1
    hosts=$(masakari "/v1/segments/$segment/hosts") || return 1
    jq -n --argjson n "$notes" --argjson h "$hosts" '{
        notifications: [$n.notifications[] | . as $note | . + {hostname: ([$h.hosts[] | select(.uuid == $note.source_host_uuid) | .name][0])}],
        hosts: [$h.hosts[] | {name, uuid, on_maintenance}]}'
}

# power_cut NAME / power_restore NAME: what the power watcher (scripts/chaos/power-watcher.py)
# does when NAME's BMC reports Off / On: everything in the node's namespace dies / the agent
# and its recorder start again.
power_cut() {
    kill_in_namespace "$(node_ns "$1")"
    echo "killed every process in $(node_ns "$1")"
}
power_restore() {
    if agent_pid "$1" >/dev/null; then echo "agent already running"; return 0; fi
    start_agent "$1"
    start_recorder "$1"
    echo "agent started (pid $(agent_pid "$1"))"
}

# Process faults (skew, starve): their cgroups and the restart hook above.
# shellcheck source=proc-lib.sh
source "$chaos_repo/scripts/chaos/proc-lib.sh"

# record_fault KIND NODES DETAIL: appends one line to faults.ndjson (what the report reads).
record_fault() {
    printf '{"t_ms":%s,"fault":"%s","nodes":"%s","detail":"%s"}\n' "$(now_ms)" "$1" "$2" "$3" >>"$RUN/faults.ndjson"
}

# members_json NAME: NAME's view as {"members":[{"name","status"}...]} (either system).
members_json() {
    local ns
    ns=$(node_ns "$1")
    case $SYSTEM in
    vigil) "$VIGIL" members --control "$(node_dir "$1")/vigil.sock" --format json 2>/dev/null ;;
    serf) ip netns exec "$ns" "$SERF" members -rpc-addr="$serf_rpc" -format json 2>/dev/null ;;
    esac
}

# nft_bridge ARGS...: nft inside the bridge's namespace.
nft_bridge() { ip netns exec "$bridge_ns" nft "$@"; }

# ensure_chain NAME: the regular chain NAME exists in `bridge vigil_chaos` and the forward
# hook jumps to it (after the chains cluster.sh made: chaos_partition, chaos_loss). The
# newer faults (oneway, flap, delay) make their chain the first time they run.
ensure_chain() {
    nft_bridge list chain bridge vigil_chaos "$1" >/dev/null 2>&1 && return 0
    nft_bridge add chain bridge vigil_chaos "$1"
    nft_bridge add rule bridge vigil_chaos chaos_forward jump "$1"
}

# nft_set NODE...: an nftables anonymous set of interface names, `{ "n1", "n2" }`.
nft_set() { local s; s=$(printf '"%s", ' "$@"); echo "{ ${s%, } }"; }

# Background fault processes (the delayers, the flap loop) run inside the bridge's
# namespace, so `cluster.sh down` kills them with it; each has RUN/faults/NAME.pid, .log
# and .what (one line for `cluster.sh status`).
fault_dir() { echo "$RUN/faults"; }

# fault_pid NAME: the pid of background fault NAME if it runs (status 1 if not).
fault_pid() {
    local file pid
    file=$(fault_dir)/$1.pid
    [[ -f $file ]] || return 1
    pid=$(cat "$file")
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

# start_fault NAME WHAT COMMAND...: runs COMMAND inside the bridge's namespace, detached,
# its output in RUN/faults/NAME.log, its pid in NAME.pid (kept by `exec`).
start_fault() {
    local name=$1 what=$2 dir
    shift 2
    dir=$(fault_dir)
    mkdir -p "$dir"
    echo "$what" >"$dir/$name.what"
    nohup ip netns exec "$bridge_ns" bash -c 'echo $$ >"$1"; shift; exec "$@"' \
        start "$dir/$name.pid" "$@" </dev/null >>"$dir/$name.log" 2>&1 &
    disown $! 2>/dev/null || true
    local i
    for i in $(seq 1 50); do
        fault_pid "$name" >/dev/null && return 0
        sleep 0.1
    done
    die "the background fault $name did not start; see $dir/$name.log"
}

# stop_fault NAME: SIGTERM (SIGKILL after 5 s) background fault NAME if it runs.
stop_fault() {
    local pid
    pid=$(fault_pid "$1") || { rm -f "$(fault_dir)/$1.pid" "$(fault_dir)/$1.what"; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$(fault_dir)/$1.pid" "$(fault_dir)/$1.what"
}

# faults_running: one line per background fault that runs (for `cluster.sh status`).
faults_running() {
    local file name pid
    for file in "$(fault_dir)"/*.pid; do
        [[ -f $file ]] || continue
        name=$(basename "$file" .pid)
        pid=$(fault_pid "$name") && echo "$name (pid $pid, in $bridge_ns): $(cat "$(fault_dir)/$name.what" 2>/dev/null)"
    done
    return 0
}

# chaos_venv: the Python venv with NetfilterQueue (for scripts/chaos/delay), made under
# the repository's ignored build area when missing; prints its python.
chaos_venv=$chaos_repo/.build-chaos/venv
chaos_venv_python() {
    local py=$chaos_venv/bin/python
    if [[ -x $py ]] && "$py" -c 'import netfilterqueue' 2>/dev/null; then echo "$py"; return 0; fi
    if [[ ! -f /usr/include/libnetfilter_queue/libnetfilter_queue.h ]]; then
        echo "${chaos_me:-chaos}: installing libnetfilter-queue-dev (apt-get) for NetfilterQueue" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y libnetfilter-queue-dev >/dev/null ||
            die "apt-get install libnetfilter-queue-dev failed (the delayer needs it)"
    fi
    echo "${chaos_me:-chaos}: making $chaos_venv with NetfilterQueue (pip, ~40 s)" >&2
    mkdir -p "$(dirname "$chaos_venv")"
    [[ -x $py ]] || python3 -m venv "$chaos_venv" >&2 || die "python3 -m venv $chaos_venv failed (Debian package python3-venv)"
    "$chaos_venv/bin/pip" install -q NetfilterQueue >&2 || die "pip install NetfilterQueue failed (needs PyPI and a C compiler)"
    "$py" -c 'import netfilterqueue' || die "NetfilterQueue installed in $chaos_venv but does not import"
    echo "$py"
}

# nft_dropped CHAIN: frames dropped so far by the `counter drop` rules of CHAIN (0 if none).
nft_dropped() {
    nft_bridge -j list chain bridge vigil_chaos "$1" 2>/dev/null |
        jq '[.nftables[].rule?.expr[]?.counter?.packets // empty] | add // 0' 2>/dev/null || echo 0
}
