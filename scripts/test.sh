#!/usr/bin/env bash
# Runs the whole test suite (debug build): unit tests of the core, codec, crypto,
# seeded simulator tests bounded in virtual time, the agent on loopback (in process
# and as real `vigil` processes), then the decoders under libFuzzer for a short while
# (scripts/fuzz.sh; VIGIL_FUZZ_SECONDS, default 30; 0 skips it). `.ci/run` calls
# exactly this.
set -euo pipefail
source "$(dirname "$0")/env.sh"
bash scripts/test-components.sh  # fence agents, ipmitool, Redfish/IPMI emulators for the fencing tests
bash scripts/test-components-recovery.sh   # Masakari API venv for the recovery tests
swift build --build-tests
swift test --skip-build
fuzz_seconds=${VIGIL_FUZZ_SECONDS:-30}
if ((fuzz_seconds > 0)); then
    bash scripts/fuzz.sh "$fuzz_seconds"
fi
