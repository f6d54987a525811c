#!/usr/bin/env bash
# Runs the whole test suite (debug build): unit tests of the core, codec, crypto,
# and seeded simulator tests bounded in virtual time. `.ci/run` calls exactly this.
set -euo pipefail
source "$(dirname "$0")/env.sh"
bash scripts/test-components-recovery.sh   # Masakari API venv for the recovery tests
swift build --build-tests
swift test --skip-build
