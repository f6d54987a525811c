# Process faults' shared part (scripts/chaos/skew, scripts/chaos/starve), sourced by lib.sh.
#
# skew: a node whose nodes/nK/skew file holds an offset in seconds is started with the
# clock shim (scripts/chaos/skewclock.c) preloaded: that offset on its wall clock only,
# through `env LD_PRELOAD=...` in its start.sh, so that the pid stays the agent's own.
# The original start command is kept in start.noskew.sh.
#
# starve: one cgroup v1 `cpu` cgroup per node, /sys/fs/cgroup/cpu/vigil-chaos/ID/nK (ID the
# VIGIL_CHAOS_ID, `default` without one), with cpu.cfs_quota_us = PERCENT% of
# cpu.cfs_period_us; the agent's pid is in its cgroup.procs. start_agent moves a restarted
# agent in while the node's cgroup exists; `cluster.sh down` removes the cgroups.

cpu_cgroup_root=/sys/fs/cgroup/cpu
starve_parent=$cpu_cgroup_root/vigil-chaos/${chaos_id:-default}

starve_cgroup() { echo "$starve_parent/$1"; }

# starve_quota NAME: the percent of one CPU NAME's agent is held to, or nothing (status 1).
starve_quota() {
    local dir quota period
    dir=$(starve_cgroup "$1")
    [[ -f $dir/cpu.cfs_quota_us ]] || return 1
    quota=$(cat "$dir/cpu.cfs_quota_us") period=$(cat "$dir/cpu.cfs_period_us")
    ((quota > 0)) || return 1
    echo $((quota * 100 / period))
}

# proc_after_start NAME PID: a restarted agent goes back into its starve cgroup.
proc_after_start() {
    local dir
    dir=$(starve_cgroup "$1")
    [[ -d $dir ]] || return 0
    echo "$2" >"$dir/cgroup.procs" || echo "${chaos_me:-chaos}: could not move $1's agent (pid $2) into $dir" >&2
}

# proc_faults_in_force: one line per skew or starve in force (for `cluster.sh status`).
proc_faults_in_force() {
    local name percent
    for name in $(seq -f 'n%g' 1 "$NODES"); do
        [[ -f $(node_dir "$name")/skew ]] && echo "  skew $name: wall clock $(cat "$(node_dir "$name")/skew") s off (clock shim)"
        percent=$(starve_quota "$name") &&
            echo "  starve $name: agent held to $percent% of one CPU, period $(($(cat "$(starve_cgroup "$name")/cpu.cfs_period_us") / 1000)) ms ($(starve_cgroup "$name"))"
    done
    return 0
}

# proc_cleanup: removes this cluster's starve cgroups (their processes are gone by now;
# any left are moved back to the root cgroup first). Safe to repeat.
proc_cleanup() {
    local dir pid
    [[ -d $starve_parent ]] || return 0
    for dir in "$starve_parent"/n*; do
        [[ -d $dir ]] || continue
        for pid in $(cat "$dir/cgroup.procs" 2>/dev/null); do echo "$pid" >"$cpu_cgroup_root/cgroup.procs" 2>/dev/null || true; done
        rmdir "$dir" 2>/dev/null || echo "${chaos_me:-chaos}: could not remove cgroup $dir" >&2
    done
    rmdir "$starve_parent" 2>/dev/null || true
    # The shared parent goes when no other cluster id uses it.
    rmdir "$cpu_cgroup_root/vigil-chaos" 2>/dev/null || true
}
