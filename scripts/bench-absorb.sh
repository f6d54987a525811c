#!/usr/bin/env bash
# scripts/bench-absorb.sh: the most sealed packets per second one agent absorbs on one
# core before it drops any.
#
# Starts one real agent (release build) pinned to one core, in a network namespace of
# its own when run as root (so the kernel's UDP counters there are the agent's alone),
# and `vigil-loadgen` on another core, sending valid sealed pings to it on loopback.
# The rate steps up (x1.5) until the agent drops, then bisects between the last rate
# without drops and the first with, until the load budget is spent. A drop is any of:
# the agent socket's kernel drops (/proc/net/udp, and Udp RcvbufErrors/InErrors in
# /proc/net/snmp), or the agent's own dropped_* counters (`vigil info`: buffer_full
# when the engine falls behind the transport, and bad_seal/replay/stale/malformed,
# which would mean a broken generator).
#
# Usage: scripts/bench-absorb.sh [--budget SECONDS] [--step SECONDS] [--start RATE]
#                                [--message ping|gossip] [--threads N] [--no-build]
#   --budget   seconds of load in all (default 20; the machine is shared)
#   --step     seconds per rate (default 2)
#   --start    first rate, packets/s (default 20000)
#   --message  ping (answered with an ack, the default) or gossip (answered with nothing)
#   --threads  generator threads (default 1)
#   --no-build use the release binaries already built
# Environment: AGENT_CPU (default 0), LOADGEN_CPU (default 1), BENCH_OUT (default bench-out/),
#   VIGIL_BIN / LOADGEN_BIN: binaries to use instead of building (e.g. another build's
#   agent, to compare before and after).
# Writes BENCH_OUT/absorb-<UTC time>.json and appends one Markdown row to BENCH_OUT/absorb.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

budget=20 step=2 start=20000 message=ping threads=1 build=1
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
need_number() { [[ $2 =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "bench-absorb: $1 must be a number, got '$2'" >&2; exit 2; }; }
while (($#)); do
    case $1 in
        --budget) need_number "$1" "${2-}"; budget=$2; shift 2 ;;
        --step) need_number "$1" "${2-}"; step=$2; shift 2 ;;
        --start) [[ ${2-} =~ ^[1-9][0-9]*$ ]] || { echo "bench-absorb: --start must be packets/s, got '${2-}'" >&2; exit 2; }; start=$2; shift 2 ;;
        --message) [[ ${2-} == ping || ${2-} == gossip ]] || { echo "bench-absorb: --message must be ping or gossip, got '${2-}'" >&2; exit 2; }; message=$2; shift 2 ;;
        --threads) [[ ${2-} =~ ^[1-9][0-9]*$ ]] || { echo "bench-absorb: --threads must be 1 or more, got '${2-}'" >&2; exit 2; }; threads=$2; shift 2 ;;
        --no-build) build=0; shift ;;
        -h | --help) usage ;;
        *) echo "bench-absorb: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
for tool in jq taskset; do
    command -v "$tool" >/dev/null || { echo "bench-absorb: needs $tool (apt-get install -y ${tool/taskset/util-linux})" >&2; exit 1; }
done
agent_cpu=${AGENT_CPU:-0} loadgen_cpu=${LOADGEN_CPU:-1}
out=${BENCH_OUT:-bench-out}
mkdir -p "$out"

if ((build)) && [[ -z ${VIGIL_BIN-}${LOADGEN_BIN-} ]]; then
    nice -n 19 swift build -c release --product vigil >&2
    nice -n 19 swift build -c release --product vigil-loadgen >&2
