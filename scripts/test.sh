#!/usr/bin/env bash
# Runs the whole test suite (debug build): unit tests of the core, codec, crypto,
# seeded simulator tests bounded in virtual time, the agent on loopback (in process
# and as real `vigil` processes), the chaos subset on real agents in network namespaces
# (scripts/chaos-ci.sh), then the decoders under libFuzzer for a short while
# (scripts/fuzz.sh; VIGIL_FUZZ_SECONDS, default 30; 0 skips it). `.ci/run` calls
# exactly this.
set -euo pipefail
source "$(dirname "$0")/env.sh"
bash scripts/test-components.sh  # fence agents, ipmitool, Redfish/IPMI emulators for the fencing tests
bash scripts/test-components-recovery.sh   # Masakari API venv for the recovery tests
swift build --build-tests
# Two runs: the simulator's suites are CPU-bound on virtual time and would hold both
# cores' worker threads for minutes, starving the loopback and process tests, whose
# hang guards are wall-clock time.
swift test --skip-build --filter VigilSimTests
swift test --skip-build --skip VigilSimTests
# The chaos subset (crash-one, pause-short, partition-minority) on five real agents in
# network namespaces, with the debug `vigil` just built; it skips with one line when not
# root or when namespaces cannot be made.
VIGIL_BIN=$PWD/.build/debug/vigil bash scripts/chaos-ci.sh
bash scripts/test-bench-report.sh   # BENCHMARKS.md's generator on made-up inputs (seconds)
fuzz_seconds=${VIGIL_FUZZ_SECONDS:-30}
if ((fuzz_seconds > 0)); then
    bash scripts/fuzz.sh "$fuzz_seconds"
fi
