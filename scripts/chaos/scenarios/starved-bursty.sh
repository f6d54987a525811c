# Scenario starved-bursty for scripts/chaos.sh (sourced by it; runs in its shell with its helpers).
# starved-bursty: as starved, at 1% of one CPU counted over a 1 s cfs period: the agent
# runs for 10 ms, then is held still until the next second, for two minutes — stalls of
# up to ~1 s, near the `lan` preset's pause tolerance (1323 ms), every second.
# The agent alone needs less than 1% since its timer loop sleeps until its next deadline
# (0 of 120 periods throttled in the suite of 2026-12-01), so a busy loop shares the cgroup
# (`starve --hog`), as in starved.
# Expectation: as starved (the cap bites; no other node suspected or failed; all alive at
# the end, after a restart of the starved node if it was certified failed).
no_ha_scenarios+=(starved-bursty)  # it restarts the node it faulted itself: no fence to race with
scenario_starved_bursty() { starved_run 1 120 1000 --hog; }
