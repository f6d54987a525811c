#!/usr/bin/env bash
# A cluster of real agents, one network namespace per node, for chaos testing.
#
#     scripts/cluster.sh up N [--system vigil|serf] [--no-ha] [--out DIR]   # N >= 3, default system vigil
#     scripts/cluster.sh status [--out DIR]                       # each node's own view
#     scripts/cluster.sh down [--out DIR]                         # everything gone; safe to repeat
#
# Topology: a bridge `br0` in a namespace of its own (`vigil-br`); node K lives in
# namespace `vigil-nK` with `eth0` = 10.77.0.K/24, the other end of its veth (`nK`) is a
# port of the bridge. Both veth ends are created inside namespaces, so no test address or
# device ever exists in the root namespace. The fault commands (scripts/chaos/) filter
# the bridge's forwarding with nftables (table `bridge vigil_chaos`).
#
# Vigil: one cluster key (`vigil keygen`), one config file per node (name, bind, join
# via n1, data dir, control socket, `preset: lan`), the agent's log in the node's folder.
# HA (Vigil only; `--no-ha` leaves it out, serf has none): in the bridge's namespace, with
# 10.77.0.254 on br0, a sushy-tools Redfish emulator (fake driver, TLS, basic auth; through
# scripts/chaos/bmc.py, which adds the per-system power-off refusal of scripts/chaos/bmc-fail)
# with one system per node, the real Masakari API (noauth, SQLite) with its Keystone+Nova
# stand-in (scripts/ha-demo-openstack.py) and every node as a host of one segment, and the
# power watcher (scripts/chaos/power-watcher.py): a node whose system goes Off loses every
# process in its namespace, one whose system goes On gets its agent back. Every node's config
# holds the whole `fencing:` map (each node through its own system) and `recovery:` (Masakari),
# written by scripts/ha-lib.sh, the same as scripts/ha-demo.sh. The venvs are those of
# scripts/test-components.sh (VIGIL_TEST_VENV, default .build-venv) and
# scripts/test-components-recovery.sh (VIGIL_MASAKARI_VENV, default .build-venv-masakari),
# installed by them when missing.
# Serf (Debian package `serf`, installed when missing): `serf agent -node -bind
# -rpc-addr -join -encrypt` with a key from `serf keygen`. Every node's event stream is
# recorded from its start (scripts/chaos/record.py) into nodes/nK/events.ndjson.
#
# The run folder (default chaos-out/cluster-<time>) keeps everything, so `down` and the
# fault commands work from another shell. `down` kills every process inside the
# namespaces (by the pids `ip netns pids` lists) and deletes the namespaces, which
# removes the veths and the bridge; the run folder (logs, events) stays.
# Environment: VIGIL_BIN (default .build/release/vigil), VIGIL_CHAOS_PRESET (default lan),
# VIGIL_CHAOS_PROTOCOL=FILE (Vigil: a YAML file holding a `protocol:` section, appended to
# every node's config after the preset: overrides, README "Configuration reference"),
# VIGIL_CHAOS_SERF_PROFILE=lan|wan|local (serf's `-profile`; unset: serf's default, lan),
# VIGIL_CHAOS_RECORD=0 (no event recorders), VIGIL_CHAOS_ID (lib.sh), VIGIL_TEST_VENV,
# VIGIL_MASAKARI_VENV (above).
set -euo pipefail
chaos_me=cluster
source "$(dirname "$0")/chaos/lib.sh"
source "$(dirname "$0")/ha-lib.sh"

usage() { usage_error "usage: cluster.sh up N [--system vigil|serf] [--no-ha] [--out DIR] | status [--out DIR] | down [--out DIR]"; }

