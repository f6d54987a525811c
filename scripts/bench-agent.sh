#!/usr/bin/env bash
# What one agent costs in a real cluster: CPU, resident memory and bytes sent per node,
# idle and under churn, for Vigil and for serf side by side (issue 6, "real agent cost").
#
#     bash scripts/bench-agent.sh [--nodes N] [--idle SECONDS] [--churn SECONDS] [--system vigil|serf|both]
#
# Defaults: 50 nodes, 60 s idle, 60 s churn, both systems. Each system gets its own
# cluster of real agents in network namespaces (scripts/cluster.sh, no event recorders,
# so only the agents run), one after the other on the same machine. After the cluster
# has settled (10 s), the idle window measures every agent; the churn window then kills
# one node and starts it again 5 s later, every 10 s, taking the victims in turn from
# the last fifth of the nodes, and measures the others (who never restart).
# Per agent: CPU = (utime + stime) over the window from /proc/PID/stat, as a percentage
# of one core; RSS = VmRSS at the window's end and its peak VmHWM (/proc/PID/status);
# bytes sent = the node's bridge port's rx_bytes (Ethernet frames). The report gives the
# median and max over the agents.
# Output: bench-out/agent-<time>/{vigil,serf}.json and summary.md (printed).
# Vigil is the release build (VIGIL_BIN to override) with its `lan` preset; serf 0.8 with
# its LAN defaults. Needs root (namespaces).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
chaos_me=bench-agent
source "$here/chaos/lib.sh"

