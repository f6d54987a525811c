# Scenario starved-hard for scripts/chaos.sh (sourced by it; runs in its shell with its helpers).
# starved-hard: as starved, at 1% of one CPU (the kernel's least quota, 1 ms per 100 ms
# period), about half of what an idle Vigil agent of a 5-node cluster uses, for two minutes.
# Expectation: as starved (the cap bites; no other node suspected or failed; all alive at
# the end, after a restart of the starved node if it was certified failed).
no_ha_scenarios+=(starved-hard)  # it restarts the node it faulted itself: no fence to race with
scenario_starved_hard() { starved_run 1 120 100; }