cmd=${1:-}
[[ -n $cmd ]] || usage
shift
nodes="" system=vigil out="" ha=1
while (($# > 0)); do
    case $1 in
    --system) (($# >= 2)) || usage_error "--system needs vigil or serf"; system=$2; shift 2 ;;
    --out) (($# >= 2)) || usage_error "--out needs a directory"; out=$2; shift 2 ;;
    --no-ha) [[ $cmd == up ]] || usage_error "--no-ha is an option of up"; ha=0; shift ;;
    -*) usage_error "unknown option \`$1\`" ;;
    *) [[ $cmd == up && -z $nodes ]] || usage_error "unexpected argument \`$1\`"; nodes=$1; shift ;;
    esac
done

# ---------------------------------------------------------------------------------- down
# kill_namespace NS: every process in NS (SIGCONT first, so that a paused one dies too), then NS.
kill_namespace() {
    local ns=$1
    ip netns list | awk '{print $1}' | grep -qx "$ns" || return 0
    kill_in_namespace "$ns" || true
    ip netns del "$ns" 2>/dev/null || true
}

down() {
    local run=${out:-${VIGIL_CHAOS_DIR:-}}
    [[ -z $run && -f $chaos_pointer ]] && run=$(cat "$chaos_pointer")
    # The namespaces have fixed names, so they are found (and removed) even when the
    # run folder is gone.
    local ns
    # The bridge's namespace first: the power watcher lives there and would start agents again.
    kill_namespace "$bridge_ns"
    for ns in $(ip netns list | awk '{print $1}' | grep -E "^${node_ns_prefix}[0-9]+\$" || true); do
        kill_namespace "$ns"
    done
    proc_cleanup  # the starve cgroups (scripts/chaos/proc-lib.sh)
    if [[ -f $chaos_pointer && $(cat "$chaos_pointer") == "$run" ]]; then rm -f "$chaos_pointer"; fi
    [[ -n $run && -f $run/cluster.env ]] && echo "cluster: down (run folder $run kept)" || echo "cluster: down"
}

# -------------------------------------------------------------------------------- status
status() {
    resolve_run "$out"
    local name pid
    for name in $(seq -f 'n%g' 1 "$NODES"); do
        if pid=$(agent_pid "$name"); then
            [[ $(ps -o stat= -p "$pid") == T* ]] && state="pid $pid, paused" || state="pid $pid"
        else
            state="not running"
        fi
        echo "== $name ($(node_ip "$name"), $SYSTEM agent $state)"
        # A paused agent would not answer (the CLI waits 10 s): say so instead of asking.
        [[ $state == *paused ]] && { echo "(paused: its view is frozen; not asked)"; continue; }
        case $SYSTEM in
        vigil) "$VIGIL" members --control "$(node_dir "$name")/vigil.sock" 2>&1 || true ;;
        serf) ip netns exec "$(node_ns "$name")" "$SERF" members -rpc-addr="$serf_rpc" 2>&1 || true ;;
        esac
    done
    if ha_on; then
        local powers=""
        for name in $(seq -f 'n%g' 1 "$NODES"); do powers+=" $name $(power_state "$name" 2>/dev/null || echo '?')"; done
        echo "== BMC power (emulator on $bmc_ip:$bmc_port):$powers"
        local answered=""
        for name in $(seq -f 'n%g' 1 "$NODES"); do
            agent_pid "$name" >/dev/null || continue
            echo "== vigil fence status on $name"
            "$VIGIL" fence status --control "$(node_dir "$name")/vigil.sock" 2>&1 || true
            answered=1
            break
        done
        [[ -n $answered ]] || echo "== no agent running to ask for its fence status"
    fi
    if nft_bridge list table bridge vigil_chaos >/dev/null 2>&1; then
        local rules
        rules=$(nft_bridge list table bridge vigil_chaos | grep -E 'drop' || true)
        [[ -n $rules ]] && { echo "== faults in force (nftables in $bridge_ns)"; echo "$rules" | sed 's/^[[:space:]]*/  /'; }
    fi
    local proc
    proc=$(proc_faults_in_force)
    [[ -z $proc ]] || { echo "== process faults in force"; echo "$proc"; }
    # Delays and flapping links are processes in the bridge's namespace (scripts/chaos/lib.sh).
    local running
    running=$(faults_running)
    [[ -n $running ]] && { echo "== background faults (RUN/faults)"; echo "$running" | sed 's/^/  /'; }
    return 0
}

# ------------------------------------------------------------------------------------ up
# alive_count NAME: how many members NAME sees alive.
alive_count() { members_json "$1" | jq '[.members[] | select(.status == "alive")] | length' 2>/dev/null || echo 0; }