nodes=50 idle=60 churn=60 systems=(vigil serf)
while (($# > 0)); do
    case $1 in
    --nodes) (($# >= 2)) || usage_error "--nodes needs a number"; nodes=$2; shift 2 ;;
    --idle) (($# >= 2)) || usage_error "--idle needs seconds"; idle=$2; shift 2 ;;
    --churn) (($# >= 2)) || usage_error "--churn needs seconds"; churn=$2; shift 2 ;;
    --system)
        (($# >= 2)) || usage_error "--system needs vigil, serf or both"
        case $2 in vigil | serf) systems=("$2") ;; both) systems=(vigil serf) ;; *) usage_error "--system must be vigil, serf or both, got \`$2\`" ;; esac
        shift 2 ;;
    *) usage_error "unknown argument \`$1\` (usage: bench-agent.sh [--nodes N] [--idle SECONDS] [--churn SECONDS] [--system vigil|serf|both])" ;;
    esac
done
[[ $nodes =~ ^[0-9]+$ ]] && ((nodes >= 5 && nodes <= 50)) || usage_error "--nodes must be 5 to 50, got \`$nodes\`"
[[ $idle =~ ^[0-9]+$ ]] && ((idle >= 10)) || usage_error "--idle must be at least 10 seconds, got \`$idle\`"
[[ $churn =~ ^[0-9]+$ ]] && ((churn == 0 || churn >= 10)) || usage_error "--churn must be 0 or at least 10 seconds, got \`$churn\`"
need_root

out=$chaos_repo/bench-out/agent-$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$out"
hz=$(getconf CLK_TCK)

# sample NAMES...: one line per running agent: "name pid ticks rss_kb hwm_kb sent_bytes".
sample() {
    local links name pid ticks rss hwm
    links=$(ip -n "$bridge_ns" -j -s link show type veth)
    for name in "$@"; do
        pid=$(agent_pid "$name") || continue
        # Fields 14 and 15 of /proc/PID/stat (after the parenthesised command name).
        ticks=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat")
        rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
        hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
        echo "$name $pid $ticks $rss $hwm $(jq -r --arg n "$name" '.[] | select(.ifname == $n) | .stats64.rx.bytes' <<<"$links")"
    done
}

# window LABEL SECONDS NAMES...: samples, waits (running `churn_step` meanwhile when set), samples again.
window() {
    local label=$1 seconds=$2 t0 t1
    shift 2
    sample "$@" >"$run/$label.start"
    t0=$(now_ms)
    if [[ $label == churn ]]; then
        local end=$((SECONDS + seconds)) i=0 victim
        while ((SECONDS + 10 <= end)); do
            victim=${churners[$((i % ${#churners[@]}))]}
            bash "$here/chaos/kill" "$victim" >/dev/null
            sleep 5
            bash "$here/chaos/restart" "$victim" >/dev/null
            sleep 5
            i=$((i + 1))
        done
        sleep $((end - SECONDS > 0 ? end - SECONDS : 0))
    else
        sleep "$seconds"
    fi
    sample "$@" >"$run/$label.end"
    t1=$(now_ms)
    python3 - "$run/$label.start" "$run/$label.end" "$t0" "$t1" "$hz" <<'EOF' >"$run/$label.json"
import json, statistics, sys
start, end, t0, t1, hz = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def rows(path):
    out = {}
    for line in open(path):
        name, pid, ticks, rss, hwm, sent = line.split()
        out[name] = dict(pid=int(pid), ticks=int(ticks), rss=int(rss), hwm=int(hwm), sent=int(sent or 0))
    return out
a, b = rows(start), rows(end)
seconds = (t1 - t0) / 1000
agents = {}
for name in a:
    if name in b and a[name]["pid"] == b[name]["pid"]:
        agents[name] = dict(cpu_percent=round((b[name]["ticks"] - a[name]["ticks"]) / hz / seconds * 100, 3),
                            rss_mb=round(b[name]["rss"] / 1024, 1), peak_rss_mb=round(b[name]["hwm"] / 1024, 1),
                            sent_bytes_per_s=round((b[name]["sent"] - a[name]["sent"]) / seconds))
def summary(key):
    values = [v[key] for v in agents.values()]
    return {"median": round(statistics.median(values), 3), "max": max(values)} if values else None
json.dump({"seconds": round(seconds, 1), "agents_measured": len(agents),
           "cpu_percent": summary("cpu_percent"), "rss_mb": summary("rss_mb"), "peak_rss_mb": summary("peak_rss_mb"),
           "sent_bytes_per_s": summary("sent_bytes_per_s"), "by_agent": agents}, sys.stdout, indent=1)
EOF
}

for system in "${systems[@]}"; do
    run=$out/$system
    export VIGIL_CHAOS_RECORD=0
    echo "bench-agent: $system, $nodes nodes: starting the cluster"
    trap 'bash "$here/cluster.sh" down --out "$run" >/dev/null 2>&1 || true' EXIT
    # --no-ha: only the agents, as measured before the chaos cluster ran HA (no BMC emulator,
    # power watcher or Masakari taking CPU beside them; serf has none anyway).
    bash "$here/cluster.sh" up "$nodes" --system "$system" --no-ha --out "$run" >"$out/$system-cluster.log" 2>&1 ||
        die "the $system cluster did not come up; see $out/$system-cluster.log and $run/nodes/*/agent.log"
    resolve_run "$run"
    export VIGIL_CHAOS_DIR=$run
    sleep 10
    all=() churners=() steady=()
    for i in $(seq 1 "$nodes"); do
        all+=("n$i")
        if ((i > nodes - nodes / 5)); then churners+=("n$i"); else steady+=("n$i"); fi
    done
    echo "bench-agent: $system idle for $idle s"
    window idle "$idle" "${all[@]}"
    if ((churn > 0)); then
        echo "bench-agent: $system churn for $churn s (kill and restart ${churners[*]} in turn, every 10 s)"
        window churn "$churn" "${steady[@]}"
    fi
    version=$([[ $system == vigil ]] && echo "vigil $(git -C "$chaos_repo" rev-parse --short HEAD), preset ${PRESET}" || "$SERF" version | head -1)
    jq -n --arg system "$system" --arg version "$version" --argjson nodes "$nodes" \
        --slurpfile idle "$run/idle.json" --argjson churn "$( [[ -f $run/churn.json ]] && cat "$run/churn.json" || echo null)" \
        '{system: $system, version: $version, nodes: $nodes, idle: $idle[0], churn: $churn}' >"$out/$system.json"
    bash "$here/cluster.sh" down --out "$run" >/dev/null
    trap - EXIT
done

{
    echo "$(date -u +%Y-%m-%d), $(nproc) cores, $nodes nodes: bash scripts/bench-agent.sh --nodes $nodes --idle $idle --churn $churn"
    echo
    echo "| system | window | CPU per agent (median / max, % of a core) | RSS (median / max) | sent per node (median / max) |"
    echo "|---|---|---|---|---|"
    for system in "${systems[@]}"; do
        jq -r '. as $r | ["idle", "churn"][] as $w | $r[$w] | select(. != null) |
            "| \($r.system) | \($w) (\(.seconds) s, \(.agents_measured) agents) | \(.cpu_percent.median) / \(.cpu_percent.max) "
            + "| \(.rss_mb.median) / \(.rss_mb.max) MB | \(.sent_bytes_per_s.median) / \(.sent_bytes_per_s.max) B/s |"' "$out/$system.json"
    done
} | tee "$out/summary.md"
echo "bench-agent: results in $out"