fi
bin=.build/release
[[ -n ${VIGIL_BIN-} && -n ${LOADGEN_BIN-} ]] || bin=$(swift build -c release --show-bin-path)
vigil=${VIGIL_BIN:-$bin/vigil} loadgen=${LOADGEN_BIN:-$bin/vigil-loadgen}
[[ -x $vigil && -x $loadgen ]] || { echo "bench-absorb: build first (swift build -c release)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/vigil-abs.XXXXXX)
ns="" agent_pid=""
cleanup() {
    if [[ -n $agent_pid ]] && kill -0 "$agent_pid" 2>/dev/null; then
        kill -TERM "$agent_pid" 2>/dev/null || true
        for _ in $(seq 30); do kill -0 "$agent_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$agent_pid" 2>/dev/null || true
        wait "$agent_pid" 2>/dev/null || true
    fi
    [[ -z $ns ]] || ip netns del "$ns" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# In the agent's namespace, or here.
inside() { if [[ -n $ns ]]; then ip netns exec "$ns" "$@"; else "$@"; fi; }
if [[ $(id -u) == 0 ]] && command -v ip >/dev/null; then
    ns=vigil-abs-$$
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    isolation="namespace $ns"
    port=7946
else
    isolation="root namespace (not root): kernel UDP counters include every other socket on this host"
    echo "bench-absorb: note: not root, so no namespace; /proc/net/snmp counts all of this host's UDP" >&2
    port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
fi

key=$("$vigil" keygen)
name=absorb
# Not through `inside` (a function, so `&` would fork a shell): $! must be the agent.
${ns:+ip netns exec "$ns"} taskset -c "$agent_cpu" nice -n 19 "$vigil" agent --name "$name" --bind "127.0.0.1:$port" --encrypt "$key" \
    --data-dir "$tmp/data" --control "$tmp/vigil.sock" --preset lan --log-level warning 2>"$tmp/agent.log" &
agent_pid=$!
info() { "$vigil" info --control "$tmp/vigil.sock" --format json; }
for _ in $(seq 100); do info >/dev/null 2>&1 && break; sleep 0.1; done
info >/dev/null || { echo "bench-absorb: the agent did not start:" >&2; cat "$tmp/agent.log" >&2; exit 1; }
port_hex=$(printf '%04X' "$port")
sleep 1.2  # the transport's counters reach `vigil info` once a second

# Kernel drops of the agent's UDP socket, then Udp InErrors and RcvbufErrors.
socket_drops() { inside cat /proc/net/udp | awk -v p=":$port_hex" '$2 ~ p"$" {print $NF}' | head -1; }
udp_errors() { inside cat /proc/net/snmp | awk '/^Udp:/ {if (!h) {for (i=2;i<=NF;i++) c[$i]=i; h=1} else print $c["InErrors"], $c["RcvbufErrors"]}'; }
agent_drops() { info | jq '[.counters | to_entries[] | select(.key | startswith("dropped_")) | .value] | add // 0'; }
agent_counter() { info | jq ".counters.$1 // 0"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$agent_pid/stat"; }
hz=$(getconf CLK_TCK)

declare -a rows=()
best=0 best_cpu=0 worst=0 spent=0 rate=$start
generator_max=0
echo "bench-absorb: agent on CPU $agent_cpu ($isolation), generator on CPU $loadgen_cpu, $message, ${step}s steps, ${budget}s budget" >&2
while awk -v s="$spent" -v b="$budget" -v t="$step" 'BEGIN {exit !(s + t <= b + 0.001)}'; do
    sock0=$(socket_drops)
    read -r in0 buf0 <<<"$(udp_errors)"
    drops0=$(agent_drops) handled0=$(agent_counter packets_in) ticks0=$(cpu_ticks) t0=$(date +%s.%N)
    result=$(inside taskset -c "$loadgen_cpu" nice -n 19 "$loadgen" --target "127.0.0.1:$port" --target-name "$name" \
        --encrypt "$key" --rate "$rate" --duration "${step}s" --threads "$threads" --message "$message" --format json)
    t1=$(date +%s.%N) ticks1=$(cpu_ticks)
    # Let the agent work off what is queued, and its counters reach `vigil info` (once a second).
    sleep 1.3
    sock1=$(socket_drops)
    read -r in1 buf1 <<<"$(udp_errors)"
    drops1=$(agent_drops) handled1=$(agent_counter packets_in)
    spent=$(awk -v s="$spent" -v t="$step" 'BEGIN {print s + t}')
    sent=$(jq .sent <<<"$result") achieved=$(jq .packets_per_second <<<"$result")
    # The agent socket's own drops; Udp InErrors (RcvbufErrors among them) for any
    # other socket in the namespace, i.e. the generator's, which must read its acks.
    kernel=$((sock1 - sock0)) udp_in=$((in1 - in0)) rcvbuf=$((buf1 - buf0))
    own=$((drops1 - drops0))
    # Over the sending window only: the generator seals ahead while the agent idles.
    cpu=$(awk -v a="$ticks0" -v b="$ticks1" -v hz="$hz" -v s="$(jq .seconds <<<"$result")" 'BEGIN {printf "%.0f", 100 * (b - a) / hz / s}')
    limited=$(awk -v a="$achieved" -v r="$rate" 'BEGIN {print (a < 0.97 * r) ? "true" : "false"}')
    ((achieved > generator_max)) && generator_max=$achieved
    printf 'bench-absorb: asked %7d/s sent %7d/s  agent opened %7d  socket drops %6d  Udp InErrors %6d  agent drops %6d  agent CPU %3d%%%s\n' \
        "$rate" "$achieved" "$((handled1 - handled0))" "$kernel" "$udp_in" "$own" "$cpu" "$([[ $limited == true ]] && echo '  (generator short of the rate)')" >&2
    rows+=("$(jq -n --argjson rate "$rate" --argjson achieved "$achieved" --argjson sent "$sent" \
        --argjson opened "$((handled1 - handled0))" --argjson kernel "$kernel" --argjson own "$own" \
        --argjson udp_in "$udp_in" --argjson rcvbuf "$rcvbuf" --argjson cpu "$cpu" --argjson limited "$limited" \
        '{asked_rate: $rate, sent_per_second: $achieved, sent: $sent, agent_opened: $opened, socket_drops: $kernel,
          udp_in_errors: $udp_in, udp_rcvbuf_errors: $rcvbuf, agent_drops: $own, agent_cpu_percent: $cpu,
          generator_short: $limited}')")
    # Outside a namespace Udp InErrors counts every socket on the host: not a criterion.
    [[ -n $ns ]] || udp_in=0
    if ((kernel == 0 && udp_in == 0 && own == 0)); then
        if ((achieved > best)); then best=$achieved best_cpu=$cpu; fi
        ((worst == 0)) && rate=$((rate * 3 / 2)) || rate=$(((rate + worst) / 2))
        # The generator cannot go faster: more steps would measure it, not the agent.
        [[ $limited == false ]] || break
    else
        worst=$rate
        rate=$(((best > 0 ? best : rate / 2) + (worst - (best > 0 ? best : rate / 2)) / 2))
    fi
    if ((worst > 0 && best > 0)) && awk -v b="$best" -v w="$worst" 'BEGIN {exit !(w - b < 0.05 * w)}'; then break; fi
done

when=$(date -u +%Y-%m-%dT%H:%M:%SZ)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
file="$out/absorb-$(date -u +%Y%m%dT%H%M%SZ).json"
printf '%s\n' "${rows[@]}" | jq -s --arg when "$when" --arg commit "$commit" --arg isolation "$isolation" \
    --arg message "$message" --argjson best "$best" --argjson cpu "$best_cpu" --argjson first_drop "$worst" \
    --argjson threads "$threads" --argjson step "$step" --argjson generator_max "$generator_max" --arg agent "$vigil" \
    '{date: $when, commit: $commit, agent_binary: $agent, isolation: $isolation, message: $message, generator_threads: $threads,
      step_seconds: $step, highest_rate_without_drops: $best, agent_cpu_percent_at_that_rate: $cpu,
      lowest_rate_with_drops: (if $first_drop == 0 then null else $first_drop end),
      generator_highest_rate: $generator_max, steps: .}' >"$file"
[[ -f $out/absorb.md ]] || printf '| date | commit | message | highest rate without drops | agent CPU | first rate with drops | isolation |\n|---|---|---|---|---|---|---|\n' >"$out/absorb.md"
printf '| %s | %s | %s | %s/s | %s%% | %s | %s |\n' "$when" "$commit" "$message" "$best" "$best_cpu" \
    "$( ((worst > 0)) && echo "$worst/s" || echo "none up to ${generator_max}/s (generator-limited)")" "${isolation%%:*}" >>"$out/absorb.md"
echo "bench-absorb: highest rate without drops: $best packets/s at ${best_cpu}% of one core; $file" >&2
tail -1 "$out/absorb.md"