up() {
    [[ $nodes =~ ^[0-9]+$ ]] && ((nodes >= 3 && nodes <= 50)) || usage_error "up needs a node count from 3 to 50, got \`${nodes:-nothing}\`"
    [[ $system == vigil || $system == serf ]] || usage_error "--system must be vigil or serf, got \`$system\`"
    [[ $system == vigil ]] || ha=0   # serf has no fencing
    local preset=${VIGIL_CHAOS_PRESET:-lan} protocol=${VIGIL_CHAOS_PROTOCOL:-} profile=${VIGIL_CHAOS_SERF_PROFILE:-}
    [[ $preset == lan || $preset == wan || $preset == local ]] || usage_error "VIGIL_CHAOS_PRESET must be lan, wan or local, got \`$preset\`"
    [[ -z $profile || $profile == lan || $profile == wan || $profile == local ]] ||
        usage_error "VIGIL_CHAOS_SERF_PROFILE must be lan, wan or local, got \`$profile\`"
    if [[ -n $protocol ]]; then
        [[ -f $protocol ]] || usage_error "VIGIL_CHAOS_PROTOCOL names no file: \`$protocol\`"
        grep -q '^protocol:' "$protocol" || usage_error "VIGIL_CHAOS_PROTOCOL file $protocol holds no top-level \`protocol:\` section"
        protocol=$(cd "$(dirname "$protocol")" && pwd)/$(basename "$protocol")
    fi
    need_root
    command -v nft >/dev/null || die "nft (Debian package nftables) is not installed"
    command -v jq >/dev/null || die "jq is not installed"
    command -v python3 >/dev/null || die "python3 is not installed"
    if ip netns list | awk '{print $1}' | grep -qx "$bridge_ns"; then
        die "a cluster is already up (namespace $bridge_ns exists${chaos_pointer:+; run folder $(cat "$chaos_pointer" 2>/dev/null)}); take it down with scripts/cluster.sh down"
    fi
    local vigil="" serf=""
    case $system in
    vigil)
        vigil=${VIGIL_BIN:-$chaos_repo/.build/release/vigil}
        [[ -x $vigil ]] || die "no vigil binary at $vigil; build it with: swift build -c release --product vigil (or set VIGIL_BIN)"
        ;;
    serf)
        if ! command -v serf >/dev/null; then
            echo "cluster: installing serf (apt-get install serf)"
            DEBIAN_FRONTEND=noninteractive apt-get install -y serf >/dev/null || die "apt-get install serf failed"
        fi
        serf=$(command -v serf)
        ;;
    esac
    local venv=${VIGIL_TEST_VENV:-$chaos_repo/.build-venv} masakari_venv=${VIGIL_MASAKARI_VENV:-$chaos_repo/.build-venv-masakari}
    if ((ha)); then
        command -v openssl >/dev/null || die "openssl is not installed (needed for the BMC emulator's certificate)"
        command -v curl >/dev/null || die "curl is not installed"
        # The install scripts are no-ops when their venv is complete.
        [[ -x $venv/bin/sushy-emulator ]] || bash "$chaos_repo/scripts/test-components.sh"
        [[ -x $masakari_venv/bin/masakari-api || -n ${VIGIL_MASAKARI_VENV:-} ]] || bash "$chaos_repo/scripts/test-components-recovery.sh"
        [[ -x $venv/bin/sushy-emulator ]] || die "no sushy-emulator in $venv (scripts/test-components.sh makes it; or set VIGIL_TEST_VENV, or up --no-ha)"
        [[ -x $masakari_venv/bin/masakari-api ]] || die "no masakari-api in $masakari_venv (scripts/test-components-recovery.sh makes it; or set VIGIL_MASAKARI_VENV, or up --no-ha)"
    fi
    RUN=${out:-$chaos_repo/chaos-out/cluster-$(date -u +%Y%m%d-%H%M%S)}
    mkdir -p "$RUN"
    RUN=$(cd "$RUN" && pwd)
    [[ ! -e $RUN/cluster.env ]] || die "$RUN already holds a cluster run; give a fresh --out"
    # A Unix socket path has at most 107 bytes.
    ((${#RUN} <= 80)) || die "run folder path too long for the control sockets (${#RUN} > 80 chars): $RUN"
    local python
    python=$(command -v python3)
    cat >"$RUN/cluster.env" <<EOF
SYSTEM=$system
NODES=$nodes
VIGIL=$vigil
SERF=$serf
PYTHON=$python
PRESET=$preset
PROTOCOL=$protocol
SERF_PROFILE=$profile
HA=$ha
VENV=$venv
MASAKARI_VENV=$masakari_venv
BMC_IP=$bmc_ip
BMC_PORT=$bmc_port
EOF
    mkdir -p "$chaos_repo/chaos-out"
    echo "$RUN" >"$chaos_pointer"
    source "$RUN/cluster.env"
    : >"$RUN/faults.ndjson"
    trap 'status=$?; ((status == 0)) || { echo "cluster: up failed; taking everything down" >&2; down >/dev/null; }' EXIT

    ip netns add "$bridge_ns"
    ip -n "$bridge_ns" link set lo up
    ip -n "$bridge_ns" link add br0 type bridge
    ip -n "$bridge_ns" link set br0 up
    # Faults are rules in two regular chains the forward hook jumps to (a chain may not be
    # called `fwd`): chaos_partition (scripts/chaos/partition, heal) and chaos_loss.
    nft_bridge -f - <<'EOF'
table bridge vigil_chaos {
    chain chaos_partition { }
    chain chaos_loss { }
    chain chaos_forward {
        type filter hook forward priority 0; policy accept;
        jump chaos_partition
        jump chaos_loss
    }
}
EOF
    local names=() i
    for i in $(seq 1 "$nodes"); do names+=("n$i"); done
    if ha_on; then
        # The management network: br0's own address, in the bridge's namespace only.
        ip -n "$bridge_ns" addr add "$bmc_ip/24" dev br0
        ha_bmc_setup "$RUN/bmc" "$bmc_ip" "$bmc_port" "$VENV" "${names[@]}"
        : >"$RUN/bmc/refuse-power-off"
        : >"$RUN/power.ndjson"
        nohup ip netns exec "$bridge_ns" "$VENV/bin/python" "$chaos_repo/scripts/chaos/bmc.py" "$RUN/bmc/refuse-power-off" \
            --config "$RUN/bmc/sushy.conf" </dev/null >>"$RUN/bmc/sushy.log" 2>&1 &
        disown $! 2>/dev/null || true
        mkdir -p "$RUN/masakari"
        nohup ip netns exec "$bridge_ns" "$MASAKARI_VENV/bin/python" "$chaos_repo/scripts/ha-demo-openstack.py" "$openstack_port" \
            </dev/null >>"$RUN/masakari/openstack.log" 2>&1 &
        disown $! 2>/dev/null || true
        ha_masakari_setup "$RUN/masakari" "$bmc_ip" "$masakari_port" "$openstack_port" "$MASAKARI_VENV"
        nohup ip netns exec "$bridge_ns" "$MASAKARI_VENV/bin/masakari-api" --config-file "$RUN/masakari/masakari.conf" \
            </dev/null >>"$RUN/masakari/api.log" 2>&1 &
        disown $! 2>/dev/null || true
        ha_config "https://$bmc_ip:$bmc_port" "$RUN/bmc" "http://$bmc_ip:$masakari_port" \
            "ha: {retry_min: 1s, retry_max: 5s}" "${names[@]}" >"$RUN/ha.yaml"
    fi
    local key="" name ns ip dir
    case $system in
    vigil) key=$("$VIGIL" keygen) ;;
    serf) key=$("$SERF" keygen) ;;
    esac
    for i in $(seq 1 "$nodes"); do
        name=n$i ns=$(node_ns "$name") ip=$(node_ip "$name") dir=$(node_dir "$name")
        mkdir -p "$dir"
        ip netns add "$ns"
        ip -n "$ns" link set lo up
        ip -n "$bridge_ns" link add "$name" type veth peer name eth0 address "$(node_mac "$name")" netns "$ns"
        ip -n "$bridge_ns" link set "$name" master br0 up
        ip -n "$ns" addr add "$ip/24" dev eth0
        ip -n "$ns" link set eth0 up
        # Permanent neighbour entries between this node and every earlier one (node_mac:
        # the shared table's dynamic entries run out past about 30 nodes); permanent
        # ones are not counted against gc_thresh3.
        local j batch=""
        for ((j = 1; j < i; j++)); do
            batch+="neigh replace $net_prefix.$j lladdr $(node_mac "n$j") dev eth0 nud permanent"$'\n'
            ip -n "$(node_ns "n$j")" neigh replace "$ip" lladdr "$(node_mac "$name")" dev eth0 nud permanent
        done
        [[ -z $batch ]] || ip -n "$ns" -batch - <<<"$batch"
        # Node 1 is the seed; a restarted node 1 joins through node 2 (Vigil also has its saved members).
        local seed=$net_prefix.1:$gossip_port
        [[ $name == n1 ]] && seed=$net_prefix.2:$gossip_port
        case $system in
        vigil)
            mkdir -p "$dir/data"
            chmod 700 "$dir/data"
            {
                echo "name: $name"
                echo "bind: $ip:$gossip_port"
                [[ $name == n1 ]] || echo "join: [\"$seed\"]"
                echo "encrypt: \"$key\""
                echo "data_dir: $dir/data"
                echo "control: $dir/vigil.sock"
                echo "preset: $PRESET"
                # The overrides come after the preset, as an operator's file would hold them.
                if [[ -n $PROTOCOL ]]; then cat "$PROTOCOL"; fi
                echo "log_level: info"
                if ha_on; then cat "$RUN/ha.yaml"; fi
            } >"$dir/config.yaml"
            chmod 600 "$dir/config.yaml"
            printf 'exec %q agent --config %q\n' "$VIGIL" "$dir/config.yaml" >"$dir/start.sh"
            monitor=$(jq -cn --arg v "$VIGIL" --arg s "$dir/vigil.sock" '[$v, "monitor", "--control", $s, "--format", "json"]')
            ;;
        serf)
            local args=("$SERF" agent "-node=$name" "-bind=$ip:$gossip_port" "-rpc-addr=$serf_rpc" "-encrypt=$key" -log-level=info)
            [[ -z $SERF_PROFILE ]] || args+=("-profile=$SERF_PROFILE")
            # n1 starts first; -retry-join lets a restarted n1 find the others again.
            [[ $name == n1 ]] && args+=("-retry-join=$seed") || args+=("-join=$seed")
            { printf 'exec'; printf ' %q' "${args[@]}"; echo; } >"$dir/start.sh"
            monitor=$(jq -cn --arg s "$SERF" --arg r "$serf_rpc" '[$s, "monitor", "-rpc-addr=" + $r]')
            ;;
        esac
        chmod 600 "$dir/start.sh"
        echo "$monitor" >"$dir/monitor.json"
        start_agent "$name"
        # The recorder runs in the node's namespace too, so `down` (and a power-off) finds it with the agent.
        # VIGIL_CHAOS_RECORD=0 leaves it out (scripts/bench-agent.sh: only the agents run).
        [[ ${VIGIL_CHAOS_RECORD:-1} == 0 ]] || start_recorder "$name"
        if [[ $name == n1 ]]; then
            # The seed must answer before the others join through it.
            for _ in $(seq 1 100); do members_json n1 >/dev/null && break; sleep 0.1; done
        fi
    done
    if ha_on; then
        # Masakari must know the hosts before the first recovery; the watcher needs the emulator.
        local ready=0
        for _ in $(seq 1 300); do
            power_state n1 >/dev/null 2>&1 && ip netns exec "$bridge_ns" curl -sf -o /dev/null "http://$bmc_ip:$masakari_port/" && { ready=1; break; }
            sleep 0.2
        done
        ((ready)) || die "the BMC emulator or Masakari did not answer within 60 s; see $RUN/bmc/sushy.log, $RUN/masakari/api.log"
        ip netns exec "$bridge_ns" bash -c 'source "$1"; shift; ha_masakari_segment "$@"' ha-lib "$chaos_repo/scripts/ha-lib.sh" \
            "http://$bmc_ip:$masakari_port" vigil-chaos "${names[@]}" || die "could not add the hosts to Masakari; see $RUN/masakari/api.log"
        nohup ip netns exec "$bridge_ns" "$PYTHON" "$chaos_repo/scripts/chaos/power-watcher.py" "$RUN" \
            </dev/null >>"$RUN/power-watcher.log" 2>&1 &
        disown $! 2>/dev/null || true
        echo "cluster: HA on: BMC emulator https://$bmc_ip:$bmc_port ($nodes systems), Masakari http://$bmc_ip:$masakari_port, power watcher running"
    fi
    echo "cluster: $nodes $system agents started (run folder $RUN); waiting until every node sees all $nodes alive"
    local end=$((SECONDS + 60)) converged
    while :; do
        converged=1
        for i in $(seq 1 "$nodes"); do
            [[ $(alive_count "n$i") == "$nodes" ]] || { converged=0; break; }
        done
        ((converged)) && break
        ((SECONDS < end)) || die "the $nodes nodes did not all see each other alive within 60 s; see $RUN/nodes/*/agent.log"
        sleep 0.2
    done
    echo "cluster: up: $nodes nodes alive everywhere ($(date -u +%H:%M:%S) UTC); scripts/cluster.sh status | down"
}

case $cmd in
up) up ;;
down) down ;;
status) status ;;
*) usage ;;
esac
